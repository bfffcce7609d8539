//! The one live stream every socket transport renders: a topic's changes as [`LiveItem`]s,
//! in the topic's order, with a conversation's missed messages replayed from the store first.
//!
//! A stream starts after a number the subscriber already has (a message position, a chat
//! version). For a conversation it may first replay the stored messages after that position,
//! page by page as the subscriber takes them, while its receiver (subscribed before anything
//! was read) collects what is committed meanwhile; it then goes live, skipping what it
//! replayed. A change that skips ahead of the next number is not waited for: the stream reads
//! the missing messages from the store (a chat has no history to read, so it delivers at once).
//! A stream ends after `Lagged` or `Ended`, so transports never see a gap without being told.

use std::collections::VecDeque;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use futures::Stream;
use tokio::sync::broadcast::error::{RecvError, TryRecvError};
use uuid::Uuid;

use super::change::Change;
use super::hub::TopicReceiver;
use crate::store::Store;

/// How many stored messages a replay reads at a time.
pub const REPLAY_PAGE: u64 = 100;

/// What a live subscriber receives next.
#[derive(Debug, Clone, PartialEq)]
pub enum LiveItem {
    /// A change on the topic, in order.
    Event(Arc<Change>),
    /// The subscriber fell too far behind (or the backend lost changes): it must resume from
    /// the last item it has. Nothing follows.
    Lagged,
    /// The topic is over (its conversation or chat was deleted, or the server stops). Nothing
    /// follows.
    Ended,
}

/// A topic's [`LiveItem`]s; the stream ends after `Lagged` or `Ended`.
pub struct LiveStream {
    inner: Pin<Box<dyn Stream<Item = LiveItem> + Send>>,
}

/// Where a conversation's stored messages are read from to replay or fill a skip.
struct Replay {
    store: Arc<dyn Store>,
    conversation_id: Uuid,
}

impl LiveStream {
    /// A chat topic's changes (all chats, or one chat after `version`).
    pub fn chats(rx: TopicReceiver, after_version: Option<u64>) -> Self {
        Cursor::new(rx, after_version, None, Phase::Live).into_stream()
    }

    /// A conversation's messages after `after_position`. With `replay`, the stored messages
    /// after it come first; without, the subscriber already has every message up to it (the
    /// conversation's count when it subscribed).
    pub fn conversation(
        rx: TopicReceiver,
        store: Arc<dyn Store>,
        conversation_id: Uuid,
        after_position: u64,
        replay: bool,
    ) -> Self {
        let phase = if replay { Phase::Replay } else { Phase::Live };
        let source = Replay {
            store,
            conversation_id,
        };
        Cursor::new(rx, Some(after_position), Some(source), phase).into_stream()
    }
}

impl LiveStream {
    /// The same stream, keeping `guard` as long as the stream lives (say, a registration that
    /// must end with the subscription).
    pub fn holding<G: Send + 'static>(self, guard: G) -> Self {
        let inner = self.inner;
        let held = futures::stream::unfold((inner, guard), |(mut inner, guard)| async move {
            let item = futures::StreamExt::next(&mut inner).await?;
            Some((item, (inner, guard)))
        });
        LiveStream {
            inner: Box::pin(held),
        }
    }

    /// The same stream, calling `seen` with each item as the subscriber takes it (metrics);
    /// `seen` is dropped with the stream.
    pub fn observed(self, mut seen: impl FnMut(&LiveItem) + Send + 'static) -> Self {
        use futures::StreamExt;
        Self {
            inner: Box::pin(self.inner.inspect(move |item| seen(item))),
        }
    }
}

impl Stream for LiveStream {
    type Item = LiveItem;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<LiveItem>> {
        self.inner.as_mut().poll_next(cx)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Reading stored messages after `last` from the store.
    Replay,
    /// Going through what the receiver collected during a replay, without waiting.
    CatchUp,
    /// Waiting on the receiver.
    Live,
}

/// How one change relates to what the subscriber has.
enum Fit {
    /// Its number was delivered already.
    Stale,
    /// The next number, or a change without one: deliver it.
    Next,
    /// Past the next number: the messages in between come from the store first.
    SkipsAhead,
    /// Never stored: deliver it in the feed's order.
    Transient,
    /// Nothing follows it on this topic.
    Ends,
    Gap,
}

struct Cursor {
    rx: TopicReceiver,
    /// The highest number the subscriber has (position or version), if it has one.
    last: Option<u64>,
    replay: Option<Replay>,
    phase: Phase,
    /// A change that skipped ahead, delivered after the replay that fills the skip if the
    /// store did not hold it yet.
    skipped: Option<Arc<Change>>,
    ready: VecDeque<LiveItem>,
    finished: bool,
}

impl Cursor {
    fn new(rx: TopicReceiver, last: Option<u64>, replay: Option<Replay>, phase: Phase) -> Self {
        Self {
            rx,
            last,
            replay,
            phase,
            skipped: None,
            ready: VecDeque::new(),
            finished: false,
        }
    }

    fn into_stream(self) -> LiveStream {
        let inner = futures::stream::unfold(self, |mut cursor| async move {
            let item = cursor.next_item().await?;
            Some((item, cursor))
        });
        LiveStream {
            inner: Box::pin(inner),
        }
    }

    async fn next_item(&mut self) -> Option<LiveItem> {
        loop {
            if let Some(item) = self.ready.pop_front() {
                return Some(item);
            }
            if self.finished {
                return None;
            }
            match self.phase {
                Phase::Replay => self.replay_page().await,
                Phase::CatchUp => self.catch_up(),
                Phase::Live => {
                    let received = self.rx.recv().await;
                    self.on_live(received);
                }
            }
        }
    }

    async fn replay_page(&mut self) {
        let replay = self
            .replay
            .as_ref()
            .expect("only conversations replay, and they have a source");
        let after = self.last.unwrap_or(0);
        match replay
            .store
            .messages_after(replay.conversation_id, after, REPLAY_PAGE)
            .await
        {
            Ok(Some(page)) => {
                let complete = (page.len() as u64) < REPLAY_PAGE;
                for message in page {
                    self.last = Some(message.position);
                    let change = Change::MessageAdded(message);
                    self.ready.push_back(LiveItem::Event(Arc::new(change)));
                }
                if complete {
                    self.end_replay();
                }
            }
            // Deleted meanwhile: its deletion is on the topic.
            Ok(None) => self.end_replay(),
            Err(err) => {
                let (code, message) = (err.code().as_str(), err.message());
                tracing::warn!(
                    code,
                    message,
                    "replaying stored messages failed; the subscriber resumes"
                );
                self.finish(LiveItem::Lagged);
            }
        }
    }

    /// Moves on to what arrived during the replay, after the change whose skip it filled (if
    /// the store did not hold that one yet).
    fn end_replay(&mut self) {
        if let Some(change) = self.skipped.take()
            && matches!(self.fit(&change), Fit::Next | Fit::SkipsAhead)
        {
            self.deliver(change);
        }
        self.phase = Phase::CatchUp;
    }

    /// Goes through what arrived during a replay. Transient events held here are dropped when
    /// a message the subscriber already has follows them (they belonged before it), or when a
    /// message skips ahead (their place among the missing messages is unknown).
    fn catch_up(&mut self) {
        let mut held = Vec::new();
        loop {
            let change = match self.rx.try_recv() {
                Ok(change) => change,
                Err(TryRecvError::Empty) => {
                    self.release(held);
                    self.phase = Phase::Live;
                    return;
                }
                Err(TryRecvError::Lagged(_)) => return self.finish(LiveItem::Lagged),
                Err(TryRecvError::Closed) => {
                    self.release(held);
                    return self.finish(LiveItem::Ended);
                }
            };
            match self.fit(&change) {
                Fit::Stale => held.clear(),
                Fit::Transient => held.push(change),
                Fit::Next => {
                    self.release(held);
                    self.deliver(change);
                    self.phase = Phase::Live;
                    return;
                }
                Fit::SkipsAhead => return self.fill_skip(change),
                Fit::Ends => {
                    self.release(held);
                    self.ready.push_back(LiveItem::Event(change));
                    return self.finish(LiveItem::Ended);
                }
                Fit::Gap => return self.finish(LiveItem::Lagged),
            }
        }
    }

    fn on_live(&mut self, received: Result<Arc<Change>, RecvError>) {
        let change = match received {
            Ok(change) => change,
            Err(RecvError::Lagged(_)) => return self.finish(LiveItem::Lagged),
            Err(RecvError::Closed) => return self.finish(LiveItem::Ended),
        };
        match self.fit(&change) {
            Fit::Stale => {}
            Fit::Next => self.deliver(change),
            Fit::Transient => self.ready.push_back(LiveItem::Event(change)),
            Fit::SkipsAhead => self.fill_skip(change),
            Fit::Ends => {
                self.ready.push_back(LiveItem::Event(change));
                self.finish(LiveItem::Ended);
            }
            Fit::Gap => self.finish(LiveItem::Lagged),
        }
    }

    fn fit(&self, change: &Change) -> Fit {
        if matches!(change, Change::Gap) {
            return Fit::Gap;
        }
        let topic = self.rx.topic();
        if change.ends(topic) {
            return Fit::Ends;
        }
        if change.is_transient() {
            return Fit::Transient;
        }
        match (change.order_on(topic), self.last) {
            (Some(number), Some(last)) if number <= last => Fit::Stale,
            (Some(number), Some(last)) if number > last + 1 && self.replay.is_some() => {
                Fit::SkipsAhead
            }
            _ => Fit::Next,
        }
    }

    /// Reads the messages `change` skipped from the store before going on.
    fn fill_skip(&mut self, change: Arc<Change>) {
        self.skipped = Some(change);
        self.phase = Phase::Replay;
    }

    fn deliver(&mut self, change: Arc<Change>) {
        if let Some(number) = change.order_on(self.rx.topic()) {
            self.last = Some(number);
        }
        self.ready.push_back(LiveItem::Event(change));
    }

    fn release(&mut self, held: Vec<Arc<Change>>) {
        self.ready.extend(held.into_iter().map(LiveItem::Event));
    }

    fn finish(&mut self, last_item: LiveItem) {
        self.ready.push_back(last_item);
        self.finished = true;
    }
}

#[cfg(test)]
mod tests;
