//! Without Redis the instance limits on its own: at start, after Redis is killed, and while it
//! hangs. Each change is logged once (down, back), shown in `/health/ready`'s body (still 200),
//! and the instance counts in Redis again once it answers.

use std::time::Duration;

use chatgate::edge::rate_limit::{Backend, DEFAULT_PREFIX, RedisSettings, log_key};
use serde_json::{Value, json};

use super::{limit_headers, spawn_counting_in};
use crate::helpers::binary::{Server, json_line, next_line, send, start};
use crate::helpers::free_port;
use crate::helpers::redis_server::RedisServer;

const DOWN: &str =
    "rate limit: Redis is unreachable; counting on this instance alone until it answers";
const BACK: &str = "rate limit: Redis answers again; counting in Redis";

/// `GET path` on the binary: status, `X-RateLimit-Remaining`, body.
async fn get(server: &Server, path: &str) -> (u16, Option<u64>, Value) {
    let response = reqwest::get(format!("http://{}{path}", server.address))
        .await
        .expect("the server answers");
    let status = response.status().as_u16();
    let remaining = response
        .headers()
        .get("x-ratelimit-remaining")
        .map(|v| v.to_str().expect("ASCII").parse().expect("a number"));
    (
        status,
        remaining,
        response.json().await.expect("a JSON body"),
    )
}

/// Reads log lines up to the first with `message`.
async fn line_saying(server: &mut Server, message: &str) -> Value {
    loop {
        let line = next_line(&mut server.stdout)
            .await
            .unwrap_or_else(|| panic!("the server logged {message:?} before its output ended"));
        let entry = json_line(&line);
        if entry["message"] == message {
            return entry;
        }
    }
}

/// Stops the binary and returns every log line it wrote from here on.
async fn stop(mut server: Server) -> Vec<Value> {
    send("TERM", &server.child);
    let mut entries = Vec::new();
    while let Some(line) = next_line(&mut server.stdout).await {
        entries.push(json_line(&line));
    }
    entries
}

fn ready(rate_limit: &str) -> Value {
    json!({"status": "ready", "database": "connected", "rateLimit": rate_limit})
}

#[tokio::test]
async fn an_unreachable_redis_at_start_leaves_the_limit_to_the_instance_and_says_so_once() {
    let port = free_port();
    let url = format!("redis://:s3cret-word@127.0.0.1:{port}");
    let mut server = start(&[
        ("RATE_LIMIT_REDIS_URL", &url),
        ("RATE_LIMIT_PER_MINUTE", "2"),
    ])
    .await;
    let startup = std::mem::take(&mut server.startup);
    let warnings: Vec<&Value> = startup.iter().filter(|e| e["message"] == DOWN).collect();
    assert_eq!(warnings.len(), 1, "{startup:?}");
    assert_eq!(warnings[0]["level"], "WARN");
    assert_eq!(warnings[0]["redis"], format!("127.0.0.1:{port}"));

    assert_eq!(
        get(&server, "/health/ready").await,
        (200, None, ready("local"))
    );
    assert_eq!(get(&server, "/chats").await.1, Some(1));
    assert_eq!(get(&server, "/chats").await.1, Some(0));
    let (status, remaining, body) = get(&server, "/chats").await;
    assert_eq!((status, remaining), (429, Some(0)));
    assert_eq!(body["error"]["code"], "RATE_LIMITED");

    let rest = stop(server).await;
    assert!(
        rest.iter().all(|e| e["message"] != DOWN),
        "logged once per change: {rest:?}"
    );
    for entry in startup.iter().chain(&rest) {
        assert!(!entry.to_string().contains("s3cret-word"), "{entry}");
    }
}

#[tokio::test]
async fn a_killed_redis_is_left_and_counted_in_again_once_it_is_back() {
    let Some(mut redis) = RedisServer::start().await else {
        return;
    };
    let log = log_key(DEFAULT_PREFIX, "127.0.0.1");
    // Patient calls: on a busy machine a slow answer would count as Redis being away.
    let mut server = start(&[
        ("RATE_LIMIT_REDIS_URL", &redis.url()),
        ("RATE_LIMIT_REDIS_TIMEOUT_MS", "2000"),
    ])
    .await;
    assert!(
        server
            .startup
            .iter()
            .any(|e| e["message"] == "rate limit: counting in Redis"),
        "{:?}",
        server.startup
    );
    assert_eq!(get(&server, "/health/ready").await.2, ready("redis"));
    assert_eq!(get(&server, "/chats").await.1, Some(99));
    assert_eq!(get(&server, "/chats").await.1, Some(98));
    assert_eq!(redis.zcard(&log).await, 2);

    redis.kill();
    let (status, remaining, _) = get(&server, "/chats").await;
    assert_eq!(
        (status, remaining),
        (200, Some(97)),
        "counted on this instance, which remembers the two requests Redis admitted"
    );
    assert_eq!(line_saying(&mut server, DOWN).await["level"], "WARN");
    assert_eq!(get(&server, "/health/ready").await.2, ready("local"));

    redis.restart().await;
    assert_eq!(line_saying(&mut server, BACK).await["level"], "INFO");
    assert_eq!(get(&server, "/health/ready").await.2, ready("redis"));
    assert_eq!(
        get(&server, "/chats").await.1,
        Some(99),
        "the fresh Redis counts from nothing"
    );
    assert_eq!(redis.zcard(&log).await, 1);

    let rest = stop(server).await;
    assert!(
        rest.iter()
            .all(|e| e["message"] != DOWN && e["message"] != BACK),
        "logged once per change: {rest:?}"
    );
}

#[tokio::test]
async fn a_redis_that_stops_answering_does_not_hold_requests_up() {
    let Some(redis) = RedisServer::start().await else {
        return;
    };
    let settings = RedisSettings {
        // Long enough that a busy machine does not pass for a hung Redis before the pause.
        call_timeout: Duration::from_secs(1),
        retry_min: Duration::from_millis(50),
        retry_max: Duration::from_millis(200),
        ..RedisSettings::new(redis.url(), DEFAULT_PREFIX)
    };
    let app = spawn_counting_in(settings, 100).await;
    let log = log_key(DEFAULT_PREFIX, "127.0.0.1");
    let get = |path: &'static str| {
        let request = app.get(path);
        async move {
            tokio::time::timeout(Duration::from_secs(10), request)
                .await
                .expect("answered while Redis hangs")
        }
    };
    assert_eq!(limit_headers(&get("/chats").await)[1], Some(99));
    assert_eq!(redis.zcard(&log).await, 1);

    redis.signal("STOP");
    for remaining in (90..=98).rev() {
        let reply = get("/chats").await;
        reply.expect(200);
        assert_eq!(limit_headers(&reply)[1], Some(remaining));
    }
    assert_eq!(app.edge.rate_limit_backend(), Some(Backend::Local));
    assert_eq!(get("/health/ready").await.expect(200), &ready("local"));

    redis.signal("CONT");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while app.edge.rate_limit_backend() != Some(Backend::Redis) {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the instance went back to Redis within 30 s of it answering again"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(get("/health/ready").await.expect(200), &ready("redis"));
    let before = redis.zcard(&log).await;
    get("/chats").await.expect(200);
    assert_eq!(
        redis.zcard(&log).await,
        before + 1,
        "counted in Redis again"
    );

    app.readiness.start_draining();
    assert_eq!(
        get("/health/ready")
            .await
            .expect_error(503, "SERVICE_UNAVAILABLE"),
        json!({"draining": true, "database": "connected", "rateLimit": "redis"})
    );
}
