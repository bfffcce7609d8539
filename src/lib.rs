//! chatgate: a GraphQL gateway for chat sessions, conversations and assistant messages, which
//! also speaks the REST APIs its older clients use.
//!
//! Transports ([`graphql`], [`rest`]) decode input into [`domain`] types and call one [`service`]
//! operation; the service writes through a [`store`], whose backend sends each committed change
//! into its [`events`] feed, and hands live subscribers one stream per topic. [`app`] wires it
//! all together.
#![forbid(unsafe_code)]

pub mod app;
pub mod assistant;
pub mod body;
pub mod capacity;
pub mod config;
pub mod domain;
pub mod edge;
pub mod error;
pub mod events;
pub mod graphql;
pub mod metrics;
pub mod playground;
pub mod readiness;
pub mod request_id;
pub mod rest;
pub mod server;
pub mod service;
pub mod store;
pub mod telemetry;
pub mod ws;
