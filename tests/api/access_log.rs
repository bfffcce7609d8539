//! The access log of the real binary: one JSON object per line; GraphQL request lines name the
//! operation and its type, never its variables or the text it carries; `ACCESS_LOG=false`
//! drops the line per request and keeps every other line, the last one at exit included.

use serde_json::{Value, json};

use crate::helpers::binary::{Server, json_line, next_line, send, start};

const SECRETS: [&str; 3] = [
    "post-variable-7c1e",
    "get-variable-9a4d",
    "message-content-51b0",
];

/// Sends a GraphQL mutation by POST, a query by GET and a REST message, each carrying one of
/// [`SECRETS`].
async fn traffic(server: &Server) {
    let client = reqwest::Client::new();
    let base = format!("http://{}", server.address);
    let posted = client
        .post(format!("{base}/graphql"))
        .json(&json!({
            "query": "mutation Secretive($t: String!) { createChat(input: {title: $t}) { id } }",
            "variables": {"t": SECRETS[0]},
        }))
        .send()
        .await
        .expect("answered");
    assert_eq!(posted.status(), 200);
    let variables = json!({"id": SECRETS[1]}).to_string();
    let got = client
        .get(format!("{base}/graphql"))
        .query(&[
            ("query", "query Peek($id: ID!) { chat(id: $id) { id } }"),
            ("variables", variables.as_str()),
        ])
        .send()
        .await
        .expect("answered");
    assert_eq!(got.status(), 200);
    let conversation: Value = client
        .post(format!("{base}/api/conversations"))
        .json(&json!({"userId": "ada"}))
        .send()
        .await
        .expect("answered")
        .json()
        .await
        .expect("JSON");
    let id = conversation["id"].as_str().expect("an id");
    let sent = client
        .post(format!("{base}/api/conversations/{id}/messages"))
        .json(&json!({"content": SECRETS[2]}))
        .send()
        .await
        .expect("answered");
    assert_eq!(sent.status(), 201);
}

/// Stops the server and returns every line it wrote, each parsed as JSON.
async fn stop(mut server: Server) -> Vec<Value> {
    send("TERM", &server.child);
    let mut lines = Vec::new();
    while let Some(line) = next_line(&mut server.stdout).await {
        assert!(
            !SECRETS.iter().any(|secret| line.contains(secret)),
            "logged: {line}"
        );
        lines.push(json_line(&line));
    }
    assert!(server.child.wait().await.expect("exit status").success());
    lines
}

fn access_lines(lines: &[Value]) -> Vec<&Value> {
    lines
        .iter()
        .filter(|line| line["message"] == "finished processing request")
        .collect()
}

#[tokio::test]
async fn graphql_lines_name_the_operation_and_its_type_but_never_the_variables() {
    let server = start(&[]).await;
    traffic(&server).await;
    let lines = stop(server).await;
    let access = access_lines(&lines);
    let graphql: Vec<(&Value, &Value, &Value)> = access
        .iter()
        .filter(|line| line["span"]["uri"] == "/graphql")
        .map(|line| {
            let span = &line["span"];
            (
                &span["method"],
                &span["graphql_operation_type"],
                &span["graphql_operation_name"],
            )
        })
        .collect();
    assert_eq!(
        graphql,
        [
            (&json!("POST"), &json!("mutation"), &json!("Secretive")),
            (&json!("GET"), &json!("query"), &json!("Peek")),
        ],
        "{access:#?}"
    );
    assert_eq!(access.len(), 4, "one line per request: {access:#?}");
    assert!(
        access
            .iter()
            .all(|line| line["status"] == 200 || line["status"] == 201)
    );
}

#[tokio::test]
async fn with_the_access_log_off_only_the_line_per_request_goes() {
    let server = start(&[("ACCESS_LOG", "false")]).await;
    traffic(&server).await;
    let lines = stop(server).await;
    assert_eq!(access_lines(&lines), Vec::<&Value>::new());
    let messages: Vec<&Value> = lines.iter().map(|line| &line["message"]).collect();
    assert!(
        messages.ends_with(&[&json!("shutting down"), &json!("stopped")]),
        "the lines written at exit are all there: {messages:?}"
    );
}
