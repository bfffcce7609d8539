//! Reading a streamed Chat Completions answer: server-sent events (parsed by
//! `eventsource-stream`, which handles lines split across reads, comment lines such as
//! keep-alives, and CRLF) carrying JSON chunks, ended by `data: [DONE]`.
//!
//! A stream is complete when `[DONE]` arrived, or when it ended after a chunk carried a
//! `finish_reason` (some servers omit `[DONE]`); anything else is a reply cut short.

use std::pin::Pin;

use eventsource_stream::{EventStream, EventStreamError};
use futures::{Stream, StreamExt};
use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::failure::Failure;
use crate::domain::Metadata;

/// The most bytes one streamed answer may have. A reply of 32,000 characters sent one token
/// per chunk takes a few MiB; this only stops a server that never ends a line or a stream.
pub const MAX_STREAM_BYTES: usize = 32 * 1024 * 1024;

type Events = Pin<
    Box<dyn Stream<Item = Result<eventsource_stream::Event, EventStreamError<Failure>>> + Send>,
>;

/// An answer being read, chunk by chunk.
pub struct Reading {
    events: Events,
    decoder: Decoder,
}

impl Reading {
    /// Reads the events of a response body given as a stream of byte chunks.
    pub fn new<B, E>(body: impl Stream<Item = Result<B, E>> + Send + 'static) -> Self
    where
        B: AsRef<[u8]> + Send + 'static,
    {
        let mut read = 0usize;
        let capped = body.map(move |chunk| {
            let chunk = chunk.map_err(|_| Failure::Cut)?;
            read = read.saturating_add(chunk.as_ref().len());
            if read > MAX_STREAM_BYTES {
                return Err(Failure::Malformed);
            }
            Ok(chunk)
        });
        Self {
            events: Box::pin(EventStream::new(capped)),
            decoder: Decoder::default(),
        }
    }

    /// The next non-empty text of the reply; `None` once the stream completed properly.
    pub async fn next_text(&mut self) -> Result<Option<String>, Failure> {
        while !self.decoder.done {
            match self.events.next().await {
                Some(Ok(event)) => {
                    if let Some(text) = self.decoder.feed(&event.data)? {
                        return Ok(Some(text));
                    }
                }
                Some(Err(EventStreamError::Transport(failure))) => return Err(failure),
                Some(Err(_)) => return Err(Failure::Malformed),
                None if self.decoder.finish_reason.is_some() => return Ok(None),
                None => return Err(Failure::Cut),
            }
        }
        Ok(None)
    }

    /// What the chunks said about the reply: `model`, `finishReason` and `usage` (camelCase
    /// token counts), each when the server sent it.
    pub fn metadata(&self) -> Metadata {
        self.decoder.metadata()
    }
}

/// The state of one stream: what its chunks said so far.
#[derive(Debug, Default)]
struct Decoder {
    done: bool,
    model: Option<String>,
    finish_reason: Option<String>,
    usage: Option<Usage>,
}

#[derive(Deserialize)]
struct Chunk {
    #[serde(default)]
    model: Option<String>,
    #[serde(default)]
    choices: Vec<Choice>,
    #[serde(default)]
    usage: Option<Usage>,
    #[serde(default)]
    error: Option<Value>,
}

#[derive(Deserialize)]
struct Choice {
    #[serde(default)]
    index: u32,
    #[serde(default)]
    delta: Option<Delta>,
    #[serde(default)]
    finish_reason: Option<String>,
}

#[derive(Deserialize)]
struct Delta {
    #[serde(default)]
    content: Option<String>,
}

#[derive(Debug, Clone, Copy, Deserialize)]
struct Usage {
    #[serde(default)]
    prompt_tokens: Option<u64>,
    #[serde(default)]
    completion_tokens: Option<u64>,
    #[serde(default)]
    total_tokens: Option<u64>,
}

impl Decoder {
    /// Takes one event's `data`; returns its text, if it carries any.
    fn feed(&mut self, data: &str) -> Result<Option<String>, Failure> {
        if data.trim() == "[DONE]" {
            self.done = true;
            return Ok(None);
        }
        let chunk: Chunk = serde_json::from_str(data).map_err(|_| Failure::Malformed)?;
        if chunk.error.is_some_and(|e| !e.is_null()) {
            return Err(Failure::StreamError);
        }
        if let Some(model) = chunk.model.filter(|m| !m.is_empty()) {
            self.model = Some(model);
        }
        if let Some(usage) = chunk.usage {
            self.usage = Some(usage);
        }
        // One completion is asked for; other choices (there should be none) are ignored.
        let Some(choice) = chunk.choices.into_iter().find(|c| c.index == 0) else {
            return Ok(None);
        };
        if let Some(reason) = choice.finish_reason {
            self.finish_reason = Some(reason);
        }
        Ok(choice
            .delta
            .and_then(|d| d.content)
            .filter(|text| !text.is_empty()))
    }

    fn metadata(&self) -> Metadata {
        let mut metadata = Map::new();
        if let Some(model) = &self.model {
            metadata.insert("model".into(), json!(model));
        }
        if let Some(reason) = &self.finish_reason {
            metadata.insert("finishReason".into(), json!(reason));
        }
        if let Some(usage) = self.usage {
            metadata.insert(
                "usage".into(),
                json!({
                    "promptTokens": usage.prompt_tokens,
                    "completionTokens": usage.completion_tokens,
                    "totalTokens": usage.total_tokens,
                }),
            );
        }
        metadata
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Reads `parts` (a body delivered in these pieces) to the end: texts, then the metadata,
    /// or the failure.
    async fn read(parts: &[&str]) -> Result<(Vec<String>, Metadata), Failure> {
        let owned: Vec<Result<Vec<u8>, std::io::Error>> =
            parts.iter().map(|p| Ok(p.as_bytes().to_vec())).collect();
        let mut reading = Reading::new(futures::stream::iter(owned));
        let mut texts = Vec::new();
        while let Some(text) = reading.next_text().await? {
            texts.push(text);
        }
        Ok((texts, reading.metadata()))
    }

    const ROLE: &str = r#"data: {"id":"c1","object":"chat.completion.chunk","model":"m-1","choices":[{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":null}]}"#;

    fn content(text: &str) -> String {
        format!(
            "data: {{\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"model\":\"m-1\",\"choices\":[{{\"index\":0,\"delta\":{{\"content\":{}}},\"finish_reason\":null}}]}}\n\n",
            serde_json::to_string(text).unwrap()
        )
    }

    const FINISH: &str = "data: {\"id\":\"c1\",\"model\":\"m-1\",\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}\n\n";
    const USAGE: &str = "data: {\"id\":\"c1\",\"model\":\"m-1\",\"choices\":[],\"usage\":{\"prompt_tokens\":9,\"completion_tokens\":2,\"total_tokens\":11}}\n\n";
    const DONE: &str = "data: [DONE]\n\n";

    #[tokio::test]
    async fn a_documented_stream_yields_its_deltas_and_usage() {
        let body = format!(
            "{ROLE}\n\n{}{}{FINISH}{USAGE}{DONE}",
            content("Hel"),
            content("lo")
        );
        let (texts, metadata) = read(&[&body]).await.unwrap();
        assert_eq!(texts, ["Hel", "lo"]);
        assert_eq!(
            Value::Object(metadata),
            json!({"model": "m-1", "finishReason": "stop",
                   "usage": {"promptTokens": 9, "completionTokens": 2, "totalTokens": 11}})
        );
    }

    #[tokio::test]
    async fn pieces_split_anywhere_keep_comments_and_crlf_apart_from_the_text() {
        let body = format!(
            ": keep-alive\r\n\r\n{ROLE}\r\n\r\n{}: ping\n\n{}{FINISH}{DONE}",
            content("Grüße, "),
            content("日本 🎉")
        );
        let bytes = body.as_bytes();
        // Three-byte pieces split lines, JSON and multi-byte characters.
        let pieces: Vec<Result<Vec<u8>, std::io::Error>> =
            bytes.chunks(3).map(|c| Ok(c.to_vec())).collect();
        let mut reading = Reading::new(futures::stream::iter(pieces));
        let mut texts = String::new();
        while let Some(text) = reading.next_text().await.unwrap() {
            texts.push_str(&text);
        }
        assert_eq!(texts, "Grüße, 日本 🎉");
    }

    #[tokio::test]
    async fn a_stream_that_stops_early_is_cut_but_a_finished_one_may_omit_done() {
        let cut = format!("{ROLE}\n\n{}", content("Hel"));
        assert_eq!(read(&[&cut]).await, Err(Failure::Cut));
        let no_done = format!("{ROLE}\n\n{}{FINISH}", content("Hi"));
        assert_eq!(read(&[&no_done]).await.unwrap().0, ["Hi"]);
    }

    #[tokio::test]
    async fn garbage_and_error_events_are_failures() {
        assert_eq!(
            read(&["data: {not json\n\n"]).await,
            Err(Failure::Malformed)
        );
        let error = "data: {\"error\":{\"message\":\"overloaded\",\"type\":\"server_error\"}}\n\n";
        assert_eq!(read(&[error]).await, Err(Failure::StreamError));
    }

    #[tokio::test]
    async fn a_transport_error_mid_stream_is_a_cut() {
        let pieces: Vec<Result<Vec<u8>, std::io::Error>> = vec![
            Ok(content("Hel").into_bytes()),
            Err(std::io::Error::other("reset")),
        ];
        let mut reading = Reading::new(futures::stream::iter(pieces));
        assert_eq!(reading.next_text().await, Ok(Some("Hel".to_owned())));
        assert_eq!(reading.next_text().await, Err(Failure::Cut));
    }
}
