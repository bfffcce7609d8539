//! An append-only sequence stored in fixed-size chunks, for a conversation's messages.
//!
//! A plain `Vec` doubles when full: a long conversation would copy all its messages in one
//! append (milliseconds at a million) and leave up to half its capacity unused. Chunks bound
//! both: an append copies at most one chunk, and only the last chunk has spare room.

/// Items per chunk.
const CHUNK: usize = 256;

/// Items in push order, addressed by position.
pub(super) struct ChunkedVec<T> {
    chunks: Vec<Vec<T>>,
}

impl<T> Default for ChunkedVec<T> {
    fn default() -> Self {
        Self { chunks: Vec::new() }
    }
}

impl<T> ChunkedVec<T> {
    pub(super) fn len(&self) -> usize {
        match self.chunks.last() {
            Some(last) => (self.chunks.len() - 1) * CHUNK + last.len(),
            None => 0,
        }
    }

    pub(super) fn push(&mut self, item: T) {
        match self.chunks.last_mut() {
            Some(last) if last.len() < CHUNK => last.push(item),
            _ => self.chunks.push(vec![item]),
        }
    }

    pub(super) fn get(&self, at: usize) -> Option<&T> {
        self.chunks.get(at / CHUNK)?.get(at % CHUNK)
    }

    /// Every item in push order.
    pub(super) fn iter(&self) -> impl Iterator<Item = &T> {
        self.chunks.iter().flatten()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn items_keep_their_positions_across_chunk_boundaries() {
        let mut items = ChunkedVec::default();
        assert_eq!((items.len(), items.get(0)), (0, None));
        for n in 0..3 * CHUNK + 5 {
            items.push(n);
        }
        assert_eq!(items.len(), 3 * CHUNK + 5);
        for at in [0, 1, CHUNK - 1, CHUNK, 2 * CHUNK + 7, 3 * CHUNK + 4] {
            assert_eq!(items.get(at), Some(&at));
        }
        assert_eq!(items.get(3 * CHUNK + 5), None);
        assert!(items.iter().copied().eq(0..3 * CHUNK + 5));
    }
}
