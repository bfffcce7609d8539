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

/// The rendered frames (or payloads) of the most recent changes, by change.
pub struct RenderedFrames {
    capacity: usize,
    inner: Mutex<Entries>,
    renders: AtomicU64,
}

#[derive(Default)]
struct Entries {
    by_change: HashMap<usize, (Arc<Change>, Option<Utf8Bytes>)>,
    order: VecDeque<usize>,
}

/// The cache's key: the change's address, valid while the entry holds the change.
fn key(change: &Arc<Change>) -> usize {
    Arc::as_ptr(change) as usize
}

impl RenderedFrames {
    /// A cache of the last `capacity` changes' renderings.
    pub fn new(capacity: usize) -> Self {
        Self {
            capacity: capacity.max(1),
            inner: Mutex::new(Entries::default()),
            renders: AtomicU64::new(0),
        }
    }

    /// What `change` renders to (`None`: nothing to send), rendered by `render` only if no
    /// socket rendered it before.
    pub fn get_or_render(
        &self,
        change: &Arc<Change>,
        render: impl FnOnce(&Change) -> Option<String>,
    ) -> Option<Utf8Bytes> {
        let mut entries = self.inner.lock();
        if let Some((_, frame)) = entries.by_change.get(&key(change)) {
            return frame.clone();
        }
        let frame = render(change).map(Utf8Bytes::from);
        self.renders.fetch_add(1, Ordering::Relaxed);
        self.insert(&mut entries, change, frame.clone());
        frame
    }

    /// What `change` rendered to, if it is still kept.
    pub fn get(&self, change: &Arc<Change>) -> Option<Utf8Bytes> {
        let entries = self.inner.lock();
        entries
            .by_change
            .get(&key(change))
            .and_then(|(_, frame)| frame.clone())
    }

    /// Keeps `frame` as what `change` renders to, counting one rendering.
    pub fn put(&self, change: &Arc<Change>, frame: Utf8Bytes) {
        let mut entries = self.inner.lock();
        self.renders.fetch_add(1, Ordering::Relaxed);
        self.insert(&mut entries, change, Some(frame));
    }

    fn insert(&self, entries: &mut Entries, change: &Arc<Change>, frame: Option<Utf8Bytes>) {
        let address = key(change);
        if entries
            .by_change
            .insert(address, (change.clone(), frame))
            .is_none()
        {
            entries.order.push_back(address);
        }
        while entries.order.len() > self.capacity {
            if let Some(oldest) = entries.order.pop_front() {
                entries.by_change.remove(&oldest);
            }
        }
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
            let frame = frames.get_or_render(&event, |_| Some("frame".into()));
            assert_eq!(frame.as_ref().map(|f| f.as_str()), Some("frame"));
        }
        assert_eq!(frames.renders(), 1);
        assert_eq!(frames.get_or_render(&event, |_| None), Some("frame".into()));
    }

    #[test]
    fn only_the_most_recent_changes_are_kept() {
        let frames = RenderedFrames::new(2);
        let events: Vec<_> = (0..3).map(|_| change()).collect();
        for event in &events {
            frames.put(event, "x".into());
        }
        assert!(frames.get(&events[0]).is_none(), "the oldest is gone");
        assert!(frames.get(&events[1]).is_some());
        assert!(frames.get(&events[2]).is_some());
        assert_eq!(frames.renders(), 3);
    }
}
