//! Atomicity under concurrent writers: every write happens entirely or not at all, whatever
//! else runs at the same time, and readers never see half of one.

use std::collections::HashSet;
use std::sync::Arc;

use futures::future::join_all;

use super::{Harness, messages_of, new_chat, new_conversation, new_message};
use crate::domain::{ChatPatch, Description, Role, Title};
use crate::error::ErrorCode;
use crate::store::{Store, Updated};

pub(crate) async fn concurrent_appends_take_every_position_once_and_readers_see_whole_messages(
    t: Harness,
) {
    const WRITERS: usize = 4;
    const APPENDS: usize = 50;
    let store = t.store;
    let id = store
        .create_conversation(new_conversation("u"))
        .await
        .unwrap()
        .id;
    let writers = (0..WRITERS).map(|writer| {
        let store = store.clone();
        tokio::spawn(async move {
            let mut mine = Vec::new();
            for n in 0..APPENDS {
                let new = new_message(Role::User, &format!("{writer}/{n}"));
                mine.push(store.append_message(id, new).await.unwrap());
                tokio::task::yield_now().await;
            }
            mine
        })
    });
    let writers = join_all(writers.map(|writer| async { writer.await.unwrap() }));
    let reader = async {
        let mut reads = 0;
        loop {
            let page = store.list_messages(&[messages_of(id)]).await.unwrap();
            let page = page[0].clone().expect("the conversation exists");
            let positions: Vec<u64> = page.items.iter().map(|m| m.position).collect();
            let expected: Vec<u64> = (1..=positions.len() as u64).collect();
            assert_eq!(positions, expected, "a page is a prefix of the positions");
            assert!(page.total >= positions.len() as u64);
            reads += 1;
            if page.total == (WRITERS * APPENDS) as u64 {
                return reads;
            }
            tokio::task::yield_now().await;
        }
    };
    let (written, _reads) = tokio::join!(writers, reader);

    let all = store.messages_after(id, 0, 1_000).await.unwrap().unwrap();
    let positions: Vec<u64> = all.iter().map(|m| m.position).collect();
    assert_eq!(
        positions,
        (1..=(WRITERS * APPENDS) as u64).collect::<Vec<_>>()
    );
    let ids: HashSet<_> = all.iter().map(|m| m.id).collect();
    assert_eq!(ids.len(), WRITERS * APPENDS, "every id is distinct");
    for mine in written {
        assert!(
            mine.windows(2).all(|w| w[0].position < w[1].position),
            "one writer's appends keep its order"
        );
        for message in mine {
            assert_eq!(all[message.position as usize - 1], message);
        }
    }
    assert!(all.windows(2).all(|w| w[0].created_at <= w[1].created_at));
    let conversation = store.get_conversations(&[id]).await.unwrap().remove(0);
    assert_eq!(conversation.message_count, (WRITERS * APPENDS) as u64);
}

/// Sets title and description to the same text, so a reader can tell a half-applied update.
fn twin_patch(text: &str) -> ChatPatch {
    ChatPatch {
        title: Some(Title::parse(text.into()).unwrap()),
        description: Some(Some(Description::parse(text.into()).unwrap())),
        ..Default::default()
    }
}

pub(crate) async fn concurrent_chat_changes_lose_no_version_and_readers_see_whole_updates(
    t: Harness,
) {
    const TASKS: usize = 4;
    const EACH: usize = 25;
    let store: Arc<dyn Store> = t.store;
    let mut chat = store.create_chat(new_chat("start", None)).await.unwrap();
    chat = store
        .update_chat(chat.id, twin_patch("start"))
        .await
        .unwrap()
        .into_value();
    let id = chat.id;
    let tasks = (0..2 * TASKS).map(|task| {
        let store = store.clone();
        tokio::spawn(async move {
            let mut versions = Vec::new();
            for n in 0..EACH {
                let changed = if task % 2 == 0 {
                    store.toggle_chat(id).await.unwrap()
                } else {
                    let text = format!("task {task} #{n}");
                    match store.update_chat(id, twin_patch(&text)).await.unwrap() {
                        Updated::Changed(chat) => chat,
                        Updated::Unchanged(_) => panic!("every text is new"),
                    }
                };
                versions.push(changed.version);
                tokio::task::yield_now().await;
            }
            versions
        })
    });
    let tasks = join_all(tasks.map(|task| async { task.await.unwrap() }));
    let last_version = chat.version + (2 * TASKS * EACH) as u64;
    let reader = async {
        loop {
            let seen = store.get_chat(id).await.unwrap().expect("the chat exists");
            assert_eq!(
                Some(seen.title.as_str()),
                seen.description.as_deref(),
                "an update is seen whole"
            );
            if seen.version == last_version {
                return;
            }
            tokio::task::yield_now().await;
        }
    };
    let (versions, ()) = tokio::join!(tasks, reader);
    let mut versions: Vec<u64> = versions.into_iter().flatten().collect();
    versions.sort_unstable();
    assert_eq!(
        versions,
        (chat.version + 1..=last_version).collect::<Vec<_>>()
    );
    let end = store.get_chat(id).await.unwrap().unwrap();
    assert_eq!((end.version, end.active), (last_version, true));
}

/// Writers racing to set the same values: exactly one changes the chat, and every other sees
/// that its patch is now a no-op and gets the chat as it is after that change, never an older
/// copy (a no-op is judged against the latest version, not against what a writer saw first).
pub(crate) async fn racing_identical_updates_change_the_chat_once_and_the_rest_see_it(t: Harness) {
    const WRITERS: usize = 8;
    let store: Arc<dyn Store> = t.store;
    for round in 0..5 {
        let chat = store.create_chat(new_chat("start", None)).await.unwrap();
        let text = format!("round {round}");
        let writers = (0..WRITERS).map(|_| {
            let (store, patch) = (store.clone(), twin_patch(&text));
            tokio::spawn(async move { store.update_chat(chat.id, patch).await.unwrap() })
        });
        let outcomes = join_all(writers.map(|writer| async { writer.await.unwrap() })).await;
        let changed: Vec<_> = outcomes
            .iter()
            .filter_map(|outcome| match outcome {
                Updated::Changed(chat) => Some(chat.clone()),
                Updated::Unchanged(_) => None,
            })
            .collect();
        assert_eq!(
            changed.len(),
            1,
            "round {round}: one writer changes the chat"
        );
        let after = &changed[0];
        assert_eq!((after.version, after.title.as_str()), (2, text.as_str()));
        for outcome in &outcomes {
            assert_eq!(outcome.clone().into_value(), *after, "round {round}");
        }
        assert_eq!(store.get_chat(chat.id).await.unwrap().as_ref(), Some(after));
    }
}

pub(crate) async fn a_deleted_conversation_takes_its_messages_and_refuses_later_appends(
    t: Harness,
) {
    let store = t.store;
    let id = store
        .create_conversation(new_conversation("u"))
        .await
        .unwrap()
        .id;
    let appenders = (0..3).map(|writer| {
        let store = store.clone();
        tokio::spawn(async move {
            let mut stored = Vec::new();
            loop {
                let new = new_message(Role::User, &format!("from {writer}"));
                match store.append_message(id, new).await {
                    Ok(message) => stored.push(message),
                    Err(err) => {
                        assert_eq!(err.code(), ErrorCode::NotFound);
                        return stored;
                    }
                }
                tokio::task::yield_now().await;
            }
        })
    });
    let appenders: Vec<_> = appenders.collect();
    let deleter = async {
        loop {
            let conversation = store.get_conversations(&[id]).await.unwrap();
            if conversation[0].message_count >= 30 {
                return store.delete_conversation(id).await.unwrap();
            }
            tokio::task::yield_now().await;
        }
    };
    let deleted = deleter.await;
    let mut stored = Vec::new();
    for appender in appenders {
        stored.extend(appender.await.unwrap());
    }
    assert_eq!(
        deleted.message_count,
        stored.len() as u64,
        "every append committed before the deletion or failed after it"
    );
    for message in &stored {
        assert_eq!(store.get_message(message.id).await.unwrap(), None);
    }
    assert_eq!(store.messages_after(id, 0, 10).await.unwrap(), None);
}
