//! Conversations and messages on PostgreSQL: pages at every offset, role and order agree with
//! the memory store in one batch; positions stay dense under two writing instances; deletes
//! cascade; metadata and long content read back exactly.

use std::collections::HashMap;
use std::sync::Arc;

use chatgate::domain::{
    Conversation, Message, MessageContent, MessageFilter, Metadata, NewMessage, Page, PageRequest,
    Role, SortOrder,
};
use chatgate::store::{MessageQuery, Store};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::json;
use uuid::Uuid;

use super::{clock_at, new_conversation, new_message, schema_or_skip, side_by_side};

/// Every query shape for `conversation`: each role filter and order, pages inside, across and
/// past the end.
fn queries_for(conversation_id: Uuid) -> Vec<MessageQuery> {
    let mut queries = Vec::new();
    for role in [None, Some(Role::User), Some(Role::Assistant)] {
        for order in [SortOrder::Asc, SortOrder::Desc] {
            for (limit, offset) in [
                (100, 0),
                (1, 0),
                (5, 3),
                (7, 17),
                (0, 2),
                (10, 29),
                (3, 1_000),
            ] {
                queries.push(MessageQuery {
                    conversation_id,
                    filter: MessageFilter { role },
                    order,
                    page: PageRequest::clamped(limit, offset),
                });
            }
        }
    }
    queries
}

#[tokio::test]
async fn postgres_message_pages_match_the_memory_store_in_one_batch() {
    let schema = schema_or_skip!();
    let (postgres, memory, clock) = side_by_side(&schema, 1_700_000_000_000).await;
    let mut rng = StdRng::seed_from_u64(7);
    // postgres id -> memory id, for conversations and messages alike.
    let mut ids: HashMap<Uuid, Uuid> = HashMap::new();
    let mut conversations = Vec::new();
    for (n, user) in ["ann", "ann", "bob", "ann"].into_iter().enumerate() {
        clock.advance_millis(rng.random_range(0..2));
        let expected = memory
            .create_conversation(new_conversation(user))
            .await
            .unwrap();
        let got = postgres
            .create_conversation(new_conversation(user))
            .await
            .unwrap();
        ids.insert(got.id, expected.id);
        conversations.push((expected.id, got.id));
        for m in 0..(n * 12) {
            clock.advance_millis(rng.random_range(0..2));
            let role = if rng.random_bool(0.5) {
                Role::User
            } else {
                Role::Assistant
            };
            let new = new_message(role, &format!("message {m}"));
            let expected = memory
                .append_message(expected.id, new.clone())
                .await
                .unwrap();
            let got = postgres.append_message(got.id, new).await.unwrap();
            ids.insert(got.id, expected.id);
            assert_eq!(renamed_message(got, &ids), expected);
        }
    }
    let mut memory_queries = vec![];
    let mut postgres_queries = vec![];
    for (memory_id, postgres_id) in &conversations {
        memory_queries.extend(queries_for(*memory_id));
        postgres_queries.extend(queries_for(*postgres_id));
    }
    let missing = queries_for(Uuid::new_v4()).remove(0);
    memory_queries.push(missing);
    postgres_queries.push(missing);
    let expected = memory.list_messages(&memory_queries).await.unwrap();
    let got: Vec<Option<Page<Message>>> = postgres
        .list_messages(&postgres_queries)
        .await
        .unwrap()
        .into_iter()
        .map(|page| page.map(|p| p.map(|m| renamed_message(m, &ids))))
        .collect();
    assert_eq!(got.len(), expected.len());
    for (n, (got, expected)) in got.iter().zip(&expected).enumerate() {
        assert_eq!(got, expected, "query {n}: {:?}", memory_queries[n]);
    }
    assert_eq!(
        got.last(),
        Some(&None),
        "a missing conversation has no page"
    );

    let postgres_ids: Vec<Uuid> = conversations.iter().map(|(_, p)| *p).collect();
    let mut stored: Vec<Conversation> = postgres
        .get_conversations(&postgres_ids)
        .await
        .unwrap()
        .into_iter()
        .map(|c| renamed_conversation(c, &ids))
        .collect();
    stored.sort_by_key(|c| c.id);
    let memory_ids: Vec<Uuid> = conversations.iter().map(|(m, _)| *m).collect();
    let mut expected = memory.get_conversations(&memory_ids).await.unwrap();
    expected.sort_by_key(|c| c.id);
    assert_eq!(stored, expected, "counts and updatedAt agree");

    for user in ["ann", "bob", "nobody"] {
        for order in [SortOrder::Asc, SortOrder::Desc] {
            for (limit, offset) in [(50, 0), (1, 1), (2, 1), (5, 9)] {
                let request = PageRequest::clamped(limit, offset);
                let expected = memory
                    .list_conversations(user, order, request)
                    .await
                    .unwrap();
                let got = postgres
                    .list_conversations(user, order, request)
                    .await
                    .unwrap();
                let got = got.map(|c| renamed_conversation(c, &ids));
                assert_eq!(got, expected, "{user} {order:?} {limit}/{offset}");
            }
        }
    }
}

fn renamed_message(message: Message, ids: &HashMap<Uuid, Uuid>) -> Message {
    Message {
        id: ids[&message.id],
        conversation_id: ids[&message.conversation_id],
        ..message
    }
}

fn renamed_conversation(conversation: Conversation, ids: &HashMap<Uuid, Uuid>) -> Conversation {
    Conversation {
        id: ids[&conversation.id],
        ..conversation
    }
}

#[tokio::test]
async fn positions_stay_dense_when_two_instances_append_at_once() {
    let schema = schema_or_skip!();
    let first = Arc::new(schema.store(clock_at(0)).await);
    let second = Arc::new(schema.store(clock_at(0)).await);
    let conversation = first
        .create_conversation(new_conversation("u"))
        .await
        .unwrap();
    let mut writers = Vec::new();
    for n in 0..40 {
        let store = if n % 2 == 0 {
            first.clone()
        } else {
            second.clone()
        };
        let role = if n % 3 == 0 {
            Role::Assistant
        } else {
            Role::User
        };
        writers.push(tokio::spawn(async move {
            store
                .append_message(conversation.id, new_message(role, &format!("m{n}")))
                .await
                .unwrap()
        }));
    }
    for writer in writers {
        writer.await.unwrap();
    }
    let positions: Vec<(i64, String, i64)> = sqlx::query_as(
        "SELECT position, role::text, role_position FROM messages \
         WHERE conversation_id = $1 ORDER BY position",
    )
    .bind(conversation.id)
    .fetch_all(first.pool())
    .await
    .unwrap();
    assert_eq!(
        positions.iter().map(|p| p.0).collect::<Vec<_>>(),
        (1..=40).collect::<Vec<_>>()
    );
    for role in ["user", "assistant"] {
        let of_role: Vec<i64> = positions
            .iter()
            .filter(|p| p.1 == role)
            .map(|p| p.2)
            .collect();
        assert_eq!(
            of_role,
            (1..=of_role.len() as i64).collect::<Vec<_>>(),
            "{role}"
        );
    }
    let stored = second.get_conversations(&[conversation.id]).await.unwrap();
    assert_eq!(stored[0].message_count, 40);
}

#[tokio::test]
async fn deleting_a_conversation_deletes_its_messages_and_its_place_in_the_list() {
    let schema = schema_or_skip!();
    let store = schema.store(clock_at(0)).await;
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
    let deleted = store.delete_conversation(gone.id).await.unwrap();
    assert_eq!((deleted.id, deleted.message_count), (gone.id, 1));
    assert_eq!(store.get_message(message.id).await.unwrap(), None);
    let left: i64 = sqlx::query_scalar("SELECT count(*) FROM messages")
        .fetch_one(store.pool())
        .await
        .unwrap();
    assert_eq!(left, 0);
    let page = store
        .list_conversations("u", SortOrder::Desc, PageRequest::clamped(10, 0))
        .await
        .unwrap();
    assert_eq!((page.items, page.total), (vec![kept], 1));
    assert!(store.delete_conversation(gone.id).await.is_err());
}

#[tokio::test]
async fn metadata_and_long_content_read_back_exactly_as_written() {
    let schema = schema_or_skip!();
    let store = schema.store(clock_at(0)).await;
    let metadata: Metadata = serde_json::from_value(json!({
        "hundred": 1e2, "big": u64::MAX, "negative": -12, "fraction": 0.1,
        "text": "quotes \" and \\ and é 🦀", "nested": {"list": [1, null, true, {"k": []}]},
        "empty": {}
    }))
    .unwrap();
    let conversation = store
        .create_conversation(chatgate::domain::NewConversation {
            user_id: super::user_id("u"),
            metadata: metadata.clone(),
        })
        .await
        .unwrap();
    let stored = store.get_conversations(&[conversation.id]).await.unwrap();
    assert_eq!(stored[0].metadata, metadata);
    let content = "🦀".repeat(32_000);
    let message = store
        .append_message(
            conversation.id,
            NewMessage {
                id: uuid::Uuid::new_v4(),
                role: Role::User,
                content: MessageContent::parse(content.clone()).unwrap(),
                metadata: metadata.clone(),
            },
        )
        .await
        .unwrap();
    let read = store.get_message(message.id).await.unwrap().unwrap();
    assert_eq!((read.content, read.metadata), (content, metadata));
}
