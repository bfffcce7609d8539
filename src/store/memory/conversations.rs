//! Stored conversations with their messages, and the indexes behind their lists.
//!
//! Conversations live in a counted tree in creation order; each user has a small counted tree
//! of their conversations' ranks, so a user's list costs O(log n) at any offset. Messages are
//! never removed one by one, only with their conversation, so each conversation keeps them in
//! an append-only log with one index list per role: a page by role is a slice of indexes.

use std::collections::BTreeMap;

use uuid::Uuid;

use super::chunked::ChunkedVec;
use super::counted::{Counted, CountedTree, Mask};
use super::ids::IdMap;
use super::{RankRef, page_bounds};
use crate::domain::{Conversation, Message, Page, PageRequest, Role, SortOrder, Timestamp};
use crate::store::MessageQuery;

/// A stored conversation with its messages.
pub(super) struct ConversationSlot {
    rank: u64,
    pub(super) conversation: Conversation,
    messages: ChunkedVec<Message>,
    /// Indexes in `messages` of each role's messages, `Role::User` first.
    by_role: [ChunkedVec<u32>; 2],
}

impl Counted for ConversationSlot {
    fn key(&self) -> u64 {
        self.rank
    }

    fn category(&self) -> usize {
        0
    }
}

/// Where a message is: its conversation's rank and its index in that conversation's log (its
/// position minus one).
struct MessageAt {
    conversation: u64,
    index: u32,
}

fn role_index(role: Role) -> usize {
    match role {
        Role::User => 0,
        Role::Assistant => 1,
    }
}

/// Every conversation and message, by id and in order, with the per-user indexes.
#[derive(Default)]
pub(super) struct ConversationTable {
    ranks: IdMap<u64>,
    all: CountedTree<ConversationSlot, 1>,
    by_user: BTreeMap<String, CountedTree<RankRef, 1>>,
    messages: IdMap<MessageAt>,
}

impl ConversationTable {
    /// Stores a new conversation; `rank` is above every rank stored before.
    pub(super) fn insert(&mut self, rank: u64, conversation: Conversation) {
        self.by_user
            .entry(conversation.user_id.clone())
            .or_default()
            .insert(RankRef::new(rank, 0));
        self.ranks.insert(conversation.id, rank);
        self.all.insert(ConversationSlot {
            rank,
            conversation,
            messages: ChunkedVec::default(),
            by_role: Default::default(),
        });
    }

    pub(super) fn get(&self, id: Uuid) -> Option<&Conversation> {
        Some(&self.slot(id)?.conversation)
    }

    /// Removes the conversation with `id` and forgets its messages' ids. The caller drops the
    /// returned slot, and with it the messages, after releasing the store's lock.
    pub(super) fn remove(&mut self, id: Uuid) -> Option<ConversationSlot> {
        let rank = self.ranks.remove(&id)?;
        let slot = self
            .all
            .remove(rank)
            .expect("every id in the rank map is stored");
        let user = &slot.conversation.user_id;
        let index = self
            .by_user
            .get_mut(user)
            .expect("every conversation is in its user's index");
        index
            .remove(rank)
            .expect("every conversation is in its user's index");
        if index.is_empty() {
            self.by_user.remove(user);
        }
        for message in slot.messages.iter() {
            self.messages.remove(&message.id);
        }
        Some(slot)
    }

    /// One page of `user_id`'s conversations in creation order or its reverse.
    pub(super) fn page(
        &self,
        user_id: &str,
        order: SortOrder,
        page: PageRequest,
    ) -> Page<Conversation> {
        let (skip, limit) = page_bounds(page);
        let mut items = Vec::new();
        let total = self.by_user.get(user_id).map_or(0, |index| {
            index.walk(Mask::all(1), order, skip, limit, |entry| {
                items.push(self.stored(entry.rank()).conversation.clone());
            });
            index.len()
        });
        Page {
            items,
            total,
            limit: page.limit,
            offset: page.offset,
        }
    }

    /// Appends `message` to its conversation at the next position, counting it and moving the
    /// conversation's `updatedAt` to `now` (or just past its last value). Returns the message
    /// as stored; `None` for an unknown conversation.
    pub(super) fn append(&mut self, mut message: Message, now: Timestamp) -> Option<Message> {
        let rank = *self.ranks.get(&message.conversation_id)?;
        let id = message.id;
        let (index, stored) = self
            .all
            .update(rank, |slot| {
                let index = u32::try_from(slot.messages.len())
                    .expect("a conversation holds fewer than 2^32 messages");
                message.position = u64::from(index) + 1;
                slot.by_role[role_index(message.role)].push(index);
                slot.messages.push(message.clone());
                let conversation = &mut slot.conversation;
                conversation.message_count += 1;
                conversation.updated_at = Timestamp::next_after(conversation.updated_at, now);
                (index, message)
            })
            .expect("every id in the rank map is stored");
        let at = MessageAt {
            conversation: rank,
            index,
        };
        self.messages.insert(id, at);
        Some(stored)
    }

    pub(super) fn message(&self, id: Uuid) -> Option<&Message> {
        let at = self.messages.get(&id)?;
        self.stored(at.conversation).messages.get(at.index as usize)
    }

    /// At most `limit` of a conversation's messages after position `after`, or `None` when it
    /// does not exist.
    pub(super) fn messages_after(
        &self,
        id: Uuid,
        after: u64,
        limit: usize,
    ) -> Option<Vec<Message>> {
        let slot = self.slot(id)?;
        let total = slot.messages.len();
        let start = usize::try_from(after).unwrap_or(usize::MAX).min(total);
        let end = start.saturating_add(limit).min(total);
        Some(
            (start..end)
                .map(|at| {
                    slot.messages
                        .get(at)
                        .expect("indexes below the length hold messages")
                        .clone()
                })
                .collect(),
        )
    }

    /// One page of a conversation's messages, or `None` when it does not exist.
    pub(super) fn messages_page(&self, query: &MessageQuery) -> Option<Page<Message>> {
        let slot = self.slot(query.conversation_id)?;
        let indexes = query
            .filter
            .role
            .map(|role| &slot.by_role[role_index(role)]);
        let total = indexes.map_or(slot.messages.len(), ChunkedVec::len);
        let (skip, limit) = page_bounds(query.page);
        let start = usize::try_from(skip).unwrap_or(usize::MAX).min(total);
        let end = start.saturating_add(limit).min(total);
        let items = (start..end)
            .map(|n| match query.order {
                SortOrder::Asc => n,
                SortOrder::Desc => total - 1 - n,
            })
            .map(|n| match indexes {
                None => n,
                Some(indexes) => *indexes.get(n).expect("n is below the total") as usize,
            })
            .map(|at| {
                slot.messages
                    .get(at)
                    .expect("indexes point at messages")
                    .clone()
            })
            .collect();
        Some(Page {
            items,
            total: total as u64,
            limit: query.page.limit,
            offset: query.page.offset,
        })
    }

    fn slot(&self, id: Uuid) -> Option<&ConversationSlot> {
        Some(self.stored(*self.ranks.get(&id)?))
    }

    fn stored(&self, rank: u64) -> &ConversationSlot {
        self.all.get(rank).expect("every indexed rank is stored")
    }
}
