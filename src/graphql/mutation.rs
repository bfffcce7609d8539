//! Write operations. Inputs are decoded into domain fields here; every rule is checked by the
//! domain constructors.

use async_graphql::{Context, ID, InputObject, Json, MaybeUndefined, Object, Result};
use serde_json::Value;

use super::scalars::Priority;
use super::service;
use super::types::{Chat, Conversation, Message, SendMessagePayload};
use crate::domain::{ChatFields, ChatPatch, Field, NewChat, NewConversation, NewMessage};

/// A new chat session.
#[derive(InputObject)]
pub struct CreateChatInput {
    title: String,
    description: Option<String>,
    priority: Option<Priority>,
    user_id: Option<String>,
    active: Option<bool>,
}

/// A partial update: absent fields stay; `null` clears `description` and `userId`.
#[derive(InputObject)]
pub struct UpdateChatInput {
    title: MaybeUndefined<String>,
    description: MaybeUndefined<String>,
    active: MaybeUndefined<bool>,
    priority: MaybeUndefined<Priority>,
    user_id: MaybeUndefined<String>,
}

/// A new conversation.
#[derive(InputObject)]
pub struct CreateConversationInput {
    user_id: String,
    metadata: Option<Json<Value>>,
}

/// A user message to store and answer.
#[derive(InputObject)]
pub struct SendMessageInput {
    conversation_id: ID,
    content: String,
    metadata: Option<Json<Value>>,
}

fn field<T>(value: MaybeUndefined<T>) -> Field<T> {
    match value {
        MaybeUndefined::Undefined => Field::Absent,
        MaybeUndefined::Null => Field::Null,
        MaybeUndefined::Value(v) => Field::Value(v),
    }
}

fn metadata(value: Option<Json<Value>>) -> Field<Value> {
    Field::from_option(value.map(|Json(v)| v))
}

/// The `Mutation` root.
#[derive(Default)]
pub struct MutationRoot;

#[Object(name = "Mutation")]
impl MutationRoot {
    async fn create_chat(&self, ctx: &Context<'_>, input: CreateChatInput) -> Result<Chat> {
        let new = NewChat::parse(ChatFields {
            title: Field::Value(input.title),
            description: Field::from_option(input.description),
            active: Field::from_option(input.active),
            priority: Field::from_option(input.priority.map(Into::into)),
            user_id: Field::from_option(input.user_id),
        })?;
        Ok(Chat(service(ctx).create_chat(new).await?))
    }

    /// Changes only the fields given; a change to nothing keeps `updatedAt` and sends no event.
    async fn update_chat(&self, ctx: &Context<'_>, id: ID, input: UpdateChatInput) -> Result<Chat> {
        let patch = ChatPatch::parse(ChatFields {
            title: field(input.title),
            description: field(input.description),
            active: field(input.active),
            priority: field(input.priority).and_then(|p| Ok(p.into())),
            user_id: field(input.user_id),
        })?;
        Ok(Chat(service(ctx).update_chat(&id, patch).await?))
    }

    /// Flips `active`; reported to subscribers as `UPDATED`.
    async fn toggle_chat(&self, ctx: &Context<'_>, id: ID) -> Result<Chat> {
        Ok(Chat(service(ctx).toggle_chat(&id).await?))
    }

    /// Deletes the chat and returns its id.
    async fn delete_chat(&self, ctx: &Context<'_>, id: ID) -> Result<ID> {
        Ok(ID(service(ctx).delete_chat(&id).await?.id.to_string()))
    }

    async fn create_conversation(
        &self,
        ctx: &Context<'_>,
        input: CreateConversationInput,
    ) -> Result<Conversation> {
        let new = NewConversation::parse(Field::Value(input.user_id), metadata(input.metadata))?;
        Ok(Conversation(service(ctx).create_conversation(new).await?))
    }

    /// Deletes the conversation with all its messages and returns its id.
    async fn delete_conversation(&self, ctx: &Context<'_>, id: ID) -> Result<ID> {
        Ok(ID(service(ctx)
            .delete_conversation(&id)
            .await?
            .id
            .to_string()))
    }

    /// Stores the message, lets the assistant answer, and returns both. When the assistant
    /// fails, the message stays stored and the error (`ASSISTANT_UNAVAILABLE`) carries it in
    /// `extensions.details.userMessage`.
    async fn send_message(
        &self,
        ctx: &Context<'_>,
        input: SendMessageInput,
    ) -> Result<SendMessagePayload> {
        let new = NewMessage::parse_user(Field::Value(input.content), metadata(input.metadata))?;
        let (user, assistant) = service(ctx)
            .send_message(&input.conversation_id, new)
            .await?;
        Ok(SendMessagePayload {
            user_message: Message(user),
            assistant_message: Message(assistant),
        })
    }

    /// Asks the assistant again to answer a user message whose reply failed
    /// (`ASSISTANT_UNAVAILABLE`); the message must be its conversation's latest. Returns the
    /// stored reply.
    async fn regenerate_reply(&self, ctx: &Context<'_>, message_id: ID) -> Result<Message> {
        Ok(Message(service(ctx).regenerate_reply(&message_id).await?))
    }
}
