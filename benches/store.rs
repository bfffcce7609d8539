//! Memory store operations at 10,000 and 1,000,000 chats and at 1,000,000 messages:
//! `cargo bench --bench store` (BENCHMARKS.md has the results and the machine).
//!
//! Lists ask for pages of 20 at offset 0 and at 90% of the filtered list's length (900,000 for
//! the unfiltered million), in creation order and reversed.

mod common;

use std::hint::black_box;

use chatgate::domain::{ChatPatch, MessageFilter, PageRequest, Priority, Role, SortOrder};
use chatgate::store::{MessageQuery, Store};
use common::{HEAVY_USER, SHORT_LENGTH, chat_filters, chat_store, chat_total, config, user};
use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use futures::executor::block_on;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

const PAGE: u64 = 20;

/// A stride that visits ids out of order, so lookups do not walk memory sequentially.
const STRIDE: usize = 7_919;

fn chats(c: &mut Criterion, count: usize) {
    let (store, ids) = chat_store(count);
    let mut group = c.benchmark_group(format!("chats {count}"));

    let mut at = 0;
    group.bench_function("get", |b| {
        b.iter(|| {
            at = (at + STRIDE) % ids.len();
            block_on(store.get_chat(ids[at])).expect("read")
        })
    });

    for (name, filter) in chat_filters() {
        let deep = chat_total(&store, &filter) * 9 / 10;
        for (order, offset) in [
            (SortOrder::Asc, 0),
            (SortOrder::Asc, deep),
            (SortOrder::Desc, deep),
        ] {
            let page = PageRequest::clamped(PAGE, offset);
            let id = format!("list {name} {order:?} offset {offset}");
            group.bench_function(id, |b| {
                b.iter(|| {
                    block_on(store.list_chats(black_box(&filter), order, page)).expect("listed")
                })
            });
        }
    }
    let deepest = PageRequest::clamped(100, count as u64 * 9 / 10);
    let none = Default::default();
    group.bench_function(
        format!("list none Asc offset {} limit 100", deepest.offset),
        |b| b.iter(|| block_on(store.list_chats(&none, SortOrder::Asc, deepest)).expect("listed")),
    );

    let middle = ids[ids.len() / 2];
    let mut n = 0;
    group.bench_function("update priority", |b| {
        b.iter(|| {
            n += 1;
            let patch = ChatPatch {
                priority: Some(Priority::ALL[n % 3]),
                ..Default::default()
            };
            block_on(store.update_chat(middle, patch)).expect("updated")
        })
    });
    group.bench_function("update userId (moves between user indexes)", |b| {
        b.iter(|| {
            n += 1;
            let to = if n % 2 == 0 { HEAVY_USER } else { "user-7" };
            let patch = ChatPatch {
                user_id: Some(Some(user(to))),
                ..Default::default()
            };
            block_on(store.update_chat(middle, patch)).expect("updated")
        })
    });
    group.bench_function("toggle", |b| {
        b.iter(|| block_on(store.toggle_chat(middle)).expect("toggled"))
    });

    // Each deletion removes a random stored chat; its setup (not timed) creates a replacement,
    // so the store keeps its size.
    let mut pool = ids.clone();
    let mut rng = StdRng::seed_from_u64(7);
    let mut created = count;
    group.bench_function("delete", |b| {
        b.iter_batched(
            || {
                created += 1;
                let new = common::new_chat(created);
                let fresh = block_on(store.create_chat(new)).expect("stored").id;
                let at = rng.random_range(0..pool.len());
                std::mem::replace(&mut pool[at], fresh)
            },
            |victim| block_on(store.delete_chat(victim)).expect("deleted"),
            BatchSize::SmallInput,
        )
    });

    // Last, as it grows the store.
    group.bench_function("create", |b| {
        b.iter_batched(
            || {
                created += 1;
                common::new_chat(created)
            },
            |new| block_on(store.create_chat(new)).expect("stored"),
            BatchSize::SmallInput,
        )
    });
    group.finish();
}

fn chats_10k(c: &mut Criterion) {
    chats(c, 10_000);
}

fn chats_1m(c: &mut Criterion) {
    chats(c, 1_000_000);
}

fn messages_1m(c: &mut Criterion) {
    let count = 1_000_000;
    let fixture = common::message_store(count);
    let store = &fixture.store;
    let mut group = c.benchmark_group(format!("messages {count}"));

    let mut at = 0;
    group.bench_function("get message", |b| {
        b.iter(|| {
            at = (at + STRIDE) % fixture.messages.len();
            block_on(store.get_message(fixture.messages[at])).expect("read")
        })
    });
    group.bench_function("get conversation", |b| {
        b.iter(|| {
            at = (at + STRIDE) % fixture.short.len();
            block_on(store.get_conversations(&[fixture.short[at]])).expect("read")
        })
    });

    let long_length = (count / 2) as u64;
    let cases = [
        ("long", fixture.long, None, long_length),
        (
            "long role user",
            fixture.long,
            Some(Role::User),
            long_length / 2,
        ),
        ("short", fixture.short[0], None, SHORT_LENGTH as u64),
    ];
    for (name, conversation_id, role, length) in cases {
        let deep = length * 9 / 10;
        for (order, offset) in [
            (SortOrder::Asc, 0),
            (SortOrder::Asc, deep),
            (SortOrder::Desc, deep),
        ] {
            let query = MessageQuery {
                conversation_id,
                filter: MessageFilter { role },
                order,
                page: PageRequest::clamped(PAGE, offset),
            };
            group.bench_function(
                format!("list messages {name} {order:?} offset {offset}"),
                |b| b.iter(|| block_on(store.list_messages(black_box(&[query]))).expect("listed")),
            );
        }
    }

    let heavy_conversations = fixture.short.len() as u64 / 2;
    for (order, offset) in [
        (SortOrder::Desc, 0),
        (SortOrder::Desc, heavy_conversations * 9 / 10),
    ] {
        let page = PageRequest::clamped(PAGE, offset);
        let id = format!("list conversations of a user {order:?} offset {offset}");
        group.bench_function(id, |b| {
            b.iter(|| block_on(store.list_conversations(HEAVY_USER, order, page)).expect("listed"))
        });
    }

    let mut n = count;
    group.bench_function("append message to a short conversation", |b| {
        b.iter_batched(
            || {
                n += 1;
                (
                    fixture.short[n % fixture.short.len()],
                    common::new_message(n),
                )
            },
            |(to, new)| block_on(store.append_message(to, new)).expect("stored"),
            BatchSize::SmallInput,
        )
    });
    group.bench_function("append message to the long conversation", |b| {
        b.iter_batched(
            || {
                n += 1;
                common::new_message(n)
            },
            |new| block_on(store.append_message(fixture.long, new)).expect("stored"),
            BatchSize::SmallInput,
        )
    });
    group.bench_function(
        format!("delete conversation of {SHORT_LENGTH} messages"),
        |b| {
            b.iter_batched(
                || {
                    let new = chatgate::domain::NewConversation {
                        user_id: user(HEAVY_USER),
                        metadata: Default::default(),
                    };
                    let id = block_on(store.create_conversation(new)).expect("stored").id;
                    for m in 0..SHORT_LENGTH {
                        block_on(store.append_message(id, common::new_message(m))).expect("stored");
                    }
                    id
                },
                |id| block_on(store.delete_conversation(id)).expect("deleted"),
                BatchSize::SmallInput,
            )
        },
    );
    group.finish();
}

criterion_group! {
    name = benches;
    config = config();
    targets = chats_10k, chats_1m, messages_1m
}
criterion_main!(benches);
