//! Read operations.

use async_graphql::{Context, ID, Object, Result};

use super::scalars::{Priority, Role, SortOrder};
use super::types::{Chat, ChatPage, Conversation, ConversationPage, Message, MessagePage};
use super::{page_request, service};
use crate::domain::{ChatFilter, MessageFilter, UserId};
use crate::error::AppError;
use crate::service::defaults;

/// The `Query` root.
#[derive(Default)]
pub struct QueryRoot;

#[Object(name = "Query")]
impl QueryRoot {
    /// Chat sessions in creation order (or its reverse), optionally filtered.
    #[allow(clippy::too_many_arguments)]
    async fn chats(
        &self,
        ctx: &Context<'_>,
        active: Option<bool>,
        priority: Option<Priority>,
        user_id: Option<String>,
        limit: Option<i32>,
        offset: Option<i32>,
        order: Option<SortOrder>,
    ) -> Result<ChatPage> {
        let user_id = user_id
            .map(UserId::parse)
            .transpose()
            .map_err(|message| AppError::invalid_field("userId", &message))?;
        let filter = ChatFilter {
            active,
            priority: priority.map(Into::into),
            user_id: user_id.map(UserId::into_inner),
        };
        let page = page_request(limit, offset, defaults::CHATS_LIMIT)?;
        let order = order.map_or(defaults::CHATS_ORDER, Into::into);
        Ok(service(ctx).list_chats(&filter, order, page).await?.into())
    }

    /// The chat with this id, or `null`.
    async fn chat(&self, ctx: &Context<'_>, id: ID) -> Result<Option<Chat>> {
        Ok(service(ctx).get_chat(&id).await?.map(Chat))
    }

    /// One user's conversations, newest first unless `order: ASC`.
    async fn conversations(
        &self,
        ctx: &Context<'_>,
        user_id: String,
        limit: Option<i32>,
        offset: Option<i32>,
        order: Option<SortOrder>,
    ) -> Result<ConversationPage> {
        let user_id = UserId::parse(user_id)
            .map_err(|message| AppError::invalid_field("userId", &message))?;
        let page = page_request(limit, offset, defaults::CONVERSATIONS_LIMIT)?;
        let order = order.map_or(defaults::CONVERSATIONS_ORDER, Into::into);
        Ok(service(ctx)
            .list_conversations(&user_id, order, page)
            .await?
            .into())
    }

    /// The conversation with this id, or `null`.
    async fn conversation(&self, ctx: &Context<'_>, id: ID) -> Result<Option<Conversation>> {
        Ok(service(ctx).get_conversation(&id).await?.map(Conversation))
    }

    /// A conversation's messages, oldest first unless `order: DESC`.
    async fn messages(
        &self,
        ctx: &Context<'_>,
        conversation_id: ID,
        limit: Option<i32>,
        offset: Option<i32>,
        order: Option<SortOrder>,
        role: Option<Role>,
    ) -> Result<MessagePage> {
        let filter = MessageFilter {
            role: role.map(Into::into),
        };
        let page = page_request(limit, offset, defaults::MESSAGES_LIMIT)?;
        let order = order.map_or(defaults::MESSAGES_ORDER, Into::into);
        Ok(service(ctx)
            .list_messages(&conversation_id, filter, order, page)
            .await?
            .into())
    }

    /// The message with this id, or `null`.
    async fn message(&self, ctx: &Context<'_>, id: ID) -> Result<Option<Message>> {
        Ok(service(ctx).get_message(&id).await?.map(Message))
    }
}
