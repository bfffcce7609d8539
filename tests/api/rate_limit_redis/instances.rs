//! Two instances sharing a Redis and a prefix count one limit: their headers agree, the 101st
//! request is refused on either, and parallel requests never get past the limit.

use serde_json::json;

use chatgate::edge::rate_limit::scratch::ScratchPrefix;

use super::{limit_headers, prefix_or_skip, spawn_sharing};
use crate::helpers::RestReply;
use crate::helpers::TestApp;

#[tokio::test]
async fn a_hundred_requests_spread_over_two_instances_use_up_one_limit() {
    let keys = prefix_or_skip!();
    let instances = two_instances(&keys, 100).await;
    let mut first_reset = None;
    for i in 0..100usize {
        let app = &instances[i % 2];
        let reply = app.get("/chats").await;
        reply.expect(200);
        let [limit, remaining, reset, retry_after] = limit_headers(&reply);
        assert_eq!(
            (limit, remaining, retry_after),
            (Some(100), Some(99 - i as u64), None)
        );
        let reset = reset.expect("X-RateLimit-Reset");
        assert_eq!(
            *first_reset.get_or_insert(reset),
            reset,
            "the oldest request, and so the reset, is the same on both instances"
        );
    }
    let refusals: Vec<RestReply> = vec![
        instances[0].get("/chats").await,
        instances[1].get("/chats").await,
    ];
    let mut retry_afters = Vec::new();
    for refused in &refusals {
        let details = refused.expect_error(429, "RATE_LIMITED");
        let [limit, remaining, reset, retry_after] = limit_headers(refused);
        assert_eq!((limit, remaining, reset), (Some(100), Some(0), first_reset));
        let retry_after = retry_after.expect("Retry-After");
        assert!((1..=60).contains(&retry_after), "{retry_after}");
        assert_eq!(details, json!({"retryAfter": retry_after}));
        retry_afters.push(retry_after);
    }
    assert!(
        retry_afters[0].abs_diff(retry_afters[1]) <= 1,
        "both count from one clock: {retry_afters:?}"
    );
    let logged: usize = redis::cmd("ZCARD")
        .arg(chatgate::edge::rate_limit::log_key(
            &keys.prefix,
            "127.0.0.1",
        ))
        .query_async(&mut keys.connection().await)
        .await
        .expect("ZCARD answers");
    assert_eq!(logged, 100, "refused requests are not written");
}

#[tokio::test]
async fn parallel_requests_on_two_instances_admit_exactly_the_limit() {
    let keys = prefix_or_skip!();
    let instances = two_instances(&keys, 50).await;
    let requests = (0..200).map(|i| {
        let app = &instances[i % 2];
        app.get("/chats")
    });
    let replies = futures::future::join_all(requests).await;
    let mut remaining: Vec<u64> = replies
        .iter()
        .filter(|reply| reply.status == 200)
        .map(|reply| limit_headers(reply)[1].expect("X-RateLimit-Remaining"))
        .collect();
    remaining.sort_unstable();
    assert_eq!(
        remaining,
        (0..50).collect::<Vec<u64>>(),
        "exactly 50 admitted, each counted once"
    );
    for refused in replies.iter().filter(|reply| reply.status != 200) {
        refused.expect_error(429, "RATE_LIMITED");
    }
    for app in &instances {
        assert_eq!(
            app.edge.rate_limit_backend(),
            Some(chatgate::edge::rate_limit::Backend::Redis),
            "Redis decided every request"
        );
    }
}

/// Two instances limiting `limit` requests per minute under the prefix `keys`.
async fn two_instances(keys: &ScratchPrefix, limit: u32) -> [TestApp; 2] {
    [
        spawn_sharing(keys, limit).await,
        spawn_sharing(keys, limit).await,
    ]
}
