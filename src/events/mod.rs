//! Live updates: the change-feed seam between a store's backend and subscribers.
//!
//! A store's backend is the only source of events: every change it commits goes, in commit
//! order, into its [`ChangeSink`] (the memory store does so inside the write; a database store
//! from its notifications), whoever wrote it and on whichever instance. The hub behind the
//! sink fans changes out per [`Topic`] to [`ChangeFeed`] subscribers; [`LiveStream`] turns one
//! topic into the typed stream the socket transports render, replaying stored messages first
//! when a subscriber resumes. Nothing here is global: the feed lives in the store that feeds
//! it.

mod change;
mod hub;
mod live;

pub use change::{Change, ChatEventKind, Topic, Transient};
pub use hub::{ChangeFeed, ChangeSink, SUBSCRIBER_BACKLOG, TopicReceiver, change_feed};
pub use live::{LiveItem, LiveStream, REPLAY_PAGE};
