//! The PostgreSQL store against a real server: the same behaviour as the memory store (checked
//! side by side with it), its own guarantees (counters, positions, several instances, one
//! statement per batch), and the server on top of it. Each test has a schema of its own
//! ([`TestSchema`]); without a server they are reported as skipped.

mod chats;
mod faults;
mod feed;
mod instances;
mod messages;
mod server;

use std::sync::Arc;

use chatgate::domain::{
    ManualClock, MessageContent, Metadata, NewChat, NewConversation, NewMessage, Priority, Role,
    Timestamp, Title, UserId,
};
use chatgate::store::{MemoryStore, PostgresStore};

pub use crate::helpers::postgres::TestSchema;

/// A fresh schema, or return from the test (reported as skipped) when there is no server.
macro_rules! schema_or_skip {
    () => {
        match $crate::postgres::TestSchema::create().await {
            Some(schema) => schema,
            None => return,
        }
    };
}
pub(crate) use schema_or_skip;

/// A manual clock at `millis`.
pub fn clock_at(millis: i64) -> Arc<ManualClock> {
    Arc::new(ManualClock::new(Timestamp::from_millis(millis)))
}

/// A PostgreSQL store and a memory store reading the same manual clock.
pub async fn side_by_side(
    schema: &TestSchema,
    millis: i64,
) -> (PostgresStore, MemoryStore, Arc<ManualClock>) {
    let clock = clock_at(millis);
    let postgres = schema.store(clock.clone()).await;
    (postgres, MemoryStore::new(clock.clone()), clock)
}

pub fn new_chat(title: &str, user: Option<&str>) -> NewChat {
    NewChat {
        title: Title::parse(title.into()).expect("valid title"),
        description: None,
        active: true,
        priority: Priority::Medium,
        user_id: user.map(user_id),
    }
}

pub fn user_id(user: &str) -> UserId {
    UserId::parse(user.into()).expect("valid user")
}

pub fn new_conversation(user: &str) -> NewConversation {
    NewConversation {
        user_id: user_id(user),
        metadata: Metadata::new(),
    }
}

pub fn new_message(role: Role, content: &str) -> NewMessage {
    NewMessage {
        id: uuid::Uuid::new_v4(),
        role,
        content: MessageContent::parse(content.into()).expect("valid content"),
        metadata: Metadata::new(),
    }
}
