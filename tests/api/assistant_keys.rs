//! The model server's API key never leaves in a log line or an error: the real binary, with
//! `ASSISTANT=openai` and debug logging, talks to a model server that echoes the key back in
//! its error messages, and neither its answers to clients nor anything it writes contain it.

use serde_json::json;
use tokio::io::AsyncReadExt;

use crate::helpers::binary::{next_line, send, start};
use crate::helpers::openai::{Answer, FakeModel, KEY, MODEL};

#[tokio::test]
async fn the_model_key_never_appears_in_logs_or_errors() {
    let model = FakeModel::start().await;
    let echoed = format!("Incorrect API key provided: {KEY}. You sent 'Bearer {KEY}'.");
    model.script([Answer::error(401, &echoed)]);
    model.script(vec![Answer::error(500, &echoed); 3]);
    let base_url = model.base_url();
    let mut server = start(&[
        ("ASSISTANT", "openai"),
        ("OPENAI_BASE_URL", &base_url),
        ("OPENAI_API_KEY", KEY),
        ("OPENAI_MODEL", MODEL),
        ("RUST_LOG", "trace"),
    ])
    .await;
    let client = reqwest::Client::new();
    let url = |path: &str| format!("http://{}{path}", server.address);
    let conversation: serde_json::Value = client
        .post(url("/api/conversations"))
        .json(&json!({"userId": "ada"}))
        .send()
        .await
        .expect("answered")
        .json()
        .await
        .expect("JSON");
    let id = conversation["id"].as_str().expect("an id");
    let mut answers = String::new();
    for _ in 0..2 {
        let response = client
            .post(url(&format!("/api/conversations/{id}/messages")))
            .json(&json!({"content": "hi"}))
            .send()
            .await
            .expect("answered");
        assert_eq!(response.status().as_u16(), 502);
        answers.push_str(&response.text().await.expect("a body"));
    }
    assert_eq!(
        model.requests().len(),
        4,
        "one refusal, then three attempts"
    );
    assert!(
        model
            .requests()
            .iter()
            .all(|r| r.authorization.as_deref() == Some(&format!("Bearer {KEY}")))
    );
    assert!(answers.contains("ASSISTANT_UNAVAILABLE"), "{answers}");

    send("TERM", &server.child);
    let mut written = String::new();
    while let Some(line) = next_line(&mut server.stdout).await {
        written.push_str(&line);
        written.push('\n');
    }
    server
        .child
        .stderr
        .take()
        .expect("piped stderr")
        .read_to_string(&mut written)
        .await
        .expect("stderr is readable");
    assert!(
        written.contains("model server answered an error") && written.contains("<redacted>"),
        "the upstream errors are logged, key cut out:\n{written}"
    );
    assert!(
        !answers.contains(KEY),
        "{KEY} appears in an answer: {answers}"
    );
    assert!(
        !written.contains(KEY),
        "{KEY} appears in the logs:\n{written}"
    );
}
