//! Times the PostgreSQL store at a million chats and a million messages, end to end through the
//! `Store` trait (pool, round trip, decoding):
//! `cargo run --release --example store_postgres [-- CHATS MESSAGES]` (defaults: a million each).
//!
//! The database is `CHATGATE_BENCH_DATABASE_URL` (default: the test server,
//! `postgres://postgres@127.0.0.1:5432/test`); the records go into a schema of their own,
//! `cg_bench`, seeded in bulk with `generate_series` (the same shape as the memory store's
//! benchmark fixtures, see `benches/common/mod.rs`) and kept (marked with a comment on the
//! schema) for the next run with the same counts, unless `CHATGATE_BENCH_DROP=1`. Each operation
//! runs 200 times; the table shows the median and the 90th percentile of wall time, and the CPU
//! time per run of the database server's process and of this one. Two floors come first: a
//! round trip, and a commit that waits for one WAL flush. Targets: single-record operations and
//! first pages under 2 ms.
//! `CHATGATE_BENCH_SYNCHRONOUS_COMMIT=off` runs the same without waiting for commit flushes.

use std::str::FromStr;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use chatgate::domain::{
    ChatFilter, ChatPatch, MessageFilter, PageRequest, Priority, Role, SortOrder, SystemClock,
    Title,
};
use chatgate::store::{MessageQuery, PostgresSettings, PostgresStore, Store, Updated};
use sqlx::postgres::PgConnectOptions;
use sqlx::{Connection, Executor, PgConnection, PgPool};
use uuid::Uuid;

#[path = "../benches/common/mod.rs"]
mod common;

use common::{HEAVY_USER, chat_filters, new_chat};

const SCHEMA: &str = "cg_bench";
const RUNS: usize = 200;

/// The bulk seed: chats as `common::new_chat` makes them; messages half in one long
/// conversation, half in conversations of 50 (half of those `heavy`'s), alternating roles.
/// Triggers are off while it runs (no notifications, no per-row counting); the counters are
/// then computed once from the rows, as the triggers would have kept them.
const SEED: &str = r#"
SET session_replication_role = replica;
INSERT INTO chats (id, title, description, active, priority, user_id, created_at, updated_at)
SELECT gen_random_uuid(), 'Chat session number ' || n,
    CASE WHEN n % 2 = 0 THEN 'Follow-up on ticket ' || n || ' with the team' END,
    n % 5 <> 0, (ARRAY['low', 'medium', 'high'])[n % 3 + 1]::chat_priority,
    CASE n % 4 WHEN 0 THEN NULL WHEN 2 THEN 'user-' || (n / 4) % 1000 ELSE 'heavy' END,
    now() - interval '1 millisecond' * ($CHATS - n), now() - interval '1 millisecond' * ($CHATS - n)
FROM generate_series(0, $CHATS - 1) AS n;
INSERT INTO chat_counts (active, priority, shard, n)
SELECT active, priority, 0, count(*) FROM chats GROUP BY active, priority;
INSERT INTO user_chat_counts (user_id, active, priority, n)
SELECT user_id, active, priority, count(*) FROM chats WHERE user_id IS NOT NULL
GROUP BY user_id, active, priority;

INSERT INTO conversations (id, user_id, metadata, created_at, updated_at)
SELECT gen_random_uuid(), CASE WHEN c % 2 = 0 THEN 'heavy' ELSE 'user-' || c % 1000 END, '{}',
    now() - interval '1 millisecond' * ($SHORT + 1 - c), now()
FROM generate_series(0, $SHORT) AS c;
CREATE TEMP TABLE numbered AS
SELECT id, row_number() OVER (ORDER BY seq) - 1 AS c FROM conversations;
INSERT INTO messages (id, conversation_id, position, role, role_position, content, metadata,
    created_at)
SELECT gen_random_uuid(), numbered.id, p,
    CASE WHEN p % 2 = 1 THEN 'user' ELSE 'assistant' END::message_role, (p + 1) / 2,
    'Message ' || p || ': could you summarise where the project stands today?', '{}', now()
FROM numbered
CROSS JOIN LATERAL generate_series(1, CASE WHEN numbered.c = 0 THEN $LONG ELSE 50 END) AS p;
UPDATE conversations SET message_count = counted.n, user_messages = (counted.n + 1) / 2,
    assistant_messages = counted.n / 2, last_message_at = now()
FROM (SELECT conversation_id, count(*) AS n FROM messages GROUP BY conversation_id) AS counted
WHERE conversations.id = counted.conversation_id;
INSERT INTO user_conversation_counts (user_id, n)
SELECT user_id, count(*) FROM conversations GROUP BY user_id;
SET session_replication_role = origin;
"#;

fn arg(at: usize, default: usize) -> usize {
    std::env::args()
        .nth(at)
        .map(|a| a.replace('_', "").parse().expect("a count"))
        .unwrap_or(default)
}

/// The pool the store runs on, whose one working connection's server process is watched.
static POOL: OnceLock<PgPool> = OnceLock::new();

/// CPU time a process has used so far, all its threads (nanoseconds, from `schedstat`).
fn cpu_nanos(pid: u32) -> Option<u64> {
    let mut total = 0;
    for task in std::fs::read_dir(format!("/proc/{pid}/task")).ok()? {
        let stat = std::fs::read_to_string(task.ok()?.path().join("schedstat")).ok()?;
        total += stat.split_whitespace().next()?.parse::<u64>().ok()?;
    }
    Some(total)
}

/// The server process behind the pool's working connection.
async fn backend_pid() -> Option<u32> {
    let pool = POOL.get()?;
    let pid: i32 = sqlx::query_scalar("SELECT pg_backend_pid()")
        .fetch_one(pool)
        .await
        .ok()?;
    u32::try_from(pid).ok()
}

/// Median and 90th percentile of `RUNS` runs of `operation`, which gets the run's number, and
/// the CPU time each run cost the database server's process and this one (load on the machine
/// stretches wall time far more than CPU time).
async fn measure<F, Fut>(name: &str, mut operation: F)
where
    F: FnMut(usize) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    for n in 0..10 {
        operation(n).await;
    }
    let backend = backend_pid().await;
    let server_before = backend.and_then(cpu_nanos);
    let client_before = cpu_nanos(std::process::id());
    let mut times: Vec<Duration> = Vec::with_capacity(RUNS);
    for n in 0..RUNS {
        let started = Instant::now();
        operation(n).await;
        times.push(started.elapsed());
    }
    let per_run = |before: Option<u64>, after: Option<u64>| match (before, after) {
        (Some(before), Some(after)) => {
            format!("{:.3} ms", (after - before) as f64 / RUNS as f64 / 1e6)
        }
        _ => "?".to_owned(),
    };
    let client = per_run(client_before, cpu_nanos(std::process::id()));
    let same_backend = backend.is_some() && backend_pid().await == backend;
    let server = per_run(
        server_before.filter(|_| same_backend),
        backend.and_then(cpu_nanos),
    );
    times.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1_000.0;
    println!(
        "| {name} | {:.3} ms | {:.3} ms | {server} | {client} |",
        ms(times[RUNS / 2]),
        ms(times[RUNS * 9 / 10])
    );
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let chats = arg(1, 1_000_000);
    let messages = arg(2, 1_000_000);
    let long = messages / 2;
    let short = (messages - long) / 50;
    let url = std::env::var("CHATGATE_BENCH_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into());
    let server = PgConnectOptions::from_str(&url).expect("a PostgreSQL URL");
    let mut admin = PgConnection::connect_with(&server)
        .await
        .expect("the server answers");
    let marker = format!("seeded with {chats} chats and {messages} messages");
    let seeded: Option<String> = sqlx::query_scalar(
        "SELECT obj_description(oid, 'pg_namespace') FROM pg_namespace WHERE nspname = $1",
    )
    .bind(SCHEMA)
    .fetch_optional(&mut admin)
    .await
    .expect("the catalog answers")
    .flatten();
    // Earlier runs' creates and appends stay; a few hundred records among millions.
    let reuse = seeded.as_deref() == Some(marker.as_str());
    if !reuse {
        admin
            .execute(
                format!("DROP SCHEMA IF EXISTS {SCHEMA} CASCADE; CREATE SCHEMA {SCHEMA}").as_str(),
            )
            .await
            .expect("a fresh schema");
    }
    // `CHATGATE_BENCH_SYNCHRONOUS_COMMIT=off` shows what writes cost without waiting for the
    // disk to flush each commit (the server's own setting, usually `on`, applies otherwise).
    let mut options = server.clone().options([("search_path", SCHEMA)]);
    if let Ok(setting) = std::env::var("CHATGATE_BENCH_SYNCHRONOUS_COMMIT") {
        options = options.options([("synchronous_commit", setting.as_str())]);
    }
    let clock = Arc::new(SystemClock);
    // Two connections: the change listener's, and one that serves every operation in turn, so
    // one server process does the work and its CPU time can be read.
    let settings = PostgresSettings {
        max_connections: 2,
        ..PostgresSettings::default()
    };
    let store = PostgresStore::connect_with(options.clone(), settings, clock)
        .await
        .expect("the store opens");
    if !reuse {
        let started = Instant::now();
        let mut seeder = PgConnection::connect_with(&options)
            .await
            .expect("connects");
        let seed = SEED
            .replace("$CHATS", &chats.to_string())
            .replace("$SHORT", &short.to_string())
            .replace("$LONG", &long.to_string());
        seeder.execute(seed.as_str()).await.expect("the seed runs");
        seeder.execute("VACUUM ANALYZE").await.expect("vacuum");
        seeder
            .execute(format!("COMMENT ON SCHEMA {SCHEMA} IS '{marker}'").as_str())
            .await
            .expect("the seed is marked");
        println!(
            "seeded {chats} chats and {messages} messages in {:?}",
            started.elapsed()
        );
    }
    POOL.set(store.pool().clone()).expect("set once");
    println!(
        "| operation | median | 90th percentile | server CPU | client CPU |\n\
         | --- | ---: | ---: | ---: | ---: |"
    );
    floors(&store).await;
    run(&store, chats, long).await;
    if std::env::var("CHATGATE_BENCH_DROP").is_ok_and(|v| v == "1") {
        drop(store);
        admin
            .execute(format!("DROP SCHEMA {SCHEMA} CASCADE").as_str())
            .await
            .expect("dropped");
    }
}

/// What any write costs before the store does anything: a round trip through the pool, and a
/// commit that waits for one WAL flush (a one-row insert into a table with no index, trigger
/// or notification). A write's median minus the flush floor is the store's own work.
async fn floors(store: &PostgresStore) {
    let pool = store.pool();
    sqlx::query("CREATE TABLE IF NOT EXISTS flush_probe (n int)")
        .execute(pool)
        .await
        .expect("the probe table");
    measure("floor: a round trip (SELECT 1)", |_| async move {
        sqlx::query("SELECT 1").execute(pool).await.unwrap();
    })
    .await;
    measure("floor: a commit flush (one-row INSERT)", |_| async move {
        sqlx::query("INSERT INTO flush_probe VALUES (1)")
            .execute(pool)
            .await
            .unwrap();
    })
    .await;
    sqlx::query("TRUNCATE flush_probe")
        .execute(pool)
        .await
        .expect("the probe table empties");
}

async fn sample_ids(store: &PostgresStore, table: &str) -> Vec<Uuid> {
    sqlx::query_scalar(&format!(
        "SELECT id FROM {table} TABLESAMPLE SYSTEM (1) LIMIT {RUNS}"
    ))
    .fetch_all(store.pool())
    .await
    .expect("a sample")
}

async fn run(store: &PostgresStore, chats: usize, long: usize) {
    let ids = sample_ids(store, "chats").await;
    let pick = |n: usize| ids[n % ids.len()];
    measure("get chat", |n| async move {
        store.get_chat(pick(n)).await.unwrap().expect("stored");
    })
    .await;
    // A title never used before, so every update is a change (a no-op writes nothing).
    let run_id = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("after 1970")
        .as_millis();
    let updates = &std::sync::atomic::AtomicUsize::new(0);
    measure("update chat (title and priority)", |n| {
        let k = updates.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        async move {
            let patch = ChatPatch {
                title: Some(Title::parse(format!("Renamed {run_id}-{k}")).expect("a title")),
                priority: Some(Priority::ALL[n % 3]),
                ..Default::default()
            };
            let updated = store.update_chat(pick(n + 1), patch).await.unwrap();
            assert!(matches!(updated, Updated::Changed(_)), "a change");
        }
    })
    .await;
    measure("toggle chat", |n| async move {
        store.toggle_chat(pick(n)).await.unwrap();
    })
    .await;
    let first = PageRequest::clamped(20, 0);
    for (name, filter) in chat_filters() {
        let label = format!("list chats {name}, first page of 20 with total");
        measure(&label, |_| {
            let filter = filter.clone();
            async move {
                let page = store
                    .list_chats(&filter, SortOrder::Asc, first)
                    .await
                    .unwrap();
                assert_eq!(page.items.len(), 20);
            }
        })
        .await;
    }
    let all = ChatFilter::default();
    let deep = (chats as u64) * 9 / 10;
    for order in [SortOrder::Asc, SortOrder::Desc] {
        let label = format!("list chats none, offset {deep}, {order:?}");
        measure(&label, |_| {
            let all = all.clone();
            async move {
                let page = PageRequest::clamped(20, deep);
                store.list_chats(&all, order, page).await.unwrap();
            }
        })
        .await;
    }
    let heavy = ChatFilter {
        user_id: Some(HEAVY_USER.into()),
        ..Default::default()
    };
    let heavy_deep = (chats as u64) / 2 * 9 / 10;
    measure(&format!("list chats user, offset {heavy_deep}"), |_| {
        let heavy = heavy.clone();
        async move {
            let page = PageRequest::clamped(20, heavy_deep);
            store
                .list_chats(&heavy, SortOrder::Asc, page)
                .await
                .unwrap();
        }
    })
    .await;
    measure("create chat", |n| async move {
        store.create_chat(new_chat(chats + n)).await.unwrap();
    })
    .await;
    messages(store, long).await;
}

async fn messages(store: &PostgresStore, long: usize) {
    let long_id: Uuid = sqlx::query_scalar("SELECT id FROM conversations ORDER BY seq LIMIT 1")
        .fetch_one(store.pool())
        .await
        .expect("the long conversation");
    let short: Vec<Uuid> =
        sqlx::query_scalar("SELECT id FROM conversations WHERE user_id = $1 ORDER BY seq LIMIT 50")
            .bind(HEAVY_USER)
            .fetch_all(store.pool())
            .await
            .expect("short conversations");
    let message_ids = sample_ids(store, "messages").await;
    measure("get message", |n| {
        let id = message_ids[n % message_ids.len()];
        async move {
            store.get_message(id).await.unwrap().expect("stored");
        }
    })
    .await;
    let query = |conversation_id, role, order, offset| MessageQuery {
        conversation_id,
        filter: MessageFilter { role },
        order,
        page: PageRequest::clamped(20, offset),
    };
    let deep = (long as u64) * 9 / 10;
    let cases = [
        (
            "messages of the long conversation, first page",
            query(long_id, None, SortOrder::Asc, 0),
        ),
        (
            "messages of the long conversation, offset 90%",
            query(long_id, None, SortOrder::Asc, deep),
        ),
        (
            "messages of the long conversation by role, offset 45%, desc",
            query(long_id, Some(Role::User), SortOrder::Desc, deep / 2),
        ),
    ];
    for (name, q) in cases {
        measure(name, |_| async move {
            store.list_messages(&[q]).await.unwrap();
        })
        .await;
    }
    let batch: Vec<MessageQuery> = short
        .iter()
        .map(|id| query(*id, None, SortOrder::Desc, 0))
        .collect();
    measure("latest messages of 50 conversations (one batch)", |_| {
        let batch = batch.clone();
        async move {
            let pages = store.list_messages(&batch).await.unwrap();
            assert_eq!(pages.len(), 50);
        }
    })
    .await;
    measure(
        "conversations of a user, first page of 50 with total",
        |_| async move {
            let page = PageRequest::clamped(50, 0);
            store
                .list_conversations(HEAVY_USER, SortOrder::Desc, page)
                .await
                .unwrap();
        },
    )
    .await;
    measure("50 conversations by id (one batch)", |_| {
        let short = short.clone();
        async move {
            store.get_conversations(&short).await.unwrap();
        }
    })
    .await;
    measure("append message to a conversation of 50+", |n| {
        let to = short[n % short.len()];
        async move {
            let new = common::new_message(n);
            store.append_message(to, new).await.unwrap();
        }
    })
    .await;
    measure("append message to the long conversation", |n| async move {
        store
            .append_message(long_id, common::new_message(n))
            .await
            .unwrap();
    })
    .await;
}
