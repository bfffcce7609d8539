//! The GraphQL face: schema, resolvers, the HTTP endpoint and the subscription WebSocket.
//!
//! Resolvers decode arguments into domain input and call one service operation; errors keep
//! their codes through the `From<AppError>` conversion in [`errors`].

mod cache;
pub mod cost;
mod errors;
mod executor;
mod http;
mod introspection;
mod limits;
mod loaders;
mod mutation;
mod observe;
mod pipeline;
mod query;
mod request;
mod scalars;
mod sdl;
mod subscription;
mod syntax;
mod types;
mod variables;
pub mod ws;

use async_graphql::{Context, Schema, SchemaBuilder};

pub use cache::DocumentCache;
pub use errors::{FinishedResponse, finish_response, request_error};
pub use executor::Executor;
pub use http::{graphql_handler, respond_negotiated};
pub use limits::{MAX_ALIASES, MAX_ARGUMENTS, MAX_ERRORS, MAX_TOKENS, MAX_VARIABLES};
pub use loaders::StoreLoader;
pub use mutation::MutationRoot;
pub use query::QueryRoot;
pub use sdl::sdl;
pub use subscription::SubscriptionRoot;
pub use ws::graphql_get;

use crate::domain::PageRequest;
use crate::metrics::Metrics;
use crate::service::ChatService;

/// Default deepest selection nesting a query may have, leaf fields included. graphql-js 16's
/// introspection query (the one GraphiQL sends) is 15 levels deep, with nine levels of
/// `ofType`; 20 leaves room for clients that ask deeper, and a 30-level query is still refused
/// before it runs.
pub const DEFAULT_MAX_DEPTH: usize = 20;

/// Default largest cost a query may have ([`cost`] says how it is counted). It admits any
/// query with two nested lists at their default page sizes and every field selected (a page of
/// 100 messages, each with its conversation's 100 messages, costs about 222,000), and refuses
/// three (a million items), thousands of aliased lists, or a few dozen top-level fields.
pub const DEFAULT_MAX_COMPLEXITY: usize = 250_000;

/// How deep and how costly one operation may be (`--max-depth`, `--max-complexity`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueryLimits {
    /// Deepest selection nesting, leaf fields included.
    pub max_depth: usize,
    /// Largest cost, counted by [`cost`].
    pub max_complexity: usize,
}

impl Default for QueryLimits {
    fn default() -> Self {
        Self {
            max_depth: DEFAULT_MAX_DEPTH,
            max_complexity: DEFAULT_MAX_COMPLEXITY,
        }
    }
}

/// chatgate's schema type.
pub type ChatSchema = Schema<QueryRoot, MutationRoot, SubscriptionRoot>;

/// Builds the schema around the service, refusing queries beyond `limits` before they run;
/// every operation is logged and measured into `metrics`.
pub fn build_schema(service: ChatService, limits: QueryLimits, metrics: &Metrics) -> ChatSchema {
    build_schema_with_cache(service, limits, metrics, DocumentCache::default())
}

/// [`build_schema`] with a given document cache, so tests can look into it. Every check
/// chatgate adds to async-graphql's runs in one extension, in the order `pipeline` gives.
pub fn build_schema_with_cache(
    service: ChatService,
    limits: QueryLimits,
    metrics: &Metrics,
    cache: DocumentCache,
) -> ChatSchema {
    schema_builder(service, limits)
        .extension(pipeline::Pipeline::new(
            limits.max_complexity,
            cache,
            metrics.clone(),
        ))
        .finish()
}

/// The `/graphql` executor: [`build_schema_with_cache`]'s schema, and the fast path for the
/// documents its cache holds ([`Executor`]).
pub fn build_executor(
    service: ChatService,
    limits: QueryLimits,
    metrics: &Metrics,
    cache: DocumentCache,
) -> Executor {
    let full = build_schema_with_cache(service.clone(), limits, metrics, cache.clone());
    let bare = |mode| {
        schema_builder(service.clone(), limits)
            .validation_mode(mode)
            .finish()
    };
    Executor::new(full, bare, cache, metrics.clone(), limits)
}

/// The schema's types, data and depth limit, without extensions.
fn schema_builder(
    service: ChatService,
    limits: QueryLimits,
) -> SchemaBuilder<QueryRoot, MutationRoot, SubscriptionRoot> {
    Schema::build(QueryRoot, MutationRoot, SubscriptionRoot)
        .data(StoreLoader::batching(service.store().clone()))
        .data(service)
        .limit_depth(limits.max_depth)
}

fn service<'a>(ctx: &Context<'a>) -> &'a ChatService {
    ctx.data_unchecked::<ChatService>()
}

/// Checked paging arguments with the list's default limit.
fn page_request(
    limit: Option<i32>,
    offset: Option<i32>,
    default_limit: u64,
) -> async_graphql::Result<PageRequest> {
    Ok(PageRequest::new(
        limit.map(i64::from),
        offset.map(i64::from),
        default_limit,
    )?)
}
