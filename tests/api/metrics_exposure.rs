//! Where `/metrics` is served and who may read it: on the main port behind the API key (when
//! keys are on) and never rate-limited; on a listener of its own (`METRICS_ADDR`) without a key
//! and not on the main port; nowhere with `--metrics false`.

use chatgate::app::AppState;
use chatgate::edge::Edge;
use chatgate::edge::api_keys::ApiKeys;
use chatgate::metrics::Metrics;
use chatgate::metrics::http::Exposure;
use serde_json::json;

use crate::helpers::binary::{send, start};
use crate::helpers::{memory_parts, spawn_app_with_edge, spawn_app_with_state};
use crate::metrics::{scrape, value};

const KEY: &str = "s3cret";

#[tokio::test]
async fn with_keys_on_metrics_need_a_key_and_are_never_rate_limited() {
    let edge = Edge::default()
        .with_api_keys(ApiKeys::new([KEY.to_owned()]))
        .with_rate_limit(1, 100);
    let app = spawn_app_with_edge(edge).await;
    for _ in 0..3 {
        let refused = app.get("/metrics").await;
        refused.expect_error(401, "UNAUTHORIZED");
        assert_eq!(refused.header("x-ratelimit-limit"), None, "not counted");
    }
    for _ in 0..5 {
        scrape(&app, Some(KEY)).await;
    }
    let chats = || app.client.get(app.url("/chats")).header("x-api-key", KEY);
    assert_eq!(chats().send().await.expect("answered").status(), 200);
    assert_eq!(chats().send().await.expect("answered").status(), 429);

    let text = scrape(&app, Some(KEY)).await;
    assert_eq!(value(&text, "chatgate_rate_limit_refusals_total"), 1.0);
    assert_eq!(value(&text, "chatgate_rate_limit_tracked_clients"), 1.0);
    assert_eq!(
        value(&text, "chatgate_errors_total{code=\"RATE_LIMITED\"}"),
        1.0
    );
    assert_eq!(
        value(&text, "chatgate_errors_total{code=\"UNAUTHORIZED\"}"),
        3.0
    );
    assert_eq!(
        value(
            &text,
            "chatgate_http_requests_total{route=\"/metrics\",method=\"GET\",status=\"401\"}"
        ),
        3.0
    );
}

#[tokio::test]
async fn with_metrics_off_there_is_no_route_and_nothing_is_recorded() {
    let (store, responder) = memory_parts();
    let state = AppState::measured(store, responder, Metrics::off());
    assert!(!state.metrics.is_on());
    let app = spawn_app_with_state(state).await;
    app.get("/chats").await.expect(200);
    let answer = app.get("/metrics").await;
    assert_eq!(
        answer.expect_error(404, "NOT_FOUND"),
        json!({}),
        "the error envelope, details empty"
    );
}

#[tokio::test]
async fn metrics_served_elsewhere_are_not_a_route_of_the_main_port() {
    let (store, responder) = memory_parts();
    let elsewhere = Exposure::Own("127.0.0.1:0".parse().expect("an address"));
    let state = AppState::new(store, responder).with_metrics_exposure(elsewhere);
    let app = spawn_app_with_state(state).await;
    app.get("/metrics").await.expect_error(404, "NOT_FOUND");
}

#[tokio::test]
async fn the_binary_serves_metrics_on_their_own_address_without_a_key() {
    let mut server = start(&[("API_KEYS", KEY), ("METRICS_ADDR", "127.0.0.1:0")]).await;
    let listening = server
        .startup
        .iter()
        .find(|line| line["message"] == "metrics listening")
        .expect("the metrics address is logged before the main one");
    let metrics_address = listening["address"]
        .as_str()
        .expect("an address")
        .to_owned();
    let client = reqwest::Client::new();

    let main = client
        .get(format!("http://{}/metrics", server.address))
        .header("x-api-key", KEY)
        .send()
        .await
        .expect("answered");
    assert_eq!(main.status(), 404, "not on the main port");
    let body: serde_json::Value = main.json().await.expect("JSON");
    assert_eq!(body["error"]["code"], "NOT_FOUND");
    let chats = client
        .get(format!("http://{}/chats", server.address))
        .header("x-api-key", KEY)
        .send()
        .await
        .expect("answered");
    assert_eq!(chats.status(), 200);

    let scraped = client
        .get(format!("http://{metrics_address}/metrics"))
        .send()
        .await
        .expect("answered");
    assert_eq!(scraped.status(), 200, "no key needed there");
    let text = scraped.text().await.expect("text");
    assert_eq!(
        value(
            &text,
            "chatgate_http_requests_total{route=\"/chats\",method=\"GET\",status=\"200\"}"
        ),
        1.0
    );
    let other = client
        .get(format!("http://{metrics_address}/chats"))
        .send()
        .await
        .expect("answered");
    assert_eq!(other.status(), 404, "nothing else is served there");
    let body: serde_json::Value = other.json().await.expect("JSON");
    assert_eq!(body["error"]["code"], "NOT_FOUND");

    send("TERM", &server.child);
    let status = server.child.wait().await.expect("exit status");
    assert!(status.success());
}
