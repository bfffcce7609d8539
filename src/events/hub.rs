//! The per-topic fan-out behind a change feed: a [`ChangeSink`] that the store's backend sends
//! every change into, in commit order, and a [`ChangeFeed`] that subscribers listen on.
//!
//! Each topic (all chats, one chat, one conversation) has its own bounded broadcast channel,
//! so traffic on one conversation never makes another's subscriber lag. Within a topic, a change
//! whose number (a message's position, a chat's version) was already delivered is dropped as a
//! duplicate; a higher number is delivered at once. Nothing ever waits for a number that may
//! never come. The hub lives in the store that feeds it, never in a global.

use std::collections::HashMap;
use std::sync::Arc;

use parking_lot::Mutex;
use tokio::sync::broadcast::{self, error::RecvError, error::TryRecvError};

use super::change::{Change, Topic};

/// How many events a subscriber may fall behind before it is told it lagged.
pub const SUBSCRIBER_BACKLOG: usize = 1024;

/// A new, connected pair: the backend keeps the sink, subscribers get the feed.
pub fn change_feed() -> (ChangeSink, ChangeFeed) {
    let hub = Arc::new(Hub::default());
    (ChangeSink { hub: hub.clone() }, ChangeFeed { hub })
}

/// Where a store's backend sends each change it committed, in commit order, and the transient
/// events it carries. Only backends hold one.
#[derive(Clone)]
pub struct ChangeSink {
    hub: Arc<Hub>,
}

/// Where subscribers listen to a store's changes, by topic. Cheap to clone.
#[derive(Clone)]
pub struct ChangeFeed {
    hub: Arc<Hub>,
}

#[derive(Default)]
struct Hub {
    topics: Mutex<HashMap<Topic, TopicChannel>>,
}

struct TopicChannel {
    sender: broadcast::Sender<Arc<Change>>,
    /// The highest number (position or version) delivered on this topic.
    last: Option<u64>,
}

impl ChangeSink {
    /// Delivers `change` on its topics, or on every topic for a `Gap` (which then closes them
    /// all: their subscribers resume afresh). Costs nothing when nobody listens.
    pub fn send(&self, change: Change) {
        let mut topics = self.hub.topics.lock();
        if matches!(change, Change::Gap) {
            let gap = Arc::new(change);
            for (_, channel) in topics.drain() {
                let _ = channel.sender.send(gap.clone());
            }
            return;
        }
        if !change.topics().any(|topic| topics.contains_key(&topic)) {
            return;
        }
        let change = Arc::new(change);
        for topic in change.topics() {
            let Some(channel) = topics.get_mut(&topic) else {
                continue;
            };
            if let Some(number) = change.order_on(topic) {
                if channel.last.is_some_and(|last| number <= last) {
                    continue;
                }
                channel.last = Some(number);
            }
            // An error means nobody listens any more: drop the channel so it frees its buffer.
            if channel.sender.send(change.clone()).is_err() || change.ends(topic) {
                topics.remove(&topic);
            }
        }
    }

    /// Whether anyone listens to `topic`: a backend that must load a record to announce a
    /// change may skip changes nobody hears.
    pub fn is_heard(&self, topic: Topic) -> bool {
        self.hub.topics.lock().contains_key(&topic)
    }
}

impl ChangeFeed {
    /// Starts listening to `topic`: the receiver gets every change delivered after this call.
    pub fn subscribe(&self, topic: Topic) -> TopicReceiver {
        let rx = self
            .hub
            .topics
            .lock()
            .entry(topic)
            .or_insert_with(|| TopicChannel {
                sender: broadcast::channel(SUBSCRIBER_BACKLOG).0,
                last: None,
            })
            .sender
            .subscribe();
        TopicReceiver {
            rx: Some(rx),
            topic,
            hub: self.hub.clone(),
        }
    }

    /// How many receivers listen to `topic`; lets tests wait until a subscription is live.
    pub fn receiver_count(&self, topic: Topic) -> usize {
        self.hub
            .topics
            .lock()
            .get(&topic)
            .map_or(0, |channel| channel.sender.receiver_count())
    }
}

/// One subscriber's view of a topic. Dropping the last receiver of a topic frees its channel,
/// so subscribing to ids that never see an event (unknown ones included) costs nothing lasting.
pub struct TopicReceiver {
    rx: Option<broadcast::Receiver<Arc<Change>>>,
    topic: Topic,
    hub: Arc<Hub>,
}

impl TopicReceiver {
    /// The topic this receiver listens to.
    pub fn topic(&self) -> Topic {
        self.topic
    }

    /// The next change; `Lagged(n)` when this receiver fell more than [`SUBSCRIBER_BACKLOG`]
    /// changes behind (the oldest `n` are gone), `Closed` after the topic's ending change.
    pub async fn recv(&mut self) -> Result<Arc<Change>, RecvError> {
        self.rx
            .as_mut()
            .expect("the receiver lives until drop")
            .recv()
            .await
    }

    /// The next change if one is waiting, without waiting.
    pub fn try_recv(&mut self) -> Result<Arc<Change>, TryRecvError> {
        self.rx
            .as_mut()
            .expect("the receiver lives until drop")
            .try_recv()
    }
}

impl Drop for TopicReceiver {
    fn drop(&mut self) {
        let mut topics = self.hub.topics.lock();
        // Dropped under the lock, so no subscribe can slip in between the drop and the check.
        drop(self.rx.take());
        let unheard = topics
            .get(&self.topic)
            .is_some_and(|channel| channel.sender.receiver_count() == 0);
        if unheard {
            topics.remove(&self.topic);
        }
    }
}

#[cfg(test)]
mod tests;
