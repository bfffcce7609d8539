//! Conversation and message operations, including the assistant's turn.

use super::{ChatService, defaults, require_id};
use crate::domain::{
    Conversation, Message, MessageFilter, NewConversation, Page, PageRequest, SortOrder, UserId,
    parse_id,
};
use crate::error::{AppError, AppResult};
use crate::store::MessageQuery;

impl ChatService {
    pub async fn create_conversation(&self, new: NewConversation) -> AppResult<Conversation> {
        self.store.create_conversation(new).await
    }

    /// The conversation, or `None` for an id that names nothing.
    pub async fn get_conversation(&self, id: &str) -> AppResult<Option<Conversation>> {
        let Some(id) = parse_id(id) else {
            return Ok(None);
        };
        Ok(self.store.get_conversations(&[id]).await?.pop())
    }

    /// The conversation with its latest [`defaults::EMBEDDED_MESSAGES`] messages, oldest first,
    /// or `None` for an id that names nothing.
    pub async fn get_conversation_detail(
        &self,
        id: &str,
    ) -> AppResult<Option<(Conversation, Vec<Message>)>> {
        let Some(id) = parse_id(id) else {
            return Ok(None);
        };
        let Some(conversation) = self.store.get_conversations(&[id]).await?.pop() else {
            return Ok(None);
        };
        let query = MessageQuery {
            conversation_id: id,
            filter: MessageFilter::default(),
            order: SortOrder::Desc,
            page: PageRequest::clamped(defaults::EMBEDDED_MESSAGES, 0),
        };
        // Deleted in between: it names nothing any more.
        let Some(page) = self.store.list_messages(&[query]).await?.pop().flatten() else {
            return Ok(None);
        };
        let mut messages = page.items;
        messages.reverse();
        Ok(Some((conversation, messages)))
    }

    /// Deletes the conversation with its messages and returns it as it was.
    pub async fn delete_conversation(&self, id: &str) -> AppResult<Conversation> {
        self.store
            .delete_conversation(require_id(id, "conversation")?)
            .await
    }

    pub async fn list_conversations(
        &self,
        user_id: &UserId,
        order: SortOrder,
        page: PageRequest,
    ) -> AppResult<Page<Conversation>> {
        self.store
            .list_conversations(user_id.as_str(), order, page)
            .await
    }

    /// The message, or `None` for an id that names nothing.
    pub async fn get_message(&self, id: &str) -> AppResult<Option<Message>> {
        match parse_id(id) {
            Some(id) => self.store.get_message(id).await,
            None => Ok(None),
        }
    }

    /// One page of a conversation's messages; `NOT_FOUND` when the conversation does not exist.
    pub async fn list_messages(
        &self,
        conversation_id: &str,
        filter: MessageFilter,
        order: SortOrder,
        page: PageRequest,
    ) -> AppResult<Page<Message>> {
        let query = MessageQuery {
            conversation_id: require_id(conversation_id, "conversation")?,
            filter,
            order,
            page,
        };
        self.store
            .list_messages(&[query])
            .await?
            .pop()
            .flatten()
            .ok_or_else(|| AppError::not_found("conversation"))
    }
}
