//! A reply being written: its text as it will be stored, and the pieces announced to live
//! subscribers meanwhile. What is announced adds up to exactly what is stored.

use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;
use uuid::Uuid;

use crate::domain::{MESSAGE_MAX_CHARS, MessageContent};
use crate::error::AppError;
use crate::events::Transient;
use crate::store::Store;

/// The shortest time between two announced pieces of one reply. Text written faster goes out
/// together, so a fast model cannot flood subscribers (each may fall only so many events
/// behind) and a chat page still sees the reply grow some twenty times a second.
pub const DELTA_INTERVAL: Duration = Duration::from_millis(50);

/// The reply as it will be stored: each piece cleaned of what a message may not hold, up to
/// the message length limit.
#[derive(Default)]
pub struct ReplyText {
    text: String,
    chars: usize,
}

impl ReplyText {
    /// Appends what fits of `piece`, cleaned; returns what was appended.
    pub fn push(&mut self, piece: &str) -> &str {
        let start = self.text.len();
        for c in MessageContent::clean_piece(piece).chars() {
            if self.chars == MESSAGE_MAX_CHARS {
                break;
            }
            self.text.push(c);
            self.chars += 1;
        }
        &self.text[start..]
    }

    /// Whether the reply reached the message length limit.
    pub fn is_full(&self) -> bool {
        self.chars == MESSAGE_MAX_CHARS
    }

    pub fn into_text(self) -> String {
        self.text
    }
}

/// Announces the pieces of one reply on its conversation's topic, at most one per
/// [`DELTA_INTERVAL`].
pub struct Deltas {
    store: Arc<dyn Store>,
    conversation_id: Uuid,
    message_id: Uuid,
    pending: String,
    last_sent: Option<Instant>,
}

impl Deltas {
    /// For the reply that will be stored as `message_id` in `conversation_id`.
    pub fn new(store: Arc<dyn Store>, conversation_id: Uuid, message_id: Uuid) -> Self {
        Self {
            store,
            conversation_id,
            message_id,
            pending: String::new(),
            last_sent: None,
        }
    }

    /// Adds `text` to what goes out next; sends it now unless a piece went out too recently.
    pub async fn push(&mut self, text: &str) {
        self.pending.push_str(text);
        if self.due_at().is_some_and(|at| at <= Instant::now()) {
            self.flush().await;
        }
    }

    /// When the text waiting should go out, if any waits.
    pub fn due_at(&self) -> Option<Instant> {
        if self.pending.is_empty() {
            return None;
        }
        Some(match self.last_sent {
            Some(sent) => sent + DELTA_INTERVAL,
            None => Instant::now(),
        })
    }

    /// Sends the text waiting, if any. A piece that cannot be announced is only logged: the
    /// stored reply, announced as `messageAdded`, stays the whole truth.
    pub async fn flush(&mut self) {
        if self.pending.is_empty() {
            return;
        }
        let delta = std::mem::take(&mut self.pending);
        self.last_sent = Some(Instant::now());
        let event = Transient::AssistantDelta {
            conversation_id: self.conversation_id,
            message_id: self.message_id,
            delta,
        };
        if let Err(err) = self.store.announce(event).await {
            tracing::warn!(
                code = err.code().as_str(),
                "a reply's piece was not announced"
            );
        }
    }

    /// Tells subscribers the reply failed: nothing will be stored under its id.
    pub async fn fail(self, err: &AppError) {
        let event = Transient::AssistantFailed {
            conversation_id: self.conversation_id,
            message_id: self.message_id,
            code: err.code(),
            message: err.message().to_owned(),
        };
        if let Err(err) = self.store.announce(event).await {
            tracing::warn!(
                code = err.code().as_str(),
                "a reply's failure was not announced"
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reply_text_is_cleaned_and_stops_at_the_message_limit() {
        let mut reply = ReplyText::default();
        assert_eq!(reply.push("a\u{0}b\n"), "ab\n");
        let long = "é".repeat(MESSAGE_MAX_CHARS);
        assert_eq!(reply.push(&long).chars().count(), MESSAGE_MAX_CHARS - 3);
        assert!(reply.is_full());
        assert_eq!(reply.push("more"), "");
        assert!(MessageContent::parse(reply.into_text()).is_ok());
    }
}
