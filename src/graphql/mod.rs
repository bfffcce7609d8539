//! The GraphQL face: schema, resolvers, the HTTP endpoint and the subscription WebSocket.
//!
//! Resolvers decode arguments into domain input and call one service operation; errors keep
//! their codes through the `From<AppError>` conversion in [`errors`].

mod errors;
mod http;
mod introspection;
mod loaders;
mod mutation;
mod query;
mod scalars;
mod sdl;
mod subscription;
mod syntax;
mod types;
mod variables;
pub mod ws;

use async_graphql::{Context, Schema};

pub use errors::{ErrorCodes, FinishedResponse, finish_response, request_error};
pub use http::{graphql_handler, respond_negotiated};
use introspection::NoSchemaDescription;
pub use loaders::StoreLoader;
pub use mutation::MutationRoot;
pub use query::QueryRoot;
pub use sdl::sdl;
pub use subscription::SubscriptionRoot;
pub use variables::RequiredVariables;
pub use ws::graphql_get;

use crate::domain::PageRequest;
use crate::service::ChatService;

/// Deepest selection nesting a query may have, leaf fields included. graphql-js 16's
/// introspection query (the one GraphiQL sends) is 15 levels deep, with nine levels of
/// `ofType`; 20 leaves room for clients that ask deeper, and a 30-level query is still refused
/// before it runs.
pub const MAX_DEPTH: usize = 20;

/// Largest complexity a query may have. Each field costs 1 and a list costs its page size
/// times its items' cost, so this bounds how many objects one query can ask for.
pub const MAX_COMPLEXITY: usize = 2_500;

/// chatgate's schema type.
pub type ChatSchema = Schema<QueryRoot, MutationRoot, SubscriptionRoot>;

/// Builds the schema around the service.
pub fn build_schema(service: ChatService) -> ChatSchema {
    Schema::build(QueryRoot, MutationRoot, SubscriptionRoot)
        .data(StoreLoader::batching(service.store().clone()))
        .data(service)
        .extension(RequiredVariables)
        .extension(ErrorCodes)
        .extension(NoSchemaDescription)
        .limit_depth(MAX_DEPTH)
        .limit_complexity(MAX_COMPLEXITY)
        .finish()
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

/// Complexity of a paged field: the page size (clamped like the page itself) times the cost
/// of one item. Negative limits are refused later with a clear error; they cost one item here.
/// Capped just above [`MAX_COMPLEXITY`] (anything above is refused anyway), so the sums
/// async-graphql adds up for nested pages can never overflow.
fn page_cost(limit: Option<i32>, default_limit: u64, child_complexity: usize) -> usize {
    let size = limit.map_or(default_limit, |l| u64::try_from(l).unwrap_or(1));
    let size = usize::try_from(PageRequest::clamped(size, 0).limit).unwrap_or(1);
    size.max(1)
        .saturating_mul(child_complexity)
        .saturating_add(1)
        .min(MAX_COMPLEXITY + 1)
}
