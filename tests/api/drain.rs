//! The drain delay of the real binary: after SIGTERM `/health/ready` turns 503 at once, and
//! the server goes on accepting connections and answering for `SHUTDOWN_DRAIN_MS` before it
//! stops, so a load balancer notices before connections are refused.

use std::time::Duration;

use serde_json::{Value, json};
use tokio::time::timeout;

use crate::helpers::binary::{DRAIN_SECS, json_line, next_line, send, start};

const DRAIN_MS: u64 = 5_000;

#[tokio::test]
async fn after_sigterm_new_connections_are_answered_through_the_drain_delay_while_not_ready() {
    let mut server = start(&[("SHUTDOWN_DRAIN_MS", &DRAIN_MS.to_string())]).await;
    // No idle connections kept: every request below opens a connection of its own.
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .build()
        .expect("a client");
    let url = |path: &str| format!("http://{}{path}", server.address);
    let ready = client
        .get(url("/health/ready"))
        .send()
        .await
        .expect("answered");
    assert_eq!(ready.status(), 200);

    send("TERM", &server.child);
    let not_ready = timeout(Duration::from_secs(10), async {
        loop {
            let answer = client
                .get(url("/health/ready"))
                .send()
                .await
                .expect("answered");
            if answer.status() == 503 {
                return answer.json::<Value>().await.expect("JSON");
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await
    .expect("readiness turns 503 after SIGTERM");
    let details = &not_ready["error"]["details"];
    assert_eq!(
        (&details["draining"], &details["database"]),
        (&json!(true), &json!("connected"))
    );

    let chats = client
        .get(url("/chats"))
        .send()
        .await
        .expect("a new connection is accepted");
    assert_eq!(chats.status(), 200, "and answered while draining");

    let limit = Duration::from_millis(DRAIN_MS) + Duration::from_secs(DRAIN_SECS);
    let status = timeout(limit, server.child.wait())
        .await
        .expect("the server stops after the drain delay and the shutdown")
        .expect("exit status");
    assert!(status.success());
    assert!(
        client.get(url("/chats")).send().await.is_err(),
        "nothing listens any more"
    );
    let mut messages = Vec::new();
    while let Some(line) = next_line(&mut server.stdout).await {
        messages.push(json_line(&line)["message"].clone());
    }
    let position = |message: &str| messages.iter().position(|m| m == message);
    let order = [
        position("shutting down"),
        position("not ready; serving on until the drain delay is over"),
        position("stopped"),
    ];
    assert!(
        order.iter().all(Option::is_some) && order.is_sorted(),
        "{messages:?}"
    );
    assert_eq!(messages.last(), Some(&json!("stopped")));
}
