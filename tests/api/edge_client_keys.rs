//! Whom the rate limit counts as one client, through the real server behind a trusted proxy:
//! an IPv4 address, or a whole IPv6 /64 network, since one machine typically holds a /64.

use chatgate::edge::Edge;
use reqwest::StatusCode;

use crate::helpers::{TestApp, spawn_app_with_edge};

async fn status_for(app: &TestApp, forwarded_for: &str) -> StatusCode {
    app.client
        .get(app.url("/schema.graphql"))
        .header("x-forwarded-for", format!("198.51.100.7, {forwarded_for}"))
        .send()
        .await
        .expect("answered")
        .status()
}

#[tokio::test]
async fn every_address_of_one_ipv6_64_shares_one_limit() {
    let app = spawn_app_with_edge(
        Edge::default()
            .with_rate_limit(1, 1_000)
            .with_trust_proxy(true),
    )
    .await;
    assert_eq!(status_for(&app, "2001:db8:1:2::1").await, StatusCode::OK);
    for same_64 in ["2001:db8:1:2::2", "2001:db8:1:2:ffff:ffff:ffff:ffff"] {
        assert_eq!(
            status_for(&app, same_64).await,
            StatusCode::TOO_MANY_REQUESTS,
            "{same_64} is in the /64 that already used its limit"
        );
    }
    assert_eq!(
        status_for(&app, "2001:db8:1:3::1").await,
        StatusCode::OK,
        "the next /64 is another client"
    );
    assert_eq!(status_for(&app, "203.0.113.5").await, StatusCode::OK);
    assert_eq!(
        status_for(&app, "203.0.113.6").await,
        StatusCode::OK,
        "IPv4 clients are counted by address"
    );
    assert_eq!(
        status_for(&app, "::ffff:203.0.113.5").await,
        StatusCode::TOO_MANY_REQUESTS,
        "an IPv4-mapped address is that IPv4 client"
    );
}
