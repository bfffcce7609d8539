//! The real binary shuts down gracefully on SIGTERM and SIGINT: it finishes, exits with status 0
//! within the drain time, and (with `LOG_FORMAT=json`) writes nothing but JSON lines.

use std::process::Stdio;
use std::time::Duration;

use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, BufReader, Lines};
use tokio::process::{Child, ChildStdout, Command};
use tokio::time::timeout;

/// `--shutdown-timeout` given to the server: the longest a graceful stop may take.
const DRAIN_SECS: u64 = 5;

struct Server {
    child: Child,
    stdout: Lines<BufReader<ChildStdout>>,
    address: String,
}

/// Parses a log line, failing the test if it is not JSON.
fn json_line(line: &str) -> Value {
    serde_json::from_str(line).unwrap_or_else(|e| panic!("log line is not JSON ({e}): {line}"))
}

async fn next_line(stdout: &mut Lines<BufReader<ChildStdout>>) -> Option<String> {
    timeout(Duration::from_secs(10), stdout.next_line())
        .await
        .expect("the server writes a line within 10 s")
        .expect("stdout is readable")
}

async fn start() -> Server {
    let mut child = Command::new(env!("CARGO_BIN_EXE_chatgate"))
        .args(["--host", "127.0.0.1", "--port", "0"])
        .args(["--shutdown-timeout", &DRAIN_SECS.to_string()])
        .env_clear()
        .env("LOG_FORMAT", "json")
        .env("RUST_LOG", "info")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("the chatgate binary starts");
    let mut stdout = BufReader::new(child.stdout.take().expect("piped stdout")).lines();
    loop {
        let line = next_line(&mut stdout)
            .await
            .expect("the server logs where it listens before anything else ends");
        let entry = json_line(&line);
        if entry["message"] == "chatgate listening" {
            let address = entry["address"].as_str().expect("address field").to_owned();
            let port = address.rsplit(':').next().expect("a port");
            assert_eq!(
                entry["playground"],
                format!("http://127.0.0.1:{port}/playground")
            );
            return Server {
                child,
                stdout,
                address,
            };
        }
    }
}

/// Sends `signal` (`TERM` or `INT`) with the system's `kill`.
fn send(signal: &str, child: &Child) {
    let pid = child.id().expect("the server is running");
    let status = std::process::Command::new("kill")
        .args(["-s", signal, &pid.to_string()])
        .status()
        .expect("kill runs");
    assert!(status.success(), "kill -s {signal} {pid}");
}

async fn stops_gracefully_on(signal: &str) {
    let mut server = start().await;
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
