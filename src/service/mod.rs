//! The operations both transports call. Each decodes nothing and renders nothing: it takes
//! checked domain input, performs one store operation (or a short sequence), and publishes the
//! resulting change to the event hub after the store accepted it.
//!
//! Ids arrive as the strings clients sent; the rule that a malformed id names nothing lives
//! here, once, for every transport.

mod chats;
mod conversations;
mod replies;
mod turns;

use std::sync::Arc;

use tokio_util::task::TaskTracker;
use uuid::Uuid;

use self::turns::Turns;

use crate::assistant::Responder;
use crate::domain::parse_id;
use crate::error::{AppError, AppResult};
use crate::events::{Event, EventHub, Topic, TopicReceiver};
use crate::store::{Stamped, Store};

/// Default page sizes of each list (docs/api.md, "Lists").
pub mod defaults {
    use crate::domain::SortOrder;

    pub const CHATS_LIMIT: u64 = 100;
    /// Chats come in creation order.
    pub const CHATS_ORDER: SortOrder = SortOrder::Asc;
    /// A user's conversations come newest first.
    pub const CONVERSATIONS_ORDER: SortOrder = SortOrder::Desc;
    /// A conversation's messages come oldest first.
    pub const MESSAGES_ORDER: SortOrder = SortOrder::Asc;
    pub const CONVERSATIONS_LIMIT: u64 = 50;
    pub const MESSAGES_LIMIT: u64 = 100;
    /// How many of the latest messages a conversation's detail view embeds.
    pub const EMBEDDED_MESSAGES: u64 = 100;
}

/// Cheap to clone; the shared state behind every transport.
#[derive(Clone)]
pub struct ChatService {
    store: Arc<dyn Store>,
    hub: EventHub,
    responder: Arc<dyn Responder>,
    /// One exchange at a time per conversation.
    turns: Arc<Turns>,
    /// The running exchanges, which outlive the requests that started them.
    replies: TaskTracker,
}

impl ChatService {
    pub fn new(store: Arc<dyn Store>, hub: EventHub, responder: Arc<dyn Responder>) -> Self {
        Self {
            store,
            hub,
            responder,
            turns: Arc::default(),
            replies: TaskTracker::new(),
        }
    }

    /// The store, for batched loads that need no business rule.
    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    /// Listens to a conversation's changes. It subscribes before it checks the conversation
    /// exists, so nothing stored between the check and the first event is missed.
    pub async fn watch_conversation(&self, id: &str) -> AppResult<(Uuid, TopicReceiver)> {
        let id = require_id(id, "conversation")?;
        let rx = self.hub.subscribe(Topic::Conversation(id));
        if self.store.get_conversations(&[id]).await?.is_empty() {
            return Err(AppError::not_found("conversation"));
        }
        Ok((id, rx))
    }

    /// Listens to every chat's changes, or to one chat's (subscribed before it is checked).
    pub async fn watch_chats(&self, id: Option<&str>) -> AppResult<TopicReceiver> {
        let Some(id) = id else {
            return Ok(self.hub.subscribe(Topic::AllChats));
        };
        let id = require_id(id, "chat")?;
        let rx = self.hub.subscribe(Topic::Chat(id));
        match self.store.get_chat(id).await? {
            Some(_) => Ok(rx),
            None => Err(AppError::not_found("chat")),
        }
    }

    /// The hub, for tests and transports that wait on subscribers.
    pub fn hub(&self) -> &EventHub {
        &self.hub
    }

    /// A real round trip to the store, for health checks.
    pub async fn ping_store(&self) -> AppResult<()> {
        self.store.ping().await
    }

    /// Publishes a stored change; called right after the store write with no `.await` in
    /// between, so a cancelled request can never leave a hole in the sequence.
    fn publish<T>(&self, stamped: Stamped<T>, event: impl FnOnce(&T) -> Event) -> T {
        self.hub.publish(stamped.seq, event(&stamped.value));
        stamped.value
    }
}

/// Parses a client-sent id; one that cannot name a record is `NOT_FOUND` for `resource`.
fn require_id(raw: &str, resource: &str) -> AppResult<Uuid> {
    parse_id(raw).ok_or_else(|| AppError::not_found(resource))
}
