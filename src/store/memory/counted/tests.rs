//! The counted tree against a plain sorted map, over seeded random mixes of inserts, removals
//! and category changes, with tiny nodes so a few thousand entries make deep trees.

use std::collections::BTreeMap;
use std::collections::btree_map::Entry;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::{Counted, CountedTree, Mask};
use crate::domain::SortOrder;

const K: usize = 3;

#[derive(Debug, Clone, PartialEq)]
struct Item {
    key: u64,
    category: usize,
}

impl Counted for Item {
    fn key(&self) -> u64 {
        self.key
    }

    fn category(&self) -> usize {
        self.category
    }
}

fn masks() -> Vec<Mask> {
    (1..1u32 << K)
        .map(|bits| Mask::of((0..K).filter(|c| bits & (1 << c) != 0)))
        .collect()
}

fn walked<const CAP: usize>(
    tree: &CountedTree<Item, K, CAP>,
    mask: Mask,
    order: SortOrder,
    skip: u64,
    limit: usize,
) -> Vec<u64> {
    let mut keys = Vec::new();
    tree.walk(mask, order, skip, limit, |item| keys.push(item.key));
    keys
}

fn expected(
    model: &BTreeMap<u64, usize>,
    mask: Mask,
    order: SortOrder,
    skip: u64,
    limit: usize,
) -> Vec<u64> {
    let matching = model.iter().filter(|(_, c)| mask.contains(**c));
    let keys = |iter: &mut dyn Iterator<Item = (&u64, &usize)>| {
        iter.skip(skip as usize)
            .take(limit)
            .map(|(k, _)| *k)
            .collect()
    };
    match order {
        SortOrder::Asc => keys(&mut matching.into_iter()),
        SortOrder::Desc => keys(&mut matching.rev()),
    }
}

/// Compares totals, lookups and pages at several offsets for every mask and both orders.
fn assert_agrees<const CAP: usize>(
    tree: &CountedTree<Item, K, CAP>,
    model: &BTreeMap<u64, usize>,
    rng: &mut StdRng,
) {
    tree.check();
    assert_eq!(tree.len(), model.len() as u64);
    for mask in masks() {
        let total = model.values().filter(|c| mask.contains(**c)).count() as u64;
        assert_eq!(tree.count(mask), total, "count of {mask:?}");
        let offsets = [0, 1, total / 2, total.saturating_sub(3), total, total + 5];
        for order in [SortOrder::Asc, SortOrder::Desc] {
            for &skip in offsets.iter().chain([rng.random_range(0..=total)].iter()) {
                let limit = rng.random_range(0..12);
                assert_eq!(
                    walked(tree, mask, order, skip, limit),
                    expected(model, mask, order, skip, limit),
                    "{mask:?} {order:?} skip {skip} limit {limit}"
                );
            }
        }
    }
    for (&key, &category) in model.iter().step_by(7) {
        assert_eq!(tree.get(key), Some(&Item { key, category }));
    }
}

/// Random operations biased as the store uses the tree: appends past the largest key, some
/// inserts into gaps, removals (single and in runs, so whole regions empty out and nodes merge)
/// and category changes. The first two thirds of the steps grow the tree, the rest shrink it.
/// `prefill` appends come first. Returns the greatest height the tree reached.
fn random_mix<const CAP: usize>(seed: u64, prefill: u64, steps: usize) -> usize {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut tree = CountedTree::<Item, K, CAP>::new();
    let mut model = BTreeMap::new();
    let mut next = 1_000_000u64;
    for _ in 0..prefill {
        next += rng.random_range(1..4);
        let category = rng.random_range(0..K);
        tree.insert(Item {
            key: next,
            category,
        });
        model.insert(next, category);
    }
    let mut tallest = tree.height();
    for step in 0..steps {
        // A stored key at a random place, if any.
        let around = rng.random_range(0..next);
        let stored = model
            .range(around..)
            .next()
            .or_else(|| model.iter().next_back())
            .map(|(k, _)| *k);
        let removals = if step < steps * 2 / 3 { 55 } else { 80 };
        match rng.random_range(0..100) {
            0..40 => {
                next += rng.random_range(1..4);
                let category = rng.random_range(0..K);
                tree.insert(Item {
                    key: next,
                    category,
                });
                model.insert(next, category);
            }
            40..50 => {
                let key = rng.random_range(0..next);
                if let Entry::Vacant(vacant) = model.entry(key) {
                    let category = rng.random_range(0..K);
                    tree.insert(Item { key, category });
                    vacant.insert(category);
                }
            }
            roll if roll < removals && stored.is_some() => {
                let longest = if roll % 4 == 0 { CAP } else { 1 };
                let run = rng.random_range(1..=longest);
                let keys: Vec<u64> = model
                    .range(stored.unwrap()..)
                    .take(run)
                    .map(|(k, _)| *k)
                    .collect();
                for key in keys {
                    let category = model.remove(&key).expect("model key");
                    assert_eq!(tree.remove(key), Some(Item { key, category }));
                }
            }
            _ if stored.is_some() => {
                let key = stored.unwrap();
                let category = rng.random_range(0..K);
                let old = tree.update(key, |item| std::mem::replace(&mut item.category, category));
                assert_eq!(old, model.insert(key, category));
            }
            _ => {}
        }
        assert_eq!(tree.remove(next + 1), None, "absent key");
        assert_eq!(tree.update(next + 1, |_| ()), None, "absent key");
        tallest = tallest.max(tree.height());
        if model.len() < 300 || step % 50 == 0 {
            tree.check();
        }
        // Comparing costs a scan of the model per mask and offset: rarer on big trees.
        if step.is_multiple_of(if model.len() < 1_000 { 97 } else { 997 }) {
            assert_agrees(&tree, &model, &mut rng);
        }
    }
    assert_agrees(&tree, &model, &mut rng);
    // Empty it out completely, in random order.
    let mut keys: Vec<u64> = model.keys().copied().collect();
    while !keys.is_empty() {
        let key = keys.swap_remove(rng.random_range(0..keys.len()));
        assert!(tree.remove(key).is_some());
        model.remove(&key);
        if keys
            .len()
            .is_multiple_of(if keys.len() < 1_000 { 211 } else { 4_999 })
        {
            assert_agrees(&tree, &model, &mut rng);
        }
    }
    assert!(tree.is_empty());
    assert_eq!(tree.height(), 1);
    tallest
}

#[test]
fn small_nodes_agree_with_a_sorted_map_over_random_changes() {
    for seed in 0..4 {
        let tallest = [
            random_mix::<4>(seed, 0, 4_000),
            random_mix::<8>(seed, 0, 4_000),
        ];
        assert!(
            tallest[0] >= 5 && tallest[1] >= 3,
            "deep trees: {tallest:?}"
        );
    }
}

#[test]
fn production_nodes_agree_with_a_sorted_map_over_random_changes() {
    // 20,000 entries in nodes of 64 make three levels.
    assert_eq!(random_mix::<64>(42, 20_000, 6_000), 3);
}

#[test]
fn appends_fill_nodes_instead_of_halving_them() {
    let mut tree = CountedTree::<Item, K, 8>::new();
    for key in 0..8 * 8 * 8 {
        tree.insert(Item { key, category: 0 });
    }
    tree.check();
    // 512 entries in full leaves of 8 under full branches of 8: exactly three levels.
    assert_eq!(tree.height(), 3);
}

#[test]
fn walks_skip_whole_subtrees_of_other_categories() {
    let mut tree = CountedTree::<Item, K, 4>::new();
    for key in 0..1_000 {
        let category = if key % 250 == 0 { 2 } else { 0 };
        tree.insert(Item { key, category });
    }
    let only_two = Mask::of([2]);
    assert_eq!(tree.count(only_two), 4);
    assert_eq!(
        walked(&tree, only_two, SortOrder::Asc, 1, 10),
        [250, 500, 750]
    );
    assert_eq!(walked(&tree, only_two, SortOrder::Desc, 0, 2), [750, 500]);
    assert_eq!(walked(&tree, Mask::all(K), SortOrder::Desc, 998, 5), [1, 0]);
    assert_eq!(
        walked(&tree, only_two, SortOrder::Asc, 4, 10),
        Vec::<u64>::new()
    );
}
