//! The change feed: every committed change once, in commit order, per topic by position or
//! version; transient events (a reply's pieces, its failure) between the messages around them;
//! a message stored under the id it was given; and resuming from any message while others
//! write.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use futures::future::join_all;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use tokio::sync::broadcast::error::RecvError;
use uuid::Uuid;

use super::{Harness, new_chat, new_conversation, new_message, next_change, next_change_after};
use crate::domain::{ChatPatch, Message, NewMessage, Role, Title};
use crate::error::ErrorCode;
use crate::events::{Change, LiveItem, LiveStream, Topic, Transient};
use crate::store::{Store, Updated};

pub(crate) async fn the_feed_carries_each_committed_change_once_in_commit_order(t: Harness) {
    let store = t.store;
    let feed = store.feed();
    let mut all = feed.subscribe(Topic::AllChats);
    let chat = store.create_chat(new_chat("a", None)).await.unwrap();
    assert_eq!(
        next_change(&mut all).await,
        Change::ChatCreated(chat.clone())
    );
    let mut one = feed.subscribe(Topic::Chat(chat.id));

    let same = ChatPatch {
        title: Some(Title::parse("a".into()).unwrap()),
        ..Default::default()
    };
    store.update_chat(chat.id, same).await.unwrap();
    assert!(store.toggle_chat(Uuid::new_v4()).await.is_err());
    let rename = ChatPatch {
        title: Some(Title::parse("b".into()).unwrap()),
        ..Default::default()
    };
    let Updated::Changed(renamed) = store.update_chat(chat.id, rename).await.unwrap() else {
        panic!("a new title is a change");
    };
    let toggled = store.toggle_chat(chat.id).await.unwrap();
    for change in [Change::ChatUpdated(renamed), Change::ChatUpdated(toggled)] {
        assert_eq!(
            next_change(&mut all).await,
            change,
            "no-ops and failures send nothing"
        );
        assert_eq!(next_change(&mut one).await, change);
    }

    let conversation = store
        .create_conversation(new_conversation("u"))
        .await
        .unwrap();
    let mut messages = feed.subscribe(Topic::Conversation(conversation.id));
    let first = store
        .append_message(conversation.id, new_message(Role::User, "one"))
        .await
        .unwrap();
    let second = store
        .append_message(conversation.id, new_message(Role::Assistant, "two"))
        .await
        .unwrap();
    store.delete_conversation(conversation.id).await.unwrap();
    for change in [
        Change::MessageAdded(first),
        Change::MessageAdded(second),
        Change::ConversationDeleted(conversation.id),
    ] {
        assert_eq!(next_change(&mut messages).await, change);
    }
    assert_eq!(messages.recv().await.unwrap_err(), RecvError::Closed);

    let deleted = store.delete_chat(chat.id).await.unwrap();
    assert_eq!(
        next_change(&mut all).await,
        Change::ChatDeleted(deleted.clone())
    );
    assert_eq!(next_change(&mut one).await, Change::ChatDeleted(deleted));
    assert_eq!(one.recv().await.unwrap_err(), RecvError::Closed);
}

pub(crate) async fn the_feed_orders_each_conversation_by_position_under_concurrent_writers(
    t: Harness,
) {
    const CONVERSATIONS: usize = 3;
    const WRITERS: usize = 3;
    const APPENDS: usize = 40;
    const TOGGLES: usize = 20;
    let store = t.store;
    let feed = store.feed();
    let mut ids = Vec::new();
    let mut receivers = Vec::new();
    for _ in 0..CONVERSATIONS {
        let id = store
            .create_conversation(new_conversation("u"))
            .await
            .unwrap()
            .id;
        receivers.push(feed.subscribe(Topic::Conversation(id)));
        ids.push(id);
    }
    // Subscribed before the chats exist: a backend whose feed trails its commits may deliver
    // their creation after a later subscription, which the count below would not expect.
    let mut all_chats = feed.subscribe(Topic::AllChats);
    let chats = [
        store.create_chat(new_chat("x", None)).await.unwrap().id,
        store.create_chat(new_chat("y", None)).await.unwrap().id,
    ];

    let writers = (0..WRITERS).map(|writer| {
        let (store, ids) = (store.clone(), ids.clone());
        tokio::spawn(async move {
            let mut rng = StdRng::seed_from_u64(writer as u64);
            for n in 0..APPENDS {
                let id = ids[rng.random_range(0..ids.len())];
                let new = new_message(Role::User, &format!("{writer}/{n}"));
                store.append_message(id, new).await.unwrap();
                if n < TOGGLES {
                    store.toggle_chat(chats[writer % 2]).await.unwrap();
                }
                tokio::task::yield_now().await;
            }
        })
    });
    for writer in join_all(writers).await {
        writer.unwrap();
    }

    for (id, rx) in ids.iter().zip(receivers.iter_mut()) {
        let stored = store.messages_after(*id, 0, 1_000).await.unwrap().unwrap();
        for message in stored {
            assert_eq!(next_change(rx).await, Change::MessageAdded(message));
        }
    }
    // All chats: commit order, so each chat's versions arrive one after the other.
    let mut last_version: BTreeMap<Uuid, u64> = chats.iter().map(|id| (*id, 0)).collect();
    for _ in 0..WRITERS * TOGGLES + chats.len() {
        let change = next_change(&mut all_chats).await;
        let (_, chat) = change.chat_event().expect("a chat change");
        let last = last_version.get_mut(&chat.id).expect("one of ours");
        assert_eq!(chat.version, *last + 1);
        *last = chat.version;
    }
}

pub(crate) async fn transient_events_reach_the_topic_between_the_stored_messages_around_them(
    t: Harness,
) {
    let store = t.store;
    let id = store
        .create_conversation(new_conversation("u"))
        .await
        .unwrap()
        .id;
    let elsewhere = store
        .create_conversation(new_conversation("u"))
        .await
        .unwrap()
        .id;
    let mut rx = store.feed().subscribe(Topic::Conversation(id));
    let asked = store
        .append_message(id, new_message(Role::User, "hi"))
        .await
        .unwrap();
    let reply_id = Uuid::new_v4();
    let delta = |conversation_id: Uuid, text: &str| Transient::AssistantDelta {
        conversation_id,
        message_id: reply_id,
        delta: text.into(),
    };
    for (conversation, text) in [(id, "Hel"), (elsewhere, "not here"), (id, "lo")] {
        store.announce(delta(conversation, text)).await.unwrap();
    }
    let given_id = NewMessage {
        id: reply_id,
        ..new_message(Role::Assistant, "Hello")
    };
    let reply = store.append_message(id, given_id).await.unwrap();
    assert_eq!(
        reply.id, reply_id,
        "a message is stored under the id it was given"
    );
    // A reply that fails is announced the same way (and nothing is stored under its id).
    let failed = Transient::AssistantFailed {
        conversation_id: id,
        message_id: Uuid::new_v4(),
        code: ErrorCode::AssistantUnavailable,
        message: "The assistant is unavailable".into(),
    };
    store.announce(failed.clone()).await.unwrap();
    for change in [
        Change::MessageAdded(asked),
        delta(id, "Hel").into(),
        delta(id, "lo").into(),
        Change::MessageAdded(reply),
        failed.into(),
    ] {
        assert_eq!(next_change(&mut rx).await, change);
    }
}

pub(crate) async fn a_subscriber_that_joins_mid_history_gets_the_next_changes_at_once(t: Harness) {
    let store = t.store;
    let id = store
        .create_conversation(new_conversation("u"))
        .await
        .unwrap()
        .id;
    for n in 0..300 {
        let new = new_message(Role::User, &format!("old {n}"));
        store.append_message(id, new).await.unwrap();
    }
    let chat = store.create_chat(new_chat("c", None)).await.unwrap().id;
    for _ in 0..20 {
        store.toggle_chat(chat).await.unwrap();
    }
    let mut messages = store.feed().subscribe(Topic::Conversation(id));
    let mut one_chat = store.feed().subscribe(Topic::Chat(chat));
    let next = store
        .append_message(id, new_message(Role::User, "new"))
        .await
        .unwrap();
    assert_eq!(next.position, 301);
    assert_eq!(
        next_change_after(&mut messages, 300).await,
        Change::MessageAdded(next)
    );
    let toggled = store.toggle_chat(chat).await.unwrap();
    assert_eq!(toggled.version, 22);
    assert_eq!(
        next_change_after(&mut one_chat, 21).await,
        Change::ChatUpdated(toggled)
    );
}

/// The ids of the next `count` messages of `live`.
async fn take_messages(live: &mut LiveStream, count: usize) -> Vec<Message> {
    let mut taken = Vec::with_capacity(count);
    while taken.len() < count {
        let item = tokio::time::timeout(Duration::from_secs(5), live.next())
            .await
            .expect("the stream yields in time");
        match item {
            Some(LiveItem::Event(change)) => match &*change {
                Change::MessageAdded(message) => taken.push(message.clone()),
                other => panic!("only messages are stored here: {other:?}"),
            },
            other => panic!("the stream ended early: {other:?}"),
        }
    }
    taken
}

pub(crate) async fn resuming_under_concurrent_writers_gives_exactly_the_stored_messages_after(
    t: Harness,
) {
    const WRITERS: u64 = 3;
    const APPENDS: u64 = 60;
    const RESUMERS: usize = 12;
    let total = WRITERS * APPENDS;
    let store: Arc<dyn Store> = t.store;
    let id = store
        .create_conversation(new_conversation("u"))
        .await
        .unwrap()
        .id;
    let mut rng = StdRng::seed_from_u64(7);
    // When each resumer starts (messages stored by then) and after which position it resumes.
    let plans: Vec<(u64, f64)> = (0..RESUMERS)
        .map(|_| (rng.random_range(0..total), rng.random()))
        .collect();
    let writers = (0..WRITERS).map(|writer| {
        let store = store.clone();
        tokio::spawn(async move {
            for n in 0..APPENDS {
                let new = new_message(Role::User, &format!("{writer}/{n}"));
                store.append_message(id, new).await.unwrap();
                tokio::task::yield_now().await;
            }
        })
    });
    let writers: Vec<_> = writers.collect();
    let resumers = plans.into_iter().map(|(start_at, pick)| {
        let store = store.clone();
        async move {
            let stored = loop {
                let count = store.get_conversations(&[id]).await.unwrap()[0].message_count;
                if count >= start_at {
                    break count;
                }
                tokio::task::yield_now().await;
            };
            let after = (stored as f64 * pick) as u64;
            let rx = store.feed().subscribe(Topic::Conversation(id));
            let mut live = LiveStream::conversation(rx, store.clone(), id, after, true);
            let received = take_messages(&mut live, (total - after) as usize).await;
            (after, received)
        }
    });
    let results = join_all(resumers).await;
    for writer in writers {
        writer.await.unwrap();
    }
    let stored = store.messages_after(id, 0, total).await.unwrap().unwrap();
    assert_eq!(stored.len() as u64, total);
    for (after, received) in results {
        assert_eq!(
            received,
            stored[after as usize..],
            "resumed after position {after}"
        );
    }
}
