//! Single records: versions and positions, unknown ids, timestamps, deletions, user moves and
//! the reads a resuming subscriber uses.

use uuid::Uuid;

use super::{Harness, messages_of, new_chat, new_conversation, new_message};
use crate::domain::{ChatFilter, ChatPatch, PageRequest, Priority, Role, SortOrder, Timestamp};
use crate::domain::{Title, UserId};
use crate::error::ErrorCode;
use crate::store::Updated;

pub(crate) async fn every_change_moves_the_chat_version_or_takes_the_next_position(t: Harness) {
    let store = t.store;
    let chat = store.create_chat(new_chat("a", None)).await.unwrap();
    assert_eq!(chat.version, 1);
    let same = ChatPatch {
        title: Some(Title::parse("a".into()).unwrap()),
        ..Default::default()
    };
    assert_eq!(
        store.update_chat(chat.id, same).await.unwrap(),
        Updated::Unchanged(chat.clone()),
        "a patch that changes no value moves nothing"
    );
    let high = ChatPatch {
        priority: Some(Priority::High),
        ..Default::default()
    };
    let Updated::Changed(updated) = store.update_chat(chat.id, high).await.unwrap() else {
        panic!("a priority change is a change");
    };
    assert_eq!((updated.version, updated.priority), (2, Priority::High));
    let toggled = store.toggle_chat(chat.id).await.unwrap();
    assert_eq!((toggled.version, toggled.active), (3, false));
    assert_eq!(
        store.get_chat(chat.id).await.unwrap(),
        Some(toggled.clone())
    );
    let deleted = store.delete_chat(chat.id).await.unwrap();
    let mut expected = toggled;
    expected.version = 4;
    assert_eq!(deleted, expected, "the chat as it was, one version on");
    assert_eq!(store.get_chat(chat.id).await.unwrap(), None);

    let conversation = store
        .create_conversation(new_conversation("u"))
        .await
        .unwrap();
    assert_eq!(conversation.message_count, 0);
    for position in 1..=3 {
        let role = [Role::User, Role::Assistant][position as usize % 2];
        let message = store
            .append_message(conversation.id, new_message(role, "hi"))
            .await
            .unwrap();
        assert_eq!((message.position, message.role), (position, role));
        assert_eq!(message.conversation_id, conversation.id);
        assert_eq!(store.get_message(message.id).await.unwrap(), Some(message));
    }
    let counted = store.get_conversations(&[conversation.id]).await.unwrap();
    assert_eq!(
        counted[0].message_count, 3,
        "the count is the last position"
    );
}

pub(crate) async fn writes_to_unknown_ids_are_not_found_and_change_nothing(t: Harness) {
    let store = t.store;
    let missing = Uuid::new_v4();
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
    let all = PageRequest::clamped(10, 0);
    let no_filter = ChatFilter::default();
    let chats = store.list_chats(&no_filter, SortOrder::Asc, all).await;
    assert_eq!(chats.unwrap().total, 0);
}

pub(crate) async fn changes_within_one_millisecond_still_move_updated_at_forward(t: Harness) {
    let (store, clock) = (t.store, t.clock);
    clock.set(Timestamp::from_millis(1_000));
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

    let id = store
        .create_conversation(new_conversation("u"))
        .await
        .unwrap()
        .id;
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
}

pub(crate) async fn stamps_never_go_back_in_stored_order_when_the_clock_does(t: Harness) {
    let (store, clock) = (t.store, t.clock);
    let start = Timestamp::from_millis(1_000_000);
    clock.set(start);
    let first = store.create_chat(new_chat("a", None)).await.unwrap();
    clock.set(Timestamp::from_millis(999_000));
    let second = store.create_chat(new_chat("b", None)).await.unwrap();
    assert_eq!((first.created_at, second.created_at), (start, start));
    clock.set(Timestamp::from_millis(1_000_005));
    let third = store.create_chat(new_chat("c", None)).await.unwrap();
    assert_eq!(third.created_at, Timestamp::from_millis(1_000_005));
}

pub(crate) async fn a_message_batch_answers_none_for_a_missing_conversation(t: Harness) {
    let store = t.store;
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
}

pub(crate) async fn deleting_a_conversation_forgets_its_messages_and_its_user_list_entry(
    t: Harness,
) {
    let store = t.store;
    let kept = store
        .create_conversation(new_conversation("u"))
        .await
        .unwrap();
    let gone = store
        .create_conversation(new_conversation("u"))
        .await
        .unwrap();
    let message = store
        .append_message(gone.id, new_message(Role::Assistant, "bye"))
        .await
        .unwrap();
    assert_eq!(
        store.get_message(message.id).await.unwrap(),
        Some(message.clone())
    );
    let before = store.get_conversations(&[gone.id]).await.unwrap().remove(0);
    assert_eq!(before.message_count, 1);
    assert_eq!(store.delete_conversation(gone.id).await.unwrap(), before);
    assert_eq!(store.get_message(message.id).await.unwrap(), None);
    assert_eq!(store.messages_after(gone.id, 0, 10).await.unwrap(), None);
    let page = store
        .list_conversations("u", SortOrder::Desc, PageRequest::clamped(10, 0))
        .await
        .unwrap();
    assert_eq!((page.items, page.total), (vec![kept], 1));
}

pub(crate) async fn a_chat_whose_user_changes_moves_between_user_lists(t: Harness) {
    let store = t.store;
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
}

pub(crate) async fn messages_after_pages_by_position_and_knows_missing_conversations(t: Harness) {
    let store = t.store;
    let id = store
        .create_conversation(new_conversation("u"))
        .await
        .unwrap()
        .id;
    assert_eq!(store.messages_after(id, 0, 10).await.unwrap(), Some(vec![]));
    let mut stored = Vec::new();
    for n in 0..7 {
        let role = if n % 3 == 0 {
            Role::Assistant
        } else {
            Role::User
        };
        let new = new_message(role, &format!("message {n}"));
        stored.push(store.append_message(id, new).await.unwrap());
    }
    for (after, limit) in [(0, 3), (2, 3), (5, 10), (7, 10), (9, 10), (0, 0), (3, 1)] {
        let start = (after as usize).min(stored.len());
        let end = (start + limit as usize).min(stored.len());
        assert_eq!(
            store.messages_after(id, after, limit).await.unwrap(),
            Some(stored[start..end].to_vec()),
            "after {after}, limit {limit}"
        );
    }
    let missing = store.messages_after(Uuid::new_v4(), 0, 10).await.unwrap();
    assert_eq!(missing, None);
}
