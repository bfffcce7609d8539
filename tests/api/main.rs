//! One integration-test binary: every feature file is a module here.

mod helpers;

mod concurrency;
mod counting_store;
mod dataloader;
mod graphql_basics;
mod graphql_chats;
mod graphql_conversations;
mod graphql_http;
mod graphql_limits;
mod graphql_validation;
mod null_propagation;
mod pagination;
mod schema;
mod shutdown;
mod timestamps;
