//! One integration-test binary: every feature file is a module here.

mod helpers;

mod graphql_basics;
