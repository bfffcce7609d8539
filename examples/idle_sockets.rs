//! How much server memory an idle WebSocket costs: opens N sockets to a running chatgate (half
//! on `/graphql`, acknowledged with `connection_init`; half on `/ws`, each answering a ping so
//! the server has read from it), then reads the server's resident memory (`VmRSS` in
//! `/proc/<pid>/status`) before and after.
//!
//! ```sh
//! cargo build --release --bin chatgate --example idle_sockets
//! target/release/chatgate --host 127.0.0.1 --port 8161 --rate-limit 0 >/dev/null 2>&1 &
//! sleep 1
//! target/release/examples/idle_sockets 127.0.0.1:8161 $! 2000
//! ```
//!
//! `--rate-limit 0`: every upgrade is a request, and 2,000 from one address exceed the default
//! quota.

use std::time::Duration;

use futures::{SinkExt, StreamExt};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

#[tokio::main]
async fn main() {
    let mut args = std::env::args().skip(1);
    let usage = "usage: idle_sockets <host:port> <server pid> [sockets, default 2000]";
    let address = args.next().expect(usage);
    let pid: u32 = args.next().and_then(|pid| pid.parse().ok()).expect(usage);
    let count: usize = args.next().map_or(2000, |n| n.parse().expect(usage));

    let before = resident_kib(pid);
    let mut sockets = Vec::with_capacity(count);
    for index in 0..count {
        let socket = if index % 2 == 0 {
            open_graphql(&address).await
        } else {
            open_join(&address).await
        };
        sockets.push(socket);
    }
    // Let the server settle (allocator, socket tasks parked on their first read).
    tokio::time::sleep(Duration::from_secs(1)).await;
    let after = resident_kib(pid);
    let per_socket = after.saturating_sub(before) as f64 / count as f64;
    println!(
        "{count} idle sockets: VmRSS {before} KiB -> {after} KiB, {per_socket:.1} KiB per socket"
    );
    drop(sockets);
}

/// A `/graphql` socket speaking graphql-transport-ws, acknowledged.
async fn open_graphql(address: &str) -> Socket {
    let mut request = format!("ws://{address}/graphql")
        .into_client_request()
        .expect("a valid URL");
    request.headers_mut().insert(
        "sec-websocket-protocol",
        HeaderValue::from_static("graphql-transport-ws"),
    );
    let (mut socket, _) = tokio_tungstenite::connect_async(request)
        .await
        .expect("the server accepts the socket");
    let init = r#"{"type":"connection_init","payload":{}}"#;
    socket
        .send(Message::Text(init.into()))
        .await
        .expect("connection_init is sent");
    until(
        &mut socket,
        |message| matches!(message, Message::Text(text) if text.contains("connection_ack")),
    )
    .await;
    socket
}

/// A `/ws` socket that has answered one ping.
async fn open_join(address: &str) -> Socket {
    let (mut socket, _) = tokio_tungstenite::connect_async(format!("ws://{address}/ws"))
        .await
        .expect("the server accepts the socket");
    socket
        .send(Message::Ping(Vec::new().into()))
        .await
        .expect("the ping is sent");
    until(&mut socket, |message| matches!(message, Message::Pong(_))).await;
    socket
}

async fn until(socket: &mut Socket, wanted: impl Fn(&Message) -> bool) {
    loop {
        let message = socket
            .next()
            .await
            .expect("the socket stays open")
            .expect("a readable frame");
        if wanted(&message) {
            return;
        }
    }
}

fn resident_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .expect("the server process is running");
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|value| value.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("/proc/<pid>/status has VmRSS")
}
