//! `/api/conversations…`: conversations of the chatbot API (docs/api.md, "Conversations"). Mounted under both
//! `/api` and `/api/v1`.

use crate::body::Json;
use axum::extract::State;
use axum::http::StatusCode;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::extract::{JsonBody, PathId, QueryParams};
use super::input::{ConversationListQuery, CreateConversation};
use super::views::{ConversationDetailView, ConversationListView, ConversationView};
use crate::app::AppState;
use crate::domain::NewConversation;
use crate::error::{AppError, AppResult};
use crate::service::ChatService;

/// The conversation routes, relative to the API prefix.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_conversations, create_conversation))
        .routes(routes!(get_conversation, delete_conversation))
}

/// List one user's conversations, newest first unless order=asc.
#[utoipa::path(
    get,
    path = "/conversations",
    tag = "conversations",
    params(ConversationListQuery),
    responses((status = 200, description = "One page of the user's conversations", body = ConversationListView))
)]
pub async fn list_conversations(
    State(service): State<ChatService>,
    QueryParams(query): QueryParams<ConversationListQuery>,
) -> AppResult<Json<ConversationListView>> {
    let (user_id, order, page) = query.parse()?;
    let page = service.list_conversations(&user_id, order, page).await?;
    Ok(Json(page.into()))
}

/// Start a conversation for a user.
#[utoipa::path(
    post,
    path = "/conversations",
    tag = "conversations",
    request_body = CreateConversation,
    responses((status = 201, description = "The created conversation (`messageCount` 0)", body = ConversationView))
)]
pub async fn create_conversation(
    State(service): State<ChatService>,
    body: JsonBody<CreateConversation>,
) -> AppResult<(StatusCode, Json<ConversationView>)> {
    let new = body.parse(|b| NewConversation::parse(b.user_id, b.metadata))?;
    let conversation = service.create_conversation(new).await?;
    Ok((StatusCode::CREATED, Json(conversation.into())))
}

/// Fetch a conversation with its latest 100 messages, oldest first.
#[utoipa::path(
    get,
    path = "/conversations/{id}",
    tag = "conversations",
    params(("id" = String, Path, description = "The conversation's id (a UUID, any letter case)")),
    responses((status = 200, description = "The conversation and its latest messages", body = ConversationDetailView))
)]
pub async fn get_conversation(
    State(service): State<ChatService>,
    PathId(id): PathId,
) -> AppResult<Json<ConversationDetailView>> {
    let (conversation, messages) = service
        .get_conversation_detail(&id)
        .await?
        .ok_or_else(|| AppError::not_found("conversation"))?;
    Ok(Json(ConversationDetailView {
        conversation: conversation.into(),
        messages: messages.into_iter().map(Into::into).collect(),
    }))
}

/// Delete a conversation and all its messages.
#[utoipa::path(
    delete,
    path = "/conversations/{id}",
    tag = "conversations",
    params(("id" = String, Path, description = "The conversation's id (a UUID, any letter case)")),
    responses((status = 204, description = "Deleted, with its messages"))
)]
pub async fn delete_conversation(
    State(service): State<ChatService>,
    PathId(id): PathId,
) -> AppResult<StatusCode> {
    service.delete_conversation(&id).await?;
    Ok(StatusCode::NO_CONTENT)
}
