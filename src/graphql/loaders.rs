//! Batched loads for nested fields, so a page of N parents costs a constant number of store
//! calls (one per nested field kind) instead of N.

use std::collections::HashMap;
use std::sync::Arc;

use async_graphql::dataloader::{DataLoader, Loader};
use uuid::Uuid;

use crate::domain::{Conversation, Message, Page};
use crate::error::AppError;
use crate::store::{MessageQuery, Store};

/// Loads conversations by id and message pages by query, each kind in one store call per batch.
pub struct StoreLoader(pub Arc<dyn Store>);

impl StoreLoader {
    /// A batching loader without a cache (async-graphql's default), so one instance can serve
    /// every request and subscription without ever returning stale records.
    pub fn batching(store: Arc<dyn Store>) -> DataLoader<StoreLoader> {
        DataLoader::new(StoreLoader(store), tokio::spawn)
    }
}

impl Loader<Uuid> for StoreLoader {
    type Value = Conversation;
    type Error = AppError;

    async fn load(&self, keys: &[Uuid]) -> Result<HashMap<Uuid, Conversation>, AppError> {
        let found = self.0.get_conversations(keys).await?;
        Ok(found.into_iter().map(|c| (c.id, c)).collect())
    }
}

impl Loader<MessageQuery> for StoreLoader {
    type Value = Page<Message>;
    type Error = AppError;

    async fn load(
        &self,
        keys: &[MessageQuery],
    ) -> Result<HashMap<MessageQuery, Page<Message>>, AppError> {
        let pages = self.0.list_messages(keys).await?;
        Ok(keys
            .iter()
            .zip(pages)
            .filter_map(|(key, page)| Some((*key, page?)))
            .collect())
    }
}
