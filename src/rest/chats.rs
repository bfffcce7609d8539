//! `/chats…`: the chat-sessions API (docs/api.md, "Chat sessions").
//!
//! Each handler decodes its input (see [`super::extract`]), calls one [`ChatService`]
//! operation and renders the result; no rule is checked here.

use crate::body::Json;
use axum::extract::State;
use axum::http::StatusCode;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::extract::{JsonBody, PathId, QueryParams};
use super::input::{ChatListQuery, CreateChat, UpdateChat};
use super::views::{ChatListView, ChatView};
use crate::app::AppState;
use crate::domain::{ChatPatch, NewChat};
use crate::error::{AppError, AppResult};
use crate::service::ChatService;

/// The chat-session routes.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_chats, create_chat))
        .routes(routes!(get_chat, update_chat, delete_chat))
        .routes(routes!(toggle_chat))
}

/// List chat sessions, oldest first unless order=desc, optionally filtered.
#[utoipa::path(
    get,
    path = "/chats",
    tag = "chats",
    params(ChatListQuery),
    responses((status = 200, description = "One page of chat sessions", body = ChatListView))
)]
pub async fn list_chats(
    State(service): State<ChatService>,
    QueryParams(query): QueryParams<ChatListQuery>,
) -> AppResult<Json<ChatListView>> {
    let (filter, order, page) = query.parse()?;
    Ok(Json(service.list_chats(&filter, order, page).await?.into()))
}

/// Create a chat session.
#[utoipa::path(
    post,
    path = "/chats",
    tag = "chats",
    request_body = CreateChat,
    responses((status = 201, description = "The created chat session", body = ChatView))
)]
pub async fn create_chat(
    State(service): State<ChatService>,
    body: JsonBody<CreateChat>,
) -> AppResult<(StatusCode, Json<ChatView>)> {
    let new = body.parse(|fields| NewChat::parse(fields.into()))?;
    let chat = service.create_chat(new).await?;
    Ok((StatusCode::CREATED, Json(chat.into())))
}

/// Fetch one chat session.
#[utoipa::path(
    get,
    path = "/chats/{id}",
    tag = "chats",
    params(("id" = String, Path, description = "The chat's id (a UUID, any letter case)")),
    responses((status = 200, description = "The chat session", body = ChatView))
)]
pub async fn get_chat(
    State(service): State<ChatService>,
    PathId(id): PathId,
) -> AppResult<Json<ChatView>> {
    let chat = service.get_chat(&id).await?;
    chat.map(|c| Json(c.into()))
        .ok_or_else(|| AppError::not_found("chat"))
}

/// Change some fields of a chat session; the others stay as they are.
///
/// A change to nothing keeps `updatedAt`; `null` clears `description` and `userId`.
#[utoipa::path(
    put,
    path = "/chats/{id}",
    tag = "chats",
    params(("id" = String, Path, description = "The chat's id (a UUID, any letter case)")),
    request_body = UpdateChat,
    responses((status = 200, description = "The chat session after the update", body = ChatView))
)]
pub async fn update_chat(
    State(service): State<ChatService>,
    PathId(id): PathId,
    body: JsonBody<UpdateChat>,
) -> AppResult<Json<ChatView>> {
    let patch = body.parse(|fields| ChatPatch::parse(fields.into()))?;
    Ok(Json(service.update_chat(&id, patch).await?.into()))
}

/// Delete a chat session.
#[utoipa::path(
    delete,
    path = "/chats/{id}",
    tag = "chats",
    params(("id" = String, Path, description = "The chat's id (a UUID, any letter case)")),
    responses((status = 204, description = "Deleted"))
)]
pub async fn delete_chat(
    State(service): State<ChatService>,
    PathId(id): PathId,
) -> AppResult<StatusCode> {
    service.delete_chat(&id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Flip a chat session's active flag. Needs no body.
#[utoipa::path(
    post,
    path = "/chats/{id}/toggle",
    tag = "chats",
    params(("id" = String, Path, description = "The chat's id (a UUID, any letter case)")),
    responses((status = 200, description = "The chat session after the toggle", body = ChatView))
)]
pub async fn toggle_chat(
    State(service): State<ChatService>,
    PathId(id): PathId,
) -> AppResult<Json<ChatView>> {
    Ok(Json(service.toggle_chat(&id).await?.into()))
}
