//! Lists over GraphQL: limits and their clamping, offsets, `hasMore`, ordering (ties keep
//! creation order) and filters.

use futures::future::join_all;
use serde_json::{Value, json};

use crate::helpers::{TestApp, spawn_app_with_clock};

/// Creates chats titled `0`, `1`, … in that order (all in the same millisecond: the clock
/// does not move) and returns their ids.
async fn create_chats(app: &TestApp, count: usize) -> Vec<String> {
    let mut ids = Vec::with_capacity(count);
    for i in 0..count {
        let chat = app.create_chat(&i.to_string()).await;
        ids.push(chat["id"].as_str().unwrap().to_owned());
    }
    ids
}

async fn chat_page(app: &TestApp, arguments: &str) -> Value {
    let arguments = if arguments.is_empty() {
        String::new()
    } else {
        format!("({arguments})")
    };
    let reply = app
        .graphql(
            &format!("{{ chats{arguments} {{ total limit offset hasMore chats {{ id }} }} }}"),
            json!({}),
        )
        .await;
    reply.data()["chats"].clone()
}

fn page(ids: &[String], total: usize, limit: u64, offset: u64, has_more: bool) -> Value {
    let chats: Vec<Value> = ids.iter().map(|id| json!({ "id": id })).collect();
    json!({ "total": total, "limit": limit, "offset": offset, "hasMore": has_more, "chats": chats })
}

#[tokio::test]
async fn limit_zero_returns_no_items_but_the_right_total() {
    let app = spawn_app_with_clock().await;
    create_chats(&app, 3).await;
    let conversation = app.create_conversation("u").await;
    app.send_message(&conversation, "hi").await;
    assert_eq!(chat_page(&app, "limit: 0").await, page(&[], 3, 0, 0, true));
    let reply = app
        .graphql(
            "query($c: ID!) { conversations(userId: \"u\", limit: 0) { total hasMore conversations { id } } \
             messages(conversationId: $c, limit: 0) { total hasMore messages { id } } \
             conversation(id: $c) { messages(limit: 0) { total limit hasMore messages { id } } } }",
            json!({ "c": conversation }),
        )
        .await;
    assert_eq!(
        reply.body,
        json!({ "data": {
            "conversations": { "total": 1, "hasMore": true, "conversations": [] },
            "messages": { "total": 2, "hasMore": true, "messages": [] },
            "conversation": { "messages": { "total": 2, "limit": 0, "hasMore": true, "messages": [] } },
        } })
    );
}

#[tokio::test]
async fn a_limit_above_100_is_clamped_to_100_and_shown() {
    let app = spawn_app_with_clock().await;
    let ids = create_chats(&app, 102).await;
    assert_eq!(
        chat_page(&app, "limit: 100").await,
        page(&ids[..100], 102, 100, 0, true)
    );
    for limit in ["101", "2147483647"] {
        assert_eq!(
            chat_page(&app, &format!("limit: {limit}")).await,
            page(&ids[..100], 102, 100, 0, true),
            "limit {limit}"
        );
    }
    assert_eq!(
        chat_page(&app, "").await,
        page(&ids[..100], 102, 100, 0, true)
    );
    assert_eq!(
        chat_page(&app, "limit: 101, offset: 100").await,
        page(&ids[100..], 102, 100, 100, false)
    );
}

#[tokio::test]
async fn has_more_is_offset_plus_returned_below_total() {
    let app = spawn_app_with_clock().await;
    let ids = create_chats(&app, 5).await;
    assert_eq!(
        chat_page(&app, "limit: 2").await,
        page(&ids[0..2], 5, 2, 0, true)
    );
    assert_eq!(
        chat_page(&app, "limit: 2, offset: 2").await,
        page(&ids[2..4], 5, 2, 2, true)
    );
    assert_eq!(
        chat_page(&app, "limit: 2, offset: 4").await,
        page(&ids[4..5], 5, 2, 4, false)
    );
    assert_eq!(
        chat_page(&app, "limit: 3, offset: 2").await,
        page(&ids[2..5], 5, 3, 2, false)
    );
}

#[tokio::test]
async fn an_offset_past_the_end_gives_an_empty_page() {
    let app = spawn_app_with_clock().await;
    create_chats(&app, 2).await;
    for offset in [2, 3, 2_147_483_647] {
        assert_eq!(
            chat_page(&app, &format!("offset: {offset}")).await,
            page(&[], 2, 100, offset, false)
        );
    }
    let conversation = app.create_conversation("u").await;
    let reply = app
        .graphql(
            "query($c: ID!) { conversations(userId: \"u\", offset: 1) { total hasMore conversations { id } } \
             messages(conversationId: $c, offset: 9) { total hasMore messages { id } } }",
            json!({ "c": conversation }),
        )
        .await;
    assert_eq!(
        reply.body,
        json!({ "data": {
            "conversations": { "total": 1, "hasMore": false, "conversations": [] },
            "messages": { "total": 0, "hasMore": false, "messages": [] },
        } })
    );
}

#[tokio::test]
async fn chats_are_in_creation_order_unless_desc_and_ties_keep_it() {
    let app = spawn_app_with_clock().await;
    let mut ids = create_chats(&app, 3).await;
    app.clock().advance_millis(10);
    ids.extend(create_chats(&app, 2).await);
    assert_eq!(chat_page(&app, "").await, page(&ids, 5, 100, 0, false));
    assert_eq!(
        chat_page(&app, "order: ASC").await,
        page(&ids, 5, 100, 0, false)
    );
    let reversed: Vec<String> = ids.iter().rev().cloned().collect();
    assert_eq!(
        chat_page(&app, "order: DESC").await,
        page(&reversed, 5, 100, 0, false)
    );
    assert_eq!(
        chat_page(&app, "order: DESC, limit: 2, offset: 1").await,
        page(&reversed[1..3], 5, 2, 1, true)
    );
}

#[tokio::test]
async fn conversations_are_newest_first_unless_asc() {
    let app = spawn_app_with_clock().await;
    let mut ids = Vec::new();
    for step in 0..4 {
        if step == 2 {
            app.clock().advance_millis(1_000);
        }
        ids.push(app.create_conversation("u").await);
    }
    let list = |order: &'static str| {
        let app = &app;
        async move {
            let reply = app
                .graphql(
                    &format!(
                        "{{ conversations(userId: \"u\"{order}) {{ conversations {{ id }} }} }}"
                    ),
                    json!({}),
                )
                .await;
            reply.data()["conversations"]["conversations"]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| c["id"].as_str().unwrap().to_owned())
                .collect::<Vec<_>>()
        }
    };
    let newest_first: Vec<String> = ids.iter().rev().cloned().collect();
    assert_eq!(list("").await, newest_first);
    assert_eq!(list(", order: DESC").await, newest_first);
    assert_eq!(list(", order: ASC").await, ids);
}

#[tokio::test]
async fn messages_are_oldest_first_unless_desc_and_filter_by_role() {
    let app = spawn_app_with_clock().await;
    let conversation = app.create_conversation("u").await;
    let mut users = Vec::new();
    let mut all = Vec::new();
    for text in ["one", "two", "three"] {
        let sent = app.send_message(&conversation, text).await;
        users.push(sent["userMessage"]["id"].clone());
        all.push(sent["userMessage"]["id"].clone());
        all.push(sent["assistantMessage"]["id"].clone());
    }
    let ids = |arguments: &'static str| {
        let (app, conversation) = (&app, &conversation);
        async move {
            let reply = app
                .graphql(
                    &format!(
                        "query($c: ID!) {{ messages(conversationId: $c{arguments}) {{ total messages {{ id role }} }} }}"
                    ),
                    json!({ "c": conversation }),
                )
                .await;
            reply.data()["messages"].clone()
        }
    };
    let listed = |ids: &[Value], role: Option<&str>| -> Vec<Value> {
        ids.iter()
            .enumerate()
            .map(|(i, id)| {
                let role = role.unwrap_or(if i % 2 == 0 { "USER" } else { "ASSISTANT" });
                json!({ "id": id, "role": role })
            })
            .collect()
    };
    assert_eq!(
        ids("").await,
        json!({ "total": 6, "messages": listed(&all, None) })
    );
    let reversed: Vec<Value> = listed(&all, None).into_iter().rev().collect();
    assert_eq!(
        ids(", order: DESC").await,
        json!({ "total": 6, "messages": reversed })
    );
    assert_eq!(
        ids(", role: USER").await,
        json!({ "total": 3, "messages": listed(&users, Some("USER")) })
    );
    assert_eq!(
        ids(", role: ASSISTANT, order: DESC, limit: 1").await,
        json!({ "total": 3, "messages": [{ "id": all[5], "role": "ASSISTANT" }] })
    );
}

#[tokio::test]
async fn chats_filter_by_active_priority_and_user_id_alone_and_combined() {
    let app = spawn_app_with_clock().await;
    let specs = [
        ("a", true, "HIGH", Some("ann")),
        ("b", false, "HIGH", Some("ann")),
        ("c", true, "LOW", Some("bob")),
        ("d", true, "HIGH", None),
        ("e", false, "MEDIUM", Some("bob")),
    ];
    for (title, active, priority, user) in specs {
        let reply = app
            .graphql(
                "mutation($i: CreateChatInput!) { createChat(input: $i) { id } }",
                json!({ "i": { "title": title, "active": active, "priority": priority, "userId": user } }),
            )
            .await;
        reply.data();
    }
    let titles = |arguments: &'static str| {
        let app = &app;
        async move {
            let reply = app
                .graphql(
                    &format!("{{ chats({arguments}) {{ total chats {{ title }} }} }}"),
                    json!({}),
                )
                .await;
            let page = &reply.data()["chats"];
            let titles: Vec<&str> = page["chats"]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| c["title"].as_str().unwrap())
                .collect();
            assert_eq!(page["total"], titles.len(), "{arguments}");
            titles.join("")
        }
    };
    let cases = [
        ("active: true", "acd"),
        ("active: false", "be"),
        ("priority: HIGH", "abd"),
        ("priority: MEDIUM", "e"),
        ("userId: \"ann\"", "ab"),
        ("userId: \"nobody\"", ""),
        ("active: true, priority: HIGH", "ad"),
        ("active: true, userId: \"bob\"", "c"),
        ("active: false, priority: MEDIUM, userId: \"bob\"", "e"),
        ("active: false, priority: LOW", ""),
        ("priority: HIGH, order: DESC", "dba"),
    ];
    let results = join_all(cases.iter().map(|(arguments, _)| titles(arguments))).await;
    for ((arguments, expected), got) in cases.iter().zip(results) {
        assert_eq!(&got, expected, "{arguments}");
    }
}

crate::helpers::postgres::again_on_postgres!(
    limit_zero_returns_no_items_but_the_right_total,
    a_limit_above_100_is_clamped_to_100_and_shown,
    has_more_is_offset_plus_returned_below_total,
    an_offset_past_the_end_gives_an_empty_page,
    chats_are_in_creation_order_unless_desc_and_ties_keep_it,
    conversations_are_newest_first_unless_asc,
    messages_are_oldest_first_unless_desc_and_filter_by_role,
    chats_filter_by_active_priority_and_user_id_alone_and_combined,
);
