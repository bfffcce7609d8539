//! `GET /chats`: order, filters, paging and the query-parameter rules.

use chatgate::domain::{ChatFields, Field, NewChat};
use serde_json::{Value, json};

use crate::helpers::{TestApp, spawn_app, spawn_app_with_clock};

fn titles(reply: &Value) -> Vec<String> {
    reply["chats"]
        .as_array()
        .expect("chats is a list")
        .iter()
        .map(|c| c["title"].as_str().expect("title").to_owned())
        .collect()
}

/// `n` chats titled `c0`, `c1`, … created through the service (fast, same rules).
async fn seed(app: &TestApp, n: usize) {
    for i in 0..n {
        let new = NewChat::parse(ChatFields {
            title: Field::Value(format!("c{i}")),
            ..Default::default()
        })
        .expect("valid chat");
        app.service.create_chat(new).await.expect("stored");
    }
}

#[tokio::test]
async fn an_empty_list_has_the_whole_shape() {
    let app = spawn_app().await;
    assert_eq!(
        app.get("/chats").await.expect(200),
        &json!({"chats": [], "total": 0, "limit": 100, "offset": 0, "hasMore": false})
    );
}

#[tokio::test]
async fn list_is_in_creation_order_unless_order_is_desc() {
    let app = spawn_app_with_clock().await;
    let first = app.rest_create_chat(json!({"title": "first"})).await;
    let second = app.rest_create_chat(json!({"title": "second"})).await;
    assert_eq!(
        app.get("/chats").await.expect(200),
        &json!({"chats": [first, second], "total": 2, "limit": 100, "offset": 0, "hasMore": false})
    );
    let asc = app.get("/chats?order=asc").await;
    assert_eq!(titles(asc.expect(200)), ["first", "second"]);
    let desc = app.get("/chats?order=desc").await;
    assert_eq!(titles(desc.expect(200)), ["second", "first"]);
}

#[tokio::test]
async fn list_filters_by_active_priority_and_user_id_together() {
    let app = spawn_app().await;
    for (title, active, priority, user) in [
        ("a", true, "high", "u1"),
        ("b", false, "high", "u1"),
        ("c", true, "low", "u1"),
        ("d", true, "high", "u2"),
        ("e", true, "high", "u1"),
    ] {
        app.rest_create_chat(
            json!({"title": title, "active": active, "priority": priority, "userId": user}),
        )
        .await;
    }
    let cases = [
        ("/chats?active=false", vec!["b"]),
        ("/chats?active=true", vec!["a", "c", "d", "e"]),
        ("/chats?priority=low", vec!["c"]),
        ("/chats?userId=u2", vec!["d"]),
        ("/chats?userId=nobody", vec![]),
        ("/chats?active=true&priority=high&userId=u1", vec!["a", "e"]),
        (
            "/chats?active=true&priority=high&userId=u1&order=desc&limit=1",
            vec!["e"],
        ),
    ];
    for (path, expected) in cases {
        let reply = app.get(path).await;
        assert_eq!(titles(reply.expect(200)), expected, "{path}");
    }
    let page = app.get("/chats?priority=high&limit=1&offset=1").await;
    let page = page.expect(200);
    assert_eq!(titles(page), ["b"]);
    assert_eq!(
        (&page["total"], &page["hasMore"]),
        (&json!(4), &json!(true))
    );
}

#[tokio::test]
async fn paging_reports_total_limit_offset_and_has_more() {
    let app = spawn_app().await;
    seed(&app, 5).await;
    let cases = [
        ("/chats?limit=2", vec!["c0", "c1"], 2, 0, true),
        ("/chats?limit=2&offset=2", vec!["c2", "c3"], 2, 2, true),
        ("/chats?limit=2&offset=4", vec!["c4"], 2, 4, false),
        ("/chats?limit=0", vec![], 0, 0, true),
        ("/chats?offset=5", vec![], 100, 5, false),
        (
            "/chats?offset=99999999999999999999",
            vec![],
            100,
            u64::MAX,
            false,
        ),
        (
            "/chats?limit=007&offset=0003",
            vec!["c3", "c4"],
            7,
            3,
            false,
        ),
    ];
    for (path, expected, limit, offset, has_more) in cases {
        let reply = app.get(path).await;
        let body = reply.expect(200);
        assert_eq!(titles(body), expected, "{path}");
        assert_eq!(
            (
                &body["total"],
                &body["limit"],
                &body["offset"],
                &body["hasMore"]
            ),
            (&json!(5), &json!(limit), &json!(offset), &json!(has_more)),
            "{path}"
        );
    }
}

#[tokio::test]
async fn limit_defaults_to_100_and_larger_values_are_clamped() {
    let app = spawn_app().await;
    seed(&app, 101).await;
    for (path, returned) in [
        ("/chats", 100),
        ("/chats?limit=100", 100),
        ("/chats?limit=101", 100),
        ("/chats?limit=99999999999999999999999", 100),
        ("/chats?limit=99", 99),
    ] {
        let reply = app.get(path).await;
        let body = reply.expect(200);
        assert_eq!(body["chats"].as_array().unwrap().len(), returned, "{path}");
        assert_eq!(body["limit"], json!(returned), "{path}");
        assert_eq!(
            (&body["total"], &body["hasMore"]),
            (&json!(101), &json!(true))
        );
    }
}

#[tokio::test]
async fn bad_query_values_are_400s_naming_the_parameter() {
    let app = spawn_app().await;
    let count = "must be a non-negative integer";
    let cases = [
        ("limit=-1", "limit", count),
        ("limit=abc", "limit", count),
        ("limit=", "limit", count),
        ("limit=%2B5", "limit", count),
        ("limit=+5", "limit", count),
        ("limit=1.5", "limit", count),
        ("limit=1e2", "limit", count),
        ("offset=-1", "offset", count),
        ("offset=", "offset", count),
        ("offset=x", "offset", count),
        (
            "priority=HIGH",
            "priority",
            "must be one of low, medium, high",
        ),
        ("priority=", "priority", "must be one of low, medium, high"),
        ("active=TRUE", "active", "must be true or false"),
        ("active=1", "active", "must be true or false"),
        ("order=DESC", "order", "must be one of asc, desc"),
        ("order=newest", "order", "must be one of asc, desc"),
        ("limit=1&limit=2", "limit", "must be given at most once"),
        ("userId=", "userId", "must not be blank"),
        ("userId=%20%20", "userId", "must not be blank"),
        (
            "userId=a%07b",
            "userId",
            "must not contain control characters",
        ),
    ];
    for (query, field, message) in cases {
        let reply = app.get(&format!("/chats?{query}")).await;
        assert_eq!(
            reply.body,
            json!({"error": {
                "code": "VALIDATION_ERROR",
                "message": format!("{field} {message}"),
                "details": {"fields": [{"field": field, "message": message}]}
            }}),
            "{query}"
        );
        assert_eq!(reply.status, 400, "{query}");
    }
}

#[tokio::test]
async fn every_bad_parameter_is_reported_at_once() {
    let app = spawn_app().await;
    let reply = app
        .get("/chats?active=yes&priority=HIGH&limit=-1&offset=abc&order=up")
        .await;
    assert_eq!(
        reply.expect_fields(),
        json!([
            {"field": "active", "message": "must be true or false"},
            {"field": "priority", "message": "must be one of low, medium, high"},
            {"field": "limit", "message": "must be a non-negative integer"},
            {"field": "offset", "message": "must be a non-negative integer"},
            {"field": "order", "message": "must be one of asc, desc"},
        ])
    );
}

#[tokio::test]
async fn unknown_query_parameters_are_ignored_even_when_repeated() {
    let app = spawn_app().await;
    seed(&app, 1).await;
    let reply = app.get("/chats?page=2&sort=title&x=1&x=2&LIMIT=abc").await;
    assert_eq!(reply.expect(200)["total"], 1);
}
