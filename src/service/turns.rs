//! Turns: one exchange at a time per conversation. Sending a message takes the conversation's
//! turn before it stores the message and keeps it until the reply is stored, so a second
//! message waits for the reply being written and every conversation reads user, assistant,
//! user, assistant. Turns are granted first come, first served; conversations never wait for
//! each other.

use std::collections::HashMap;
use std::sync::Arc;

use parking_lot::Mutex;
use tokio::sync::OwnedMutexGuard;
use uuid::Uuid;

type Lock = Arc<tokio::sync::Mutex<()>>;

/// The turn locks of the conversations that have an exchange running or waiting.
#[derive(Default)]
pub struct Turns {
    locks: Mutex<HashMap<Uuid, Lock>>,
}

/// A conversation's turn; the next waiter gets it when this is dropped.
pub struct Turn {
    guard: Option<OwnedMutexGuard<()>>,
    conversation_id: Uuid,
    turns: Arc<Turns>,
}

impl Turns {
    /// Waits for `conversation_id`'s turn (in the order callers asked for it).
    pub async fn take(self: &Arc<Self>, conversation_id: Uuid) -> Turn {
        let lock = self
            .locks
            .lock()
            .entry(conversation_id)
            .or_default()
            .clone();
        Turn {
            guard: Some(lock.lock_owned().await),
            conversation_id,
            turns: self.clone(),
        }
    }

    /// How many conversations have a turn taken or waited for (for tests: it returns to 0).
    pub fn active(&self) -> usize {
        self.locks.lock().len()
    }
}

impl Drop for Turn {
    fn drop(&mut self) {
        let mut locks = self.turns.locks.lock();
        // Released under the map's lock, so nobody can clone the lock between the release
        // and the check: an entry only the map holds has no holder and no waiter.
        drop(self.guard.take());
        if locks
            .get(&self.conversation_id)
            .is_some_and(|lock| Arc::strong_count(lock) == 1)
        {
            locks.remove(&self.conversation_id);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_second_turn_waits_for_the_first_and_other_conversations_do_not() {
        let turns = Arc::new(Turns::default());
        let (a, b) = (Uuid::new_v4(), Uuid::new_v4());
        let first = turns.take(a).await;
        let _other = turns.take(b).await;
        let waiting = {
            let turns = turns.clone();
            tokio::spawn(async move { turns.take(a).await })
        };
        tokio::task::yield_now().await;
        assert!(!waiting.is_finished());
        drop(first);
        let second = waiting.await.unwrap();
        assert_eq!(turns.active(), 2);
        drop(second);
        drop(_other);
        assert_eq!(turns.active(), 0);
    }
}
