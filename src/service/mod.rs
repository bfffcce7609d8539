//! The operations both transports call. Each decodes nothing and renders nothing: it takes
//! checked domain input and performs one store operation (or a short sequence). It never
//! publishes events: the store's backend feeds them as it commits, so a cancelled request can
//! never lose or delay one. Live updates leave here as one [`LiveStream`] per subscription.
//!
//! Ids arrive as the strings clients sent; the rule that a malformed id names nothing lives
//! here, once, for every transport.

mod chats;
mod conversations;
mod established;
mod replies;
mod turns;
mod writing;

use std::sync::Arc;

use tokio_util::task::TaskTracker;
use uuid::Uuid;

use self::established::Established;
use self::turns::Turns;

use crate::assistant::Responder;
use crate::domain::{Position, parse_id};
use crate::error::{AppError, AppResult};
use crate::events::{ChangeFeed, LiveItem, LiveStream, Topic};
use crate::metrics::Metrics;
use crate::store::Store;

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
    feed: ChangeFeed,
    responder: Arc<dyn Responder>,
    /// One exchange at a time per conversation.
    turns: Arc<Turns>,
    /// The running exchanges, which outlive the requests that started them.
    replies: TaskTracker,
    /// The live streams whose starting point is fixed, by topic.
    established: Established,
    /// Where live subscriptions and their events are counted.
    metrics: Metrics,
}

impl ChatService {
    /// A service over `store`, whose feed carries its live updates.
    pub fn new(store: Arc<dyn Store>, responder: Arc<dyn Responder>) -> Self {
        Self {
            feed: store.feed(),
            store,
            responder,
            turns: Arc::default(),
            replies: TaskTracker::new(),
            established: Established::default(),
            metrics: Metrics::off(),
        }
    }

    /// The same service counting live subscriptions, events delivered and subscribers lagged
    /// into `metrics`.
    pub fn with_metrics(mut self, metrics: Metrics) -> Self {
        self.metrics = metrics;
        self
    }

    /// `stream`, counted: active while it lives, each event it hands over, and a lag.
    fn counted(&self, stream: LiveStream) -> LiveStream {
        if !self.metrics.is_on() {
            return stream;
        }
        let metrics = self.metrics.clone();
        let active = metrics.subscription_started();
        stream.observed(move |item| {
            let _active = &active;
            match item {
                LiveItem::Event(_) => metrics.event_delivered(),
                LiveItem::Lagged => metrics.subscriber_lagged(),
                LiveItem::Ended => {}
            }
        })
    }

    /// The store, for batched loads that need no business rule.
    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    /// A conversation's messages, live: those stored after message `after` first (replayed
    /// from the store, in order), or without `after` those stored from now on. It subscribes
    /// before it reads anything, so no message is missed or repeated in between. An `after`
    /// that names no message of this conversation is `NOT_FOUND`.
    pub async fn watch_conversation(
        &self,
        id: &str,
        after: Option<&str>,
    ) -> AppResult<(Uuid, LiveStream)> {
        let id = require_id(id, "conversation")?;
        let rx = self.feed.subscribe(Topic::Conversation(id));
        let Some(conversation) = self.store.get_conversations(&[id]).await?.pop() else {
            return Err(AppError::not_found("conversation"));
        };
        let (start, replay) = match after {
            None => (conversation.message_count, false),
            Some(after) => (self.position_in(id, after).await?, true),
        };
        let stream = LiveStream::conversation(rx, self.store.clone(), id, start, replay);
        let established = self.established.enter(Topic::Conversation(id));
        Ok((id, self.counted(stream.holding(established))))
    }

    /// Where message `raw` stands in conversation `conversation_id`.
    async fn position_in(&self, conversation_id: Uuid, raw: &str) -> AppResult<Position> {
        let message = match parse_id(raw) {
            Some(id) => self.store.get_message(id).await?,
            None => None,
        };
        message
            .filter(|message| message.conversation_id == conversation_id)
            .map(|message| message.position)
            .ok_or_else(|| AppError::not_found("message"))
    }

    /// Every chat's changes, or one chat's after the version it has now (subscribed before it
    /// is read).
    pub async fn watch_chats(&self, id: Option<&str>) -> AppResult<LiveStream> {
        let Some(id) = id else {
            let rx = self.feed.subscribe(Topic::AllChats);
            let established = self.established.enter(Topic::AllChats);
            return Ok(self.counted(LiveStream::chats(rx, None).holding(established)));
        };
        let id = require_id(id, "chat")?;
        let rx = self.feed.subscribe(Topic::Chat(id));
        match self.store.get_chat(id).await? {
            Some(chat) => {
                let established = self.established.enter(Topic::Chat(id));
                let stream = LiveStream::chats(rx, Some(chat.version)).holding(established);
                Ok(self.counted(stream))
            }
            None => Err(AppError::not_found("chat")),
        }
    }

    /// The store's change feed, for tests that wait until a subscription is live.
    pub fn feed(&self) -> &ChangeFeed {
        &self.feed
    }

    /// How many live streams on `topic` have their starting point fixed, so that every change
    /// committed from now on reaches them (what tests wait for before they publish).
    pub fn established_streams(&self, topic: Topic) -> usize {
        self.established.count(topic)
    }

    /// A real round trip to the store, for health checks.
    pub async fn ping_store(&self) -> AppResult<()> {
        self.store.ping().await
    }
}

/// Parses a client-sent id; one that cannot name a record is `NOT_FOUND` for `resource`.
fn require_id(raw: &str, resource: &str) -> AppResult<Uuid> {
    parse_id(raw).ok_or_else(|| AppError::not_found(resource))
}
