//! Chat session operations.

use super::{ChatService, require_id};
use crate::domain::{Chat, ChatFilter, ChatPatch, NewChat, Page, PageRequest, SortOrder, parse_id};
use crate::error::AppResult;

impl ChatService {
    pub async fn create_chat(&self, new: NewChat) -> AppResult<Chat> {
        self.store.create_chat(new).await
    }

    /// The chat, or `None` for an id that names nothing (malformed included).
    pub async fn get_chat(&self, id: &str) -> AppResult<Option<Chat>> {
        match parse_id(id) {
            Some(id) => self.store.get_chat(id).await,
            None => Ok(None),
        }
    }

    /// Applies a partial update; one that changes nothing is not an event.
    pub async fn update_chat(&self, id: &str, patch: ChatPatch) -> AppResult<Chat> {
        let id = require_id(id, "chat")?;
        Ok(self.store.update_chat(id, patch).await?.into_value())
    }

    pub async fn toggle_chat(&self, id: &str) -> AppResult<Chat> {
        self.store.toggle_chat(require_id(id, "chat")?).await
    }

    /// Deletes the chat and returns it as it was.
    pub async fn delete_chat(&self, id: &str) -> AppResult<Chat> {
        self.store.delete_chat(require_id(id, "chat")?).await
    }

    pub async fn list_chats(
        &self,
        filter: &ChatFilter,
        order: SortOrder,
        page: PageRequest,
    ) -> AppResult<Page<Chat>> {
        self.store.list_chats(filter, order, page).await
    }
}
