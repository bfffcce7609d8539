//! The real binary shuts down gracefully on SIGTERM and SIGINT: it finishes, exits with status 0
//! within the drain time, and (with `LOG_FORMAT=json`) writes nothing but JSON lines.

use std::time::Duration;

use serde_json::{Value, json};
use tokio::io::AsyncReadExt;
use tokio::time::timeout;

use crate::helpers::binary::{DRAIN_SECS, json_line, next_line, send, start};

async fn stops_gracefully_on(signal: &str) {
    let mut server = start(&[]).await;
    let client = reqwest::Client::new();
    let response = client
        .post(format!("http://{}/graphql", server.address))
        .json(&json!({ "query": "{ chats { total } }" }))
        .send()
        .await
        .expect("the server answers");
    assert_eq!(
        response.json::<Value>().await.expect("JSON body"),
        json!({ "data": { "chats": { "total": 0 } } })
    );
    // `client` keeps its idle keep-alive connection open while the server stops.
    send(signal, &server.child);
    let status = timeout(Duration::from_secs(DRAIN_SECS), server.child.wait())
        .await
        .unwrap_or_else(|_| panic!("SIGTERM/SIGINT stops the server within {DRAIN_SECS} s"))
        .expect("the exit status is readable");
    assert!(status.success(), "exit status {status:?} after SIG{signal}");

    let mut entries = Vec::new();
    while let Some(line) = next_line(&mut server.stdout).await {
        entries.push(json_line(&line));
    }
    let messages: Vec<&Value> = entries.iter().map(|e| &e["message"]).collect();
    assert!(
        messages.ends_with(&[&json!("shutting down"), &json!("stopped")]),
        "{messages:?}"
    );
    // A drain cut short by the timeout would be logged as a warning.
    assert!(entries.iter().all(|e| e["level"] == "INFO"), "{entries:?}");
    let mut stderr = String::new();
    server
        .child
        .stderr
        .take()
        .expect("piped stderr")
        .read_to_string(&mut stderr)
        .await
        .expect("stderr is readable");
    for line in stderr.lines() {
        json_line(line);
    }
}

#[tokio::test]
async fn sigterm_drains_and_exits_with_status_zero() {
    stops_gracefully_on("TERM").await;
}

#[tokio::test]
async fn sigint_drains_and_exits_with_status_zero() {
    stops_gracefully_on("INT").await;
}
