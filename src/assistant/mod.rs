//! The assistant that answers every posted message.
//!
//! A [`Responder`] streams its reply as pieces of text (and, at the end, facts about how it
//! was produced), so callers can pass each piece on as it arrives; the service joins the text
//! and stores the whole reply once. Two responders exist: the built-in one (no network) and an
//! OpenAI-compatible client ([`openai`]).

mod builtin;
pub mod openai;

use std::pin::Pin;

use async_trait::async_trait;
use futures::Stream;

use crate::domain::{Conversation, Message, Metadata};
use crate::error::AppResult;

pub use builtin::BuiltinResponder;
pub use openai::{OpenAiConfig, OpenAiResponder};

/// How many of a conversation's latest messages a responder gets unless it asks otherwise.
pub const DEFAULT_HISTORY_MESSAGES: u64 = 20;

/// One piece of a streamed reply.
#[derive(Debug, Clone, PartialEq)]
pub enum ReplyPiece {
    /// The next text of the reply, to be appended to what came before.
    Text(String),
    /// How the reply was produced (model, token usage, why it ended); merged into the stored
    /// message's `metadata`.
    Info(Metadata),
}

/// The pieces of one reply, in order. An error item means the reply broke off: whatever text
/// came before it is not a reply and must not be stored as one.
pub type ReplyStream = Pin<Box<dyn Stream<Item = AppResult<ReplyPiece>> + Send>>;

/// What a responder gets to answer: the conversation (with its message count, the new user
/// message included) and its latest messages, oldest first, ending with the one to answer.
#[derive(Debug, Clone)]
pub struct ReplyRequest {
    pub conversation: Conversation,
    pub history: Vec<Message>,
}

impl ReplyRequest {
    /// The message being answered.
    pub fn last_user_text(&self) -> &str {
        self.history.last().map_or("", |m| m.content.as_str())
    }
}

/// Produces the assistant's reply to the latest user message.
#[async_trait]
pub trait Responder: Send + Sync + 'static {
    /// How many of the conversation's latest messages to pass as history (at least 1: the
    /// message being answered).
    fn history_messages(&self) -> u64 {
        DEFAULT_HISTORY_MESSAGES
    }

    /// Starts the reply. It resolves once the reply has begun (a backend that retries does so
    /// before this returns) and fails with `ASSISTANT_UNAVAILABLE` when it cannot begin.
    async fn respond(&self, request: ReplyRequest) -> AppResult<ReplyStream>;
}
