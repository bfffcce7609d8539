//! Conversation and message lists against a plain scan of a model, after seeded random mixes of
//! creates, appends and deletes. A failure names its seed and step.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::{Harness, new_conversation, new_message, page_of};
use crate::domain::{
    Clock, Conversation, Message, MessageFilter, PageRequest, Role, SortOrder, Timestamp,
};
use crate::store::{MessageQuery, Store};

const USERS: [&str; 4] = ["ann", "bob", "cid", "dee"];

/// A live conversation and its messages in stored order.
struct Stored {
    conversation: Conversation,
    messages: Vec<Message>,
}

/// Offsets worth checking in a list of `total`, and a random limit.
fn pages(total: u64, rng: &mut StdRng) -> Vec<PageRequest> {
    [
        0,
        1,
        total / 2,
        total.saturating_sub(2),
        total,
        total + 3,
        rng.random_range(0..=total),
    ]
    .into_iter()
    .map(|offset| {
        let limit = if rng.random_bool(0.1) {
            100
        } else {
            rng.random_range(0..6)
        };
        PageRequest::clamped(limit, offset)
    })
    .collect()
}

async fn assert_lists_agree(store: &dyn Store, model: &[Stored], rng: &mut StdRng, context: &str) {
    for user in USERS.iter().chain(&["nobody"]) {
        let matching: Vec<&Conversation> = model
            .iter()
            .map(|s| &s.conversation)
            .filter(|c| c.user_id == *user)
            .collect();
        for order in [SortOrder::Asc, SortOrder::Desc] {
            for page in pages(matching.len() as u64, rng) {
                let listed = store.list_conversations(user, order, page).await.unwrap();
                let expected = page_of(matching.clone(), order, page);
                assert_eq!(listed, expected, "{context}: {user} {order:?} {page:?}");
            }
        }
    }
    // Every conversation's messages, in one batch per role and order, as the loader asks.
    for role in [None, Some(Role::User), Some(Role::Assistant)] {
        for order in [SortOrder::Asc, SortOrder::Desc] {
            let mut queries = Vec::new();
            let mut expected = Vec::new();
            for stored in model {
                let matching: Vec<&Message> = stored
                    .messages
                    .iter()
                    .filter(|m| role.is_none_or(|r| m.role == r))
                    .collect();
                for page in pages(matching.len() as u64, rng).into_iter().take(3) {
                    queries.push(MessageQuery {
                        conversation_id: stored.conversation.id,
                        filter: MessageFilter { role },
                        order,
                        page,
                    });
                    expected.push(Some(page_of(matching.clone(), order, page)));
                }
            }
            let listed = store.list_messages(&queries).await.unwrap();
            assert_eq!(
                listed.len(),
                queries.len(),
                "{context}: one answer per query"
            );
            for ((listed, expected), query) in listed.iter().zip(&expected).zip(&queries) {
                assert_eq!(listed, expected, "{context}: {query:?}");
            }
        }
    }
}

async fn random_mix(t: Harness, seed: u64, steps: usize) {
    let mut rng = StdRng::seed_from_u64(seed);
    let (store, clock) = (&*t.store, &t.clock);
    let mut model: Vec<Stored> = Vec::new();
    let mut forgotten: Vec<Message> = Vec::new();
    for step in 0..steps {
        let context = format!("seed {seed}, step {step}");
        if rng.random_bool(0.3) {
            clock.advance_millis(1);
        }
        let pick = (!model.is_empty()).then(|| rng.random_range(0..model.len()));
        match (rng.random_range(0..100), pick) {
            (0..25, _) | (_, None) => {
                let user = USERS[rng.random_range(0..USERS.len())];
                let created = store.create_conversation(new_conversation(user)).await;
                model.push(Stored {
                    conversation: created.unwrap(),
                    messages: Vec::new(),
                });
            }
            (25..90, Some(at)) => {
                let role = if rng.random_bool(0.5) {
                    Role::User
                } else {
                    Role::Assistant
                };
                let new = new_message(role, &format!("message {step}"));
                // Half go to the oldest conversation, which grows past a chunk of the log.
                let stored = &mut model[if rng.random_bool(0.5) { 0 } else { at }];
                let id = stored.conversation.id;
                let message = store.append_message(id, new).await.unwrap();
                assert_eq!(
                    (message.conversation_id, message.role),
                    (id, role),
                    "{context}"
                );
                let conversation = &mut stored.conversation;
                conversation.message_count += 1;
                conversation.updated_at =
                    Timestamp::next_after(conversation.updated_at, clock.now());
                stored.messages.push(message);
            }
            (90..95, Some(at)) => {
                let stored = model.remove(at);
                let deleted = store.delete_conversation(stored.conversation.id).await;
                assert_eq!(deleted.unwrap(), stored.conversation, "{context}");
                forgotten.extend(stored.messages);
            }
            (_, Some(at)) => {
                let stored = &model[at];
                let got = store
                    .get_conversations(&[stored.conversation.id])
                    .await
                    .unwrap();
                assert_eq!(got, std::slice::from_ref(&stored.conversation), "{context}");
                if let Some(message) = stored.messages.last() {
                    let got = store.get_message(message.id).await.unwrap();
                    assert_eq!(got.as_ref(), Some(message), "{context}");
                }
                if let Some(message) = forgotten.last() {
                    assert_eq!(store.get_message(message.id).await.unwrap(), None);
                }
            }
        }
        if step % 250 == 0 {
            assert_lists_agree(store, &model, &mut rng, &context).await;
        }
    }
    assert_lists_agree(store, &model, &mut rng, &format!("seed {seed}, end")).await;
}

pub(crate) async fn conversation_and_message_lists_agree_with_a_plain_scan_after_random_changes(
    t: Harness,
) {
    random_mix(t, 1, 3_000).await;
}
