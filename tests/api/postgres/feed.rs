//! The PostgreSQL change feed: every committed change reaches the feed of every store on the
//! same schema (its writer's included, once), in commit order, whole however large the record;
//! transient events in pieces that join back; and a lost notification connection is told as a
//! gap once it is listened to again.

use std::sync::Arc;
use std::time::Duration;

use chatgate::domain::{
    ChatPatch, Description, MessageContent, Metadata, NewChat, NewMessage, Priority, Role, Title,
    UserId,
};
use chatgate::events::{Change, ChangeFeed, Topic, TopicReceiver, Transient};
use chatgate::store::{PostgresStore, Store};
use uuid::Uuid;

use super::server::proxy_to;
use super::{clock_at, new_chat, new_conversation, new_message, schema_or_skip};

/// The next change on `rx`, failing the test after 10 s.
pub async fn next_change(rx: &mut TopicReceiver) -> Change {
    let received = tokio::time::timeout(Duration::from_secs(10), rx.recv())
        .await
        .expect("a change arrives within 10 s")
        .expect("the topic is open");
    (*received).clone()
}

/// Asserts nothing more arrives on `rx` once a marker change sent after everything else did.
async fn assert_nothing_before_marker(rx: &mut TopicReceiver, marker: &Change) {
    assert_eq!(
        &next_change(rx).await,
        marker,
        "nothing arrives twice or out of order"
    );
}

async fn two_stores(schema: &super::TestSchema) -> (Arc<PostgresStore>, Arc<PostgresStore>) {
    (
        Arc::new(schema.store(clock_at(1_000)).await),
        Arc::new(schema.store(clock_at(1_000)).await),
    )
}

fn subscribe(feed: &ChangeFeed, topic: Topic) -> TopicReceiver {
    feed.subscribe(topic)
}

#[tokio::test]
async fn chat_changes_made_on_one_instance_reach_both_feeds_once_in_commit_order() {
    let schema = schema_or_skip!();
    let (writer, other) = two_stores(&schema).await;
    let mut here = subscribe(&writer.feed(), Topic::AllChats);
    let mut there = subscribe(&other.feed(), Topic::AllChats);
    let chat = writer
        .create_chat(new_chat("first", Some("ann")))
        .await
        .unwrap();
    let mut one_chat = subscribe(&other.feed(), Topic::Chat(chat.id));
    let patch = ChatPatch {
        priority: Some(Priority::High),
        ..Default::default()
    };
    let updated = writer
        .update_chat(chat.id, patch)
        .await
        .unwrap()
        .into_value();
    let toggled = other.toggle_chat(chat.id).await.unwrap();
    let deleted = writer.delete_chat(chat.id).await.unwrap();
    assert_eq!(
        [updated.version, toggled.version, deleted.version],
        [2, 3, 4]
    );
    let expected = [
        Change::ChatCreated(chat),
        Change::ChatUpdated(updated.clone()),
        Change::ChatUpdated(toggled.clone()),
        Change::ChatDeleted(deleted.clone()),
    ];
    for rx in [&mut here, &mut there] {
        for change in &expected {
            assert_eq!(&next_change(rx).await, change);
        }
    }
    // Subscribed after the create committed, perhaps before its notification arrived.
    let mut on_one_chat = vec![next_change(&mut one_chat).await];
    if on_one_chat[0] == expected[0] {
        on_one_chat.clear();
    }
    while on_one_chat.len() < 3 {
        on_one_chat.push(next_change(&mut one_chat).await);
    }
    assert_eq!(on_one_chat, expected[1..]);
    let marker = writer.create_chat(new_chat("marker", None)).await.unwrap();
    assert_nothing_before_marker(&mut here, &Change::ChatCreated(marker.clone())).await;
    assert_nothing_before_marker(&mut there, &Change::ChatCreated(marker)).await;
}

#[tokio::test]
async fn messages_reach_the_other_instance_by_position_with_their_full_content() {
    let schema = schema_or_skip!();
    let (writer, other) = two_stores(&schema).await;
    let conversation = writer
        .create_conversation(new_conversation("ann"))
        .await
        .unwrap();
    let mut there = subscribe(&other.feed(), Topic::Conversation(conversation.id));
    // Far beyond a notification's 8000 bytes: announced by id, loaded by the listener.
    let long = NewMessage {
        id: uuid::Uuid::new_v4(),
        role: Role::User,
        content: MessageContent::parse("🦀".repeat(32_000)).unwrap(),
        metadata: Metadata::new(),
    };
    let first = writer.append_message(conversation.id, long).await.unwrap();
    let second = other
        .append_message(conversation.id, new_message(Role::Assistant, "reply"))
        .await
        .unwrap();
    assert_eq!((first.position, second.position), (1, 2));
    assert_eq!(next_change(&mut there).await, Change::MessageAdded(first));
    assert_eq!(next_change(&mut there).await, Change::MessageAdded(second));
    writer.delete_conversation(conversation.id).await.unwrap();
    assert_eq!(
        next_change(&mut there).await,
        Change::ConversationDeleted(conversation.id)
    );
}

#[tokio::test]
async fn a_chat_at_every_length_limit_is_announced_whole() {
    let schema = schema_or_skip!();
    let (writer, other) = two_stores(&schema).await;
    let mut there = subscribe(&other.feed(), Topic::AllChats);
    // Four-byte characters (more than any escape takes) at every limit: the largest payload.
    let largest = NewChat {
        title: Title::parse("🦀".repeat(200)).unwrap(),
        description: Some(Description::parse("🦀".repeat(1_000)).unwrap()),
        active: true,
        priority: Priority::Low,
        user_id: Some(UserId::parse("🦀".repeat(200)).unwrap()),
    };
    let chat = writer.create_chat(largest).await.unwrap();
    let deleted = writer.delete_chat(chat.id).await.unwrap();
    assert_eq!(next_change(&mut there).await, Change::ChatCreated(chat));
    assert_eq!(next_change(&mut there).await, Change::ChatDeleted(deleted));
}

#[tokio::test]
async fn an_announced_delta_reaches_every_instance_whole_between_the_messages_around_it() {
    let schema = schema_or_skip!();
    let (writer, other) = two_stores(&schema).await;
    let conversation = writer
        .create_conversation(new_conversation("ann"))
        .await
        .unwrap();
    let mut there = subscribe(&other.feed(), Topic::Conversation(conversation.id));
    let question = writer
        .append_message(conversation.id, new_message(Role::User, "question"))
        .await
        .unwrap();
    let reply_id = Uuid::new_v4();
    // Longer than one notification carries, with pieces that are equal to each other.
    let delta = "ab".repeat(1_500);
    writer
        .announce(Transient::AssistantDelta {
            conversation_id: conversation.id,
            message_id: reply_id,
            delta: delta.clone(),
        })
        .await
        .unwrap();
    let reply = writer
        .append_message(conversation.id, new_message(Role::Assistant, "answer"))
        .await
        .unwrap();
    assert_eq!(
        next_change(&mut there).await,
        Change::MessageAdded(question)
    );
    let mut joined = String::new();
    loop {
        match next_change(&mut there).await {
            Change::AssistantDelta {
                conversation_id,
                message_id,
                delta,
            } => {
                assert_eq!((conversation_id, message_id), (conversation.id, reply_id));
                joined.push_str(&delta);
            }
            change => {
                assert_eq!(change, Change::MessageAdded(reply));
                break;
            }
        }
    }
    assert_eq!(joined, delta);
}

#[tokio::test]
async fn a_lost_notification_connection_is_told_as_a_gap_once_it_listens_again() {
    let schema = schema_or_skip!();
    let proxy = proxy_to(&schema).await;
    let options = proxy.options(schema.options());
    let cut_off = schema.store_with(options, clock_at(0)).await;
    let direct = schema.store(clock_at(0)).await;
    let conversation = direct
        .create_conversation(new_conversation("ann"))
        .await
        .unwrap();
    let mut rx = subscribe(&cut_off.feed(), Topic::Conversation(conversation.id));
    let before = direct
        .append_message(conversation.id, new_message(Role::User, "before"))
        .await
        .unwrap();
    assert_eq!(next_change(&mut rx).await, Change::MessageAdded(before));

    proxy.cut();
    // Committed while the listener cannot hear: lost to it, so it must say so.
    direct
        .append_message(conversation.id, new_message(Role::User, "unheard"))
        .await
        .unwrap();
    proxy.restore();
    assert_eq!(next_change(&mut rx).await, Change::Gap);

    let mut again = subscribe(&cut_off.feed(), Topic::Conversation(conversation.id));
    let after = direct
        .append_message(conversation.id, new_message(Role::User, "after"))
        .await
        .unwrap();
    assert_eq!(next_change(&mut again).await, Change::MessageAdded(after));
}
