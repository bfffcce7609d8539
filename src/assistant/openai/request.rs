//! What is sent to the model: the body of one streamed Chat Completions request, with the
//! conversation's recent history cut to the configured budget.

use serde::Serialize;

use super::config::{HistoryBudget, OpenAiConfig};
use crate::assistant::ReplyRequest;
use crate::domain::{Message, Role};

#[derive(Serialize)]
struct ChatRequest<'a> {
    model: &'a str,
    messages: Vec<ChatMessage<'a>>,
    stream: bool,
    /// Asks for the final usage chunk; servers that do not know it ignore it.
    stream_options: StreamOptions,
    #[serde(skip_serializing_if = "Option::is_none")]
    temperature: Option<f32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    max_tokens: Option<u32>,
}

#[derive(Serialize)]
struct StreamOptions {
    include_usage: bool,
}

#[derive(Serialize)]
struct ChatMessage<'a> {
    role: &'static str,
    content: &'a str,
}

/// The JSON body for `request`: the system prompt (when set), then the newest messages that
/// fit the history budget, oldest first, ending with the message being answered.
pub fn body(config: &OpenAiConfig, request: &ReplyRequest) -> Vec<u8> {
    let system = config.system_prompt.as_deref().map(|content| ChatMessage {
        role: "system",
        content,
    });
    let history = bounded_history(&request.history, config.history)
        .iter()
        .map(|m| ChatMessage {
            role: match m.role {
                Role::User => "user",
                Role::Assistant => "assistant",
            },
            content: &m.content,
        });
    let body = ChatRequest {
        model: &config.model,
        messages: system.into_iter().chain(history).collect(),
        stream: true,
        stream_options: StreamOptions {
            include_usage: true,
        },
        temperature: config.temperature,
        max_tokens: config.max_tokens,
    };
    serde_json::to_vec(&body).expect("a request of strings and numbers serializes")
}

/// The newest messages of `history` (oldest first) within `budget`: the last message always,
/// then older ones while both the message count and the character count fit. A leading
/// assistant message is dropped, since many chat templates expect the user to speak first.
pub fn bounded_history(history: &[Message], budget: HistoryBudget) -> &[Message] {
    let Some(last) = history.last() else {
        return history;
    };
    let most = usize::try_from(budget.messages)
        .unwrap_or(usize::MAX)
        .max(1);
    let mut chars = last.content.chars().count();
    let mut start = history.len() - 1;
    while start > 0 && history.len() - start < most {
        let older = history[start - 1].content.chars().count();
        if chars + older > budget.chars {
            break;
        }
        chars += older;
        start -= 1;
    }
    while start + 1 < history.len() && history[start].role == Role::Assistant {
        start += 1;
    }
    &history[start..]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Conversation, Timestamp};
    use serde_json::{Value, json};
    use uuid::Uuid;

    fn message(role: Role, content: &str) -> Message {
        Message {
            id: Uuid::new_v4(),
            conversation_id: Uuid::nil(),
            position: 1,
            role,
            content: content.into(),
            metadata: Default::default(),
            created_at: Timestamp::from_millis(0),
        }
    }

    fn contents(messages: &[Message]) -> Vec<&str> {
        messages.iter().map(|m| m.content.as_str()).collect()
    }

    fn budget(messages: u64, chars: usize) -> HistoryBudget {
        HistoryBudget { messages, chars }
    }

    #[test]
    fn history_keeps_the_newest_messages_that_fit_both_limits() {
        let history = [
            message(Role::User, "aaaa"),
            message(Role::Assistant, "bbbb"),
            message(Role::User, "cccc"),
            message(Role::Assistant, "dddd"),
            message(Role::User, "eeee"),
        ];
        assert_eq!(
            contents(bounded_history(&history, budget(20, 100))).len(),
            5
        );
        assert_eq!(
            contents(bounded_history(&history, budget(3, 100))),
            ["cccc", "dddd", "eeee"]
        );
        // 12 characters fit three messages; the third from the end is the user's.
        assert_eq!(
            contents(bounded_history(&history, budget(20, 12))),
            ["cccc", "dddd", "eeee"]
        );
        // 8 would start with the assistant's: it is dropped.
        assert_eq!(contents(bounded_history(&history, budget(20, 8))), ["eeee"]);
    }

    #[test]
    fn the_message_being_answered_goes_whole_whatever_the_budget() {
        let history = [message(Role::User, "old"), message(Role::User, "long text")];
        assert_eq!(
            contents(bounded_history(&history, budget(1, 1))),
            ["long text"]
        );
        assert!(bounded_history(&[], budget(1, 1)).is_empty());
    }

    #[test]
    fn body_streams_with_usage_and_sends_only_the_settings_given() {
        let mut config = OpenAiConfig::new("http://localhost/v1", "llama3.2").unwrap();
        let request = ReplyRequest {
            conversation: Conversation {
                id: Uuid::nil(),
                user_id: "u".into(),
                metadata: Default::default(),
                created_at: Timestamp::from_millis(0),
                updated_at: Timestamp::from_millis(0),
                message_count: 2,
            },
            history: vec![message(Role::User, "hi"), message(Role::Assistant, "hello")],
        };
        let plain: Value = serde_json::from_slice(&body(&config, &request)).unwrap();
        assert_eq!(
            plain,
            json!({
                "model": "llama3.2",
                "messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"}],
                "stream": true,
                "stream_options": {"include_usage": true},
            })
        );
        config.system_prompt = Some("Be brief.".into());
        config.temperature = Some(0.5);
        config.max_tokens = Some(64);
        let tuned: Value = serde_json::from_slice(&body(&config, &request)).unwrap();
        assert_eq!(
            tuned["messages"][0],
            json!({"role": "system", "content": "Be brief."})
        );
        assert_eq!(
            (tuned["temperature"].as_f64(), tuned["max_tokens"].as_u64()),
            (Some(0.5), Some(64))
        );
    }
}
