//! The hub on its own: per-topic order and duplicates, a feed that starts mid-history, the
//! lag rule per topic, gaps, and topics that cost nothing once nobody listens.

use uuid::Uuid;

use super::*;
use crate::domain::{Chat, Message, Priority, Role, Timestamp};

fn message(conversation_id: Uuid, position: u64) -> Change {
    Change::MessageAdded(Message {
        id: Uuid::from_u128(u128::from(position)),
        conversation_id,
        position,
        role: Role::User,
        content: format!("#{position}"),
        metadata: Default::default(),
        created_at: Timestamp::from_millis(0),
    })
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

fn delta(conversation_id: Uuid, text: &str) -> Change {
    Change::AssistantDelta {
        conversation_id,
        message_id: Uuid::nil(),
        delta: text.into(),
    }
}

/// Everything waiting on `rx`, without waiting.
fn drain(rx: &mut TopicReceiver) -> Vec<Change> {
    std::iter::from_fn(|| rx.try_recv().ok().map(|c| (*c).clone())).collect()
}

#[test]
fn a_feed_that_starts_in_the_middle_of_history_delivers_its_first_changes_at_once() {
    let (sink, feed) = change_feed();
    let (conversation, chat_id) = (Uuid::new_v4(), Uuid::new_v4());
    let mut messages = feed.subscribe(Topic::Conversation(conversation));
    let mut one_chat = feed.subscribe(Topic::Chat(chat_id));
    let mut all_chats = feed.subscribe(Topic::AllChats);
    sink.send(message(conversation, 1_000));
    sink.send(Change::ChatUpdated(chat(chat_id, 57)));
    assert_eq!(drain(&mut messages), [message(conversation, 1_000)]);
    assert_eq!(
        drain(&mut one_chat),
        [Change::ChatUpdated(chat(chat_id, 57))]
    );
    assert_eq!(
        drain(&mut all_chats),
        [Change::ChatUpdated(chat(chat_id, 57))]
    );
}

#[test]
fn numbers_already_delivered_are_dropped_and_higher_ones_are_never_held_back() {
    let (sink, feed) = change_feed();
    let (conversation, chat_id) = (Uuid::new_v4(), Uuid::new_v4());
    let mut messages = feed.subscribe(Topic::Conversation(conversation));
    let mut one_chat = feed.subscribe(Topic::Chat(chat_id));
    let mut all_chats = feed.subscribe(Topic::AllChats);
    let first = message(conversation, 5);
    sink.send(first.clone());
    sink.send(first.clone());
    sink.send(message(conversation, 4));
    let skipped_ahead = message(conversation, 7);
    sink.send(skipped_ahead.clone());
    assert_eq!(drain(&mut messages), [first, skipped_ahead]);

    for version in [2, 2, 1, 3] {
        sink.send(Change::ChatUpdated(chat(chat_id, version)));
    }
    let versions = |changes: Vec<Change>| -> Vec<u64> {
        changes
            .iter()
            .map(|c| c.chat_event().expect("a chat change").1.version)
            .collect()
    };
    assert_eq!(versions(drain(&mut one_chat)), [2, 3]);
    // The all-chats topic is in the feed's order: it has no single number to go by.
    assert_eq!(versions(drain(&mut all_chats)), [2, 2, 1, 3]);
}

#[test]
fn each_conversation_is_ordered_by_its_own_positions() {
    let (sink, feed) = change_feed();
    let (a, b) = (Uuid::new_v4(), Uuid::new_v4());
    let mut rx_a = feed.subscribe(Topic::Conversation(a));
    let mut rx_b = feed.subscribe(Topic::Conversation(b));
    for change in [message(a, 1), message(b, 1), message(b, 2), message(a, 2)] {
        sink.send(change);
    }
    assert_eq!(drain(&mut rx_a), [message(a, 1), message(a, 2)]);
    assert_eq!(drain(&mut rx_b), [message(b, 1), message(b, 2)]);
}

#[test]
fn transient_events_arrive_between_the_stored_messages_they_were_sent_between() {
    let (sink, feed) = change_feed();
    let conversation = Uuid::new_v4();
    let mut rx = feed.subscribe(Topic::Conversation(conversation));
    let sent = [
        message(conversation, 1),
        delta(conversation, "Hel"),
        delta(conversation, "lo"),
        message(conversation, 2),
    ];
    for change in sent.clone() {
        sink.send(change);
    }
    assert_eq!(drain(&mut rx), sent);
}

#[test]
fn a_topic_that_ended_is_dropped_and_unheard_topics_cost_nothing() {
    let (sink, feed) = change_feed();
    let id = Uuid::new_v4();
    let mut rx = feed.subscribe(Topic::Conversation(id));
    assert!(sink.is_heard(Topic::Conversation(id)));
    sink.send(Change::ConversationDeleted(Uuid::new_v4()));
    sink.send(Change::ConversationDeleted(id));
    assert_eq!(feed.receiver_count(Topic::Conversation(id)), 0);
    assert!(!sink.is_heard(Topic::Conversation(id)));
    assert!(feed.hub.topics.lock().is_empty());
    assert_eq!(drain(&mut rx), [Change::ConversationDeleted(id)]);
    assert_eq!(rx.try_recv().unwrap_err(), TryRecvError::Closed);
}

#[test]
fn dropping_the_last_receiver_frees_the_topic() {
    let (_sink, feed) = change_feed();
    let topic = Topic::Conversation(Uuid::new_v4());
    let first = feed.subscribe(topic);
    let second = feed.subscribe(topic);
    drop(first);
    assert_eq!(feed.receiver_count(topic), 1);
    drop(second);
    assert!(feed.hub.topics.lock().is_empty());
}

#[test]
fn a_gap_reaches_every_topic_and_closes_them_so_subscribers_start_afresh() {
    let (sink, feed) = change_feed();
    let conversation = Uuid::new_v4();
    let mut rx = feed.subscribe(Topic::Conversation(conversation));
    let mut chats = feed.subscribe(Topic::AllChats);
    sink.send(message(conversation, 3));
    sink.send(Change::Gap);
    assert_eq!(drain(&mut rx), [message(conversation, 3), Change::Gap]);
    assert_eq!(drain(&mut chats), [Change::Gap]);
    assert_eq!(rx.try_recv().unwrap_err(), TryRecvError::Closed);
    // A new subscriber starts with no memory of the numbers delivered before the gap.
    let mut again = feed.subscribe(Topic::Conversation(conversation));
    sink.send(message(conversation, 2));
    assert_eq!(drain(&mut again), [message(conversation, 2)]);
}

#[tokio::test]
async fn a_receiver_may_fall_a_full_backlog_of_its_own_topic_behind_and_is_told_beyond_it() {
    let (sink, feed) = change_feed();
    let (mine, busy) = (Uuid::new_v4(), Uuid::new_v4());
    let mut rx = feed.subscribe(Topic::Conversation(mine));
    let _busy_listener = feed.subscribe(Topic::Conversation(busy));
    let backlog = u64::try_from(SUBSCRIBER_BACKLOG).unwrap();
    for position in 1..=backlog {
        sink.send(message(mine, position));
        sink.send(message(busy, position));
    }
    for position in backlog + 1..=3 * backlog {
        sink.send(message(busy, position));
    }
    for position in 1..=backlog {
        let change = rx.recv().await.unwrap();
        assert_eq!(change.order_on(Topic::Conversation(mine)), Some(position));
    }
    for position in backlog + 1..=2 * backlog + 1 {
        sink.send(message(mine, position));
    }
    assert_eq!(rx.recv().await.unwrap_err(), RecvError::Lagged(1));
}
