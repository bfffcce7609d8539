//! A bounded cache of parsed and validated documents, keyed by the query text: a client that
//! sends the same text again (as every client with a fixed query does) skips the parser, and,
//! when its document declares no variables, validation too.
//!
//! Only what does not depend on the request is kept. Every request still runs the rest: the
//! token and count limits, the required-variable check and the cost, which may depend on
//! variables (`super::pipeline` says in which order). Validation, which reads variable values (an
//! argument's value is checked with the variables substituted), is skipped only for documents
//! without variable definitions: a valid document without any uses no variable, so its
//! validation result is the same for every request. A document enters the cache only once it
//! parsed, passed the document limits and validated; a refused text is parsed again next time.
//!
//! A cached document with variables also remembers the shapes of variable values it validated
//! with ([`shape`]): a request of a known shape skips the full validation too.
//!
//! Texts that select `__schema` are not kept: they are rare (a tool's introspection query,
//! usually longer than [`MAX_CACHED_QUERY_BYTES`] anyway), and a cached document runs on the
//! fast path (`super::executor`), which lacks the pipeline's correction of
//! `__schema { description }`.

use std::num::NonZeroUsize;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use async_graphql::parser::types::{DocumentOperations, ExecutableDocument};
use async_graphql::{SchemaEnv, ValidationResult};
use lru::LruCache;
use parking_lot::Mutex;
use shape::Shapes;

/// How many documents the cache holds by default, least recently used out first.
pub const DEFAULT_CAPACITY: usize = 1_000;

/// The longest query text that is cached, in bytes. Longer texts (a large introspection
/// query, a generated document) are parsed every time; with [`DEFAULT_CAPACITY`] this keeps
/// the cache to a few megabytes.
pub const MAX_CACHED_QUERY_BYTES: usize = 4_096;

/// One cached document and what validating it found.
pub(super) struct Entry {
    pub(super) document: ExecutableDocument,
    pub(super) validation: ValidationResult,
    /// No operation declares a variable, so validation does not depend on the request.
    pub(super) variable_free: bool,
    /// The schema it was validated against: its registry prices each request's variables.
    pub(super) schema: SchemaEnv,
    /// The variable values it validated with, by shape.
    pub(super) shapes: Shapes,
}

/// The cache the request pipeline (`super::pipeline`) reads and fills. Clones share it.
#[derive(Clone)]
pub struct DocumentCache {
    documents: Arc<Mutex<LruCache<String, Arc<Entry>>>>,
    hits: Arc<AtomicU64>,
}

impl DocumentCache {
    /// A cache of at most `capacity` documents (at least one).
    pub fn new(capacity: usize) -> Self {
        let capacity = NonZeroUsize::new(capacity).unwrap_or(NonZeroUsize::MIN);
        Self {
            documents: Arc::new(Mutex::new(LruCache::new(capacity))),
            hits: Arc::default(),
        }
    }

    /// How many documents the cache holds now.
    pub fn len(&self) -> usize {
        self.documents.lock().len()
    }

    /// Whether the cache holds no document.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// How many requests were served a cached document so far.
    pub fn hits(&self) -> u64 {
        self.hits.load(Ordering::Relaxed)
    }
}

impl Default for DocumentCache {
    fn default() -> Self {
        Self::new(DEFAULT_CAPACITY)
    }
}

impl DocumentCache {
    /// The cached document for `query`, counted as a hit.
    pub(super) fn get(&self, query: &str) -> Option<Arc<Entry>> {
        let entry = self.documents.lock().get(query).cloned()?;
        self.hits.fetch_add(1, Ordering::Relaxed);
        Some(entry)
    }

    /// Keeps `document`, parsed from `query` and validated against `schema` with
    /// `validation`, unless `query` is longer than [`MAX_CACHED_QUERY_BYTES`] or selects
    /// `__schema`.
    pub(super) fn put(
        &self,
        query: String,
        document: ExecutableDocument,
        validation: ValidationResult,
        schema: &SchemaEnv,
    ) {
        if query.len() > MAX_CACHED_QUERY_BYTES || query.contains("__schema") {
            return;
        }
        let entry = Entry {
            variable_free: declares_no_variables(&document),
            shapes: Shapes::of(&document),
            document,
            validation,
            schema: schema.clone(),
        };
        self.documents.lock().put(query, Arc::new(entry));
    }
}

/// Whether no operation of `document` declares a variable.
fn declares_no_variables(document: &ExecutableDocument) -> bool {
    match &document.operations {
        DocumentOperations::Single(operation) => operation.node.variable_definitions.is_empty(),
        DocumentOperations::Multiple(operations) => operations
            .values()
            .all(|operation| operation.node.variable_definitions.is_empty()),
    }
}

mod shape;
#[cfg(test)]
mod tests;
