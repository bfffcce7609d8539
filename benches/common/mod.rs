//! Fixtures shared by the benchmarks: stores filled with chats, conversations and messages whose
//! values spread over every filter, built once per benchmark group.

#![allow(dead_code)] // Each benchmark binary uses a different part.

use std::sync::Arc;
use std::time::Duration;

use chatgate::domain::{
    ChatFilter, Description, MessageContent, Metadata, NewChat, NewConversation, NewMessage,
    PageRequest, Priority, Role, SortOrder, SystemClock, Title, UserId,
};
use chatgate::store::{MemoryStore, Store};
use criterion::Criterion;
use futures::executor::block_on;
use uuid::Uuid;

/// The user who owns half of all chats and conversations, so that lists filtered by user are
/// as long as lists filtered by anything else.
pub const HEAVY_USER: &str = "heavy";

/// Short runs: dozens of benchmarks on a 2-core machine.
pub fn config() -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .sample_size(40)
}

pub fn user(name: &str) -> UserId {
    UserId::parse(name.into()).expect("valid user id")
}

/// The `n`-th chat of a fixture: 80% active, priorities in turn, a quarter without a user,
/// half owned by [`HEAVY_USER`], the rest spread over a thousand users.
pub fn new_chat(n: usize) -> NewChat {
    let user_id = match n % 4 {
        0 => None,
        2 => Some(user(&format!("user-{}", (n / 4) % 1_000))),
        _ => Some(user(HEAVY_USER)),
    };
    NewChat {
        title: Title::parse(format!("Chat session number {n}")).expect("valid title"),
        description: n.is_multiple_of(2).then(|| {
            Description::parse(format!("Follow-up on ticket {n} with the team")).expect("valid")
        }),
        active: !n.is_multiple_of(5),
        priority: Priority::ALL[n % 3],
        user_id,
    }
}

/// A store holding `count` chats, with their ids in creation order.
pub fn chat_store(count: usize) -> (Arc<MemoryStore>, Vec<Uuid>) {
    let store = Arc::new(MemoryStore::new(Arc::new(SystemClock)));
    let ids = (0..count)
        .map(|n| block_on(store.create_chat(new_chat(n))).expect("stored").id)
        .collect();
    (store, ids)
}

/// The chat filters of the benchmarks: no filter, each filter alone and every combination.
pub fn chat_filters() -> Vec<(&'static str, ChatFilter)> {
    let filter = |active: bool, priority: bool, user: bool| ChatFilter {
        active: active.then_some(true),
        priority: priority.then_some(Priority::High),
        user_id: user.then(|| HEAVY_USER.to_owned()),
    };
    vec![
        ("none", filter(false, false, false)),
        ("active", filter(true, false, false)),
        ("priority", filter(false, true, false)),
        ("user", filter(false, false, true)),
        ("active+priority", filter(true, true, false)),
        ("active+user", filter(true, false, true)),
        ("priority+user", filter(false, true, true)),
        ("active+priority+user", filter(true, true, true)),
    ]
}

/// Number of chats `filter` matches.
pub fn chat_total(store: &MemoryStore, filter: &ChatFilter) -> u64 {
    let page = PageRequest::clamped(0, 0);
    block_on(store.list_chats(filter, SortOrder::Asc, page))
        .expect("listed")
        .total
}

pub fn new_message(n: usize) -> NewMessage {
    NewMessage {
        id: uuid::Uuid::new_v4(),
        role: if n.is_multiple_of(2) {
            Role::User
        } else {
            Role::Assistant
        },
        content: MessageContent::parse(format!(
            "Message {n}: could you summarise where the project stands today?"
        ))
        .expect("valid content"),
        metadata: Metadata::new(),
    }
}

/// A store of conversations and messages.
pub struct MessageFixture {
    pub store: Arc<MemoryStore>,
    /// Conversations of `SHORT_LENGTH` messages each.
    pub short: Vec<Uuid>,
    /// One conversation holding the rest of the messages.
    pub long: Uuid,
    /// Every message id.
    pub messages: Vec<Uuid>,
}

/// Messages in each short conversation.
pub const SHORT_LENGTH: usize = 50;

/// `messages` messages: half in short conversations (half of them [`HEAVY_USER`]'s), the other
/// half in one long conversation.
pub fn message_store(messages: usize) -> MessageFixture {
    let store = Arc::new(MemoryStore::new(Arc::new(SystemClock)));
    let conversation = |user_id: UserId| {
        let new = NewConversation {
            user_id,
            metadata: Metadata::new(),
        };
        block_on(store.create_conversation(new)).expect("stored").id
    };
    let short: Vec<Uuid> = (0..messages / 2 / SHORT_LENGTH)
        .map(|n| match n % 2 {
            0 => conversation(user(HEAVY_USER)),
            _ => conversation(user(&format!("user-{}", n % 1_000))),
        })
        .collect();
    let long = conversation(user("talkative"));
    let mut ids = Vec::with_capacity(messages);
    for n in 0..messages {
        let to = if n.is_multiple_of(2) {
            long
        } else {
            short[n / 2 % short.len()]
        };
        ids.push(
            block_on(store.append_message(to, new_message(n)))
                .expect("stored")
                .id,
        );
    }
    MessageFixture {
        store,
        short,
        long,
        messages: ids,
    }
}
