//! Result maps keep the order of the selection set (aliases, nested selections and fragments
//! included), as the response text shows it, over HTTP and over both socket protocols.

use chatgate::events::Topic;
use serde_json::json;

use crate::helpers::TestApp;
use crate::helpers::ordered_json::OrderedJson;
use crate::helpers::spawn_app;
use crate::ws_client::{
    LEGACY_WS, TRANSPORT_WS, graphql_socket, next_type, subscribe, wait_for_subscribers,
};

const CREATE_CHAT: &str = r#"mutation { createChat(input: {title: "x"}) { title id priority } }"#;

/// Aliases in reverse alphabetical order, nested objects, a fragment between plain fields.
const ALIASED: &str = "{ zeta: chats(limit: 5) { total chats { updatedAt title ...Ident } } \
                       alpha: chats { hasMore limit } } \
                       fragment Ident on Chat { id active }";

/// Asserts every part of [`ALIASED`]'s answer (at `data`) in selection order.
fn assert_aliased_order(data: &OrderedJson) {
    assert_eq!(data.keys_at(&[]), ["zeta", "alpha"]);
    assert_eq!(data.keys_at(&["zeta"]), ["total", "chats"]);
    assert_eq!(
        data.keys_at(&["zeta", "chats", "0"]),
        ["updatedAt", "title", "id", "active"]
    );
    assert_eq!(data.keys_at(&["alpha"]), ["hasMore", "limit"]);
}

/// The response text of a GraphQL POST.
async fn post_text(app: &TestApp, query: &str) -> String {
    let response = app
        .client
        .post(app.url("/graphql"))
        .json(&json!({ "query": query }))
        .send()
        .await
        .expect("request reaches the server");
    assert_eq!(response.status(), 200);
    response.text().await.expect("readable body")
}

#[tokio::test]
async fn http_answers_keep_the_selection_order() {
    let app = spawn_app().await;
    let created = OrderedJson::parse(&post_text(&app, CREATE_CHAT).await);
    assert_eq!(created.keys_at(&["data"]), ["createChat"]);
    assert_eq!(
        created.keys_at(&["data", "createChat"]),
        ["title", "id", "priority"]
    );

    let aliased = OrderedJson::parse(&post_text(&app, ALIASED).await);
    assert_aliased_order(aliased.at(&["data"]));

    let by_get = app
        .client
        .get(app.url("/graphql"))
        .query(&[("query", ALIASED)])
        .send()
        .await
        .expect("request reaches the server")
        .text()
        .await
        .expect("readable body");
    assert_aliased_order(OrderedJson::parse(&by_get).at(&["data"]));
}

#[tokio::test]
async fn socket_results_keep_the_selection_order_in_both_protocols() {
    let app = spawn_app().await;
    app.create_chat("first").await;
    for protocol in [TRANSPORT_WS, LEGACY_WS] {
        let mut client = graphql_socket(&app, protocol).await;

        subscribe(&mut client, protocol, "q", ALIASED, json!({})).await;
        let frame = OrderedJson::parse(&client.next_text().await);
        assert_eq!(
            frame.at(&["type"]),
            &OrderedJson::Scalar(json!(next_type(protocol)))
        );
        assert_aliased_order(frame.at(&["payload", "data"]));
        assert_eq!(client.next().await, json!({"id": "q", "type": "complete"}));

        subscribe(&mut client, protocol, "m", CREATE_CHAT, json!({})).await;
        let frame = OrderedJson::parse(&client.next_text().await);
        assert_eq!(
            frame.keys_at(&["payload", "data", "createChat"]),
            ["title", "id", "priority"],
            "{protocol}"
        );
        assert_eq!(client.next().await, json!({"id": "m", "type": "complete"}));
    }
}

#[tokio::test]
async fn subscription_events_keep_the_selection_order_in_both_protocols() {
    let app = spawn_app().await;
    let watch = "subscription { chatChanged { chat { updatedAt title id } kind } }";
    let mut clients = Vec::new();
    for protocol in [TRANSPORT_WS, LEGACY_WS] {
        let mut client = graphql_socket(&app, protocol).await;
        subscribe(&mut client, protocol, "w", watch, json!({})).await;
        clients.push(client);
    }
    wait_for_subscribers(&app, Topic::AllChats, 2).await;
    app.create_chat("watched").await;
    for mut client in clients {
        let frame = OrderedJson::parse(&client.next_text().await);
        assert_eq!(
            frame.keys_at(&["payload", "data", "chatChanged"]),
            ["chat", "kind"]
        );
        assert_eq!(
            frame.keys_at(&["payload", "data", "chatChanged", "chat"]),
            ["updatedAt", "title", "id"]
        );
    }
}
