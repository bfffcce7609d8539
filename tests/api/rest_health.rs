//! `/health` and `/health/db`, and what clients see when the store fails: no internal detail.

use std::sync::Arc;

use async_trait::async_trait;
use chatgate::domain::{
    Chat, ChatFilter, ChatPatch, Conversation, Message, NewChat, NewConversation, NewMessage, Page,
    PageRequest, SortOrder, Timestamp,
};
use chatgate::error::{AppError, AppResult};
use chatgate::events::{ChangeFeed, Transient, change_feed};
use chatgate::store::{MessageQuery, Store, Updated};
use serde_json::json;
use uuid::Uuid;

use crate::helpers::{manual_clock, spawn_app, spawn_app_with_store};

#[tokio::test]
async fn health_reports_status_time_uptime_and_service() {
    let app = spawn_app().await;
    let before = chrono::Utc::now().timestamp_millis();
    let reply = app.get("/health").await;
    let after = chrono::Utc::now().timestamp_millis();
    let body = reply.expect(200).clone();
    let timestamp = body["timestamp"].as_str().expect("timestamp is a string");
    let parsed = Timestamp::parse(timestamp).expect("RFC 3339 timestamp");
    assert_eq!(parsed.to_string(), timestamp, "rendered as …T12:00:00.000Z");
    assert!((before..=after).contains(&parsed.millis()), "{timestamp}");
    let uptime = body["uptime"].as_u64().expect("uptime is whole seconds");
    assert_eq!(
        body,
        json!({"status": "ok", "timestamp": timestamp, "uptime": uptime, "service": "micro-chatbot"})
    );
}

#[tokio::test]
async fn health_db_times_a_round_trip_to_the_store() {
    let app = spawn_app().await;
    let reply = app.get("/health/db").await;
    let body = reply.expect(200).clone();
    let latency = body["latency"]
        .as_u64()
        .expect("latency is whole milliseconds");
    assert_eq!(
        body,
        json!({"status": "ok", "database": "connected", "latency": latency})
    );
    app.shutdown().await;
}

/// A store whose backend is unreachable: every call fails with a cause clients must not see.
pub(crate) struct UnreachableStore;

fn unreachable<T>() -> AppResult<T> {
    Err(AppError::internal("connection refused by db.internal:5432"))
}

#[async_trait]
impl Store for UnreachableStore {
    async fn create_chat(&self, _: NewChat) -> AppResult<Chat> {
        unreachable()
    }
    async fn get_chat(&self, _: Uuid) -> AppResult<Option<Chat>> {
        unreachable()
    }
    async fn update_chat(&self, _: Uuid, _: ChatPatch) -> AppResult<Updated<Chat>> {
        unreachable()
    }
    async fn toggle_chat(&self, _: Uuid) -> AppResult<Chat> {
        unreachable()
    }
    async fn delete_chat(&self, _: Uuid) -> AppResult<Chat> {
        unreachable()
    }
    async fn list_chats(
        &self,
        _: &ChatFilter,
        _: SortOrder,
        _: PageRequest,
    ) -> AppResult<Page<Chat>> {
        unreachable()
    }
    async fn create_conversation(&self, _: NewConversation) -> AppResult<Conversation> {
        unreachable()
    }
    async fn get_conversations(&self, _: &[Uuid]) -> AppResult<Vec<Conversation>> {
        unreachable()
    }
    async fn delete_conversation(&self, _: Uuid) -> AppResult<Conversation> {
        unreachable()
    }
    async fn list_conversations(
        &self,
        _: &str,
        _: SortOrder,
        _: PageRequest,
    ) -> AppResult<Page<Conversation>> {
        unreachable()
    }
    async fn append_message(&self, _: Uuid, _: NewMessage) -> AppResult<Message> {
        unreachable()
    }
    async fn get_message(&self, _: Uuid) -> AppResult<Option<Message>> {
        unreachable()
    }
    async fn list_messages(&self, _: &[MessageQuery]) -> AppResult<Vec<Option<Page<Message>>>> {
        unreachable()
    }
    async fn messages_after(&self, _: Uuid, _: u64, _: u64) -> AppResult<Option<Vec<Message>>> {
        unreachable()
    }
    fn feed(&self) -> ChangeFeed {
        change_feed().1
    }
    async fn announce(&self, _: Transient) -> AppResult<()> {
        unreachable()
    }
    async fn ping(&self) -> AppResult<()> {
        unreachable()
    }
}

#[tokio::test]
async fn health_db_answers_503_when_the_store_is_unreachable() {
    let app = spawn_app_with_store(Arc::new(UnreachableStore), manual_clock()).await;
    let reply = app.get("/health/db").await;
    assert_eq!(
        reply.body,
        json!({
            "status": "error",
            "database": "disconnected",
            "error": {
                "code": "SERVICE_UNAVAILABLE",
                "message": "the database is unreachable",
                "details": {"database": "disconnected"}
            }
        })
    );
    assert_eq!(reply.status, 503);
    // The process itself is still up.
    app.get("/health").await.expect(200);
}

#[tokio::test]
async fn store_failures_answer_500_without_internal_detail() {
    let app = spawn_app_with_store(Arc::new(UnreachableStore), manual_clock()).await;
    let id = Uuid::new_v4();
    let replies = [
        app.get("/chats").await,
        app.post_json("/chats", &json!({"title": "t"})).await,
        app.get(&format!("/chats/{id}")).await,
        app.put_json(&format!("/chats/{id}"), &json!({"title": "t"}))
            .await,
        app.post_empty(&format!("/chats/{id}/toggle")).await,
        app.delete(&format!("/chats/{id}")).await,
        app.get("/api/conversations?userId=u").await,
        app.post_json("/api/conversations", &json!({"userId": "u"}))
            .await,
        app.get(&format!("/api/conversations/{id}")).await,
        app.delete(&format!("/api/v1/conversations/{id}")).await,
        app.post_json(
            &format!("/api/conversations/{id}/messages"),
            &json!({"content": "hi"}),
        )
        .await,
        app.get(&format!("/api/conversations/{id}/messages")).await,
        app.get(&format!("/api/messages/{id}")).await,
    ];
    for reply in replies {
        assert_eq!(
            reply.body,
            json!({"error": {"code": "INTERNAL_ERROR", "message": "Internal server error", "details": {}}})
        );
        assert_eq!(reply.status, 500);
    }
}
