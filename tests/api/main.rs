//! One integration-test binary: every feature file is a module here.

mod helpers;

mod edge;
mod graphql_basics;
mod playground;
