//! Live fan-out under load: N graphql-transport-ws subscribers of `messageAdded`, all on one
//! conversation (`one`) or two per conversation over N/2 conversations (`spread`), while
//! messages are posted at a steady rate over GraphQL HTTP. Reports how fast the sockets open,
//! the server's memory per subscribed socket, the delay from a post's start to each subscriber
//! receiving each of its two messages, whether every subscriber got every message in stored
//! order, the server's CPU time per delivered frame, and the posts' own latency meanwhile.
//!
//! ```sh
//! cargo build --release --bin chatgate --example fanout
//! MAX_WEBSOCKETS=19000 taskset -c 1 target/release/chatgate --host 127.0.0.1 --port 8161 \
//!     --rate-limit 0 >/dev/null 2>&1 &
//! sleep 1
//! taskset -c 0 target/release/examples/fanout 127.0.0.1:8161 $! 10000 one
//! ```
//!
//! Arguments: `<host:port> <server pid> <subscribers> <one|spread> [posts per second, default
//! 10] [seconds, default 10]`. Client sockets are bound to 127.R.0.2, 127.R.0.3, … (10,000 per
//! address, R from the process id) so the ephemeral ports of one source address do not run
//! short. The client runs one thread per core it may use (`taskset`), or `FANOUT_THREADS`;
//! each thread opens its share of the sockets, and each socket's upgrade, `connection_init` and
//! `subscribe` go out in one write ([`open`]), so the client can open sockets faster than one
//! core of the server takes them. `FANOUT_OPEN=stepwise` opens them as a graphql-ws client
//! does instead (upgrade; `connection_init`; `subscribe` after the `connection_ack`).

mod open;
mod proc;

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use futures::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

use proc::{cpu_ms, listen_overflows, resident_kib};

const SELECTION: &str = "subscription($c: ID!) { messageAdded(conversationId: $c) \
                         { id conversationId role content createdAt } }";
const OPENING_AT_ONCE: usize = 256;

type Socket = tokio_tungstenite::WebSocketStream<tokio::net::TcpStream>;

/// What one subscriber received: message ids with their arrival.
type Received = Vec<([u8; 36], Instant)>;

struct Args {
    address: SocketAddr,
    pid: u32,
    subscribers: usize,
    spread: bool,
    rate: u32,
    seconds: u32,
}

/// One runtime thread per core the client may run on (`taskset`), or `FANOUT_THREADS`: the
/// sockets open from all of them at once.
fn main() {
    let threads = std::env::var("FANOUT_THREADS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(threads)
        .enable_all()
        .build()
        .expect("a runtime")
        .block_on(run(threads));
}

async fn run(threads: usize) {
    let args = parse_args();
    let stepwise = std::env::var("FANOUT_OPEN").is_ok_and(|how| how == "stepwise");
    let _ = rlimit::increase_nofile_limit(u64::MAX);
    let http = Http::new(args.address);
    let conversations = if args.spread {
        args.subscribers.div_ceil(2)
    } else {
        1
    };
    let mut ids = Vec::with_capacity(conversations);
    for _ in 0..conversations {
        ids.push(http.create_conversation().await);
    }
    let ids = Arc::new(ids);

    let (rss_before, overflows_before) = (resident_kib(args.pid), listen_overflows());
    let (cpu_before_open, opening) = (cpu_ms(args.pid), Instant::now());
    // Each thread opens its share, OPENING_AT_ONCE at a time.
    let openers: Vec<_> = (0..threads)
        .map(|thread| {
            let (ids, address) = (ids.clone(), args.address);
            let mine: Vec<usize> = (thread..args.subscribers).step_by(threads).collect();
            tokio::spawn(async move {
                futures::stream::iter(mine)
                    .map(|index| {
                        let conversation = ids[index % conversations].clone();
                        async move {
                            (
                                index,
                                open::open(address, index, &conversation, stepwise).await,
                            )
                        }
                    })
                    .buffer_unordered(OPENING_AT_ONCE)
                    .collect::<Vec<_>>()
                    .await
            })
        })
        .collect();
    let mut sockets: Vec<(usize, Socket)> = Vec::with_capacity(args.subscribers);
    for opener in openers {
        sockets.extend(opener.await.expect("an opening task"));
    }
    let opened_in = opening.elapsed();
    let cpu_opening = cpu_ms(args.pid) - cpu_before_open;
    let overflows = listen_overflows() - overflows_before;

    let delivered = Arc::new(AtomicU64::new(0));
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let readers: Vec<_> = sockets
        .into_iter()
        .map(|(index, socket)| {
            let (delivered, stopped) = (delivered.clone(), stopped.clone());
            tokio::spawn(async move { (index, read(socket, delivered, stopped).await) })
        })
        .collect();

    // Warm-up: one post per conversation, until every subscriber has both its messages.
    let warm_up: Vec<_> = futures::stream::iter(ids.iter().cloned())
        .map(|id| http.clone().send_message(id))
        .buffer_unordered(64)
        .collect()
        .await;
    let expected_warm = 2 * args.subscribers as u64;
    wait_for(&delivered, expected_warm, Duration::from_secs(60)).await;
    let rss_subscribed = resident_kib(args.pid);

    let (cpu_before, client_cpu_before) = (cpu_ms(args.pid), cpu_ms(std::process::id()));
    let measuring = Instant::now();
    let mut ticker = tokio::time::interval(Duration::from_secs(1) / args.rate);
    let mut posts = Vec::new();
    for k in 0..(args.rate * args.seconds) as usize {
        ticker.tick().await;
        let conversation = ids[k % conversations].clone();
        let http = http.clone();
        posts.push(tokio::spawn(http.send_message(conversation)));
    }
    let mut sent = Vec::new();
    for post in posts {
        sent.push(post.await.expect("a post task"));
    }
    let per_post = if args.spread {
        2
    } else {
        args.subscribers as u64
    };
    let expected = expected_warm + 2 * per_post * sent.len() as u64;
    let all_in = wait_for(&delivered, expected, Duration::from_secs(120)).await;
    let cpu_used = cpu_ms(args.pid) - cpu_before;
    let client_cpu = cpu_ms(std::process::id()) - client_cpu_before;
    let measured_ms = measuring.elapsed().as_millis().max(1) as u64;
    let _ = stop.send(true);
    let mut received = Vec::new();
    for reader in readers {
        received.push(reader.await.expect("a reader task"));
    }
    received.sort_by_key(|(index, _)| *index);

    let report = Report::new(&http, &ids, &warm_up, &sent, &received).await;
    let frames = delivered.load(Ordering::Relaxed) - expected_warm;
    println!(
        "{} subscribers, {}: {} conversations, {} posts at {}/s",
        args.subscribers,
        if args.spread {
            "spread"
        } else {
            "one conversation"
        },
        conversations,
        sent.len(),
        args.rate
    );
    println!(
        "opened and acknowledged in {:.2} s from {threads} client threads: {:.0} connects/s; \
         listen queue overflows {overflows}",
        opened_in.as_secs_f64(),
        args.subscribers as f64 / opened_in.as_secs_f64()
    );
    let per_connect_us = cpu_opening as f64 * 1000.0 / args.subscribers as f64;
    println!(
        "server CPU while opening: {cpu_opening} ms, {per_connect_us:.1} µs per socket \
         (a whole core would open {:.0} a second)",
        1e6 / per_connect_us.max(0.001)
    );
    println!(
        "server VmRSS {rss_before} -> {rss_subscribed} KiB subscribed: {:.1} KiB per socket",
        (rss_subscribed - rss_before) as f64 / args.subscribers as f64
    );
    report.print(all_in, frames, expected - expected_warm);
    println!(
        "server CPU {cpu_used} ms for {frames} frames: {:.2} µs per delivered frame",
        cpu_used as f64 * 1000.0 / frames.max(1) as f64
    );
    println!(
        "over {measured_ms} ms: server CPU {}% of a core, load client CPU {}%",
        cpu_used * 100 / measured_ms,
        client_cpu * 100 / measured_ms
    );
}

fn parse_args() -> Args {
    let usage = "usage: fanout <host:port> <server pid> <subscribers> <one|spread> \
                 [posts per second] [seconds]";
    let mut args = std::env::args().skip(1);
    let mut next = || args.next().expect(usage);
    let address = next().parse().expect(usage);
    let pid = next().parse().expect(usage);
    let subscribers = next().parse().expect(usage);
    let spread = match next().as_str() {
        "one" => false,
        "spread" => true,
        _ => panic!("{usage}"),
    };
    let mut rest = std::env::args().skip(5);
    let rate = rest.next().map_or(10, |n| n.parse().expect(usage));
    let seconds = rest.next().map_or(10, |n| n.parse().expect(usage));
    Args {
        address,
        pid,
        subscribers,
        spread,
        rate,
        seconds,
    }
}

async fn send(socket: &mut Socket, message: Value) {
    socket
        .send(Message::Text(message.to_string().into()))
        .await
        .expect("the socket takes a message");
}

/// Collects the ids of the messages `socket` receives until told to stop; answers pings.
async fn read(
    mut socket: Socket,
    delivered: Arc<AtomicU64>,
    mut stopped: tokio::sync::watch::Receiver<bool>,
) -> Received {
    const MARK: &str = r#""messageAdded":{"id":""#;
    let mut received = Received::new();
    loop {
        let frame = tokio::select! {
            _ = stopped.changed() => return received,
            frame = socket.next() => frame,
        };
        let text = match frame {
            Some(Ok(Message::Text(text))) => text,
            Some(Ok(_)) => continue,
            _ => return received,
        };
        let at = Instant::now();
        if let Some(start) = text.find(MARK).map(|at| at + MARK.len()) {
            let mut id = [0u8; 36];
            id.copy_from_slice(&text.as_bytes()[start..start + 36]);
            received.push((id, at));
            delivered.fetch_add(1, Ordering::Relaxed);
        } else if text.contains(r#""type":"ping""#) {
            send(&mut socket, json!({"type": "pong"})).await;
        } else if !text.contains(r#""type":"pong""#) {
            eprintln!("unexpected frame: {text}");
        }
    }
}

/// Waits until `delivered` reaches `expected`; false if `limit` passed first.
async fn wait_for(delivered: &AtomicU64, expected: u64, limit: Duration) -> bool {
    let until = Instant::now() + limit;
    while delivered.load(Ordering::Relaxed) < expected {
        if Instant::now() > until {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    true
}

/// A post: its conversation, when it started, how long it took, the two message ids.
struct Sent {
    conversation: String,
    started: Instant,
    took: Duration,
    ids: [String; 2],
}

#[derive(Clone)]
struct Http {
    client: reqwest::Client,
    url: String,
}

impl Http {
    fn new(address: SocketAddr) -> Self {
        Self {
            client: reqwest::Client::new(),
            url: format!("http://{address}/graphql"),
        }
    }

    async fn graphql(&self, query: &str, variables: Value) -> Value {
        let body = json!({"query": query, "variables": variables});
        let reply: Value = self
            .client
            .post(&self.url)
            .json(&body)
            .send()
            .await
            .expect("the server answers")
            .json()
            .await
            .expect("a JSON answer");
        assert!(reply.get("errors").is_none(), "{reply}");
        reply["data"].clone()
    }

    async fn create_conversation(&self) -> String {
        let query = "mutation { createConversation(input: {userId: \"load\"}) { id } }";
        let data = self.graphql(query, json!({})).await;
        data["createConversation"]["id"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    async fn send_message(self, conversation: String) -> Sent {
        let query = "mutation($c: ID!) { sendMessage(input: {conversationId: $c, content: \
                     \"what time is it?\"}) { userMessage { id } assistantMessage { id } } }";
        let started = Instant::now();
        let data = self.graphql(query, json!({"c": conversation})).await;
        let took = started.elapsed();
        let id = |key: &str| data["sendMessage"][key]["id"].as_str().unwrap().to_owned();
        Sent {
            ids: [id("userMessage"), id("assistantMessage")],
            conversation,
            started,
            took,
        }
    }

    /// The conversation's message ids in stored order.
    async fn stored(&self, conversation: &str) -> Vec<String> {
        let query = "query($c: ID!, $o: Int) { conversation(id: $c) \
                     { messages(limit: 100, offset: $o) { messages { id } } } }";
        let mut ids = Vec::new();
        loop {
            let data = self
                .graphql(query, json!({"c": conversation, "o": ids.len()}))
                .await;
            let page = data["conversation"]["messages"]["messages"]
                .as_array()
                .expect("a page")
                .clone();
            ids.extend(page.iter().map(|m| m["id"].as_str().unwrap().to_owned()));
            if page.len() < 100 {
                return ids;
            }
        }
    }
}

struct Report {
    latencies: Vec<Duration>,
    last_subscriber: Vec<Duration>,
    posts: Vec<Duration>,
    missing: usize,
    out_of_order: usize,
}

impl Report {
    async fn new(
        http: &Http,
        conversations: &[String],
        warm_up: &[Sent],
        sent: &[Sent],
        received: &[(usize, Received)],
    ) -> Self {
        use std::collections::HashMap;
        let warm: std::collections::HashSet<&str> = warm_up
            .iter()
            .flat_map(|s| s.ids.iter().map(String::as_str))
            .collect();
        let started: HashMap<&str, Instant> = sent
            .iter()
            .flat_map(|s| s.ids.iter().map(move |id| (id.as_str(), s.started)))
            .collect();
        let mut stored = HashMap::new();
        for conversation in sent.iter().map(|s| &s.conversation) {
            if !stored.contains_key(conversation) {
                let ids: Vec<String> = http.stored(conversation).await;
                let measured = ids.into_iter().filter(|id| !warm.contains(id.as_str()));
                stored.insert(conversation.clone(), measured.collect::<Vec<_>>());
            }
        }
        let (mut latencies, mut missing, mut out_of_order) = (Vec::new(), 0, 0);
        let mut last: HashMap<&str, Duration> = HashMap::new();
        for (index, frames) in received {
            let conversation = &conversations[*index % conversations.len()];
            let got: Vec<&str> = frames
                .iter()
                .map(|(id, _)| std::str::from_utf8(id).expect("an ASCII id"))
                .filter(|id| !warm.contains(id))
                .collect();
            let want: Vec<&str> = stored
                .get(conversation)
                .map_or_else(Vec::new, |ids| ids.iter().map(String::as_str).collect());
            missing += want.iter().filter(|id| !got.contains(id)).count();
            if got != want {
                out_of_order += 1;
            }
            for (id, at) in frames {
                let id = std::str::from_utf8(id).expect("an ASCII id");
                if let Some((key, start)) = started.get_key_value(id) {
                    let delay = at.duration_since(*start);
                    latencies.push(delay);
                    let worst = last.entry(key).or_default();
                    *worst = (*worst).max(delay);
                }
            }
        }
        Self {
            latencies,
            last_subscriber: last.into_values().collect(),
            posts: sent.iter().map(|s| s.took).collect(),
            missing,
            out_of_order,
        }
    }

    fn print(mut self, all_in: bool, frames: u64, expected: u64) {
        println!(
            "delivered {frames} of {expected} frames{}; missing {}; subscribers whose sequence \
             differs from the stored order: {}",
            if all_in { "" } else { " (timed out)" },
            self.missing,
            self.out_of_order
        );
        println!(
            "post start -> subscriber: {}",
            percentiles(&mut self.latencies)
        );
        println!(
            "post start -> last subscriber of each message: {}",
            percentiles(&mut self.last_subscriber)
        );
        println!(
            "POST latency during the broadcast: {}",
            percentiles(&mut self.posts)
        );
    }
}

fn percentiles(values: &mut [Duration]) -> String {
    if values.is_empty() {
        return "no values".into();
    }
    values.sort();
    let at = |q: f64| values[((values.len() - 1) as f64 * q).round() as usize];
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    format!(
        "p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms ({} values)",
        ms(at(0.5)),
        ms(at(0.99)),
        ms(at(1.0)),
        values.len()
    )
}
