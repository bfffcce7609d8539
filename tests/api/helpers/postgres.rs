//! A private PostgreSQL schema per test (the library's scratch schemas, see
//! `chatgate::store::scratch`, under the name the tests use), and the second pass of behaviour
//! suites on a PostgreSQL store inside plain `cargo test`.
//!
//! A feature file names the tests that should also run with every app on a PostgreSQL store of
//! its own: `again_on_postgres!(test_a, test_b);` adds `on_postgres::test_a` and so on, which
//! run the same function with [`spawn_app`](super::spawn_app) and its siblings backed by a fresh
//! schema. Without a reachable server they say `skipped: <reason>` and pass (fail under
//! `CI=true`). `CHATGATE_TEST_STORE=postgres` puts every test app on PostgreSQL instead.

use std::cell::Cell;

pub use chatgate::store::scratch::ScratchSchema as TestSchema;

thread_local! {
    /// Whether the test running on this thread asked for PostgreSQL-backed apps.
    static ON_POSTGRES: Cell<bool> = const { Cell::new(false) };
}

/// Whether apps spawned now get a PostgreSQL store: inside [`run_on_postgres`], or everywhere
/// with `CHATGATE_TEST_STORE=postgres`.
pub fn wanted() -> bool {
    ON_POSTGRES.with(Cell::get)
        || std::env::var("CHATGATE_TEST_STORE").is_ok_and(|s| s == "postgres")
}

/// Runs `test` (a `#[tokio::test]` function, which builds its runtime on this thread and
/// spawns its apps from it) with every app on a PostgreSQL store; returns at once, reported as
/// skipped, when no server answers.
pub fn run_on_postgres(test: fn()) {
    let reachable = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime")
        .block_on(TestSchema::create());
    let Some(probe) = reachable else {
        return;
    };
    drop(probe);
    ON_POSTGRES.with(|on| on.set(true));
    test();
}

/// Adds `on_postgres::<name>` for each named test of the calling file: the same test with its
/// apps on PostgreSQL (see the module documentation).
macro_rules! again_on_postgres {
    ($($test:ident),* $(,)?) => {
        /// The tests above again, every app on a PostgreSQL store of its own.
        mod on_postgres {
            $(
                #[test]
                fn $test() {
                    $crate::helpers::postgres::run_on_postgres(super::$test);
                }
            )*
        }
    };
}
pub(crate) use again_on_postgres;
