//! One integration-test binary: every feature file is a module here.

mod helpers;

mod graphql_basics;
mod graphql_ws_protocol;
mod live_lag;
mod subscriptions;
mod ws_client;
mod ws_join;
