//! A private PostgreSQL schema per test: the library's scratch schemas (see
//! `chatgate::store::scratch`), under the name the tests use.

pub use chatgate::store::scratch::ScratchSchema as TestSchema;
