//! `/api/conversations/{id}/messages` and `/api/messages/{id}`: messages of the chatbot API
//! describes them. Mounted under both `/api` and `/api/v1`.

use crate::body::Json;
use axum::extract::State;
use axum::http::StatusCode;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::extract::{JsonBody, PathId, QueryParams};
use super::input::{MessageListQuery, SendMessage};
use super::views::{MessageListView, MessageView, SentMessagesView};
use crate::app::AppState;
use crate::domain::NewMessage;
use crate::error::{AppError, AppResult};
use crate::service::ChatService;

/// The message routes, relative to the API prefix.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_messages, send_message))
        .routes(routes!(get_message))
        .routes(routes!(regenerate_reply))
}

/// Post a user message; the assistant's reply is stored right after it and both are returned.
/// If the assistant fails, the message stays stored: 502 `ASSISTANT_UNAVAILABLE` with the
/// message in `details.userMessage`.
#[utoipa::path(
    post,
    path = "/conversations/{id}/messages",
    tag = "messages",
    params(("id" = String, Path, description = "The conversation's id (a UUID, any letter case)")),
    request_body = SendMessage,
    responses((status = 201, description = "The stored message and the assistant's reply", body = SentMessagesView))
)]
pub async fn send_message(
    State(service): State<ChatService>,
    PathId(id): PathId,
    body: JsonBody<SendMessage>,
) -> AppResult<(StatusCode, Json<SentMessagesView>)> {
    let new = body.parse(|b| NewMessage::parse_user(b.content, b.metadata))?;
    let (user, assistant) = service.send_message(&id, new).await?;
    Ok((
        StatusCode::CREATED,
        Json(SentMessagesView {
            user_message: user.into(),
            assistant_message: assistant.into(),
        }),
    ))
}

/// List a conversation's messages, oldest first unless order=desc.
#[utoipa::path(
    get,
    path = "/conversations/{id}/messages",
    tag = "messages",
    params(
        ("id" = String, Path, description = "The conversation's id (a UUID, any letter case)"),
        MessageListQuery
    ),
    responses((status = 200, description = "One page of the conversation's messages", body = MessageListView))
)]
pub async fn list_messages(
    State(service): State<ChatService>,
    PathId(id): PathId,
    QueryParams(query): QueryParams<MessageListQuery>,
) -> AppResult<Json<MessageListView>> {
    let (filter, order, page) = query.parse()?;
    let page = service.list_messages(&id, filter, order, page).await?;
    Ok(Json(page.into()))
}

/// Fetch one message.
#[utoipa::path(
    get,
    path = "/messages/{id}",
    tag = "messages",
    params(("id" = String, Path, description = "The message's id (a UUID, any letter case)")),
    responses((status = 200, description = "The message", body = MessageView))
)]
pub async fn get_message(
    State(service): State<ChatService>,
    PathId(id): PathId,
) -> AppResult<Json<MessageView>> {
    let message = service.get_message(&id).await?;
    message
        .map(|m| Json(m.into()))
        .ok_or_else(|| AppError::not_found("message"))
}

/// Ask the assistant again to answer a user message whose reply failed; the message must be
/// its conversation's latest. Any body is ignored.
#[utoipa::path(
    post,
    path = "/messages/{id}/reply",
    tag = "messages",
    params(("id" = String, Path, description = "The user message's id (a UUID, any letter case)")),
    responses((status = 201, description = "The assistant's stored reply", body = MessageView))
)]
pub async fn regenerate_reply(
    State(service): State<ChatService>,
    PathId(id): PathId,
) -> AppResult<(StatusCode, Json<MessageView>)> {
    let reply = service.regenerate_reply(&id).await?;
    Ok((StatusCode::CREATED, Json(reply.into())))
}
