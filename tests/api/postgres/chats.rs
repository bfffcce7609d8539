//! Chats on PostgreSQL: every list (each filter, order and page) agrees with the memory store
//! after the same seeded random changes; versions, no-ops, timestamps and unknown ids.

use std::collections::HashMap;

use chatgate::domain::{
    Chat, ChatFilter, ChatPatch, Description, NewChat, Page, PageRequest, Priority, SortOrder,
    Timestamp, Title, UserId,
};
use chatgate::store::{PostgresStore, Store, Updated};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use uuid::Uuid;

use super::{clock_at, new_chat, schema_or_skip, side_by_side, user_id};

const USERS: [&str; 3] = ["ann", "bob", "cid"];

fn random_user(rng: &mut StdRng) -> Option<UserId> {
    USERS
        .get(rng.random_range(0..=USERS.len()))
        .map(|u| user_id(u))
}

fn random_priority(rng: &mut StdRng) -> Priority {
    Priority::ALL[rng.random_range(0..3)]
}

fn random_new_chat(rng: &mut StdRng, n: usize) -> NewChat {
    NewChat {
        title: Title::parse(format!("chat {n}")).expect("valid title"),
        description: rng
            .random_bool(0.3)
            .then(|| Description::parse("line one\nline two".into()).expect("valid")),
        active: rng.random_bool(0.7),
        priority: random_priority(rng),
        user_id: random_user(rng),
    }
}

fn random_patch(rng: &mut StdRng) -> ChatPatch {
    let mut patch = ChatPatch::default();
    if rng.random_bool(0.2) {
        patch.title = Some(Title::parse(format!("renamed {}", rng.random_range(0..2))).unwrap());
    }
    if rng.random_bool(0.2) {
        patch.description = Some(
            rng.random_bool(0.5)
                .then(|| Description::parse("d".into()).unwrap()),
        );
    }
    if rng.random_bool(0.3) {
        patch.active = Some(rng.random_bool(0.5));
    }
    if rng.random_bool(0.3) {
        patch.priority = Some(random_priority(rng));
    }
    if rng.random_bool(0.3) {
        patch.user_id = Some(random_user(rng));
    }
    patch
}

/// Every filter a chat list can ask for, including a user without chats.
fn filters() -> Vec<ChatFilter> {
    let users = [None]
        .into_iter()
        .chain(USERS.iter().chain(&["nobody"]).map(|u| Some(u.to_string())));
    let mut filters = Vec::new();
    for user_id in users {
        for active in [None, Some(false), Some(true)] {
            for priority in [None].into_iter().chain(Priority::ALL.map(Some)) {
                filters.push(ChatFilter {
                    active,
                    priority,
                    user_id: user_id.clone(),
                });
            }
        }
    }
    filters
}

/// The PostgreSQL chat renamed to the id the memory store gave the same chat.
fn as_memory(chat: Chat, ids: &HashMap<Uuid, Uuid>) -> Chat {
    Chat {
        id: ids[&chat.id],
        ..chat
    }
}

/// Compares every list both stores answer; a failure names the step.
async fn assert_lists_agree(
    postgres: &PostgresStore,
    memory: &dyn Store,
    ids: &HashMap<Uuid, Uuid>,
    step: usize,
) {
    let pages = [(100, 0), (3, 2), (0, 1), (4, 70), (5, 10_000)];
    for filter in filters() {
        for order in [SortOrder::Asc, SortOrder::Desc] {
            for (limit, offset) in pages {
                let request = PageRequest::clamped(limit, offset);
                let expected = memory.list_chats(&filter, order, request).await.unwrap();
                let got = postgres.list_chats(&filter, order, request).await.unwrap();
                let got = Page {
                    items: got.items.into_iter().map(|c| as_memory(c, ids)).collect(),
                    ..got
                };
                assert_eq!(
                    got, expected,
                    "step {step}: {filter:?} {order:?} limit {limit} offset {offset}"
                );
                assert_eq!(got.has_more(), expected.has_more());
            }
        }
    }
}

#[tokio::test]
async fn postgres_chat_lists_match_the_memory_store_after_random_changes() {
    let schema = schema_or_skip!();
    let (postgres, memory, clock) = side_by_side(&schema, 1_700_000_000_000).await;
    let mut rng = StdRng::seed_from_u64(13);
    // memory id -> postgres id, and back.
    let mut live: Vec<(Uuid, Uuid)> = Vec::new();
    let mut ids: HashMap<Uuid, Uuid> = HashMap::new();
    for step in 0..240 {
        // Zero-millisecond steps make ties that creation order breaks.
        clock.advance_millis(rng.random_range(0..2));
        let pick = (!live.is_empty()).then(|| rng.random_range(0..live.len()));
        match (rng.random_range(0..10), pick) {
            (0..=4, _) | (_, None) => {
                let new = random_new_chat(&mut rng, step);
                let expected = memory.create_chat(new.clone()).await.unwrap();
                let got = postgres.create_chat(new).await.unwrap();
                ids.insert(got.id, expected.id);
                live.push((expected.id, got.id));
                assert_eq!(as_memory(got, &ids), expected, "step {step}: create");
            }
            (5..=6, Some(at)) => {
                let patch = random_patch(&mut rng);
                let expected = memory.update_chat(live[at].0, patch.clone()).await.unwrap();
                let got = postgres.update_chat(live[at].1, patch).await.unwrap();
                assert_eq!(
                    matches!(got, Updated::Changed(_)),
                    matches!(expected, Updated::Changed(_)),
                    "step {step}: the no-op rule"
                );
                assert_eq!(as_memory(got.into_value(), &ids), expected.into_value());
            }
            (7..=8, Some(at)) => {
                let expected = memory.toggle_chat(live[at].0).await.unwrap();
                let got = postgres.toggle_chat(live[at].1).await.unwrap();
                assert_eq!(as_memory(got, &ids), expected, "step {step}: toggle");
            }
            (_, Some(at)) => {
                let (memory_id, postgres_id) = live.swap_remove(at);
                let expected = memory.delete_chat(memory_id).await.unwrap();
                let got = postgres.delete_chat(postgres_id).await.unwrap();
                assert_eq!(as_memory(got, &ids), expected, "step {step}: delete");
                assert_eq!(postgres.get_chat(postgres_id).await.unwrap(), None);
            }
        }
        if step % 120 == 119 {
            assert_lists_agree(&postgres, &memory, &ids, step).await;
        }
    }
}

async fn version_of(store: &PostgresStore, id: Uuid) -> i64 {
    sqlx::query_scalar("SELECT version FROM chats WHERE id = $1")
        .bind(id)
        .fetch_one(store.pool())
        .await
        .expect("the chat is stored")
}

#[tokio::test]
async fn a_chat_version_counts_its_changes_and_a_no_op_moves_nothing() {
    let schema = schema_or_skip!();
    let clock = clock_at(1_000);
    let store = schema.store(clock.clone()).await;
    let chat = store.create_chat(new_chat("a", None)).await.unwrap();
    assert_eq!(version_of(&store, chat.id).await, 1);
    clock.advance_millis(5);
    let same = ChatPatch {
        title: Some(Title::parse("a".into()).unwrap()),
        active: Some(true),
        ..Default::default()
    };
    let Updated::Unchanged(unchanged) = store.update_chat(chat.id, same).await.unwrap() else {
        panic!("a patch that changes no value is a no-op");
    };
    assert_eq!(unchanged, chat);
    assert_eq!(version_of(&store, chat.id).await, 1);
    let described = ChatPatch {
        description: Some(Some(Description::parse("now described".into()).unwrap())),
        ..Default::default()
    };
    let changed = store
        .update_chat(chat.id, described)
        .await
        .unwrap()
        .into_value();
    assert_eq!(
        (
            changed.title.as_str(),
            changed.description.as_deref(),
            changed.active
        ),
        ("a", Some("now described"), true),
        "a partial update leaves the other fields alone"
    );
    assert_eq!(changed.updated_at, Timestamp::from_millis(1_005));
    assert_eq!(version_of(&store, chat.id).await, 2);
    store.toggle_chat(chat.id).await.unwrap();
    assert_eq!(version_of(&store, chat.id).await, 3);
    assert_eq!(
        store.get_chat(chat.id).await.unwrap().map(|c| c.active),
        Some(false)
    );
}

#[tokio::test]
async fn list_totals_are_read_from_counters_kept_by_each_write() {
    let schema = schema_or_skip!();
    let store = schema.store(clock_at(0)).await;
    for title in ["a", "b", "c"] {
        store
            .create_chat(new_chat(title, Some("ann")))
            .await
            .unwrap();
    }
    let all = ChatFilter::default();
    let first = PageRequest::clamped(1, 0);
    assert_eq!(
        store
            .list_chats(&all, SortOrder::Asc, first)
            .await
            .unwrap()
            .total,
        3
    );
    // Counters, not rows, answer: moving a counter moves the total (and no row is counted).
    sqlx::query(
        "UPDATE chat_counts SET n = n + 1000 WHERE shard = (SELECT min(shard) FROM chat_counts)",
    )
    .execute(store.pool())
    .await
    .unwrap();
    let page = store.list_chats(&all, SortOrder::Asc, first).await.unwrap();
    assert_eq!((page.total, page.items.len()), (1_003, 1));
}

#[tokio::test]
async fn instances_starting_together_on_one_schema_both_migrate_it() {
    let schema = schema_or_skip!();
    let (first, second) = tokio::join!(schema.store(clock_at(0)), schema.store(clock_at(0)));
    let chat = first
        .create_chat(new_chat("seen by both", None))
        .await
        .unwrap();
    assert_eq!(second.get_chat(chat.id).await.unwrap(), Some(chat));
    let (applied, versions): (i64, i64) =
        sqlx::query_as("SELECT count(*), count(DISTINCT version) FROM _sqlx_migrations")
            .fetch_one(second.pool())
            .await
            .unwrap();
    assert!(applied > 0);
    assert_eq!(applied, versions, "each migration is applied once");
}
