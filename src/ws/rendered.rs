//! Frames rendered once per event and shared by every socket that sends them.
//!
//! A change reaches each subscriber of its topic as the same `Arc<Change>`, so what a protocol
//! renders of it can be kept beside that pointer and handed to the next socket as shared bytes
//! (a reference count, no copy, no re-encoding). The cache holds the change itself, so a
//! pointer is never reused while its entry lives; it keeps only the most recent changes, since
//! every subscriber of a topic takes an event within moments of the others (one further behind
//! than that renders it again, which costs time and nothing else).

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use axum::extract::ws::Utf8Bytes;
use parking_lot::Mutex;

use crate::events::Change;

/// What the most recent changes rendered to, by change: a frame (`None`: nothing to send),
/// or whatever a protocol keeps per change (a cell its payload is being rendered into).
pub struct RenderedFrames<V = Option<Utf8Bytes>> {
    capacity: usize,
    inner: Mutex<Entries<V>>,
    renders: AtomicU64,
}

struct Entries<V> {
    by_change: HashMap<usize, (Arc<Change>, V)>,
    order: VecDeque<usize>,
}

/// The cache's key: the change's address, valid while the entry holds the change.
fn key(change: &Arc<Change>) -> usize {
    Arc::as_ptr(change) as usize
}

impl RenderedFrames {
    /// The `/ws` frame of `change` (`None`: nothing to send), rendered by `render` only if no
    /// socket rendered it before.
    pub fn frame(
        &self,
        change: &Arc<Change>,
        render: impl FnOnce(&Change) -> Option<String>,
    ) -> Option<Utf8Bytes> {
        self.get_or_render(change, |change| render(change).map(Utf8Bytes::from))
    }
}

impl<V: Clone> RenderedFrames<V> {
    /// A cache of the last `capacity` changes' renderings.
    pub fn new(capacity: usize) -> Self {
        Self {
            capacity: capacity.max(1),
            inner: Mutex::new(Entries {
                by_change: HashMap::new(),
                order: VecDeque::new(),
            }),
            renders: AtomicU64::new(0),
        }
    }

    /// What `change` renders to, made by `render` (under the cache's lock, so once) only if
    /// nobody asked for it before.
    pub fn get_or_render(&self, change: &Arc<Change>, render: impl FnOnce(&Change) -> V) -> V {
        let mut entries = self.inner.lock();
        let address = key(change);
        if let Some((_, value)) = entries.by_change.get(&address) {
            return value.clone();
        }
        let value = render(change);
        self.renders.fetch_add(1, Ordering::Relaxed);
        entries
            .by_change
            .insert(address, (change.clone(), value.clone()));
        entries.order.push_back(address);
        while entries.order.len() > self.capacity {
            if let Some(oldest) = entries.order.pop_front() {
                entries.by_change.remove(&oldest);
            }
        }
        value
    }

    /// How many renderings were made (not taken from the cache) since the start: with sharing,
    /// one per event and cache, whatever the number of sockets.
    pub fn renders(&self) -> u64 {
        self.renders.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use uuid::Uuid;

    fn change() -> Arc<Change> {
        Arc::new(Change::ConversationDeleted(Uuid::new_v4()))
    }

    #[test]
    fn a_change_is_rendered_once_however_many_ask() {
        let frames = RenderedFrames::new(4);
        let event = change();
        for _ in 0..10 {
            let frame = frames.frame(&event, |_| Some("frame".into()));
            assert_eq!(frame.as_ref().map(|f| f.as_str()), Some("frame"));
        }
        assert_eq!(frames.renders(), 1);
        assert_eq!(frames.frame(&event, |_| None), Some("frame".into()));
    }

    #[test]
    fn only_the_most_recent_changes_are_kept() {
        let frames = RenderedFrames::<u32>::new(2);
        let events: Vec<_> = (0..3).map(|_| change()).collect();
        for (n, event) in events.iter().enumerate() {
            assert_eq!(frames.get_or_render(event, |_| n as u32), n as u32);
        }
        assert_eq!(frames.get_or_render(&events[2], |_| 9), 2, "kept");
        assert_eq!(frames.get_or_render(&events[1], |_| 9), 1, "kept");
        assert_eq!(
            frames.get_or_render(&events[0], |_| 9),
            9,
            "the oldest was gone"
        );
        assert_eq!(frames.renders(), 4);
    }
}
