//! The real binary on PostgreSQL, in the faults it must survive: killed with `SIGKILL` right
//! after answering 201, two instances sharing one database, and the database stopped and
//! started under a running instance (on a throwaway cluster, never the shared server).

use std::time::Duration;

use futures::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::io::BufReader;
use tokio::process::ChildStdout;
use tokio_tungstenite::tungstenite::Message;

use super::schema_or_skip;
use crate::helpers::binary::{Server, json_line, next_line, start};
use crate::helpers::pg_cluster::PgCluster;

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn start_on(database_url: &str) -> Server {
    start(&[
        ("DATABASE_URL", database_url),
        ("RATE_LIMIT_PER_MINUTE", "0"),
    ])
    .await
}

fn url(server: &Server, path: &str) -> String {
    format!("http://{}{path}", server.address)
}

async fn post(server: &Server, path: &str, body: Value) -> (u16, Value) {
    let reply = reqwest::Client::new()
        .post(url(server, path))
        .json(&body)
        .send()
        .await
        .expect("the server answers");
    let status = reply.status().as_u16();
    (status, reply.json().await.unwrap_or(Value::Null))
}

async fn get(server: &Server, path: &str) -> (u16, Value) {
    let reply = reqwest::get(url(server, path))
        .await
        .expect("the server answers");
    let status = reply.status().as_u16();
    (status, reply.json().await.unwrap_or(Value::Null))
}

/// A `/ws` socket joined to `conversation`.
async fn join(server: &Server, conversation: &str) -> Socket {
    let (mut socket, _) = tokio_tungstenite::connect_async(format!("ws://{}/ws", server.address))
        .await
        .expect("the socket opens");
    let join = json!({"type": "join", "conversationId": conversation});
    socket.send(Message::text(join.to_string())).await.unwrap();
    assert_eq!(next_frame(&mut socket).await["type"], "joined");
    socket
}

/// The next JSON text frame that is not a piece of a reply being written, failing the test
/// after 20 s.
async fn next_frame(socket: &mut Socket) -> Value {
    loop {
        let frame = tokio::time::timeout(Duration::from_secs(20), socket.next())
            .await
            .expect("a frame within 20 s")
            .expect("the socket is open")
            .expect("a readable frame");
        if let Message::Text(text) = frame {
            let frame: Value = serde_json::from_str(&text).expect("JSON frames");
            if frame["type"] != "delta" {
                return frame;
            }
        }
    }
}

/// Reads log lines until one whose message is `message`.
async fn log_line(stdout: &mut tokio::io::Lines<BufReader<ChildStdout>>, message: &str) -> Value {
    loop {
        let line = next_line(stdout).await.expect("the server keeps logging");
        let entry = json_line(&line);
        if entry["message"] == message {
            return entry;
        }
    }
}

#[tokio::test]
async fn a_record_answered_with_201_survives_sigkill_and_a_restart() {
    let schema = schema_or_skip!();
    let mut server = start_on(&schema.url()).await;
    let (status, chat) = post(&server, "/chats", json!({"title": "Kept"})).await;
    assert_eq!(status, 201);
    let (status, conversation) = post(&server, "/api/conversations", json!({"userId": "u"})).await;
    assert_eq!(status, 201);
    let conversation_id = conversation["id"].as_str().unwrap();
    let messages = format!("/api/conversations/{conversation_id}/messages");
    let (status, sent) = post(&server, &messages, json!({"content": "remember"})).await;
    assert_eq!(status, 201);
    server.child.start_kill().expect("SIGKILL is sent");
    server.child.wait().await.expect("the process is gone");

    let restarted = start_on(&schema.url()).await;
    let id = chat["id"].as_str().unwrap();
    assert_eq!(get(&restarted, &format!("/chats/{id}")).await, (200, chat));
    let (status, stored) = get(&restarted, &messages).await;
    assert_eq!(status, 200);
    assert_eq!(
        stored["messages"],
        json!([sent["userMessage"], sent["assistantMessage"]])
    );
}

#[tokio::test]
async fn two_instances_on_one_database_share_records_and_live_updates() {
    let schema = schema_or_skip!();
    let (first, second) = (start_on(&schema.url()).await, start_on(&schema.url()).await);
    let (_, conversation) = post(&first, "/api/conversations", json!({"userId": "u"})).await;
    let conversation_id = conversation["id"].as_str().unwrap();
    let mut socket = join(&first, conversation_id).await;
    let messages = format!("/api/conversations/{conversation_id}/messages");
    let (status, sent) = post(&second, &messages, json!({"content": "from the other"})).await;
    assert_eq!(status, 201);
    for key in ["userMessage", "assistantMessage"] {
        assert_eq!(
            next_frame(&mut socket).await,
            json!({"type": "message", "message": sent[key]})
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stopped_database_gets_503s_and_the_server_recovers_when_it_is_back() {
    let Some(cluster) = PgCluster::start() else {
        return;
    };
    let mut server = start_on(&cluster.url()).await;
    let (_, chat) = post(&server, "/chats", json!({"title": "Before"})).await;
    let chat_path = format!("/chats/{}", chat["id"].as_str().unwrap());
    let (_, conversation) = post(&server, "/api/conversations", json!({"userId": "u"})).await;
    let conversation_id = conversation["id"].as_str().unwrap();
    let mut socket = join(&server, conversation_id).await;

    tokio::task::block_in_place(|| cluster.stop());
    log_line(
        &mut server.stdout,
        "lost the database notification connection; live subscribers will be told to resume",
    )
    .await;
    let (status, body) = get(&server, &chat_path).await;
    assert_eq!(
        (status, &body["error"]["code"]),
        (503, &json!("SERVICE_UNAVAILABLE"))
    );
    let (status, body) = post(&server, "/chats", json!({"title": "During"})).await;
    assert_eq!(
        (status, &body["error"]["code"]),
        (503, &json!("SERVICE_UNAVAILABLE"))
    );
    let (status, body) = get(&server, "/health/db").await;
    assert_eq!((status, &body["status"]), (503, &json!("error")));
    assert_eq!(
        get(&server, "/health").await.0,
        200,
        "the process keeps running"
    );

    tokio::task::block_in_place(|| cluster.resume());
    log_line(
        &mut server.stdout,
        "database notifications are listened to again",
    )
    .await;
    let lagged = next_frame(&mut socket).await;
    assert_eq!(
        (&lagged["type"], &lagged["error"]["code"]),
        (&json!("error"), &json!("SUBSCRIPTION_LAGGED"))
    );
    assert_eq!(get(&server, &chat_path).await, (200, chat));
    assert_eq!(get(&server, "/health/db").await.0, 200);
    let mut again = join(&server, conversation_id).await;
    let messages = format!("/api/conversations/{conversation_id}/messages");
    let (status, sent) = post(&server, &messages, json!({"content": "after"})).await;
    assert_eq!(status, 201);
    assert_eq!(
        next_frame(&mut again).await,
        json!({"type": "message", "message": sent["userMessage"]})
    );
}
