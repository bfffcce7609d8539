//! The event hub: delivers change events to live subscribers in the order they were stored.
//!
//! The service publishes every store write with the sequence number the store gave it; the hub
//! holds back any event whose predecessors have not arrived yet, so racing writers can never
//! reorder what subscribers see. Each topic (all chats, one chat, one conversation) has its own
//! bounded broadcast channel, so traffic on one conversation never makes another's subscriber
//! lag. The hub lives in the application state, never in a global.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use parking_lot::Mutex;
use tokio::sync::broadcast::{self, error::RecvError};
use uuid::Uuid;

use crate::domain::{Chat, Conversation, Message};
use crate::store::Seq;

/// How many events a subscriber may fall behind before it is told it lagged.
pub const SUBSCRIBER_BACKLOG: usize = 1024;

/// Writes whose predecessors have not arrived that the hub will hold before it gives up on
/// the missing ones. The service publishes right after each store write with no `.await` in
/// between, so only a panic between the two can leave such a gap.
const MAX_HELD_BACK: usize = 4096;

/// What happened to a chat.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChatEventKind {
    Created,
    Updated,
    Deleted,
}

/// A stored change, as subscribers receive it.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    Chat { kind: ChatEventKind, chat: Chat },
    ConversationCreated(Conversation),
    MessageAdded(Message),
    ConversationDeleted(Uuid),
}

/// What a subscriber listens to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Topic {
    AllChats,
    Chat(Uuid),
    Conversation(Uuid),
}

impl Event {
    /// The topics this event is delivered on (computed under the hub's lock: no allocation).
    fn topics(&self) -> impl Iterator<Item = Topic> {
        let (first, second) = match self {
            Event::Chat { chat, .. } => (Some(Topic::AllChats), Some(Topic::Chat(chat.id))),
            Event::ConversationCreated(_) => (None, None),
            Event::MessageAdded(message) => {
                (Some(Topic::Conversation(message.conversation_id)), None)
            }
            Event::ConversationDeleted(id) => (Some(Topic::Conversation(*id)), None),
        };
        first.into_iter().chain(second)
    }

    /// Whether no event can follow this one on `topic`.
    fn ends(&self, topic: &Topic) -> bool {
        matches!(
            (self, topic),
            (Event::ConversationDeleted(_), Topic::Conversation(_))
                | (
                    Event::Chat {
                        kind: ChatEventKind::Deleted,
                        ..
                    },
                    Topic::Chat(_)
                )
        )
    }
}

/// Cheap to clone; all clones share one hub.
#[derive(Clone)]
pub struct EventHub {
    inner: Arc<Mutex<HubInner>>,
}

struct HubInner {
    next: Seq,
    held_back: BTreeMap<Seq, Event>,
    topics: HashMap<Topic, broadcast::Sender<Arc<Event>>>,
}

impl Default for EventHub {
    fn default() -> Self {
        Self::new()
    }
}

impl EventHub {
    /// A hub expecting the first sequence number a store hands out (1).
    pub fn new() -> Self {
        Self {
            inner: Arc::new(Mutex::new(HubInner {
                next: 1,
                held_back: BTreeMap::new(),
                topics: HashMap::new(),
            })),
        }
    }

    /// Publishes the change stored as `seq`. Every sequence number must be published once.
    pub fn publish(&self, seq: Seq, event: Event) {
        let mut inner = self.inner.lock();
        if seq < inner.next {
            tracing::error!(seq, "event published twice or out of range; dropped");
            return;
        }
        inner.held_back.insert(seq, event);
        if inner.held_back.len() > MAX_HELD_BACK {
            let first = *inner
                .held_back
                .keys()
                .next()
                .expect("held_back is not empty");
            tracing::error!(
                missing_from = inner.next,
                resumed_at = first,
                "event gap skipped"
            );
            inner.next = first;
        }
        while let Some(event) = {
            let next = inner.next;
            inner.held_back.remove(&next)
        } {
            inner.next += 1;
            inner.deliver(event);
        }
    }

    /// Starts listening to `topic`: the receiver gets every event released after this call.
    pub fn subscribe(&self, topic: Topic) -> TopicReceiver {
        let mut inner = self.inner.lock();
        let rx = inner
            .topics
            .entry(topic)
            .or_insert_with(|| broadcast::channel(SUBSCRIBER_BACKLOG).0)
            .subscribe();
        TopicReceiver {
            rx: Some(rx),
            topic,
            hub: self.clone(),
        }
    }

    /// How many receivers listen to `topic`; lets tests wait until a subscription is live.
    pub fn receiver_count(&self, topic: Topic) -> usize {
        self.inner
            .lock()
            .topics
            .get(&topic)
            .map_or(0, broadcast::Sender::receiver_count)
    }
}

/// One subscriber's view of a topic. Dropping the last receiver of a topic frees its channel,
/// so subscribing to ids that never see an event (unknown ones included) costs nothing lasting.
pub struct TopicReceiver {
    rx: Option<broadcast::Receiver<Arc<Event>>>,
    topic: Topic,
    hub: EventHub,
}

impl TopicReceiver {
    /// The next event; `Lagged(n)` when this receiver fell more than [`SUBSCRIBER_BACKLOG`]
    /// events behind (the oldest `n` are gone), `Closed` after the topic's ending event.
    pub async fn recv(&mut self) -> Result<Arc<Event>, RecvError> {
        self.rx
            .as_mut()
            .expect("the receiver lives until drop")
            .recv()
            .await
    }

    /// The next event if one is waiting, without waiting.
    pub fn try_recv(&mut self) -> Result<Arc<Event>, broadcast::error::TryRecvError> {
        self.rx
            .as_mut()
            .expect("the receiver lives until drop")
            .try_recv()
    }
}

impl Drop for TopicReceiver {
    fn drop(&mut self) {
        let mut inner = self.hub.inner.lock();
        // Dropped under the lock, so no subscribe can slip in between the drop and the check.
        drop(self.rx.take());
        let unheard = inner
            .topics
            .get(&self.topic)
            .is_some_and(|sender| sender.receiver_count() == 0);
        if unheard {
            inner.topics.remove(&self.topic);
        }
    }
}

impl HubInner {
    fn deliver(&mut self, event: Event) {
        let event = Arc::new(event);
        for topic in event.topics() {
            let Some(sender) = self.topics.get(&topic) else {
                continue;
            };
            // An error means nobody listens any more: drop the channel so it frees its buffer.
            if sender.send(event.clone()).is_err() || event.ends(&topic) {
                self.topics.remove(&topic);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn deleted(id: Uuid) -> Event {
        Event::ConversationDeleted(id)
    }

    #[test]
    fn events_are_released_in_sequence_order_whatever_the_publish_order() {
        let hub = EventHub::new();
        let ids: Vec<Uuid> = (0..3).map(|_| Uuid::new_v4()).collect();
        let mut receivers: Vec<_> = ids
            .iter()
            .map(|id| hub.subscribe(Topic::Conversation(*id)))
            .collect();
        hub.publish(3, deleted(ids[2]));
        hub.publish(2, deleted(ids[1]));
        assert!(
            receivers[1].try_recv().is_err(),
            "held back until 1 arrives"
        );
        hub.publish(1, deleted(ids[0]));
        for (id, rx) in ids.iter().zip(receivers.iter_mut()) {
            assert_eq!(*rx.try_recv().unwrap(), deleted(*id));
        }
    }

    #[test]
    fn a_topic_that_ended_is_dropped_and_unheard_topics_cost_nothing() {
        let hub = EventHub::new();
        let id = Uuid::new_v4();
        let _rx = hub.subscribe(Topic::Conversation(id));
        assert_eq!(hub.receiver_count(Topic::Conversation(id)), 1);
        hub.publish(1, deleted(Uuid::new_v4()));
        hub.publish(2, deleted(id));
        assert_eq!(hub.receiver_count(Topic::Conversation(id)), 0);
        assert!(hub.inner.lock().topics.is_empty());
    }

    #[test]
    fn dropping_the_last_receiver_frees_the_topic() {
        let hub = EventHub::new();
        let topic = Topic::Conversation(Uuid::new_v4());
        let first = hub.subscribe(topic);
        let second = hub.subscribe(topic);
        drop(first);
        assert_eq!(hub.receiver_count(topic), 1);
        drop(second);
        assert!(hub.inner.lock().topics.is_empty());
    }

    #[tokio::test]
    async fn a_receiver_may_fall_a_full_backlog_behind_and_is_told_beyond_it() {
        let hub = EventHub::new();
        let id = Uuid::new_v4();
        let topic = Topic::Chat(id);
        let mut rx = hub.subscribe(topic);
        let chat_event = |seq: u64| Event::Chat {
            kind: ChatEventKind::Updated,
            chat: crate::domain::Chat {
                id,
                title: format!("v{seq}"),
                description: None,
                active: true,
                priority: crate::domain::Priority::Medium,
                user_id: None,
                created_at: crate::domain::Timestamp::from_millis(0),
                updated_at: crate::domain::Timestamp::from_millis(0),
            },
        };
        let backlog = u64::try_from(SUBSCRIBER_BACKLOG).unwrap();
        for seq in 1..=backlog {
            hub.publish(seq, chat_event(seq));
        }
        for seq in 1..=backlog {
            assert_eq!(*rx.recv().await.unwrap(), chat_event(seq));
        }
        for seq in backlog + 1..=2 * backlog + 1 {
            hub.publish(seq, chat_event(seq));
        }
        assert_eq!(rx.recv().await.unwrap_err(), RecvError::Lagged(1));
    }
}
