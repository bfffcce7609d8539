//! How many connections the server takes: a listen queue that absorbs a burst of connects, the
//! socket cap kept below the open-file limit, and HTTP answered while every socket is taken.

use std::time::Duration;

use chatgate::ws::SocketSettings;
use reqwest::StatusCode;
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio::time::timeout;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use crate::helpers::binary::start_with_file_limit;
use crate::helpers::spawn_app_with_sockets;
use crate::ws_client::{Client, TRANSPORT_WS, graphql_socket};

/// Longest a step may take before the test calls it hung (a dropped SYN is retried after 1 s,
/// then 3 s, 7 s, ...; an unanswered request would wait for ever).
const HANG: Duration = Duration::from_secs(10);

#[tokio::test]
async fn a_burst_of_a_thousand_connects_is_queued_while_none_is_accepted_yet() {
    let listener =
        chatgate::capacity::listen("127.0.0.1:0".parse().expect("an address")).expect("listens");
    let address = listener.local_addr().expect("bound");
    let mut connected = Vec::new();
    for index in 0..1000 {
        let stream = timeout(HANG, TcpStream::connect(address))
            .await
            .unwrap_or_else(|_| panic!("connect {index} was not queued"))
            .expect("the connect succeeds");
        connected.push(stream);
    }
    let (accepted, _) = listener.accept().await.expect("the first is accepted");
    assert_eq!(
        accepted.peer_addr().expect("peer"),
        connected[0].local_addr().expect("local")
    );
}

#[tokio::test]
async fn with_every_socket_taken_health_and_rest_requests_are_still_answered() {
    let app = spawn_app_with_sockets(SocketSettings {
        max_sockets: 2,
        ..SocketSettings::default()
    })
    .await;
    let _graphql = graphql_socket(&app, TRANSPORT_WS).await;
    let _join = Client::open(&app, "/ws", None).await;

    let refusal = Client::try_open(&app, "/ws", None)
        .await
        .err()
        .expect("a third socket is refused");
    assert_eq!(refusal.status, StatusCode::SERVICE_UNAVAILABLE);

    let health = timeout(HANG, app.get("/health"))
        .await
        .expect("/health answers at the cap");
    health.expect(200);
    let created = timeout(
        HANG,
        app.post_json("/chats", &json!({"title": "At the cap"})),
    )
    .await
    .expect("a REST request is answered at the cap");
    assert_eq!(created.expect(201)["title"], "At the cap");
    let query = json!({"query": "{ __typename }"});
    let answered = timeout(HANG, app.post_json("/graphql", &query))
        .await
        .expect("a GraphQL request is answered at the cap");
    answered.expect(200);
}

/// The one startup line that reports the open-file limit and the socket cap.
fn capacity_line(startup: &[Value]) -> &Value {
    startup
        .iter()
        .find(|line| line["message"] == "open-file limit and socket cap")
        .expect("the open-file limit and socket cap are logged at start")
}

#[tokio::test]
async fn the_binary_raises_its_file_limit_and_keeps_the_socket_cap_below_it() {
    let server = start_with_file_limit(600, 1100, &[("MAX_WEBSOCKETS", "100000")]).await;
    let line = capacity_line(&server.startup);
    assert_eq!(line["open_files_before"], 600, "{line}");
    assert_eq!(line["open_files"], 1100, "raised to the hard limit: {line}");
    assert_eq!(line["requested_max_websockets"], 100_000, "{line}");
    let cap = 1100 - chatgate::capacity::FILE_RESERVE;
    assert_eq!(line["max_websockets"], cap, "{line}");
    assert!(
        server.startup.iter().any(|line| line["level"] == "WARN"
            && line["message"] == "MAX_WEBSOCKETS lowered to fit the open-file limit"),
        "lowering the cap is a warning: {:?}",
        server.startup
    );

    let mut sockets = Vec::new();
    for _ in 0..cap {
        sockets.push(open_join(&server.address).await.expect("under the cap"));
    }
    let refused = open_join(&server.address)
        .await
        .expect_err("one socket beyond the cap is refused");
    assert_eq!(refused, 503);
    let health = timeout(
        HANG,
        reqwest::get(format!("http://{}/health", server.address)),
    )
    .await
    .expect("/health answers at the cap")
    .expect("/health is reachable");
    assert_eq!(health.status(), StatusCode::OK);
}

/// Opens a `/ws` socket on the binary at `address`, or returns the status that refused it.
async fn open_join(address: &str) -> Result<WebSocketStream<MaybeTlsStream<TcpStream>>, u16> {
    let request = format!("ws://{address}/ws")
        .into_client_request()
        .expect("a valid URL");
    match timeout(HANG, tokio_tungstenite::connect_async(request))
        .await
        .expect("the upgrade is answered")
    {
        Ok((socket, _)) => Ok(socket),
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            Err(response.status().as_u16())
        }
        Err(error) => panic!("the upgrade failed: {error}"),
    }
}
