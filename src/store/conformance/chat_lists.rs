//! Chat lists from the counted indexes against a plain scan of a model, after seeded random
//! mixes of creates, updates, toggles and deletes. A failure names its seed and step.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::{Harness, page_of};
use crate::domain::{
    Chat, ChatFilter, ChatPatch, Clock, Description, NewChat, Page, PageRequest, Priority,
    SortOrder, Title, UserId,
};
use crate::error::ErrorCode;
use crate::store::{Store, Updated};

const USERS: [&str; 4] = ["ann", "bob", "cid", "dee"];

fn random_user(rng: &mut StdRng) -> Option<UserId> {
    let at = rng.random_range(0..=USERS.len());
    USERS
        .get(at)
        .map(|u| UserId::parse((*u).into()).expect("valid user"))
}

fn random_priority(rng: &mut StdRng) -> Priority {
    Priority::ALL[rng.random_range(0..3)]
}

fn random_patch(rng: &mut StdRng) -> ChatPatch {
    let mut patch = ChatPatch::default();
    if rng.random_bool(0.3) {
        patch.title = Some(Title::parse(format!("t{}", rng.random_range(0..3))).unwrap());
    }
    if rng.random_bool(0.2) {
        let description = rng
            .random_bool(0.5)
            .then(|| Description::parse("d".into()).unwrap());
        patch.description = Some(description);
    }
    if rng.random_bool(0.3) {
        patch.active = Some(rng.random_bool(0.5));
    }
    if rng.random_bool(0.4) {
        patch.priority = Some(random_priority(rng));
    }
    if rng.random_bool(0.4) {
        patch.user_id = Some(random_user(rng));
    }
    patch
}

/// Every filter a list can ask for: each `active` and `priority` choice with no user, each
/// user, and a user with no chats.
fn filters() -> Vec<ChatFilter> {
    let users = [None]
        .into_iter()
        .chain(USERS.iter().chain(&["nobody"]).map(|u| Some(u.to_string())));
    let mut filters = Vec::new();
    for user_id in users {
        for active in [None, Some(false), Some(true)] {
            for priority in [
                None,
                Some(Priority::Low),
                Some(Priority::Medium),
                Some(Priority::High),
            ] {
                filters.push(ChatFilter {
                    active,
                    priority,
                    user_id: user_id.clone(),
                });
            }
        }
    }
    filters
}

/// The page a plain scan of the model (live chats in creation order) gives.
fn scanned(model: &[Chat], filter: &ChatFilter, order: SortOrder, page: PageRequest) -> Page<Chat> {
    page_of(
        model.iter().filter(|c| filter.matches(c)).collect(),
        order,
        page,
    )
}

async fn assert_lists_agree(store: &dyn Store, model: &[Chat], rng: &mut StdRng, context: &str) {
    for filter in filters() {
        let total = model.iter().filter(|c| filter.matches(c)).count() as u64;
        let offsets = [0, 1, total / 2, total.saturating_sub(2), total, total + 7];
        let random = rng.random_range(0..=total);
        for order in [SortOrder::Asc, SortOrder::Desc] {
            for &offset in offsets.iter().chain([random].iter()) {
                let limit = if rng.random_bool(0.1) {
                    100
                } else {
                    rng.random_range(0..6)
                };
                let page = PageRequest::clamped(limit, offset);
                let listed = store.list_chats(&filter, order, page).await.unwrap();
                let expected = scanned(model, &filter, order, page);
                assert_eq!(listed.has_more(), expected.has_more());
                assert_eq!(listed, expected, "{context}: {filter:?} {order:?} {page:?}");
            }
        }
    }
}

async fn random_mix(t: Harness, seed: u64, steps: usize) {
    let mut rng = StdRng::seed_from_u64(seed);
    let (store, clock) = (&*t.store, &t.clock);
    // Live chats in creation order: what every list is a filtered view of.
    let mut model: Vec<Chat> = Vec::new();
    for step in 0..steps {
        let context = format!("seed {seed}, step {step}");
        if rng.random_bool(0.3) {
            clock.advance_millis(1);
        }
        let pick = (!model.is_empty()).then(|| rng.random_range(0..model.len()));
        match (rng.random_range(0..100), pick) {
            (0..40, _) | (_, None) => {
                let new = NewChat {
                    title: Title::parse(format!("chat {step}")).unwrap(),
                    description: None,
                    active: rng.random_bool(0.6),
                    priority: random_priority(&mut rng),
                    user_id: random_user(&mut rng),
                };
                model.push(store.create_chat(new).await.unwrap());
            }
            (40..65, Some(at)) => {
                let patch = random_patch(&mut rng);
                let expected = patch.apply(&model[at], clock.now());
                match store.update_chat(model[at].id, patch).await.unwrap() {
                    Updated::Changed(mut chat) => {
                        assert_eq!(chat.version, model[at].version + 1, "{context}");
                        chat.version -= 1;
                        assert_eq!(Some(&chat), expected.as_ref(), "{context}");
                        chat.version += 1;
                        model[at] = chat;
                    }
                    Updated::Unchanged(chat) => {
                        assert_eq!((&chat, expected), (&model[at], None), "{context}");
                    }
                }
            }
            (65..80, Some(at)) => {
                let toggled = store.toggle_chat(model[at].id).await.unwrap();
                assert_eq!(toggled.active, !model[at].active, "{context}");
                model[at] = toggled;
            }
            (80..95, Some(at)) => {
                let deleted = store.delete_chat(model[at].id).await.unwrap();
                let mut expected = model.remove(at);
                expected.version += 1;
                assert_eq!(deleted, expected, "{context}");
                let again = store.delete_chat(deleted.id).await.unwrap_err();
                assert_eq!(again.code(), ErrorCode::NotFound, "{context}");
            }
            (_, Some(at)) => {
                let got = store.get_chat(model[at].id).await.unwrap();
                assert_eq!(got.as_ref(), Some(&model[at]), "{context}");
            }
        }
        if step % 250 == 0 {
            assert_lists_agree(store, &model, &mut rng, &context).await;
        }
    }
    assert_lists_agree(store, &model, &mut rng, &format!("seed {seed}, end")).await;
}

pub(crate) async fn chat_lists_agree_with_a_plain_scan_after_random_changes(t: Harness) {
    random_mix(t, 1, 3_000).await;
}
