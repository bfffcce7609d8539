//! Request ids: a client's acceptable `X-Request-Id` is kept, anything else is replaced by a
//! generated UUID; every answer echoes it, errors quote it, and every log line of the request
//! names it.

use std::sync::Arc;

use chatgate::edge::Edge;
use chatgate::edge::api_keys::ApiKeys;
use reqwest::header::HeaderValue;
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use uuid::Uuid;

use crate::helpers::binary::{json_line, next_line, send, start};
use crate::helpers::{TestApp, manual_clock, spawn_app, spawn_app_with_edge, spawn_app_with_store};
use crate::rest_health::UnreachableStore;

const ID: &str = "checkout-7f3a 42";

fn echoed(response: &reqwest::Response) -> String {
    response
        .headers()
        .get("x-request-id")
        .expect("every answer carries X-Request-Id")
        .to_str()
        .expect("ASCII id")
        .to_owned()
}

async fn get_with_id(app: &TestApp, path: &str, id: HeaderValue) -> reqwest::Response {
    app.client
        .get(app.url(path))
        .header("x-request-id", id)
        .send()
        .await
        .expect("answered")
}

fn is_uuid(id: &str) -> bool {
    Uuid::parse_str(id).is_ok()
}

#[tokio::test]
async fn an_answer_to_a_request_without_an_id_carries_a_new_uuid() {
    let app = spawn_app().await;
    let first = app.client.get(app.url("/chats")).send().await.unwrap();
    let second = app.client.get(app.url("/health")).send().await.unwrap();
    assert!(is_uuid(&echoed(&first)), "{}", echoed(&first));
    assert!(is_uuid(&echoed(&second)));
    assert_ne!(echoed(&first), echoed(&second));
}

#[tokio::test]
async fn a_clients_id_is_echoed_by_rest_graphql_and_socket_upgrades() {
    let app = spawn_app().await;
    let rest = get_with_id(&app, "/chats", HeaderValue::from_static(ID)).await;
    assert_eq!(echoed(&rest), ID);
    let graphql = app
        .client
        .post(app.url("/graphql"))
        .header("x-request-id", ID)
        .json(&json!({"query": "{ chats { total } }"}))
        .send()
        .await
        .unwrap();
    assert_eq!(echoed(&graphql), ID);

    let mut request = app.ws_url("/graphql").into_client_request().unwrap();
    let headers = request.headers_mut();
    headers.insert(
        "sec-websocket-protocol",
        "graphql-transport-ws".parse().unwrap(),
    );
    headers.insert("x-request-id", ID.parse().unwrap());
    let (_socket, upgrade) = tokio_tungstenite::connect_async(request)
        .await
        .expect("the upgrade succeeds");
    assert_eq!(upgrade.headers()["x-request-id"], ID);
}

#[tokio::test]
async fn an_unacceptable_id_is_replaced_by_a_new_uuid() {
    let app = spawn_app().await;
    let too_long = "x".repeat(chatgate::request_id::MAX_LEN + 1);
    let at_most = "y".repeat(chatgate::request_id::MAX_LEN);
    let kept = get_with_id(&app, "/chats", HeaderValue::from_str(&at_most).unwrap()).await;
    assert_eq!(echoed(&kept), at_most);
    for bad in [
        HeaderValue::from_str(&too_long).unwrap(),
        HeaderValue::from_bytes(b"caf\xc3\xa9").unwrap(),
        HeaderValue::from_static("tab\there"),
        HeaderValue::from_static("   "),
        HeaderValue::from_static(""),
    ] {
        let response = get_with_id(&app, "/chats", bad.clone()).await;
        assert!(is_uuid(&echoed(&response)), "{bad:?} was replaced");
    }
    let twice = app
        .client
        .get(app.url("/chats"))
        .header("x-request-id", "one")
        .header("x-request-id", "two")
        .send()
        .await
        .unwrap();
    assert!(is_uuid(&echoed(&twice)), "two ids are replaced by one");
}

#[tokio::test]
async fn edge_refusals_echo_the_id_and_graphql_errors_quote_it() {
    let keyed = Edge::default().with_api_keys(ApiKeys::new(["s3cret".to_owned()]));
    let app = spawn_app_with_edge(keyed).await;
    let refused = app
        .client
        .post(app.url("/graphql"))
        .header("x-request-id", ID)
        .json(&json!({"query": "{ chats { total } }"}))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 401);
    assert_eq!(echoed(&refused), ID);
    let body: Value = refused.json().await.unwrap();
    assert_eq!(body["errors"][0]["extensions"]["requestId"], ID);
    let rest = get_with_id(&app, "/chats", HeaderValue::from_static(ID)).await;
    assert_eq!(rest.status(), 401);
    assert_eq!(echoed(&rest), ID);
    let body: Value = rest.json().await.unwrap();
    assert_eq!(
        body["error"]["details"],
        json!({}),
        "a 4xx envelope has no quote"
    );

    let limited = spawn_app_with_edge(Edge::default().with_rate_limit(1, 100)).await;
    get_with_id(&limited, "/chats", HeaderValue::from_static("first")).await;
    let refused = get_with_id(&limited, "/chats", HeaderValue::from_static(ID)).await;
    assert_eq!(refused.status(), 429);
    assert_eq!(echoed(&refused), ID);
}

#[tokio::test]
async fn a_server_failure_quotes_the_id_in_rest_details_and_graphql_extensions() {
    let app = spawn_app_with_store(Arc::new(UnreachableStore), manual_clock()).await;
    let rest = get_with_id(&app, "/chats", HeaderValue::from_static(ID)).await;
    assert_eq!(rest.status(), 500);
    assert_eq!(
        rest.json::<Value>().await.unwrap(),
        json!({"error": {
            "code": "INTERNAL_ERROR",
            "message": "Internal server error",
            "details": {"requestId": ID},
        }})
    );
    let health = get_with_id(&app, "/health/db", HeaderValue::from_static(ID)).await;
    assert_eq!(health.status(), 503);
    assert_eq!(
        health.json::<Value>().await.unwrap()["error"]["details"],
        json!({"database": "disconnected", "requestId": ID})
    );
    let graphql = app
        .client
        .post(app.url("/graphql"))
        .header("x-request-id", ID)
        .json(&json!({"query": "{ chats { total } }"}))
        .send()
        .await
        .unwrap();
    let body: Value = graphql.json().await.unwrap();
    assert_eq!(
        body["errors"][0]["extensions"],
        json!({"code": "INTERNAL_ERROR", "requestId": ID})
    );
}

#[tokio::test]
async fn every_log_line_of_a_request_names_its_id() {
    let mut server = start(&[]).await;
    let client = reqwest::Client::new();
    let answered = client
        .get(format!("http://{}/no/such/route", server.address))
        .header("x-request-id", "log-probe-5e1c")
        .send()
        .await
        .expect("answered");
    assert_eq!(answered.status(), 404);
    send("TERM", &server.child);
    let mut lines = Vec::new();
    while let Some(line) = next_line(&mut server.stdout).await {
        let entry = json_line(&line);
        if entry["span"]["uri"] == "/no/such/route" {
            lines.push(entry);
        }
    }
    assert!(!lines.is_empty(), "the request was logged");
    for entry in &lines {
        assert_eq!(entry["span"]["request_id"], "log-probe-5e1c", "{entry}");
    }
    assert!(
        lines.iter().any(|e| e["status"] == 404),
        "the answer's line is among them: {lines:?}"
    );
}
