//! Record ids to where the records are stored: a hash map split into shards by the id's leading
//! bits.
//!
//! One hash table grows by rehashing every entry at once: at a million ids that holds the
//! store's write lock for tens of milliseconds (100 ms at two million, measured here). Shards
//! grow one at a time, each a thousandth of the table, so no write stalls the store for long,
//! while lookups, inserts and removals stay O(1). Ids are UUID v4, whose leading bits are
//! random, so the shards fill evenly.

use std::collections::HashMap;

use uuid::Uuid;

/// Number of shards; a power of two.
const SHARDS: usize = 1024;

/// A map from ids to `V`, in shards.
pub(super) struct IdMap<V> {
    shards: Box<[HashMap<Uuid, V>]>,
}

impl<V> Default for IdMap<V> {
    fn default() -> Self {
        Self {
            shards: (0..SHARDS).map(|_| HashMap::new()).collect(),
        }
    }
}

/// The shard an id lives in: its first two bytes, which are random in a UUID v4.
fn shard(id: &Uuid) -> usize {
    let bytes = id.as_bytes();
    (usize::from(bytes[0]) << 8 | usize::from(bytes[1])) % SHARDS
}

impl<V> IdMap<V> {
    pub(super) fn get(&self, id: &Uuid) -> Option<&V> {
        self.shards[shard(id)].get(id)
    }

    pub(super) fn insert(&mut self, id: Uuid, value: V) -> Option<V> {
        self.shards[shard(&id)].insert(id, value)
    }

    pub(super) fn remove(&mut self, id: &Uuid) -> Option<V> {
        self.shards[shard(id)].remove(id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_map_to_their_values_across_shards() {
        let mut map = IdMap::default();
        let ids: Vec<Uuid> = (0..5_000).map(|_| Uuid::new_v4()).collect();
        for (n, id) in ids.iter().enumerate() {
            assert_eq!(map.insert(*id, n), None);
        }
        for (n, id) in ids.iter().enumerate().step_by(3) {
            assert_eq!(map.remove(id), Some(n));
        }
        for (n, id) in ids.iter().enumerate() {
            let expected = (n % 3 != 0).then_some(n);
            assert_eq!(map.get(id).copied(), expected);
        }
        assert_eq!(map.get(&Uuid::nil()), None);
        let used = map.shards.iter().filter(|s| !s.is_empty()).count();
        assert!(
            used > SHARDS * 9 / 10,
            "random ids spread over the shards: {used}"
        );
    }
}
