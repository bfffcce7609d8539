//! One integration-test binary: every feature file is a module here.

mod helpers;

mod edge;
mod graphql_basics;
mod rest_chat_lists;
mod rest_chats;
mod rest_conversations;
mod rest_cross_transport;
mod rest_errors;
mod rest_health;
mod rest_messages;
mod rest_openapi;
