//! The built-in responder: needs no network, answers a few useful intents and reflects the
//! rest. Its replies depend only on the message, the conversation's length and the clock.

use std::sync::Arc;

use async_trait::async_trait;
use futures::stream;

use super::{ReplyPiece, ReplyRequest, ReplyStream, Responder};
use crate::domain::Clock;
use crate::error::AppResult;

/// How much of the user's text a reflected reply quotes.
const QUOTE_CHARS: usize = 120;

/// The default assistant.
pub struct BuiltinResponder {
    clock: Arc<dyn Clock>,
}

impl BuiltinResponder {
    pub fn new(clock: Arc<dyn Clock>) -> Self {
        Self { clock }
    }

    /// The whole reply to `request`.
    pub fn reply(&self, request: &ReplyRequest) -> String {
        let text = request.last_user_text().trim();
        let lower = text.to_lowercase();
        let words: Vec<&str> = lower
            .split(|c: char| !c.is_alphanumeric() && c != '\'')
            .filter(|w| !w.is_empty())
            .collect();
        let has = |w: &str| words.contains(&w);
        let count = request.conversation.message_count;
        let now = self.clock.now().to_datetime();

        if has("help") || lower.contains("what can you do") {
            return "I can tell you the time (\"what time is it?\"), today's date \
                    (\"what's the date?\") and how long this conversation is \
                    (\"how many messages?\"). Anything else, I'll reflect back to you."
                .into();
        }
        if has("time") && !has("date") {
            return format!("It is {} UTC.", now.format("%H:%M"));
        }
        if has("date") || has("today") || has("day") {
            return format!("Today is {} (UTC).", now.format("%A, %-d %B %Y"));
        }
        if (has("how") && has("many")) || has("count") || has("long") {
            return format!(
                "This conversation has {count} message{} so far, yours included.",
                if count == 1 { "" } else { "s" }
            );
        }
        if has("thanks") || has("thank") {
            return "You're welcome! Anything else?".into();
        }
        let greeting = [
            "hi",
            "hello",
            "hey",
            "greetings",
            "morning",
            "evening",
            "afternoon",
        ];
        if words.first().is_some_and(|w| greeting.contains(w)) && words.len() <= 4 {
            return "Hello! I'm the chatgate assistant. Ask me the time or the date, \
                    or type \"help\" to see what I can do."
                .into();
        }
        let quote = quote(text);
        if text.ends_with('?') {
            format!(
                "You asked: \"{quote}\" I can't look that up, but it's a good question. \
                 Type \"help\" to see what I can answer."
            )
        } else {
            format!("You said: \"{quote}\" Tell me more, or type \"help\" to see what I can do.")
        }
    }
}

/// The first characters of `text` on one line, marked when cut.
fn quote(text: &str) -> String {
    let one_line: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    let mut chars = one_line.chars();
    let head: String = chars.by_ref().take(QUOTE_CHARS).collect();
    if chars.next().is_some() {
        format!("{head}…")
    } else {
        head
    }
}

#[async_trait]
impl Responder for BuiltinResponder {
    async fn respond(&self, request: ReplyRequest) -> AppResult<ReplyStream> {
        let reply = self.reply(&request);
        // Streamed word by word so callers exercise the same path as a streaming backend.
        let chunks: Vec<AppResult<ReplyPiece>> = reply
            .split_inclusive(' ')
            .map(|w| Ok(ReplyPiece::Text(w.to_owned())))
            .collect();
        Ok(Box::pin(stream::iter(chunks)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Conversation, ManualClock, Message, Role, Timestamp};
    use futures::StreamExt;
    use serde_json::Map;
    use uuid::Uuid;

    fn request(text: &str, count: u64) -> ReplyRequest {
        let conversation = Conversation {
            id: Uuid::nil(),
            user_id: "u".into(),
            metadata: Map::new(),
            created_at: Timestamp::from_millis(0),
            updated_at: Timestamp::from_millis(0),
            message_count: count,
        };
        let message = Message {
            id: Uuid::nil(),
            conversation_id: Uuid::nil(),
            position: count,
            role: Role::User,
            content: text.into(),
            metadata: Map::new(),
            created_at: Timestamp::from_millis(0),
        };
        ReplyRequest {
            conversation,
            history: vec![message],
        }
    }

    fn responder() -> BuiltinResponder {
        let at = Timestamp::parse("2025-10-04T12:34:56.000Z").unwrap();
        BuiltinResponder::new(Arc::new(ManualClock::new(at)))
    }

    #[test]
    fn answers_time_date_and_length_from_the_clock_and_conversation() {
        let r = responder();
        assert_eq!(r.reply(&request("What time is it?", 1)), "It is 12:34 UTC.");
        assert_eq!(
            r.reply(&request("what's the date", 1)),
            "Today is Saturday, 4 October 2025 (UTC)."
        );
        assert_eq!(
            r.reply(&request("How many messages?", 5)),
            "This conversation has 5 messages so far, yours included."
        );
    }

    #[test]
    fn greets_helps_and_reflects() {
        let r = responder();
        assert!(
            r.reply(&request("Hello there", 1))
                .starts_with("Hello! I'm the chatgate assistant.")
        );
        assert!(
            r.reply(&request("help", 1))
                .starts_with("I can tell you the time")
        );
        assert_eq!(
            r.reply(&request("Is Rust fast?", 1)),
            "You asked: \"Is Rust fast?\" I can't look that up, but it's a good question. \
             Type \"help\" to see what I can answer."
        );
        assert_eq!(
            r.reply(&request("I like\n\ntrains", 1)),
            "You said: \"I like trains\" Tell me more, or type \"help\" to see what I can do."
        );
    }

    #[test]
    fn long_text_is_quoted_shortened() {
        let reply = responder().reply(&request(&"x".repeat(500), 1));
        assert!(reply.contains(&format!("\"{}…\"", "x".repeat(QUOTE_CHARS))));
    }

    #[tokio::test]
    async fn streamed_chunks_join_to_the_reply() {
        let r = responder();
        let req = request("hi", 1);
        let whole = r.reply(&req);
        let chunks: Vec<String> = r
            .respond(req)
            .await
            .unwrap()
            .map(|c| match c.unwrap() {
                ReplyPiece::Text(text) => text,
                other => panic!("unexpected piece {other:?}"),
            })
            .collect()
            .await;
        assert!(chunks.len() > 1);
        assert_eq!(chunks.concat(), whole);
    }
}
