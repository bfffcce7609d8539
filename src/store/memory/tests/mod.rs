//! The memory store's contract: sequence numbers, timestamps, unknown ids and batched message
//! pages; and (in the submodules) its counted indexes against plain scans of a model.

mod chat_lists;
mod conversation_lists;

use std::sync::Arc;

use futures::executor::block_on;
use uuid::Uuid;

use super::MemoryStore;
use crate::domain::{
    ChatFilter, ChatPatch, ManualClock, Message, MessageContent, MessageFilter, Metadata, NewChat,
    NewConversation, NewMessage, PageRequest, Priority, Role, SortOrder, Timestamp, Title, UserId,
};
use crate::error::ErrorCode;
use crate::store::{MessageQuery, Store, Updated};

fn store_at(millis: i64) -> (MemoryStore, Arc<ManualClock>) {
    let clock = Arc::new(ManualClock::new(Timestamp::from_millis(millis)));
    (MemoryStore::new(clock.clone()), clock)
}

fn new_chat(title: &str, user: Option<&str>) -> NewChat {
    NewChat {
        title: Title::parse(title.into()).expect("valid title"),
        description: None,
        active: true,
        priority: Priority::Medium,
        user_id: user.map(|u| UserId::parse(u.into()).expect("valid user")),
    }
}

fn new_conversation(user: &str) -> NewConversation {
    NewConversation {
        user_id: UserId::parse(user.into()).expect("valid user"),
        metadata: Metadata::new(),
    }
}

fn new_message(role: Role, content: &str) -> NewMessage {
    NewMessage {
        id: Uuid::new_v4(),
        role,
        content: MessageContent::parse(content.into()).expect("valid content"),
        metadata: Metadata::new(),
    }
}

fn messages_of(conversation_id: Uuid) -> MessageQuery {
    MessageQuery {
        conversation_id,
        filter: MessageFilter::default(),
        order: SortOrder::Asc,
        page: PageRequest::clamped(100, 0),
    }
}

#[test]
fn every_change_moves_the_chat_version_or_takes_the_next_position_and_failures_move_nothing() {
    let (store, _) = store_at(0);
    block_on(async {
        let chat = store.create_chat(new_chat("a", None)).await.unwrap();
        assert_eq!(chat.version, 1);
        let id = chat.id;
        let same = ChatPatch {
            title: Some(Title::parse("a".into()).unwrap()),
            ..Default::default()
        };
        assert_eq!(
            store.update_chat(id, same).await.unwrap(),
            Updated::Unchanged(chat)
        );
        let missing = Uuid::new_v4();
        assert!(store.toggle_chat(missing).await.is_err());
        let high = ChatPatch {
            priority: Some(Priority::High),
            ..Default::default()
        };
        let Updated::Changed(updated) = store.update_chat(id, high).await.unwrap() else {
            panic!("a priority change is a change");
        };
        assert_eq!(updated.version, 2);
        assert_eq!(store.toggle_chat(id).await.unwrap().version, 3);
        assert_eq!(store.get_chat(id).await.unwrap().unwrap().version, 3);
        let conversation_id = store
            .create_conversation(new_conversation("u"))
            .await
            .unwrap()
            .id;
        for position in 1..=3 {
            let message = store.append_message(conversation_id, new_message(Role::User, "hi"));
            let message = message.await.unwrap();
            assert_eq!(message.position, position);
            assert_eq!(store.get_message(message.id).await.unwrap(), Some(message));
        }
        let deleted = store.delete_chat(id).await.unwrap();
        assert_eq!((deleted.version, deleted.active), (4, false));
    });
}

#[test]
fn writes_to_unknown_ids_are_not_found() {
    let (store, _) = store_at(0);
    let missing = Uuid::new_v4();
    block_on(async {
        let codes = [
            store
                .update_chat(missing, ChatPatch::default())
                .await
                .map(|_| ()),
            store.toggle_chat(missing).await.map(|_| ()),
            store.delete_chat(missing).await.map(|_| ()),
            store.delete_conversation(missing).await.map(|_| ()),
            store
                .append_message(missing, new_message(Role::User, "x"))
                .await
                .map(|_| ()),
        ]
        .map(|result| result.unwrap_err().code());
        assert_eq!(codes, [ErrorCode::NotFound; 5]);
        assert_eq!(store.get_chat(missing).await.unwrap(), None);
        assert_eq!(store.get_message(missing).await.unwrap(), None);
        assert_eq!(store.get_conversations(&[missing]).await.unwrap(), vec![]);
    });
}

#[test]
fn changes_within_one_millisecond_still_move_updated_at_forward() {
    let (store, clock) = store_at(1_000);
    block_on(async {
        let chat = store.create_chat(new_chat("a", None)).await.unwrap();
        let toggled = store.toggle_chat(chat.id).await.unwrap();
        let toggled_again = store.toggle_chat(chat.id).await.unwrap();
        assert_eq!(
            [
                chat.updated_at,
                toggled.updated_at,
                toggled_again.updated_at
            ],
            [1_000, 1_001, 1_002].map(Timestamp::from_millis)
        );
        assert_eq!(toggled_again.created_at, Timestamp::from_millis(1_000));
        clock.advance_millis(10);
        let later = store.toggle_chat(chat.id).await.unwrap();
        assert_eq!(later.updated_at, Timestamp::from_millis(1_010));

        let conversation = store
            .create_conversation(new_conversation("u"))
            .await
            .unwrap();
        let id = conversation.id;
        for content in ["one", "two"] {
            store
                .append_message(id, new_message(Role::User, content))
                .await
                .unwrap();
        }
        let stored = store.get_conversations(&[id]).await.unwrap().remove(0);
        assert_eq!(
            (stored.message_count, stored.updated_at.millis()),
            (2, 1_012)
        );
    });
}

#[test]
fn a_message_batch_answers_none_for_a_missing_conversation() {
    let (store, _) = store_at(0);
    block_on(async {
        let id = store
            .create_conversation(new_conversation("u"))
            .await
            .unwrap()
            .id;
        let hello = store
            .append_message(id, new_message(Role::User, "hello"))
            .await
            .unwrap();
        let pages = store
            .list_messages(&[messages_of(Uuid::new_v4()), messages_of(id)])
            .await
            .unwrap();
        assert_eq!(pages[0], None);
        let page = pages[1].as_ref().expect("the conversation exists");
        assert_eq!((page.items.as_slice(), page.total), (&[hello][..], 1));
    });
}

#[test]
fn deleting_a_conversation_forgets_its_messages_and_its_user_list_entry() {
    let (store, _) = store_at(0);
    block_on(async {
        let kept = store
            .create_conversation(new_conversation("u"))
            .await
            .unwrap();
        let gone = store
            .create_conversation(new_conversation("u"))
            .await
            .unwrap();
        let message: Message = store
            .append_message(gone.id, new_message(Role::Assistant, "bye"))
            .await
            .unwrap();
        assert_eq!(
            store.get_message(message.id).await.unwrap(),
            Some(message.clone())
        );
        store.delete_conversation(gone.id).await.unwrap();
        assert_eq!(store.get_message(message.id).await.unwrap(), None);
        let page = store
            .list_conversations("u", SortOrder::Desc, PageRequest::clamped(10, 0))
            .await
            .unwrap();
        assert_eq!((page.items, page.total), (vec![kept], 1));
    });
}

#[test]
fn a_chat_whose_user_changes_moves_between_user_lists() {
    let (store, _) = store_at(0);
    block_on(async {
        let first = store
            .create_chat(new_chat("first", Some("ann")))
            .await
            .unwrap();
        let second = store
            .create_chat(new_chat("second", Some("bob")))
            .await
            .unwrap();
        let to_bob = ChatPatch {
            user_id: Some(Some(UserId::parse("bob".into()).unwrap())),
            ..Default::default()
        };
        let moved = store
            .update_chat(first.id, to_bob)
            .await
            .unwrap()
            .into_value();
        let of = |user: &str| ChatFilter {
            user_id: Some(user.into()),
            ..Default::default()
        };
        let page = PageRequest::clamped(10, 0);
        let ann = store
            .list_chats(&of("ann"), SortOrder::Asc, page)
            .await
            .unwrap();
        assert_eq!((ann.items, ann.total), (vec![], 0));
        // The moved chat keeps its creation order among bob's chats.
        let bob = store
            .list_chats(&of("bob"), SortOrder::Asc, page)
            .await
            .unwrap();
        assert_eq!((bob.items, bob.total), (vec![moved, second], 2));
    });
}

#[test]
fn stamps_never_go_back_in_stored_order_when_the_clock_does() {
    let (store, clock) = store_at(1_000_000);
    let start = Timestamp::from_millis(1_000_000);
    let first = block_on(store.create_chat(new_chat("a", None))).unwrap();
    clock.set(Timestamp::from_millis(999_000));
    let second = block_on(store.create_chat(new_chat("b", None))).unwrap();
    assert_eq!((first.created_at, second.created_at), (start, start));
    clock.set(Timestamp::from_millis(1_000_005));
    let third = block_on(store.create_chat(new_chat("c", None))).unwrap();
    assert_eq!(third.created_at, Timestamp::from_millis(1_000_005));
}
