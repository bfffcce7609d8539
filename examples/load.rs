//! The two helpers of the HTTP load benchmark (`benches/http/load.sh`, BENCHMARKS.md "Requests over
//! HTTP"):
//!
//! - `load baseline <port>`: a bare axum server answering every request with the same small
//!   JSON object, the yardstick each scenario's CPU time per request is compared with. It runs
//!   on the same runtime, allocator (mimalloc) and HTTP stack as chatgate, with none of its work.
//! - `load seed <base url> <dir>`: fills a running chatgate over its REST API with 10,000 chats
//!   and 1,000 conversations of 20 messages, and writes their ids, one a line, to
//!   `<dir>/chat_ids.txt` and `<dir>/conversation_ids.txt` for the load generator's scripts.
//!
//! ```sh
//! cargo build --release --example load
//! target/release/examples/load baseline 8172 &
//! target/release/examples/load seed http://127.0.0.1:8171 /tmp/load
//! ```

use std::path::{Path, PathBuf};

use axum::Router;
use axum::http::header;
use axum::response::IntoResponse;
use futures::{StreamExt, TryStreamExt};
use serde_json::{Value, json};

/// Chats the benchmark seeds, as the issue's measurements did.
const CHATS: usize = 10_000;
/// Conversations seeded for the message scenarios.
const CONVERSATIONS: usize = 1_000;
/// Messages posted to each seeded conversation; each gets an assistant reply, so a
/// conversation holds twice as many.
const POSTS_PER_CONVERSATION: usize = 10;
/// Requests the seeder keeps in flight.
const IN_FLIGHT: usize = 32;

/// The baseline's whole answer: about the size of one chat's `{ id title }`.
const FIXED_JSON: &str =
    r#"{"data":{"chat":{"id":"0b7ab1a2-3c4d-4e5f-8a9b-0c1d2e3f4a5b","title":"Weekly sync"}}}"#;

/// The allocator chatgate's binary uses, so the baseline differs from it only in the work done.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() {
    let usage = "usage: load baseline <port> | load seed <base url> <dir>";
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .as_slice()
    {
        ["baseline", port] => baseline(port.parse().expect(usage)).await,
        ["seed", url, dir] => seed(url.trim_end_matches('/'), Path::new(dir)).await,
        _ => {
            eprintln!("{usage}");
            std::process::exit(2);
        }
    }
}

/// Serves [`FIXED_JSON`] for every method and path on 127.0.0.1:`port`.
async fn baseline(port: u16) {
    async fn fixed() -> impl IntoResponse {
        ([(header::CONTENT_TYPE, "application/json")], FIXED_JSON)
    }
    let app = Router::new().fallback(fixed);
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await
        .expect("the baseline's port is free");
    axum::serve(listener, app)
        .await
        .expect("the baseline serves");
}

/// Seeds chats, conversations and messages, and writes the ids.
async fn seed(base: &str, dir: &Path) {
    std::fs::create_dir_all(dir).expect("the output folder can be made");
    let client = reqwest::Client::new();
    let priorities = ["low", "medium", "high"];
    let chats: Vec<String> = futures::stream::iter(0..CHATS)
        .map(|i| {
            let body = json!({
                "title": format!("Load chat {i}"),
                "priority": priorities[i % priorities.len()],
                "userId": format!("user{}", i % 100),
            });
            post_id(&client, format!("{base}/chats"), body)
        })
        .buffered(IN_FLIGHT)
        .try_collect()
        .await
        .expect("every chat is created");
    write_ids(dir.join("chat_ids.txt"), &chats);

    let conversations: Vec<String> = futures::stream::iter(0..CONVERSATIONS)
        .map(|i| {
            let body = json!({ "userId": format!("user{}", i % 100) });
            post_id(&client, format!("{base}/api/conversations"), body)
        })
        .buffered(IN_FLIGHT)
        .try_collect()
        .await
        .expect("every conversation is created");
    // One exchange at a time per conversation: each task posts one conversation's messages.
    futures::stream::iter(&conversations)
        .map(|id| {
            let client = &client;
            async move {
                for n in 0..POSTS_PER_CONVERSATION {
                    let url = format!("{base}/api/conversations/{id}/messages");
                    let body = json!({ "content": format!("Seed message {n}") });
                    post(client, url, body).await?;
                }
                Ok::<_, String>(())
            }
        })
        .buffer_unordered(IN_FLIGHT)
        .try_collect::<Vec<()>>()
        .await
        .expect("every message is posted");
    write_ids(dir.join("conversation_ids.txt"), &conversations);
    println!(
        "seeded {} chats, {} conversations of {} messages",
        chats.len(),
        conversations.len(),
        POSTS_PER_CONVERSATION * 2
    );
}

/// Posts `body` and answers the JSON response, failing on any status but 201.
async fn post(client: &reqwest::Client, url: String, body: Value) -> Result<Value, String> {
    let response = client
        .post(&url)
        .json(&body)
        .send()
        .await
        .map_err(|e| format!("POST {url}: {e}"))?;
    let status = response.status();
    let text = response.text().await.map_err(|e| e.to_string())?;
    if status != reqwest::StatusCode::CREATED {
        return Err(format!("POST {url}: {status} {text}"));
    }
    serde_json::from_str(&text).map_err(|e| format!("POST {url}: {e}"))
}

/// Posts `body` and answers the created record's `id`.
async fn post_id(client: &reqwest::Client, url: String, body: Value) -> Result<String, String> {
    let created = post(client, url, body).await?;
    created["id"]
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| format!("no id in {created}"))
}

fn write_ids(path: PathBuf, ids: &[String]) {
    let mut text = ids.join("\n");
    text.push('\n');
    std::fs::write(&path, text).unwrap_or_else(|e| panic!("writing {}: {e}", path.display()));
}
