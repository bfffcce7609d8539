//! `/openapi.json` describes exactly the REST routes the server serves, as a valid OpenAPI 3.1
//! document, and `/docs` serves Swagger UI from the server itself.

use std::collections::{BTreeMap, BTreeSet, HashSet};

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{TestApp, spawn_app};

const METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

/// The REST routes docs/api.md lists.
fn contract_routes() -> BTreeSet<(String, String)> {
    let mut routes = vec![
        ("get", "/chats".to_owned()),
        ("post", "/chats".to_owned()),
        ("get", "/chats/{id}".to_owned()),
        ("put", "/chats/{id}".to_owned()),
        ("delete", "/chats/{id}".to_owned()),
        ("post", "/chats/{id}/toggle".to_owned()),
        ("get", "/health".to_owned()),
        ("get", "/health/db".to_owned()),
        ("get", "/health/ready".to_owned()),
    ];
    for prefix in ["/api", "/api/v1"] {
        routes.extend([
            ("post", format!("{prefix}/conversations")),
            ("get", format!("{prefix}/conversations")),
            ("get", format!("{prefix}/conversations/{{id}}")),
            ("delete", format!("{prefix}/conversations/{{id}}")),
            ("post", format!("{prefix}/conversations/{{id}}/messages")),
            ("get", format!("{prefix}/conversations/{{id}}/messages")),
            ("get", format!("{prefix}/messages/{{id}}")),
            ("post", format!("{prefix}/messages/{{id}}/reply")),
        ]);
    }
    routes.into_iter().map(|(m, p)| (m.to_owned(), p)).collect()
}

async fn fetch_doc(app: &TestApp) -> Value {
    let reply = app.get("/openapi.json").await;
    reply.expect(200).clone()
}

/// Every (method, path, operation) of the document.
fn operations(doc: &Value) -> Vec<(String, String, Value)> {
    let mut found = Vec::new();
    for (path, item) in doc["paths"].as_object().expect("paths object") {
        for method in METHODS {
            if let Some(op) = item.get(method) {
                found.push((method.to_owned(), path.clone(), op.clone()));
            }
        }
    }
    found
}

#[tokio::test]
async fn the_document_lists_exactly_the_contract_routes() {
    let app = spawn_app().await;
    let doc = fetch_doc(&app).await;
    let documented: BTreeSet<(String, String)> = operations(&doc)
        .into_iter()
        .map(|(m, p, _)| (m, p))
        .collect();
    assert_eq!(documented, contract_routes());
    assert_eq!(
        doc,
        serde_json::to_value(chatgate::rest::openapi()).unwrap()
    );
}

#[tokio::test]
async fn the_router_serves_exactly_the_documented_methods_of_each_path() {
    let app = spawn_app().await;
    let doc = fetch_doc(&app).await;
    let mut by_path: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (method, path, _) in operations(&doc) {
        by_path
            .entry(path)
            .or_default()
            .insert(method.to_uppercase());
    }
    let id = uuid::Uuid::new_v4().to_string();
    for (path, methods) in by_path {
        let concrete = path.replace("{id}", &id);
        // A method no route takes: the router's Allow header names what it serves there.
        let reply = app.send_raw(Method::TRACE, &concrete, None, "").await;
        reply.expect_error(405, "METHOD_NOT_ALLOWED");
        let allow: BTreeSet<String> = reply
            .header("allow")
            .expect("405 carries Allow")
            .split(',')
            .map(|m| m.trim().to_owned())
            .filter(|m| m != "HEAD")
            .collect();
        assert_eq!(allow, methods, "{path}");
        for method in methods {
            let method = Method::from_bytes(method.as_bytes()).unwrap();
            let reply = app
                .send_raw(method.clone(), &concrete, Some("application/json"), "{}")
                .await;
            assert_ne!(
                reply.body["error"]["message"], "no such route",
                "{method} {path} is routed"
            );
        }
    }
}

/// Follows a local `$ref` (`#/a/b`) in `doc`.
fn resolve<'a>(doc: &'a Value, reference: &str) -> Option<&'a Value> {
    doc.pointer(reference.strip_prefix('#')?)
}

fn collect_refs(value: &Value, refs: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            if let Some(Value::String(r)) = map.get("$ref") {
                refs.push(r.clone());
            }
            map.values().for_each(|v| collect_refs(v, refs));
        }
        Value::Array(items) => items.iter().for_each(|v| collect_refs(v, refs)),
        _ => {}
    }
}

#[tokio::test]
async fn the_document_is_structurally_valid_openapi_3_1() {
    let app = spawn_app().await;
    let doc = fetch_doc(&app).await;
    assert_eq!(doc["openapi"], "3.1.0");
    assert!(doc["info"]["title"].is_string() && doc["info"]["version"].is_string());
    // Parses as an OpenAPI document.
    serde_json::from_value::<utoipa::openapi::OpenApi>(doc.clone()).expect("parses as OpenAPI");

    let mut refs = Vec::new();
    collect_refs(&doc, &mut refs);
    assert!(!refs.is_empty());
    for reference in &refs {
        assert!(resolve(&doc, reference).is_some(), "dangling {reference}");
    }

    let mut operation_ids = HashSet::new();
    for (method, path, op) in operations(&doc) {
        let context = format!("{method} {path}");
        assert!(path.starts_with('/'), "{context}");
        let id = op["operationId"].as_str().expect("operationId");
        assert!(operation_ids.insert(id.to_owned()), "duplicate {id}");

        let params = op["parameters"].as_array().cloned().unwrap_or_default();
        let in_template: BTreeSet<&str> = path
            .split('/')
            .filter_map(|s| s.strip_prefix('{')?.strip_suffix('}'))
            .collect();
        let declared: BTreeSet<&str> = params
            .iter()
            .filter(|p| p["in"] == "path")
            .map(|p| {
                assert_eq!(
                    p["required"], true,
                    "{context}: path parameters are required"
                );
                p["name"].as_str().unwrap()
            })
            .collect();
        assert_eq!(in_template, declared, "{context}");
        for p in &params {
            assert!(["query", "path", "header", "cookie"].contains(&p["in"].as_str().unwrap()));
            assert!(
                p.get("schema").is_some(),
                "{context}: parameter has a schema"
            );
        }

        if let Some(body) = op.get("requestBody") {
            assert!(
                body["content"]["application/json"]["schema"].is_object(),
                "{context}"
            );
        }
        let responses = op["responses"].as_object().expect("responses");
        for (status, response) in responses {
            assert!(
                status.len() == 3 && status.parse::<u16>().is_ok(),
                "{context}: {status}"
            );
            let response = match response.get("$ref") {
                Some(r) => resolve(&doc, r.as_str().unwrap()).unwrap(),
                None => response,
            };
            assert!(response["description"].is_string(), "{context} {status}");
            let chatbot_429 = status == "429" && path.starts_with("/api/");
            if chatbot_429 {
                // The chatbot API fixes this one body: {error, message, retryAfter}.
                let schema = &response["content"]["application/json"]["schema"];
                let required: BTreeSet<&str> = schema["required"]
                    .as_array()
                    .expect("required fields")
                    .iter()
                    .map(|v| v.as_str().unwrap())
                    .collect();
                assert_eq!(
                    required,
                    BTreeSet::from(["error", "message", "retryAfter"]),
                    "{context}"
                );
            } else if status == "503" && path == "/health/db" {
                // The envelope plus the health fields a monitor reads.
                assert_eq!(
                    response["content"]["application/json"]["schema"]["$ref"],
                    "#/components/schemas/DbDown",
                    "{context}"
                );
            } else if status.starts_with('4') || status.starts_with('5') {
                assert_eq!(
                    response["content"]["application/json"]["schema"]["$ref"],
                    "#/components/schemas/ErrorEnvelope",
                    "{context} {status}"
                );
            }
            if status == "429" {
                for name in ["Retry-After", "X-RateLimit-Limit", "X-RateLimit-Reset"] {
                    assert!(response["headers"].get(name).is_some(), "{context} {name}");
                }
            }
        }
        // Every status the operation can answer, by what it takes.
        let statuses: BTreeSet<&str> = responses.keys().map(String::as_str).collect();
        let has_body = op.get("requestBody").is_some();
        let has_query = params.iter().any(|p| p["in"] == "query");
        let mut expected = vec!["405", "408", "500"];
        if has_body || has_query {
            expected.push("400");
        }
        if !declared.is_empty() {
            expected.push("404");
        }
        if has_body {
            expected.extend(["413", "415"]);
        }
        if !path.starts_with("/health") {
            expected.extend(["401", "429"]);
        }
        // Operations that ask the assistant may find it unavailable.
        if method == "post" && (path.ends_with("/messages") || path.ends_with("/reply")) {
            expected.extend(["400", "502"]);
        }
        for status in expected {
            assert!(statuses.contains(status), "{context} documents {status}");
        }
        assert!(
            statuses.iter().any(|s| s.starts_with('2')),
            "{context} documents success"
        );
    }
}

/// Every object schema anywhere in `value` (`type` is or includes `object`) that declares no
/// properties, by JSON pointer.
fn free_form_objects<'a>(value: &'a Value, at: String, found: &mut Vec<(String, &'a Value)>) {
    match value {
        Value::Object(map) => {
            let is_object = match map.get("type") {
                Some(Value::String(ty)) => ty == "object",
                Some(Value::Array(types)) => types.iter().any(|t| t == "object"),
                _ => false,
            };
            if is_object && map.get("properties").is_none() {
                found.push((at.clone(), value));
            }
            for (key, inner) in map {
                free_form_objects(inner, format!("{at}/{key}"), found);
            }
        }
        Value::Array(items) => {
            for (i, inner) in items.iter().enumerate() {
                free_form_objects(inner, format!("{at}/{i}"), found);
            }
        }
        _ => {}
    }
}

#[tokio::test]
async fn the_document_says_how_to_send_a_key_and_where_the_server_is() {
    let app = spawn_app().await;
    let doc = fetch_doc(&app).await;
    let servers = doc["servers"].as_array().expect("servers");
    assert_eq!(servers[0]["url"], "/");

    let schemes = &doc["components"]["securitySchemes"];
    let api_key = &schemes["apiKey"];
    assert_eq!(
        (&api_key["type"], &api_key["in"], &api_key["name"]),
        (&json!("apiKey"), &json!("header"), &json!("X-API-Key"))
    );
    assert_eq!(
        (&schemes["bearer"]["type"], &schemes["bearer"]["scheme"]),
        (&json!("http"), &json!("bearer"))
    );

    for (method, path, op) in operations(&doc) {
        let context = format!("{method} {path}");
        let security = op["security"]
            .as_array()
            .unwrap_or_else(|| panic!("{context} states its security"));
        for requirement in security {
            for scheme in requirement
                .as_object()
                .expect("a requirement object")
                .keys()
            {
                assert!(
                    schemes.get(scheme).is_some(),
                    "{context}: {scheme} is defined"
                );
            }
        }
        if op["responses"].get("401").is_some() {
            // Either scheme, or none when the server has no keys configured.
            assert_eq!(
                op["security"],
                json!([{"apiKey": []}, {"bearer": []}, {}]),
                "{context}"
            );
        } else {
            assert_eq!(op["security"], json!([]), "{context} needs no key");
        }
    }
}

#[tokio::test]
async fn every_object_schema_that_takes_any_keys_says_so() {
    let app = spawn_app().await;
    let doc = fetch_doc(&app).await;
    let mut found = Vec::new();
    free_form_objects(&doc, String::new(), &mut found);
    assert!(!found.is_empty(), "metadata objects are free-form");
    for (at, schema) in &found {
        assert!(
            schema
                .get("additionalProperties")
                .is_some_and(|a| a != false),
            "{at} takes any keys but does not say so: {schema}"
        );
    }
    let schemas = &doc["components"]["schemas"];
    for (schema, field) in [
        ("Conversation", "metadata"),
        ("Message", "metadata"),
        ("CreateConversationRequest", "metadata"),
        ("SendMessageRequest", "metadata"),
        ("ErrorBody", "details"),
    ] {
        assert_eq!(
            schemas[schema]["properties"][field]["additionalProperties"], true,
            "{schema}.{field}"
        );
    }
}

#[tokio::test]
async fn request_and_response_schemas_name_the_wire_fields() {
    let app = spawn_app().await;
    let doc = fetch_doc(&app).await;
    let schemas = &doc["components"]["schemas"];
    let props = |name: &str| -> BTreeSet<String> {
        schemas[name]["properties"]
            .as_object()
            .unwrap_or_else(|| panic!("{name} has properties"))
            .keys()
            .cloned()
            .collect()
    };
    let set = |names: &[&str]| names.iter().map(|s| s.to_string()).collect::<BTreeSet<_>>();
    assert_eq!(
        props("Chat"),
        set(&[
            "id",
            "title",
            "description",
            "active",
            "priority",
            "userId",
            "createdAt",
            "updatedAt"
        ])
    );
    assert_eq!(
        props("CreateChatRequest"),
        set(&["title", "description", "active", "priority", "userId"])
    );
    assert_eq!(
        props("Message"),
        set(&[
            "id",
            "conversationId",
            "role",
            "content",
            "metadata",
            "createdAt"
        ])
    );
    assert_eq!(
        props("ChatList"),
        set(&["chats", "total", "limit", "offset", "hasMore"])
    );
    assert_eq!(props("ErrorBody"), set(&["code", "message", "details"]));
    assert_eq!(
        schemas["ErrorBody"]["required"],
        serde_json::json!(["code", "message", "details"]),
        "every error carries details"
    );
    assert_eq!(
        schemas["ErrorBody"]["properties"]["details"]["type"],
        "object"
    );
    assert_eq!(
        schemas["Priority"]["enum"],
        serde_json::json!(["low", "medium", "high"])
    );
}

#[tokio::test]
async fn swagger_ui_is_served_by_the_server_itself() {
    let app = spawn_app().await;
    let no_redirects = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let redirect = no_redirects.get(app.url("/docs")).send().await.unwrap();
    assert!(redirect.status().is_redirection());
    assert_eq!(redirect.headers()["location"], "/docs/");

    let index = app.client.get(app.url("/docs/")).send().await.unwrap();
    assert_eq!(index.status(), 200);
    let html = index.text().await.unwrap();
    assert!(html.contains("swagger-ui"), "{html}");
    assert!(
        !html.contains("http://") && !html.contains("https://"),
        "no remote assets"
    );
    for asset in [
        "swagger-ui.css",
        "index.css",
        "swagger-ui-bundle.js",
        "swagger-ui-standalone-preset.js",
        "swagger-initializer.js",
        "favicon-32x32.png",
    ] {
        assert!(html.contains(asset), "index references {asset}");
        let response = app
            .client
            .get(app.url(&format!("/docs/{asset}")))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "{asset}");
    }
    let init = app
        .client
        .get(app.url("/docs/swagger-initializer.js"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(init.contains("/openapi.json"), "{init}");
    assert!(init.contains(r#""validatorUrl": "none""#), "{init}");
}
