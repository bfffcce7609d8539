//! Measures the memory store's bytes per chat and per message, indexes included:
//! `cargo run --release --example store_memory [-- CHATS MESSAGES]` (defaults: a million each).
//!
//! A counting global allocator tallies the heap bytes requested; the resident set size (from
//! `/proc/self/statm`) adds the allocator's own overhead. Each figure is a delta over the records
//! it names, divided by their number, and is also shown without the text the records carry.
//! The slowest single write shows whether any write stalled the store (say, a table resizing).

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use chatgate::domain::{
    Description, MessageContent, Metadata, NewChat, NewConversation, NewMessage, Priority, Role,
    SystemClock, Title, UserId,
};
use chatgate::store::{MemoryStore, Store};
use futures::executor::block_on;

/// Counts live heap bytes on top of the system allocator.
struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);

// SAFETY: every call is forwarded unchanged to the system allocator; only a counter is added.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE.fetch_add(layout.size(), Ordering::Relaxed);
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        LIVE.fetch_add(new_size, Ordering::Relaxed);
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Heap bytes requested and resident set size, in bytes.
fn usage() -> (usize, usize) {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: usize = statm
        .split_whitespace()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .unwrap_or(0);
    (LIVE.load(Ordering::Relaxed), pages * 4096)
}

/// Runs one write, keeping the longest time any took.
fn timed<T>(slowest: &mut Duration, write: impl FnOnce() -> T) -> T {
    let started = Instant::now();
    let result = write();
    *slowest = (*slowest).max(started.elapsed());
    result
}

fn report(what: &str, count: usize, text: usize, before: (usize, usize), slowest: Duration) {
    let after = usage();
    let heap = after.0.saturating_sub(before.0) as f64 / count as f64;
    let rss = after.1.saturating_sub(before.1) as f64 / count as f64;
    let text = text as f64 / count as f64;
    println!(
        "{what:<9} {count:>9}  heap {heap:>6.0} B  (without text {:>5.0} B)  rss {rss:>6.0} B  \
         text {text:>4.0} B  slowest write {} µs",
        heap - text,
        slowest.as_micros()
    );
}

fn arg(at: usize, default: usize) -> usize {
    std::env::args()
        .nth(at)
        .map(|a| a.replace('_', "").parse().expect("a count"))
        .unwrap_or(default)
}

fn main() {
    let chats = arg(1, 1_000_000);
    let messages = arg(2, 1_000_000);
    let conversations = (messages / 100).max(1);
    let store = MemoryStore::new(Arc::new(SystemClock));

    let before = usage();
    let mut slowest = Duration::ZERO;
    let mut text = 0;
    for n in 0..chats {
        let title = format!("Chat session number {n}");
        // Half the chats carry a description; users own about ten chats each.
        let description = n
            .is_multiple_of(2)
            .then(|| format!("Follow-up on ticket {n} with the team"));
        let user = format!("user-{}", n / 10);
        text += title.len() + description.as_ref().map_or(0, String::len) + user.len();
        let new = NewChat {
            title: Title::parse(title).expect("valid"),
            description: description.map(|d| Description::parse(d).expect("valid")),
            active: !n.is_multiple_of(3),
            priority: Priority::ALL[n % 3],
            user_id: Some(UserId::parse(user).expect("valid")),
        };
        timed(&mut slowest, || block_on(store.create_chat(new))).expect("stored");
    }
    report("chats", chats, text, before, slowest);

    let mut ids = Vec::with_capacity(conversations);
    let before = usage();
    let mut slowest = Duration::ZERO;
    for n in 0..conversations {
        let new = NewConversation {
            user_id: UserId::parse(format!("user-{}", n / 5)).expect("valid"),
            metadata: Metadata::new(),
        };
        ids.push(
            timed(&mut slowest, || block_on(store.create_conversation(new)))
                .expect("stored")
                .id,
        );
    }
    let after_conversations = usage();
    let conversation_text = (0..conversations)
        .map(|n| format!("user-{}", n / 5).len())
        .sum();
    report(
        "convers.",
        conversations,
        conversation_text,
        before,
        slowest,
    );

    let mut slowest = Duration::ZERO;
    let mut text = 0;
    for n in 0..messages {
        let content = format!("Message {n}: could you summarise where the project stands today?");
        text += content.len();
        let new = NewMessage {
            id: uuid::Uuid::new_v4(),
            role: if n.is_multiple_of(2) {
                Role::User
            } else {
                Role::Assistant
            },
            content: MessageContent::parse(content).expect("valid"),
            metadata: Metadata::new(),
        };
        let to = ids[n % conversations];
        timed(&mut slowest, || block_on(store.append_message(to, new))).expect("stored");
    }
    report("messages", messages, text, after_conversations, slowest);
}
