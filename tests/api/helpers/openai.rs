//! A model server inside the tests: speaks OpenAI's Chat Completions streaming protocol on
//! 127.0.0.1 exactly as OpenAI documents it (a first chunk with the role, one chunk per
//! content delta, a chunk with `finish_reason`, a usage chunk, `data: [DONE]`), answers the
//! requests it gets from a script, and records each of them. Nothing here touches the
//! internet.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::post;
use chatgate::assistant::openai::{ApiKey, OpenAiConfig};
use parking_lot::Mutex;
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::sync::{mpsc, watch};

/// The model name the fake reports in its chunks.
pub const MODEL: &str = "fake-gpt";

/// The key the tests configure.
pub const KEY: &str = "sk-test-4f9b2c7e1d";

/// A gate a streamed answer waits at until the test opens it.
#[derive(Clone)]
pub struct Gate(Arc<watch::Sender<bool>>);

impl Default for Gate {
    fn default() -> Self {
        Self(Arc::new(watch::channel(false).0))
    }
}

impl Gate {
    pub fn open(&self) {
        self.0.send_replace(true);
    }

    async fn passed(&self) {
        let mut rx = self.0.subscribe();
        let _ = rx.wait_for(|open| *open).await;
    }
}

/// How the fake answers one request.
#[derive(Clone)]
pub enum Answer {
    Stream(Streamed),
    /// An error answer in OpenAI's shape, with extra headers (such as `Retry-After`).
    Error {
        status: u16,
        headers: Vec<(&'static str, String)>,
        message: String,
    },
    /// Headers and the role chunk, then nothing more until the client goes away.
    Stall,
}

/// A streamed answer and the ways it can misbehave.
#[derive(Clone, Default)]
pub struct Streamed {
    deltas: Vec<String>,
    /// Send the body in pieces of this many bytes, each written on its own.
    split: Option<usize>,
    keepalives: bool,
    no_usage: bool,
    /// After this many deltas, break the connection.
    cut_after: Option<usize>,
    /// After so many deltas, wait for a gate (several may be given).
    holds: Vec<(usize, Gate)>,
}

impl Answer {
    /// A well-formed stream of these deltas.
    pub fn stream<S: Into<String>>(deltas: impl IntoIterator<Item = S>) -> Streamed {
        Streamed {
            deltas: deltas.into_iter().map(Into::into).collect(),
            ..Streamed::default()
        }
    }

    /// An error answer with OpenAI's error body.
    pub fn error(status: u16, message: &str) -> Self {
        Answer::Error {
            status,
            headers: Vec::new(),
            message: message.into(),
        }
    }

    /// A 429 asking to wait `retry_after` (the `Retry-After` header value).
    pub fn rate_limited(retry_after: &str) -> Self {
        Answer::Error {
            status: 429,
            headers: vec![("retry-after", retry_after.to_owned())],
            message: "Rate limit reached for requests".into(),
        }
    }
}

impl Streamed {
    pub fn split_every(mut self, bytes: usize) -> Self {
        self.split = Some(bytes);
        self
    }
    pub fn with_keepalives(mut self) -> Self {
        self.keepalives = true;
        self
    }
    pub fn without_usage(mut self) -> Self {
        self.no_usage = true;
        self
    }
    pub fn cut_after(mut self, deltas: usize) -> Self {
        self.cut_after = Some(deltas);
        self
    }
    pub fn hold_after(mut self, deltas: usize, gate: &Gate) -> Self {
        self.holds.push((deltas, gate.clone()));
        self
    }
    pub fn answer(self) -> Answer {
        Answer::Stream(self)
    }
}

impl From<Streamed> for Answer {
    fn from(streamed: Streamed) -> Self {
        Answer::Stream(streamed)
    }
}

/// One request the fake received.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub authorization: Option<String>,
    pub body: Value,
}

impl Recorded {
    /// `(role, content)` of every message sent.
    pub fn messages(&self) -> Vec<(String, String)> {
        self.body["messages"]
            .as_array()
            .expect("messages array")
            .iter()
            .map(|m| {
                (
                    m["role"].as_str().expect("role").to_owned(),
                    m["content"].as_str().expect("content").to_owned(),
                )
            })
            .collect()
    }
}

#[derive(Default)]
struct Shared {
    script: Mutex<VecDeque<Answer>>,
    requests: Mutex<Vec<Recorded>>,
    count: watch::Sender<usize>,
}

/// The running fake; stops when dropped.
pub struct FakeModel {
    pub address: SocketAddr,
    shared: Arc<Shared>,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for FakeModel {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl FakeModel {
    /// Starts the fake on a free port; with an empty script it streams "Default reply."
    pub async fn start() -> Self {
        let shared = Arc::new(Shared::default());
        let app = Router::new()
            .route("/v1/chat/completions", post(completions))
            .with_state(shared.clone());
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind port 0");
        let address = listener.local_addr().expect("bound address");
        let server = tokio::spawn(async move {
            axum::serve(listener, app).await.expect("the fake serves");
        });
        Self {
            address,
            shared,
            server,
        }
    }

    /// Queues answers for the next requests, in order.
    pub fn script(&self, answers: impl IntoIterator<Item = Answer>) {
        self.shared.script.lock().extend(answers);
    }

    /// Every request so far.
    pub fn requests(&self) -> Vec<Recorded> {
        self.shared.requests.lock().clone()
    }

    /// Waits until `n` requests have arrived.
    pub async fn wait_for_requests(&self, n: usize) {
        let mut count = self.shared.count.subscribe();
        tokio::time::timeout(Duration::from_secs(10), count.wait_for(|c| *c >= n))
            .await
            .unwrap_or_else(|_| panic!("the model gets {n} requests within 10 s"))
            .expect("the fake runs");
    }

    /// The base URL to configure (`…/v1`).
    pub fn base_url(&self) -> String {
        format!("http://{}/v1", self.address)
    }

    /// A configuration for this fake with the test key and quick retries.
    pub fn config(&self) -> OpenAiConfig {
        let mut config = OpenAiConfig::new(&self.base_url(), MODEL).expect("valid config");
        config.api_key = ApiKey::new(KEY);
        config.backoff = Duration::from_millis(1);
        config.first_token_timeout = Duration::from_secs(10);
        config.timeout = Duration::from_secs(20);
        config
    }
}

async fn completions(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let authorization = headers
        .get("authorization")
        .map(|v| v.to_str().expect("ASCII header").to_owned());
    let body: Value = serde_json::from_slice(&body).expect("the request body is JSON");
    shared.requests.lock().push(Recorded {
        authorization,
        body,
    });
    let answer = shared
        .script
        .lock()
        .pop_front()
        .unwrap_or_else(|| Answer::stream(["Default ", "reply."]).answer());
    shared.count.send_modify(|c| *c += 1);
    match answer {
        Answer::Error {
            status,
            headers,
            message,
        } => {
            let kind = if status == 429 {
                "requests"
            } else {
                "server_error"
            };
            let body =
                json!({"error": {"message": message, "type": kind, "param": null, "code": null}});
            let mut response = Response::builder()
                .status(StatusCode::from_u16(status).expect("valid status"))
                .header("content-type", "application/json");
            for (name, value) in headers {
                response = response.header(name, value);
            }
            response
                .body(Body::from(body.to_string()))
                .expect("valid response")
        }
        Answer::Stall => {
            let role = chunk(json!({"role": "assistant", "content": ""}), None);
            streaming(vec![Frame::Bytes(role.into_bytes()), Frame::Stall])
        }
        Answer::Stream(streamed) => streaming(frames(streamed)),
    }
}

/// What the body writer does next.
enum Frame {
    Bytes(Vec<u8>),
    Hold(Gate),
    Cut,
    Stall,
}

/// One `data:` event with a chunk whose first choice has `delta` (and `finish_reason`).
fn chunk(delta: Value, finish_reason: Option<&str>) -> String {
    let chunk = json!({
        "id": "chatcmpl-test",
        "object": "chat.completion.chunk",
        "created": 1_760_000_000,
        "model": MODEL,
        "system_fingerprint": "fp_test",
        "choices": [{"index": 0, "delta": delta, "logprobs": null, "finish_reason": finish_reason}],
    });
    format!("data: {chunk}\n\n")
}

fn frames(streamed: Streamed) -> Vec<Frame> {
    let mut events = vec![chunk(json!({"role": "assistant", "content": ""}), None)];
    let mut frames = Vec::new();
    let flush = |events: &mut Vec<String>, frames: &mut Vec<Frame>| {
        let text = events.concat();
        events.clear();
        match streamed.split {
            Some(size) => frames.extend(
                text.as_bytes()
                    .chunks(size)
                    .map(|piece| Frame::Bytes(piece.to_vec())),
            ),
            None => frames.push(Frame::Bytes(text.into_bytes())),
        }
    };
    for (i, delta) in streamed.deltas.iter().enumerate() {
        if streamed.cut_after == Some(i) {
            flush(&mut events, &mut frames);
            frames.push(Frame::Cut);
            return frames;
        }
        for (_, gate) in streamed.holds.iter().filter(|(after, _)| *after == i) {
            flush(&mut events, &mut frames);
            frames.push(Frame::Hold(gate.clone()));
        }
        if streamed.keepalives {
            events.push(": keep-alive\n\n".into());
        }
        events.push(chunk(json!({"content": delta}), None));
    }
    events.push(chunk(json!({}), Some("stop")));
    if !streamed.no_usage {
        let usage = json!({
            "id": "chatcmpl-test", "object": "chat.completion.chunk", "created": 1_760_000_000,
            "model": MODEL, "choices": [],
            "usage": {"prompt_tokens": 12, "completion_tokens": streamed.deltas.len(), "total_tokens": 12 + streamed.deltas.len()},
        });
        events.push(format!("data: {usage}\n\n"));
    }
    events.push("data: [DONE]\n\n".into());
    flush(&mut events, &mut frames);
    frames
}

/// A `text/event-stream` answer whose body a task writes frame by frame.
fn streaming(frames: Vec<Frame>) -> Response {
    let (tx, mut rx) = mpsc::channel::<Result<Vec<u8>, std::io::Error>>(4);
    tokio::spawn(async move {
        let pieces = frames.len();
        for frame in frames {
            match frame {
                Frame::Bytes(bytes) => {
                    if tx.send(Ok(bytes)).await.is_err() {
                        return;
                    }
                    if pieces > 1 {
                        // Lets each piece leave in its own write, so the client reads them apart.
                        tokio::time::sleep(Duration::from_millis(1)).await;
                    }
                }
                Frame::Hold(gate) => gate.passed().await,
                Frame::Cut => {
                    let _ = tx.send(Err(std::io::Error::other("connection cut"))).await;
                    return;
                }
                Frame::Stall => {
                    tx.closed().await;
                    return;
                }
            }
        }
    });
    let body = futures::stream::poll_fn(move |cx| rx.poll_recv(cx));
    Response::builder()
        .header("content-type", "text/event-stream")
        .header("cache-control", "no-cache")
        .body(Body::from_stream(body))
        .expect("valid response")
}
