//! A counted B-tree: entries ordered by a `u64` key, each entry in one of `K` categories, and
//! every parent holding its children's per-category counts.
//!
//! Those counts are what make a filtered list cheap: the number of entries in any set of
//! categories (a [`Mask`]) is a sum at the top, and skipping to the n-th matching entry descends
//! one path, skipping whole subtrees by their counts, so `total` and any offset cost O(log n)
//! instead of O(offset). One tree serves every combination of the filters that the categories
//! encode.
//!
//! The tree owns ordering and counting only; what keys and categories mean is its caller's
//! business. Keys are unique and never change while an entry is stored.

mod node;
#[cfg(test)]
mod tests;

use crate::domain::SortOrder;
use node::Node;

/// An entry the tree can order and count.
pub(crate) trait Counted {
    /// The entry's position in the order; unique within a tree, fixed while stored.
    fn key(&self) -> u64;
    /// The counter the entry adds to; below the tree's `K`.
    fn category(&self) -> usize;
}

/// A set of categories (bit `i` stands for category `i`): the categories a filter matches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Mask(u32);

impl Mask {
    /// The set of the first `k` categories: every entry of a `K = k` tree.
    pub(crate) const fn all(k: usize) -> Self {
        Self((1u32 << k) - 1)
    }

    /// The set of the given categories.
    pub(crate) fn of(categories: impl IntoIterator<Item = usize>) -> Self {
        Self(categories.into_iter().fold(0, |bits, c| bits | (1 << c)))
    }

    pub(crate) fn contains(self, category: usize) -> bool {
        self.0 & (1 << category) != 0
    }

    /// How many entries the counts hold in this set's categories.
    fn count<C: Copy + Into<u64>>(self, counts: &[C]) -> u64 {
        counts
            .iter()
            .enumerate()
            .filter(|(category, _)| self.contains(*category))
            .map(|(_, &n)| n.into())
            .sum()
    }
}

/// Entries in key order with per-category counts; see the module docs. `CAP` is the most
/// entries a leaf and the most children a branch holds (small values only in tests, to grow
/// deep trees from few entries).
pub(crate) struct CountedTree<T, const K: usize, const CAP: usize = 64> {
    root: Node<T, K>,
    totals: [u64; K],
}

impl<T: Counted, const K: usize, const CAP: usize> Default for CountedTree<T, K, CAP> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T: Counted, const K: usize, const CAP: usize> CountedTree<T, K, CAP> {
    /// An empty tree; allocates nothing until the first insert.
    pub(crate) fn new() -> Self {
        const {
            assert!(
                CAP >= 4 && K >= 1 && K <= 16,
                "node capacity or category count"
            )
        };
        Self {
            root: Node::Leaf(Vec::new()),
            totals: [0; K],
        }
    }

    /// Number of entries.
    pub(crate) fn len(&self) -> u64 {
        self.totals.iter().sum()
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Number of entries whose category is in `mask`, in O(K).
    pub(crate) fn count(&self, mask: Mask) -> u64 {
        mask.count(&self.totals)
    }

    /// The entry with `key`, in O(log n).
    pub(crate) fn get(&self, key: u64) -> Option<&T> {
        self.root.get(key)
    }

    /// Adds an entry whose key is not yet in the tree, in O(log n). Keys above every stored key
    /// (the usual case: creation order) fill nodes completely instead of splitting them in half.
    pub(crate) fn insert(&mut self, entry: T) {
        let category = entry.category();
        self.totals[category] += 1;
        if let Some((low, right)) = self.root.insert::<CAP>(entry, category, true) {
            let left = std::mem::replace(&mut self.root, Node::Branch(Vec::new()));
            self.root = Node::Branch(vec![
                node::Child::new(0, left),
                node::Child::new(low, right),
            ]);
        }
    }

    /// Removes and returns the entry with `key`, in O(log n).
    pub(crate) fn remove(&mut self, key: u64) -> Option<T> {
        let removed = self.root.remove::<CAP>(key)?;
        self.totals[removed.category()] -= 1;
        self.root.collapse();
        Some(removed)
    }

    /// Changes the entry with `key` in place (its category may change, its key must not) and
    /// returns what `change` returned, in O(log n).
    pub(crate) fn update<R>(&mut self, key: u64, change: impl FnOnce(&mut T) -> R) -> Option<R> {
        let (result, before, after) = self.root.update(key, change)?;
        self.totals[before] -= 1;
        self.totals[after] += 1;
        Some(result)
    }

    /// Visits up to `limit` entries in `mask`, in key order (`Asc`) or its reverse (`Desc`),
    /// after skipping the first `skip` of them in that order. Costs O(log n + limit) plus the
    /// non-matching entries that share a leaf with the visited ones.
    pub(crate) fn walk(
        &self,
        mask: Mask,
        order: SortOrder,
        skip: u64,
        limit: usize,
        mut visit: impl FnMut(&T),
    ) {
        if limit == 0 || skip >= self.count(mask) {
            return;
        }
        let mut cursor = node::Cursor {
            mask,
            reverse: order == SortOrder::Desc,
            skip,
            left: limit,
        };
        self.root.walk(&mut cursor, &mut visit);
    }

    /// Panics unless every structural invariant holds (tests only).
    #[cfg(test)]
    pub(crate) fn check(&self) {
        let counts = self.root.check::<CAP>(None, None, true, true);
        let totals: Vec<u64> = counts.iter().map(|&c| u64::from(c)).collect();
        assert_eq!(totals, self.totals, "tree totals");
    }

    /// Height of the tree, a leaf-only tree being 1 (tests only).
    #[cfg(test)]
    pub(crate) fn height(&self) -> usize {
        self.root.height()
    }
}
