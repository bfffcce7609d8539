//! The playground's pages and files over HTTP: redirect, favicon, content types, caching and
//! the edge's treatment of them. What the pages do in a browser is tested in `tests/browser/`.

use chatgate::edge::Edge;
use chatgate::edge::api_keys::ApiKeys;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{TestApp, spawn_app, spawn_app_with_edge};

fn no_redirects() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client builds")
}

fn header(response: &reqwest::Response, name: &str) -> String {
    response
        .headers()
        .get(name)
        .unwrap_or_else(|| panic!("no {name} header"))
        .to_str()
        .expect("ASCII header")
        .to_owned()
}

async fn get(app: &TestApp, path: &str) -> reqwest::Response {
    no_redirects()
        .get(app.url(path))
        .send()
        .await
        .expect("request reaches the server")
}

/// Every `src="…"` and `href="…"` value in a page.
fn references(html: &str) -> Vec<String> {
    ["src=\"", "href=\""]
        .iter()
        .flat_map(|attribute| html.split(attribute).skip(1))
        .map(|rest| rest.split('"').next().unwrap_or_default().to_owned())
        .collect()
}

#[tokio::test]
async fn the_root_redirects_permanently_to_the_playground() {
    let app = spawn_app().await;
    for path in ["/", "/playground/"] {
        let response = get(&app, path).await;
        assert_eq!(response.status(), StatusCode::PERMANENT_REDIRECT, "{path}");
        assert_eq!(header(&response, "location"), "/playground", "{path}");
    }
}

#[tokio::test]
async fn both_pages_are_html_whose_every_file_comes_from_this_server() {
    let app = spawn_app().await;
    for page in ["/playground", "/playground/chat"] {
        let response = get(&app, page).await;
        assert_eq!(response.status(), StatusCode::OK, "{page}");
        assert_eq!(
            header(&response, "content-type"),
            "text/html; charset=utf-8"
        );
        let policy = header(&response, "content-security-policy");
        assert!(policy.starts_with("default-src 'self'; script-src 'self';"));
        let html = response.text().await.expect("page body");
        let files = references(&html);
        assert!(
            files.contains(&"/favicon.ico".to_owned()),
            "{page} links the favicon"
        );
        for file in &files {
            assert!(
                file.starts_with('/'),
                "{page} refers to {file} on this server"
            );
            let response = get(&app, file).await;
            assert_eq!(response.status(), StatusCode::OK, "{page} needs {file}");
        }
    }
}

#[tokio::test]
async fn files_are_served_with_their_media_type_and_nosniff() {
    let app = spawn_app().await;
    for (path, media_type) in [
        (
            "/playground/vendor/graphiql.min.js",
            "text/javascript; charset=utf-8",
        ),
        (
            "/playground/vendor/graphiql.min.css",
            "text/css; charset=utf-8",
        ),
        ("/playground/chat/app.js", "text/javascript; charset=utf-8"),
        ("/favicon.ico", "image/x-icon"),
    ] {
        let response = get(&app, path).await;
        assert_eq!(response.status(), StatusCode::OK, "{path}");
        assert_eq!(header(&response, "content-type"), media_type, "{path}");
        assert_eq!(header(&response, "x-content-type-options"), "nosniff");
        assert_eq!(header(&response, "cache-control"), "no-cache");
    }
    let icon = get(&app, "/favicon.ico").await.bytes().await.expect("icon");
    assert_eq!(&icon[..4], &[0, 0, 1, 0], "an ICO file");
}

#[tokio::test]
async fn a_file_is_revalidated_by_its_etag() {
    let app = spawn_app().await;
    let first = get(&app, "/playground/vendor/graphiql.min.css").await;
    let etag = header(&first, "etag");
    let again = no_redirects()
        .get(app.url("/playground/vendor/graphiql.min.css"))
        .header("if-none-match", &etag)
        .send()
        .await
        .expect("request reaches the server");
    assert_eq!(again.status(), StatusCode::NOT_MODIFIED);
    assert_eq!(header(&again, "etag"), etag);
    assert!(again.bytes().await.expect("body").is_empty());
}

#[tokio::test]
async fn an_unknown_playground_file_is_a_404_in_the_error_envelope() {
    let app = spawn_app().await;
    let response = get(&app, "/playground/nothing-here.js").await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    let body: Value = response.json().await.expect("JSON body");
    assert_eq!(
        body,
        json!({"error": {"code": "NOT_FOUND", "message": "no such playground file", "details": {}}})
    );
}

#[tokio::test]
async fn the_pages_learn_whether_a_key_is_required() {
    let open = spawn_app().await;
    let body: Value = get(&open, "/playground/config.json")
        .await
        .json()
        .await
        .expect("JSON body");
    assert_eq!(body, json!({"apiKeyRequired": false}));

    let keyed =
        spawn_app_with_edge(Edge::default().with_api_keys(ApiKeys::new(["k".into()]))).await;
    let body: Value = get(&keyed, "/playground/config.json")
        .await
        .json()
        .await
        .expect("JSON body");
    assert_eq!(body, json!({"apiKeyRequired": true}));
}

#[tokio::test]
async fn with_keys_set_the_pages_stay_open_and_unlimited() {
    let edge = Edge::default()
        .with_api_keys(ApiKeys::new(["k".into()]))
        .with_rate_limit(1, 1_000);
    let app = spawn_app_with_edge(edge).await;
    for _ in 0..3 {
        for path in [
            "/playground",
            "/playground/chat",
            "/playground/chat/app.js",
            "/favicon.ico",
        ] {
            let response = get(&app, path).await;
            assert_eq!(response.status(), StatusCode::OK, "{path}");
            assert!(response.headers().get("x-ratelimit-limit").is_none());
        }
    }
    // `/` is open but counted: one request fits the limit of one.
    assert_eq!(
        get(&app, "/").await.status(),
        StatusCode::PERMANENT_REDIRECT
    );
}
