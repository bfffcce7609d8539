//! One integration-test binary: every feature file is a module here.

mod helpers;

mod concurrency;
mod connection_timeouts;
mod counting_store;
mod dataloader;
mod edge;
mod edge_sockets;
mod graphql_amplification;
mod graphql_basics;
mod graphql_chats;
mod graphql_conversations;
mod graphql_http;
mod graphql_limits;
mod graphql_validation;
mod graphql_ws_protocol;
mod keys_not_logged;
mod live_across;
mod live_lag;
mod null_propagation;
mod pagination;
mod playground;
mod rest_chat_lists;
mod rest_chats;
mod rest_conversations;
mod rest_cross_transport;
mod rest_errors;
mod rest_health;
mod rest_messages;
mod rest_openapi;
mod schema;
mod shutdown;
mod subscriptions;
mod timestamps;
mod ws_client;
mod ws_join;
