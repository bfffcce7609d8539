//! The live stream's rules on a real memory store, with changes sent by hand where a test
//! needs a feed that repeats, skips or loses changes.

use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use uuid::Uuid;

use super::*;
use crate::domain::{
    Chat, Clock, ManualClock, Message, MessageContent, Metadata, NewChat, NewConversation,
    NewMessage, Priority, Role, Timestamp, Title, UserId,
};
use crate::events::{Topic, change_feed};
use crate::store::{MemoryStore, Store};

fn store() -> Arc<MemoryStore> {
    let clock: Arc<dyn Clock> = Arc::new(ManualClock::new(Timestamp::from_millis(0)));
    Arc::new(MemoryStore::new(clock))
}

async fn conversation(store: &MemoryStore) -> Uuid {
    let new = NewConversation {
        user_id: UserId::parse("u".into()).expect("valid user"),
        metadata: Metadata::new(),
    };
    store.create_conversation(new).await.expect("stored").id
}

async fn append(store: &MemoryStore, conversation_id: Uuid, count: usize) -> Vec<Message> {
    let mut stored = Vec::new();
    for n in 0..count {
        let new = NewMessage {
            id: Uuid::new_v4(),
            role: Role::User,
            content: MessageContent::parse(format!("message {n}")).expect("valid content"),
            metadata: Metadata::new(),
        };
        stored.push(store.append_message(conversation_id, new).await.unwrap());
    }
    stored
}

/// The next item, failing the test instead of waiting forever.
async fn next(stream: &mut LiveStream) -> Option<LiveItem> {
    tokio::time::timeout(Duration::from_secs(5), stream.next())
        .await
        .expect("the stream yields in time")
}

fn added(message: &Message) -> LiveItem {
    LiveItem::Event(Arc::new(Change::MessageAdded(message.clone())))
}

fn delta(conversation_id: Uuid, text: &str) -> Change {
    Change::AssistantDelta {
        conversation_id,
        message_id: Uuid::nil(),
        delta: text.into(),
    }
}

#[tokio::test]
async fn a_resume_replays_the_messages_after_its_position_page_by_page_then_goes_live() {
    let store = store();
    let id = conversation(&store).await;
    let mut stored = append(&store, id, 250).await;
    let rx = store.feed().subscribe(Topic::Conversation(id));
    let mut live = LiveStream::conversation(rx, store.clone(), id, 10, true);
    let mut received = Vec::new();
    for _ in 0..100 {
        received.push(next(&mut live).await.expect("an item"));
    }
    // Stored while the replay is under way: reaches the subscriber once, in its place.
    stored.extend(append(&store, id, 5).await);
    for _ in 100..245 {
        received.push(next(&mut live).await.expect("an item"));
    }
    let expected: Vec<LiveItem> = stored[10..].iter().map(added).collect();
    assert_eq!(received, expected);
}

#[tokio::test]
async fn catching_up_drops_repeats_and_the_transient_events_before_them_and_fills_skips_from_the_store()
 {
    let store = store();
    let id = conversation(&store).await;
    let stored = append(&store, id, 5).await;
    // A feed of our own: it repeats and skips what the store holds.
    let (sink, feed) = change_feed();
    let mut live = LiveStream::conversation(
        feed.subscribe(Topic::Conversation(id)),
        store.clone(),
        id,
        2,
        true,
    );
    sink.send(Change::MessageAdded(stored[3].clone()));
    sink.send(delta(id, "before a message already replayed"));
    sink.send(Change::MessageAdded(stored[4].clone()));
    sink.send(delta(id, "after everything replayed"));
    for message in &stored[2..] {
        assert_eq!(next(&mut live).await, Some(added(message)));
    }
    assert_eq!(
        next(&mut live).await,
        Some(LiveItem::Event(Arc::new(delta(
            id,
            "after everything replayed"
        ))))
    );

    // Position 7 arrives but 6 never did: both come from the store, in order, at once.
    let later = append(&store, id, 2).await;
    sink.send(Change::MessageAdded(later[1].clone()));
    assert_eq!(next(&mut live).await, Some(added(&later[0])));
    assert_eq!(next(&mut live).await, Some(added(&later[1])));
    sink.send(Change::MessageAdded(later[1].clone()));
    sink.send(Change::ConversationDeleted(id));
    assert_eq!(
        next(&mut live).await,
        Some(LiveItem::Event(Arc::new(Change::ConversationDeleted(id))))
    );
    assert_eq!(next(&mut live).await, Some(LiveItem::Ended));
    assert_eq!(next(&mut live).await, None);
}

#[tokio::test]
async fn a_change_that_skips_ahead_of_what_the_store_holds_is_still_delivered_not_waited_for() {
    let store = store();
    let id = conversation(&store).await;
    let stored = append(&store, id, 1).await;
    let (sink, feed) = change_feed();
    let rx = feed.subscribe(Topic::Conversation(id));
    let mut live = LiveStream::conversation(rx, store.clone(), id, 1, false);
    let mut ahead = stored[0].clone();
    (ahead.id, ahead.position) = (Uuid::new_v4(), 3);
    sink.send(Change::MessageAdded(ahead.clone()));
    assert_eq!(next(&mut live).await, Some(added(&ahead)));
    let mut next_one = ahead.clone();
    (next_one.id, next_one.position) = (Uuid::new_v4(), 4);
    sink.send(Change::MessageAdded(next_one.clone()));
    assert_eq!(next(&mut live).await, Some(added(&next_one)));
}

#[tokio::test]
async fn a_stream_without_replay_starts_after_the_count_it_was_given() {
    let store = store();
    let id = conversation(&store).await;
    let (sink, feed) = change_feed();
    let stored = append(&store, id, 3).await;
    let mut live = LiveStream::conversation(
        feed.subscribe(Topic::Conversation(id)),
        store.clone(),
        id,
        2,
        false,
    );
    sink.send(Change::MessageAdded(stored[1].clone()));
    sink.send(Change::MessageAdded(stored[2].clone()));
    assert_eq!(next(&mut live).await, Some(added(&stored[2])));
}

#[tokio::test]
async fn a_gap_or_an_overflowing_backlog_is_lagged_and_nothing_follows() {
    let store = store();
    let id = conversation(&store).await;
    let (sink, feed) = change_feed();
    let mut live = LiveStream::conversation(
        feed.subscribe(Topic::Conversation(id)),
        store.clone(),
        id,
        0,
        false,
    );
    sink.send(Change::Gap);
    assert_eq!(next(&mut live).await, Some(LiveItem::Lagged));
    assert_eq!(next(&mut live).await, None);

    let mut live = LiveStream::chats(feed.subscribe(Topic::AllChats), None);
    for _ in 0..=crate::events::SUBSCRIBER_BACKLOG {
        sink.send(Change::ChatUpdated(chat(Uuid::new_v4(), 1)));
    }
    assert_eq!(next(&mut live).await, Some(LiveItem::Lagged));
    assert_eq!(next(&mut live).await, None);
}

fn chat(id: Uuid, version: u64) -> Chat {
    Chat {
        id,
        version,
        title: format!("v{version}"),
        description: None,
        active: true,
        priority: Priority::Medium,
        user_id: None,
        created_at: Timestamp::from_millis(0),
        updated_at: Timestamp::from_millis(0),
    }
}

#[tokio::test]
async fn one_chat_streams_changes_after_the_version_it_was_given_and_ends_after_the_deletion() {
    let store = store();
    let new = NewChat {
        title: Title::parse("t".into()).unwrap(),
        description: None,
        active: true,
        priority: Priority::Low,
        user_id: None,
    };
    let created = store.create_chat(new).await.unwrap();
    let topic = Topic::Chat(created.id);
    let (sink, feed) = change_feed();
    let mut live = LiveStream::chats(feed.subscribe(topic), Some(2));
    for version in [2, 3, 5] {
        sink.send(Change::ChatUpdated(chat(created.id, version)));
    }
    sink.send(Change::ChatDeleted(chat(created.id, 6)));
    for change in [
        Change::ChatUpdated(chat(created.id, 3)),
        Change::ChatUpdated(chat(created.id, 5)),
        Change::ChatDeleted(chat(created.id, 6)),
    ] {
        assert_eq!(
            next(&mut live).await,
            Some(LiveItem::Event(Arc::new(change)))
        );
    }
    assert_eq!(next(&mut live).await, Some(LiveItem::Ended));
    assert_eq!(next(&mut live).await, None);
}
