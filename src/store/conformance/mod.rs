//! The store's behaviour, written once against the [`Store`] trait and run against every
//! backend: records, versions and positions, unknown ids, timestamps, lists (filters, totals,
//! offsets, ordering) against a plain model, atomicity under concurrent writers, and the change
//! feed's order. A backend is tested by adding one line at the bottom of this file:
//!
//! ```ignore
//! store_conformance!(name, |clock| async move { Some(StoreOfThatBackend::new(clock)) });
//! ```
//!
//! The factory builds a fresh, empty store stamping times from `clock` (a manual clock the
//! cases move), or returns `None` when the backend cannot run here, after saying why: the
//! cases then pass without running.

mod atomicity;
mod chat_lists;
mod conversation_lists;
mod feed;
mod records;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use uuid::Uuid;

use crate::domain::{
    Clock, ManualClock, MessageContent, MessageFilter, Metadata, NewChat, NewConversation,
    NewMessage, Page, PageRequest, Priority, Role, SortOrder, Timestamp, Title, UserId,
};
use crate::events::{Change, TopicReceiver};
use crate::store::{MemoryStore, MessageQuery, Store};

/// What every case gets: a fresh store and the clock it stamps times from.
pub(crate) struct Harness {
    pub store: Arc<dyn Store>,
    pub clock: Arc<ManualClock>,
}

/// Where the manual clock starts unless a case sets it.
const START_MILLIS: i64 = 1_700_000_000_000;

/// Builds a store with `make` and runs `case` on it; nothing when the backend is unavailable.
async fn run<Make, Made, S, Case, Ran>(make: Make, case: Case)
where
    Make: FnOnce(Arc<dyn Clock>) -> Made,
    Made: Future<Output = Option<S>>,
    S: Store,
    Case: FnOnce(Harness) -> Ran,
    Ran: Future<Output = ()>,
{
    let clock = Arc::new(ManualClock::new(Timestamp::from_millis(START_MILLIS)));
    let Some(store) = make(clock.clone()).await else {
        return;
    };
    case(Harness {
        store: Arc::new(store),
        clock,
    })
    .await;
}

/// One test per case for the backend whose factory is `$make`.
macro_rules! conformance_cases {
    ($make:expr; $($case:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() {
                super::run($make, super::cases::$case).await;
            }
        )*
    };
}

/// Runs every conformance case against the backend named `$backend`, built by `$make`.
macro_rules! store_conformance {
    ($backend:ident, $make:expr) => {
        mod $backend {
            #[allow(unused_imports)]
            use super::*;

            conformance_cases!($make;
                every_change_moves_the_chat_version_or_takes_the_next_position,
                writes_to_unknown_ids_are_not_found_and_change_nothing,
                changes_within_one_millisecond_still_move_updated_at_forward,
                stamps_never_go_back_in_stored_order_when_the_clock_does,
                a_message_batch_answers_none_for_a_missing_conversation,
                deleting_a_conversation_forgets_its_messages_and_its_user_list_entry,
                a_chat_whose_user_changes_moves_between_user_lists,
                messages_after_pages_by_position_and_knows_missing_conversations,
                chat_lists_agree_with_a_plain_scan_after_random_changes,
                conversation_and_message_lists_agree_with_a_plain_scan_after_random_changes,
                concurrent_appends_take_every_position_once_and_readers_see_whole_messages,
                concurrent_chat_changes_lose_no_version_and_readers_see_whole_updates,
                racing_identical_updates_change_the_chat_once_and_the_rest_see_it,
                a_deleted_conversation_takes_its_messages_and_refuses_later_appends,
                the_feed_carries_each_committed_change_once_in_commit_order,
                the_feed_orders_each_conversation_by_position_under_concurrent_writers,
                transient_events_reach_the_topic_between_the_stored_messages_around_them,
                a_subscriber_that_joins_mid_history_gets_the_next_changes_at_once,
                resuming_under_concurrent_writers_gives_exactly_the_stored_messages_after,
            );
        }
    };
}

/// Every case, by name, for the macro.
mod cases {
    pub(super) use super::atomicity::*;
    pub(super) use super::chat_lists::*;
    pub(super) use super::conversation_lists::*;
    pub(super) use super::feed::*;
    pub(super) use super::records::*;
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

/// The first page of 100 of a conversation's messages, oldest first.
fn messages_of(conversation_id: Uuid) -> MessageQuery {
    MessageQuery {
        conversation_id,
        filter: MessageFilter::default(),
        order: SortOrder::Asc,
        page: PageRequest::clamped(100, 0),
    }
}

/// The page a plain model gives: `matching` in creation order, put in `order`, then cut to
/// `page`, with the total across pages.
fn page_of<T: Clone>(matching: Vec<&T>, order: SortOrder, page: PageRequest) -> Page<T> {
    let ordered: Box<dyn Iterator<Item = &&T>> = match order {
        SortOrder::Asc => Box::new(matching.iter()),
        SortOrder::Desc => Box::new(matching.iter().rev()),
    };
    Page {
        items: ordered
            .skip(page.offset as usize)
            .take(page.limit as usize)
            .map(|item| (*item).clone())
            .collect(),
        total: matching.len() as u64,
        limit: page.limit,
        offset: page.offset,
    }
}

/// The next change on `rx`: a backend may deliver it a moment after the write returned, but
/// not after five seconds.
async fn next_change(rx: &mut TopicReceiver) -> Change {
    let change = tokio::time::timeout(Duration::from_secs(5), rx.recv())
        .await
        .expect("the change arrives in time")
        .expect("the topic is open and the receiver kept up");
    (*change).clone()
}

/// The next change on `rx` numbered past `last` (a position or version) on its topic. A
/// backend whose feed trails its commits (a database's notifications) may still deliver changes
/// committed before the subscription; they carry numbers up to `last` and are skipped, as live
/// streams skip them.
async fn next_change_after(rx: &mut TopicReceiver, last: u64) -> Change {
    loop {
        let change = next_change(rx).await;
        match change.order_on(rx.topic()) {
            Some(number) if number <= last => continue,
            _ => return change,
        }
    }
}

store_conformance!(memory, |clock| async move { Some(MemoryStore::new(clock)) });
store_conformance!(postgres, crate::store::scratch::ScratchSchema::fresh_store);
