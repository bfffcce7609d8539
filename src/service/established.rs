//! Which live streams have their starting point fixed: subscribed at the feed and the record
//! read (its message count or version), so every change committed from then on reaches them.
//!
//! A receiver at the feed exists a moment before that, while the store is read; a change
//! committed in that moment may already be counted in the starting point. Anything that must
//! know a subscriber will see its next change (the test suites, before they publish) waits for
//! the stream to be established here rather than for the receiver.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use crate::events::Topic;

/// How many established live streams each topic has; cheap to clone.
#[derive(Clone, Default)]
pub struct Established {
    counts: Arc<Mutex<HashMap<Topic, usize>>>,
}

/// One established stream; dropped with the stream.
pub struct EstablishedStream {
    counts: Arc<Mutex<HashMap<Topic, usize>>>,
    topic: Topic,
}

impl Established {
    /// Counts one more established stream on `topic` until the returned guard is dropped.
    pub fn enter(&self, topic: Topic) -> EstablishedStream {
        *self.lock().entry(topic).or_default() += 1;
        EstablishedStream {
            counts: self.counts.clone(),
            topic,
        }
    }

    /// How many established streams `topic` has now.
    pub fn count(&self, topic: Topic) -> usize {
        self.lock().get(&topic).copied().unwrap_or(0)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Topic, usize>> {
        self.counts
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl Drop for EstablishedStream {
    fn drop(&mut self) {
        let mut counts = self
            .counts
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(count) = counts.get_mut(&self.topic) {
            *count -= 1;
            if *count == 0 {
                counts.remove(&self.topic);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use uuid::Uuid;

    #[test]
    fn a_stream_counts_on_its_topic_until_it_is_dropped() {
        let established = Established::default();
        let topic = Topic::Conversation(Uuid::new_v4());
        let first = established.enter(topic);
        let second = established.enter(topic);
        let other = established.enter(Topic::AllChats);
        assert_eq!(established.count(topic), 2);
        drop(first);
        assert_eq!(established.count(topic), 1);
        drop((second, other));
        assert_eq!(established.count(topic), 0);
        assert!(established.lock().is_empty(), "no entry is left behind");
    }
}
