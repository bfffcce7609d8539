//! The assistant that answers every posted message.
//!
//! A [`Responder`] streams its reply as text chunks, so a streaming backend can be plugged in
//! without changing callers; the service joins the chunks and stores the whole reply.

mod builtin;

use std::pin::Pin;

use async_trait::async_trait;
use futures::Stream;

use crate::domain::{Conversation, Message};
use crate::error::AppResult;

pub use builtin::BuiltinResponder;

/// The chunks of one reply, in order.
pub type ReplyStream = Pin<Box<dyn Stream<Item = AppResult<String>> + Send>>;

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
    async fn respond(&self, request: ReplyRequest) -> AppResult<ReplyStream>;
}
