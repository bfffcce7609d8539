//! What a database failure means to a client: the one place that turns `sqlx` errors into
//! [`AppError`]s.
//!
//! A database that cannot be reached (refused or dropped connections, a pool that found no
//! connection in time, a server shutting down or out of connection slots) is
//! `SERVICE_UNAVAILABLE`: the client may retry, and the store reconnects by itself. Anything
//! else is a bug or a broken schema: `INTERNAL_ERROR`, with the cause logged and never sent.

use crate::error::{AppError, ErrorCode};

/// The message clients get while the database is unreachable.
pub const UNREACHABLE: &str = "the database is unreachable";

/// SQLSTATE classes and codes that mean "the server cannot serve us right now": connection
/// exceptions (08), insufficient resources (53, e.g. too many connections), and the server
/// shutting down, crashing or still starting (57P01–57P03).
fn is_unavailable_state(code: &str) -> bool {
    code.starts_with("08") || code.starts_with("53") || matches!(code, "57P01" | "57P02" | "57P03")
}

/// Whether `error` says the database could not be reached (as opposed to a failed statement).
pub fn is_unavailable(error: &sqlx::Error) -> bool {
    match error {
        sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed => true,
        sqlx::Error::Database(db) => db.code().is_some_and(|code| is_unavailable_state(&code)),
        _ => false,
    }
}

/// An unreachable database as clients see it.
pub fn unavailable() -> AppError {
    AppError::new(ErrorCode::ServiceUnavailable, UNREACHABLE)
}

/// Converts a failed database call; `SERVICE_UNAVAILABLE` when the database is unreachable
/// (logged as a warning), `INTERNAL_ERROR` otherwise (logged as an error).
pub fn db_error(error: sqlx::Error) -> AppError {
    if is_unavailable(&error) {
        tracing::warn!(%error, "the database is unreachable");
        unavailable()
    } else {
        AppError::internal(format!("database: {error}"))
    }
}

/// A row the schema should never produce (say, an unknown enum label).
pub fn corrupt(what: impl std::fmt::Display) -> AppError {
    AppError::internal(format!("unexpected data in the database: {what}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connection_failures_are_unavailable_and_others_internal() {
        let refused = std::io::Error::from(std::io::ErrorKind::ConnectionRefused);
        assert_eq!(
            db_error(sqlx::Error::Io(refused)).code(),
            ErrorCode::ServiceUnavailable
        );
        assert_eq!(
            db_error(sqlx::Error::PoolTimedOut).code(),
            ErrorCode::ServiceUnavailable
        );
        assert_eq!(
            db_error(sqlx::Error::RowNotFound).code(),
            ErrorCode::InternalError
        );
        assert_eq!(
            db_error(sqlx::Error::Protocol("bad".into())).code(),
            ErrorCode::InternalError
        );
    }

    #[test]
    fn server_side_states_name_unavailability() {
        for code in ["08006", "08001", "53300", "57P01", "57P03"] {
            assert!(is_unavailable_state(code), "{code}");
        }
        for code in ["23505", "42P01", "40001", "57014"] {
            assert!(!is_unavailable_state(code), "{code}");
        }
    }
}
