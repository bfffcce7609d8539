//! The edge through a real server: rate limit headers and refusals in each protocol's shape,
//! CORS preflights, and API keys.

use chatgate::edge::Edge;
use chatgate::edge::api_keys::ApiKeys;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::spawn_app_with_edge;

const QUERY: &str = r#"{"query":"{ chats { total } }"}"#;

fn header(response: &reqwest::Response, name: &str) -> Option<String> {
    response
        .headers()
        .get(name)
        .map(|v| v.to_str().expect("ASCII header").to_owned())
}

async fn post_graphql(client: &reqwest::Client, url: &str) -> reqwest::Response {
    client
        .post(url)
        .header("content-type", "application/json")
        .body(QUERY)
        .send()
        .await
        .expect("request reaches the server")
}

#[tokio::test]
async fn the_101st_request_in_a_minute_is_refused_and_headers_count_down() {
    let app = spawn_app_with_edge(Edge::default().with_rate_limit(100, 1_000)).await;
    let url = app.url("/graphql");
    for i in 0..100u32 {
        let response = post_graphql(&app.client, &url).await;
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(
            header(&response, "x-ratelimit-limit").as_deref(),
            Some("100")
        );
        let remaining = (99 - i).to_string();
        assert_eq!(header(&response, "x-ratelimit-remaining"), Some(remaining));
        let reset: u64 = header(&response, "x-ratelimit-reset")
            .unwrap()
            .parse()
            .unwrap();
        assert!(reset > 1_600_000_000, "reset is a Unix second: {reset}");
    }
    let refused = post_graphql(&app.client, &url).await;
    assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(
        header(&refused, "x-ratelimit-remaining").as_deref(),
        Some("0")
    );
    let retry_after: u64 = header(&refused, "retry-after").unwrap().parse().unwrap();
    assert!((1..=60).contains(&retry_after), "{retry_after}");
    let body = crate::helpers::quotes::quoted_json(refused).await;
    assert_eq!(
        body,
        json!({"errors": [{
            "message": "Rate limit exceeded",
            "extensions": {"code": "RATE_LIMITED", "retryAfter": retry_after},
        }]})
    );
}

#[tokio::test]
async fn each_protocol_gets_its_own_429_body() {
    let app = spawn_app_with_edge(Edge::default().with_rate_limit(1, 1_000)).await;
    let first = app.client.get(app.url("/chats")).send().await.unwrap();
    assert_ne!(first.status(), StatusCode::TOO_MANY_REQUESTS);

    let rest = app.client.get(app.url("/chats")).send().await.unwrap();
    assert_eq!(rest.status(), StatusCode::TOO_MANY_REQUESTS);
    let retry: u64 = header(&rest, "retry-after").unwrap().parse().unwrap();
    assert_eq!(
        rest.json::<Value>().await.unwrap(),
        json!({"error": {
            "code": "RATE_LIMITED",
            "message": "Rate limit exceeded",
            "details": {"retryAfter": retry},
        }})
    );

    let chatbot = app
        .client
        .get(app.url("/api/conversations"))
        .send()
        .await
        .unwrap();
    assert_eq!(chatbot.status(), StatusCode::TOO_MANY_REQUESTS);
    let retry: u64 = header(&chatbot, "retry-after").unwrap().parse().unwrap();
    assert_eq!(
        chatbot.json::<Value>().await.unwrap(),
        json!({
            "error": "Rate limit exceeded",
            "message": "Too many requests, please try again later",
            "retryAfter": retry,
        })
    );
}

#[tokio::test]
async fn forwarded_clients_are_limited_independently_only_behind_a_trusted_proxy() {
    let trusted = spawn_app_with_edge(
        Edge::default()
            .with_rate_limit(1, 1_000)
            .with_trust_proxy(true),
    )
    .await;
    for client_ip in ["203.0.113.1", "203.0.113.2"] {
        let response = trusted
            .client
            .get(trusted.url("/schema.graphql"))
            .header("x-forwarded-for", format!("198.51.100.7, {client_ip}"))
            .send()
            .await
            .unwrap();
        assert_eq!(
            response.status(),
            StatusCode::OK,
            "{client_ip} has its own window"
        );
    }
    let again = trusted
        .client
        .get(trusted.url("/schema.graphql"))
        .header("x-forwarded-for", "203.0.113.1")
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), StatusCode::TOO_MANY_REQUESTS);

    let untrusted = spawn_app_with_edge(Edge::default().with_rate_limit(1, 1_000)).await;
    for (i, client_ip) in ["203.0.113.1", "203.0.113.2"].into_iter().enumerate() {
        let response = untrusted
            .client
            .get(untrusted.url("/schema.graphql"))
            .header("x-forwarded-for", client_ip)
            .send()
            .await
            .unwrap();
        let expected = if i == 0 {
            StatusCode::OK
        } else {
            StatusCode::TOO_MANY_REQUESTS
        };
        assert_eq!(response.status(), expected, "X-Forwarded-For is ignored");
    }
}

/// Sends one `HEAD /schema.graphql` per forwarded client IP, pipelined on one keep-alive
/// connection (the client side costs next to nothing); returns how many answered 429.
async fn pipelined_heads(address: std::net::SocketAddr, clients: Vec<u32>) -> u32 {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let stream = tokio::net::TcpStream::connect(address)
        .await
        .expect("connects");
    let (mut reader, mut writer) = stream.into_split();
    let expected = clients.len();
    let writing = tokio::spawn(async move {
        for chunk in clients.chunks(500) {
            let mut batch = String::new();
            for n in chunk {
                let [a, b, c, d] = (0x0a00_0000 + n).to_be_bytes();
                batch.push_str(&format!(
                    "HEAD /schema.graphql HTTP/1.1\r\nhost: chatgate\r\n\
                     x-forwarded-for: {a}.{b}.{c}.{d}\r\n\r\n"
                ));
            }
            writer.write_all(batch.as_bytes()).await.expect("written");
        }
        writer
    });
    let (mut answered, mut refused) = (0, 0);
    let mut pending = String::new();
    let mut buffer = vec![0u8; 64 * 1024];
    while answered < expected {
        let read =
            tokio::time::timeout(std::time::Duration::from_secs(30), reader.read(&mut buffer))
                .await
                .expect("the server keeps answering")
                .expect("readable");
        assert!(read > 0, "the server closed after {answered} answers");
        pending.push_str(std::str::from_utf8(&buffer[..read]).expect("ASCII heads"));
        while let Some(end) = pending.find("\r\n\r\n") {
            let head: String = pending.drain(..end + 4).collect();
            answered += 1;
            if head.starts_with("HTTP/1.1 429") {
                refused += 1;
            }
        }
    }
    drop(writing.await.expect("writer finished"));
    refused
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hundred_thousand_forwarded_ips_leave_the_table_at_its_documented_cap() {
    use chatgate::edge::rate_limit::DEFAULT_MAX_CLIENTS;
    const CLIENTS: u32 = 110_000;
    const CONNECTIONS: u32 = 4;
    // A frozen clock keeps every client inside its window for the whole test.
    let app = spawn_app_with_edge(
        Edge::default()
            .with_rate_limit(5, DEFAULT_MAX_CLIENTS)
            .with_trust_proxy(true)
            .with_clock(crate::helpers::manual_clock()),
    )
    .await;
    let mut connections = Vec::new();
    for c in 0..CONNECTIONS {
        let clients: Vec<u32> = (c..CLIENTS).step_by(CONNECTIONS as usize).collect();
        connections.push(tokio::spawn(pipelined_heads(app.address, clients)));
    }
    let mut refused = 0;
    for connection in connections {
        refused += connection.await.expect("connection task");
    }
    assert_eq!(app.tracked_clients(), DEFAULT_MAX_CLIENTS);
    assert_eq!(
        refused,
        CLIENTS - DEFAULT_MAX_CLIENTS as u32,
        "new clients beyond the cap are refused, none forgotten early"
    );
}

#[tokio::test]
async fn preflights_and_health_checks_are_not_counted() {
    let app = spawn_app_with_edge(Edge::default().with_rate_limit(1, 1_000)).await;
    for _ in 0..3 {
        let preflight = app
            .client
            .request(reqwest::Method::OPTIONS, app.url("/graphql"))
            .header("origin", "http://localhost:5173")
            .header("access-control-request-method", "POST")
            .header("access-control-request-headers", "content-type, x-api-key")
            .send()
            .await
            .unwrap();
        assert!(preflight.status().is_success());
        assert_eq!(
            header(&preflight, "access-control-allow-origin").as_deref(),
            Some("*")
        );
        let methods = header(&preflight, "access-control-allow-methods").unwrap();
        for method in ["GET", "POST", "PUT", "DELETE", "OPTIONS"] {
            assert!(methods.contains(method), "{methods}");
        }
        let headers = header(&preflight, "access-control-allow-headers").unwrap();
        for name in ["content-type", "authorization", "x-api-key"] {
            assert!(headers.contains(name), "{headers}");
        }
        let health = app.client.get(app.url("/health")).send().await.unwrap();
        assert_eq!(header(&health, "x-ratelimit-limit"), None);
    }
    let counted = post_graphql(&app.client, &app.url("/graphql")).await;
    assert_eq!(
        counted.status(),
        StatusCode::OK,
        "nothing before this was counted"
    );
}

#[tokio::test]
async fn cors_answers_carry_the_configured_origin_and_expose_the_limit_headers() {
    let app = spawn_app_with_edge(
        Edge::default()
            .with_rate_limit(10, 1_000)
            .with_cors_origins(vec!["https://app.example".into()]),
    )
    .await;
    let response = app
        .client
        .post(app.url("/graphql"))
        .header("origin", "https://app.example")
        .header("content-type", "application/json")
        .body(QUERY)
        .send()
        .await
        .unwrap();
    assert_eq!(
        header(&response, "access-control-allow-origin").as_deref(),
        Some("https://app.example")
    );
    let exposed = header(&response, "access-control-expose-headers").unwrap();
    for name in [
        "x-ratelimit-limit",
        "x-ratelimit-remaining",
        "x-ratelimit-reset",
    ] {
        assert!(exposed.contains(name), "{exposed}");
    }
    let other = app
        .client
        .post(app.url("/graphql"))
        .header("origin", "https://evil.example")
        .header("content-type", "application/json")
        .body(QUERY)
        .send()
        .await
        .unwrap();
    assert_eq!(header(&other, "access-control-allow-origin"), None);
}

fn keyed() -> Edge {
    Edge::default().with_api_keys(ApiKeys::new(["s3cret".to_owned(), "other".to_owned()]))
}

#[tokio::test]
async fn requests_without_a_valid_key_get_401_in_their_protocol_shape() {
    let app = spawn_app_with_edge(keyed()).await;
    let graphql = post_graphql(&app.client, &app.url("/graphql")).await;
    assert_eq!(graphql.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        header(&graphql, "www-authenticate").as_deref(),
        Some("Bearer realm=\"chatgate\"")
    );
    let body: Value = graphql.json().await.unwrap();
    assert_eq!(body["errors"][0]["extensions"]["code"], "UNAUTHORIZED");

    for path in ["/chats", "/api/conversations?userId=u", "/no/such/route"] {
        let response = app
            .client
            .get(app.url(path))
            .header("x-api-key", "wrong")
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{path}");
        assert!(header(&response, "www-authenticate").is_some());
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["error"]["code"], "UNAUTHORIZED", "{path}");
        assert!(!body.to_string().contains("wrong"), "the key is not echoed");
    }
}

#[tokio::test]
async fn a_valid_key_in_either_header_is_accepted() {
    let app = spawn_app_with_edge(keyed()).await;
    let by_header = app
        .client
        .post(app.url("/graphql"))
        .header("x-api-key", "s3cret")
        .header("content-type", "application/json")
        .body(QUERY)
        .send()
        .await
        .unwrap();
    assert_eq!(by_header.status(), StatusCode::OK);
    let by_bearer = app
        .client
        .post(app.url("/graphql"))
        .bearer_auth("other")
        .header("content-type", "application/json")
        .body(QUERY)
        .send()
        .await
        .unwrap();
    assert_eq!(by_bearer.status(), StatusCode::OK);
}

#[tokio::test]
async fn open_paths_and_preflights_need_no_key() {
    let app = spawn_app_with_edge(keyed()).await;
    let schema = app
        .client
        .get(app.url("/schema.graphql"))
        .send()
        .await
        .unwrap();
    assert_eq!(schema.status(), StatusCode::OK);
    for path in ["/health", "/playground", "/docs", "/openapi.json"] {
        let response = app.client.get(app.url(path)).send().await.unwrap();
        assert_ne!(response.status(), StatusCode::UNAUTHORIZED, "{path}");
    }
    let preflight = app
        .client
        .request(reqwest::Method::OPTIONS, app.url("/chats"))
        .header("origin", "http://localhost:5173")
        .header("access-control-request-method", "POST")
        .send()
        .await
        .unwrap();
    assert!(preflight.status().is_success());
}

#[tokio::test]
async fn unauthenticated_requests_count_against_their_ip() {
    let app = spawn_app_with_edge(keyed().with_rate_limit(2, 1_000)).await;
    let url = app.url("/graphql");
    assert_eq!(
        post_graphql(&app.client, &url).await.status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        post_graphql(&app.client, &url).await.status(),
        StatusCode::UNAUTHORIZED
    );
    let third = post_graphql(&app.client, &url).await;
    assert_eq!(third.status(), StatusCode::TOO_MANY_REQUESTS);
}

#[tokio::test]
async fn a_burst_across_a_minute_boundary_never_exceeds_the_limit_in_any_60_seconds() {
    let clock = crate::helpers::manual_clock();
    let app = spawn_app_with_edge(
        Edge::default()
            .with_rate_limit(10, 1_000)
            .with_clock(clock.clone()),
    )
    .await;
    let url = app.url("/schema.graphql");
    let status = |response: reqwest::Response| response.status();
    // The whole quota at 59.5 s into a minute…
    clock.advance_millis(59_500);
    for _ in 0..10 {
        assert_eq!(
            status(app.client.get(&url).send().await.unwrap()),
            StatusCode::OK
        );
    }
    // …and a burst right after the minute turns: a fixed window would admit ten more.
    clock.advance_millis(1_000);
    for _ in 0..10 {
        let refused = app.client.get(&url).send().await.unwrap();
        assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(header(&refused, "retry-after").as_deref(), Some("59"));
    }
    // Once the first ten have left the window, exactly ten more are admitted.
    clock.advance_millis(59_000);
    let admitted = {
        let mut n = 0;
        for _ in 0..15 {
            if app.client.get(&url).send().await.unwrap().status() == StatusCode::OK {
                n += 1;
            }
        }
        n
    };
    assert_eq!(admitted, 10);
}

#[tokio::test]
async fn edge_refusals_on_graphql_answer_in_the_media_type_the_client_accepts() {
    let app = spawn_app_with_edge(keyed().with_rate_limit(1, 1_000)).await;
    let ask = |accept: &'static str| {
        app.client
            .post(app.url("/graphql"))
            .header("accept", accept)
            .header("content-type", "application/json")
            .body(QUERY)
            .send()
    };
    let unauthorized = ask("application/graphql-response+json").await.unwrap();
    assert_eq!(unauthorized.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        header(&unauthorized, "content-type").as_deref(),
        Some("application/graphql-response+json; charset=utf-8")
    );
    let limited = ask("application/graphql-response+json").await.unwrap();
    assert_eq!(limited.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(
        header(&limited, "content-type").as_deref(),
        Some("application/graphql-response+json; charset=utf-8")
    );
    let plain = ask("application/json").await.unwrap();
    assert_eq!(plain.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(
        header(&plain, "content-type").as_deref(),
        Some("application/json; charset=utf-8")
    );
}
