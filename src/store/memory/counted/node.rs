//! The nodes of the counted B-tree and the recursive algorithms over them: descend by key,
//! split a full node on insert, merge or redistribute an underfull one on removal, and walk a
//! page while skipping whole subtrees by their counts.
//!
//! Invariants (checked by `check` in tests): every leaf is at the same depth; keys ascend; each
//! child entry's `counts` are its subtree's per-category counts; for every child `j > 0` of a
//! branch, `low` is above every key of child `j - 1` and at most every key of child `j` (the
//! first child's `low` is never read); no node holds more than `CAP` items; and a node below
//! `min_len(CAP)` items is the root or on the right spine, where appends leave fresh nodes small.

use super::{Counted, Mask};

/// A leaf of entries, or a branch of children.
pub(super) enum Node<T, const K: usize> {
    Leaf(Vec<T>),
    Branch(Vec<Child<T, K>>),
}

/// One child of a branch with what the parent needs to route and count without descending.
pub(super) struct Child<T, const K: usize> {
    /// Lowest key this child may hold (its separator from the previous child).
    low: u64,
    /// Entries per category in this child's subtree.
    counts: [u32; K],
    node: Node<T, K>,
}

/// The state of a page walk: what to match, which way, how many to skip, how many to visit.
pub(super) struct Cursor {
    pub(super) mask: Mask,
    pub(super) reverse: bool,
    pub(super) skip: u64,
    pub(super) left: usize,
}

/// Fewest items a node off the right spine keeps before removal rebalances it; at least two,
/// so that a branch always has a sibling to merge an emptied child into.
const fn min_len(cap: usize) -> usize {
    if cap / 3 > 2 { cap / 3 } else { 2 }
}

fn add<const K: usize>(into: &mut [u32; K], counts: &[u32; K]) {
    into.iter_mut().zip(counts).for_each(|(a, b)| *a += b);
}

fn subtract<const K: usize>(from: &mut [u32; K], counts: &[u32; K]) {
    from.iter_mut().zip(counts).for_each(|(a, b)| *a -= b);
}

/// The child whose range holds `key`: the number of separators at or below it.
fn route<T, const K: usize>(children: &[Child<T, K>], key: u64) -> usize {
    children[1..].partition_point(|child| child.low <= key)
}

/// Visits items front to back or back to front until `step` says stop.
fn each<I: DoubleEndedIterator>(items: I, reverse: bool, mut step: impl FnMut(I::Item) -> bool) {
    if reverse {
        for item in items.rev() {
            if !step(item) {
                return;
            }
        }
    } else {
        for item in items {
            if !step(item) {
                return;
            }
        }
    }
}

impl<T: Counted, const K: usize> Child<T, K> {
    /// A child entry for `node`, counting it.
    pub(super) fn new(low: u64, node: Node<T, K>) -> Self {
        Self {
            low,
            counts: node.counts(),
            node,
        }
    }
}

impl<T: Counted, const K: usize> Node<T, K> {
    /// Entries of a leaf or children of a branch.
    fn len(&self) -> usize {
        match self {
            Node::Leaf(entries) => entries.len(),
            Node::Branch(children) => children.len(),
        }
    }

    /// Per-category counts of the whole subtree, from this node's items.
    fn counts(&self) -> [u32; K] {
        let mut counts = [0; K];
        match self {
            Node::Leaf(entries) => entries.iter().for_each(|e| counts[e.category()] += 1),
            Node::Branch(children) => children.iter().for_each(|c| add(&mut counts, &c.counts)),
        }
        counts
    }

    pub(super) fn get(&self, key: u64) -> Option<&T> {
        match self {
            Node::Leaf(entries) => {
                let at = entries.binary_search_by_key(&key, T::key).ok()?;
                Some(&entries[at])
            }
            Node::Branch(children) => children[route(children, key)].node.get(key),
        }
    }

    /// Inserts below this node; returns a new right sibling (with its separator) when this
    /// node was full. `rightmost` says this node is on the right spine, where a key past the
    /// end starts a new node and leaves this one full.
    pub(super) fn insert<const CAP: usize>(
        &mut self,
        entry: T,
        category: usize,
        rightmost: bool,
    ) -> Option<(u64, Node<T, K>)> {
        match self {
            Node::Leaf(entries) => {
                let key = entry.key();
                let at = entries.partition_point(|e| e.key() < key);
                debug_assert!(
                    entries.get(at).is_none_or(|e| e.key() != key),
                    "duplicate key"
                );
                if entries.len() < CAP {
                    entries.insert(at, entry);
                    return None;
                }
                if rightmost && at == entries.len() {
                    return Some((key, Node::Leaf(vec![entry])));
                }
                let mut right = entries.split_off(CAP / 2);
                if at <= CAP / 2 {
                    entries.insert(at, entry);
                } else {
                    right.insert(at - CAP / 2, entry);
                }
                Some((right[0].key(), Node::Leaf(right)))
            }
            Node::Branch(children) => {
                let at = route(children, entry.key());
                let last = at + 1 == children.len();
                children[at].counts[category] += 1;
                let (low, node) =
                    children[at]
                        .node
                        .insert::<CAP>(entry, category, rightmost && last)?;
                let sibling = Child::new(low, node);
                subtract(&mut children[at].counts, &sibling.counts);
                if children.len() < CAP {
                    children.insert(at + 1, sibling);
                    return None;
                }
                if rightmost && last {
                    return Some((low, Node::Branch(vec![sibling])));
                }
                let mut right = children.split_off(CAP / 2);
                if at < CAP / 2 {
                    children.insert(at + 1, sibling);
                } else {
                    right.insert(at + 1 - CAP / 2, sibling);
                }
                Some((right[0].low, Node::Branch(right)))
            }
        }
    }

    /// Removes the entry with `key` below this node, rebalancing children that fall short.
    pub(super) fn remove<const CAP: usize>(&mut self, key: u64) -> Option<T> {
        match self {
            Node::Leaf(entries) => {
                let at = entries.binary_search_by_key(&key, T::key).ok()?;
                Some(entries.remove(at))
            }
            Node::Branch(children) => {
                let at = route(children, key);
                let removed = children[at].node.remove::<CAP>(key)?;
                children[at].counts[removed.category()] -= 1;
                if children[at].node.len() < min_len(CAP) && children.len() > 1 {
                    rebalance::<T, K, CAP>(children, at);
                }
                Some(removed)
            }
        }
    }

    /// Replaces a root branch that has one child by that child, as often as it applies.
    pub(super) fn collapse(&mut self) {
        while let Node::Branch(children) = self {
            if children.len() != 1 {
                return;
            }
            let only = children.pop().expect("a branch with one child has a child");
            *self = only.node;
        }
    }

    /// Applies `change` to the entry with `key`, fixing counts on the way back up; returns its
    /// result with the entry's category before and after.
    pub(super) fn update<R>(
        &mut self,
        key: u64,
        change: impl FnOnce(&mut T) -> R,
    ) -> Option<(R, usize, usize)> {
        match self {
            Node::Leaf(entries) => {
                let at = entries.binary_search_by_key(&key, T::key).ok()?;
                let entry = &mut entries[at];
                let before = entry.category();
                let result = change(entry);
                debug_assert_eq!(entry.key(), key, "an update must keep the key");
                Some((result, before, entry.category()))
            }
            Node::Branch(children) => {
                let at = route(children, key);
                let (result, before, after) = children[at].node.update(key, change)?;
                children[at].counts[before] -= 1;
                children[at].counts[after] += 1;
                Some((result, before, after))
            }
        }
    }

    /// Visits matching entries per `cursor`, skipping subtrees that hold fewer matches than are
    /// still to be skipped. Expects `cursor.left > 0`.
    pub(super) fn walk(&self, cursor: &mut Cursor, visit: &mut impl FnMut(&T)) {
        match self {
            Node::Leaf(entries) => each(entries.iter(), cursor.reverse, |entry| {
                if !cursor.mask.contains(entry.category()) {
                    return true;
                }
                if cursor.skip > 0 {
                    cursor.skip -= 1;
                    return true;
                }
                visit(entry);
                cursor.left -= 1;
                cursor.left > 0
            }),
            Node::Branch(children) => each(children.iter(), cursor.reverse, |child| {
                let matching = cursor.mask.count(&child.counts);
                if cursor.skip >= matching {
                    cursor.skip -= matching;
                    return true;
                }
                child.node.walk(cursor, visit);
                cursor.left > 0
            }),
        }
    }

    /// Checks the module's invariants below this node, whose keys must lie in `[low, high)`;
    /// returns its counts (tests only).
    #[cfg(test)]
    pub(super) fn check<const CAP: usize>(
        &self,
        low: Option<u64>,
        high: Option<u64>,
        root: bool,
        rightmost: bool,
    ) -> [u32; K] {
        assert!(self.len() <= CAP, "node over capacity");
        if !root && !rightmost {
            assert!(
                self.len() >= min_len(CAP),
                "underfull node off the right spine"
            );
        }
        let in_range = |key: u64| low.is_none_or(|l| key >= l) && high.is_none_or(|h| key < h);
        match self {
            Node::Leaf(entries) => {
                assert!(
                    entries.windows(2).all(|w| w[0].key() < w[1].key()),
                    "keys ascend"
                );
                assert!(
                    entries.iter().all(|e| in_range(e.key())),
                    "key outside its range"
                );
            }
            Node::Branch(children) => {
                assert!(!children.is_empty(), "empty branch");
                let depth = children[0].node.height();
                for (i, child) in children.iter().enumerate() {
                    assert_eq!(child.node.height(), depth, "leaves at one depth");
                    let child_low = if i == 0 { low } else { Some(child.low) };
                    let child_high = children.get(i + 1).map(|c| c.low).or(high);
                    let last = i + 1 == children.len();
                    let counts =
                        child
                            .node
                            .check::<CAP>(child_low, child_high, false, rightmost && last);
                    assert_eq!(counts, child.counts, "child counts");
                    if i > 0 {
                        assert!(in_range(child.low), "separator outside the parent's range");
                    }
                }
            }
        }
        self.counts()
    }

    #[cfg(test)]
    pub(super) fn height(&self) -> usize {
        match self {
            Node::Leaf(_) => 1,
            Node::Branch(children) => 1 + children[0].node.height(),
        }
    }
}

/// Merges the underfull child `at` with a neighbour, or shares their items evenly when they do
/// not fit in one node.
fn rebalance<T: Counted, const K: usize, const CAP: usize>(
    children: &mut Vec<Child<T, K>>,
    at: usize,
) {
    let left_at = if at + 1 < children.len() { at } else { at - 1 };
    let right = children.remove(left_at + 1);
    let left = &mut children[left_at];
    add(&mut left.counts, &right.counts);
    match (&mut left.node, right.node) {
        (Node::Leaf(into), Node::Leaf(mut from)) => into.append(&mut from),
        (Node::Branch(into), Node::Branch(mut from)) => {
            // The right node's first separator was never read; the parent's is the true one.
            from[0].low = right.low;
            into.append(&mut from);
        }
        _ => unreachable!("siblings have the same height"),
    }
    if left.node.len() <= CAP {
        return;
    }
    let (low, node) = match &mut left.node {
        Node::Leaf(entries) => {
            let right = entries.split_off(entries.len() / 2);
            entries.shrink_to(CAP);
            (right[0].key(), Node::Leaf(right))
        }
        Node::Branch(children) => {
            let right = children.split_off(children.len() / 2);
            children.shrink_to(CAP);
            (right[0].low, Node::Branch(right))
        }
    };
    let sibling = Child::new(low, node);
    subtract(&mut left.counts, &sibling.counts);
    children.insert(left_at + 1, sibling);
}
