//! Stored chats and the counted indexes that answer every chat list in O(log n).
//!
//! Chats live in one counted tree in creation order, keyed by their creation rank; an entry's
//! category is its `(active, priority)` pair, so that tree alone answers every filter without
//! `userId`. Each user with chats has a second, small counted tree of the same ranks and
//! categories, which answers every filter with `userId`. A chat is therefore in at most two
//! trees, and an update that changes `active`, `priority` or `userId` recounts or moves it.

use std::collections::BTreeMap;

use uuid::Uuid;

use super::counted::{Counted, CountedTree, Mask};
use super::ids::IdMap;
use super::{RankRef, page_bounds};
use crate::domain::{Chat, ChatFilter, Page, PageRequest, Priority, SortOrder};

/// Categories of a chat: `active` (2) times `priority` (3).
pub(super) const CATEGORIES: usize = 6;

/// The category of a chat with these values.
fn category(active: bool, priority: Priority) -> usize {
    let priority = match priority {
        Priority::Low => 0,
        Priority::Medium => 1,
        Priority::High => 2,
    };
    usize::from(active) * 3 + priority
}

/// The categories a filter's `active` and `priority` accept (`userId` picks the tree).
fn mask(filter: &ChatFilter) -> Mask {
    let actives = [false, true]
        .into_iter()
        .filter(|a| filter.active.is_none_or(|f| f == *a));
    Mask::of(actives.flat_map(|active| {
        Priority::ALL
            .into_iter()
            .filter(|p| filter.priority.is_none_or(|f| f == *p))
            .map(move |priority| category(active, priority))
    }))
}

/// A stored chat in the creation-order tree.
struct ChatSlot {
    rank: u64,
    chat: Chat,
}

impl Counted for ChatSlot {
    fn key(&self) -> u64 {
        self.rank
    }

    fn category(&self) -> usize {
        category(self.chat.active, self.chat.priority)
    }
}

/// Every chat, by id and in creation order, with the per-user indexes.
#[derive(Default)]
pub(super) struct ChatTable {
    ranks: IdMap<u64>,
    all: CountedTree<ChatSlot, CATEGORIES>,
    by_user: BTreeMap<String, CountedTree<RankRef, CATEGORIES>>,
}

impl ChatTable {
    /// Stores a new chat; `rank` is above every rank stored before.
    pub(super) fn insert(&mut self, rank: u64, chat: Chat) {
        let entry = RankRef::new(rank, category(chat.active, chat.priority));
        if let Some(user) = &chat.user_id {
            self.by_user.entry(user.clone()).or_default().insert(entry);
        }
        self.ranks.insert(chat.id, rank);
        self.all.insert(ChatSlot { rank, chat });
    }

    pub(super) fn get(&self, id: Uuid) -> Option<&Chat> {
        let rank = *self.ranks.get(&id)?;
        Some(&self.stored(rank).chat)
    }

    /// Replaces the chat `next.id` with `next`, moving it between indexes as its `active`,
    /// `priority` or `userId` changed. Returns `false` (changing nothing) for an unknown id.
    pub(super) fn replace(&mut self, next: Chat) -> bool {
        let Some(&rank) = self.ranks.get(&next.id) else {
            return false;
        };
        let after = RankRef::new(rank, category(next.active, next.priority));
        let next_user = next.user_id.clone();
        let previous = self
            .all
            .update(rank, |slot| std::mem::replace(&mut slot.chat, next))
            .expect("every id in the rank map is stored");
        let before = category(previous.active, previous.priority);
        if previous.user_id == next_user {
            if let Some(user) = &next_user
                && before != after.category()
            {
                self.user_index(user)
                    .update(rank, |entry| *entry = after)
                    .expect("a chat with a user is in that user's index");
            }
            return true;
        }
        if let Some(user) = &previous.user_id {
            self.unindex_user(user, rank);
        }
        if let Some(user) = next_user {
            self.by_user.entry(user).or_default().insert(after);
        }
        true
    }

    /// Removes and returns the chat with `id`.
    pub(super) fn remove(&mut self, id: Uuid) -> Option<Chat> {
        let rank = self.ranks.remove(&id)?;
        let slot = self
            .all
            .remove(rank)
            .expect("every id in the rank map is stored");
        if let Some(user) = &slot.chat.user_id {
            self.unindex_user(user, rank);
        }
        Some(slot.chat)
    }

    /// One page of the chats `filter` matches, in creation order or its reverse.
    pub(super) fn page(
        &self,
        filter: &ChatFilter,
        order: SortOrder,
        page: PageRequest,
    ) -> Page<Chat> {
        let mask = mask(filter);
        let (skip, limit) = page_bounds(page);
        let mut items = Vec::new();
        let total = match &filter.user_id {
            None => {
                self.all.walk(mask, order, skip, limit, |slot| {
                    items.push(slot.chat.clone());
                });
                self.all.count(mask)
            }
            Some(user) => match self.by_user.get(user) {
                None => 0,
                Some(index) => {
                    index.walk(mask, order, skip, limit, |entry| {
                        items.push(self.stored(entry.rank()).chat.clone());
                    });
                    index.count(mask)
                }
            },
        };
        Page {
            items,
            total,
            limit: page.limit,
            offset: page.offset,
        }
    }

    fn stored(&self, rank: u64) -> &ChatSlot {
        self.all.get(rank).expect("every indexed rank is stored")
    }

    fn user_index(&mut self, user: &str) -> &mut CountedTree<RankRef, CATEGORIES> {
        self.by_user
            .get_mut(user)
            .expect("a chat with a user is in that user's index")
    }

    /// Takes `rank` out of `user`'s index, dropping the index when it empties.
    fn unindex_user(&mut self, user: &str, rank: u64) {
        let index = self.user_index(user);
        index
            .remove(rank)
            .expect("a chat with a user is in that user's index");
        if index.is_empty() {
            self.by_user.remove(user);
        }
    }
}
