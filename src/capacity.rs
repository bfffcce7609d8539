//! How many connections the process can take: a listen queue deep enough for bursts of
//! connects, the open-file limit raised as far as the system allows, and the WebSocket cap kept
//! below that limit so HTTP requests, files and the database always find a descriptor.

use std::net::SocketAddr;

use tokio::net::{TcpListener, TcpSocket};

use crate::config::Config;

/// Connects the kernel queues while none is accepted yet. tokio's `TcpListener::bind` asks for
/// 128, and a burst beyond that overflows the queue: those clients wait 1 to 3 s to retry.
/// The kernel caps it at `net.core.somaxconn` (4096 on current kernels).
pub const LISTEN_BACKLOG: u32 = 4096;

/// Open files kept free of WebSockets for HTTP connections, files and the database; without
/// them a full socket cap would leave no descriptor to accept `/health` with.
pub const FILE_RESERVE: u64 = 1024;

/// A listener on `address` with a [`LISTEN_BACKLOG`]-deep queue (and, like tokio's own bind,
/// `SO_REUSEADDR`, so a restarted server can take its port back at once).
pub fn listen(address: SocketAddr) -> std::io::Result<TcpListener> {
    let socket = if address.is_ipv4() {
        TcpSocket::new_v4()?
    } else {
        TcpSocket::new_v6()?
    };
    socket.set_reuseaddr(true)?;
    socket.bind(address)?;
    socket.listen(LISTEN_BACKLOG)
}

/// The open-file limits of the process, before and after [`raise_open_file_limit`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileLimit {
    /// The soft limit the process started with.
    pub before: u64,
    /// The soft limit now in force: what the process can open.
    pub now: u64,
    /// The hard limit: the most the soft limit may be raised to without privileges.
    pub hard: u64,
}

/// Raises the soft open-file limit to the hard limit, as every live socket holds a descriptor.
pub fn raise_open_file_limit() -> std::io::Result<FileLimit> {
    let (before, hard) = rlimit::getrlimit(rlimit::Resource::NOFILE)?;
    let now = rlimit::increase_nofile_limit(hard)?;
    Ok(FileLimit { before, now, hard })
}

/// The socket cap that fits `open_files`: `requested`, or fewer so that [`FILE_RESERVE`]
/// descriptors stay free (at least one socket, however low the limit).
pub fn socket_cap(requested: usize, open_files: u64) -> usize {
    let room = open_files.saturating_sub(FILE_RESERVE).max(1);
    usize::try_from(room).map_or(requested, |room| requested.min(room))
}

/// Raises the open-file limit and lowers `config.max_websockets` to fit it, logging both; if
/// the limit cannot be read, says so and keeps the configured cap.
pub fn fit_to_open_files(config: &mut Config) {
    let requested = config.max_websockets;
    match raise_open_file_limit() {
        Ok(limit) => {
            config.max_websockets = socket_cap(requested, limit.now);
            tracing::info!(
                open_files = limit.now,
                open_files_before = limit.before,
                open_files_hard = limit.hard,
                max_websockets = config.max_websockets,
                requested_max_websockets = requested,
                "open-file limit and socket cap"
            );
            if config.max_websockets < requested {
                tracing::warn!(
                    requested_max_websockets = requested,
                    max_websockets = config.max_websockets,
                    reserve = FILE_RESERVE,
                    "MAX_WEBSOCKETS lowered to fit the open-file limit"
                );
            }
        }
        Err(error) => tracing::warn!(
            %error,
            max_websockets = requested,
            "the open-file limit could not be read or raised"
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_socket_cap_leaves_the_reserve_free() {
        assert_eq!(socket_cap(10_000, 20_000), 10_000);
        assert_eq!(socket_cap(1_000_000, 20_000), 20_000 - 1024);
        assert_eq!(socket_cap(50_000, 1024), 1);
        assert_eq!(socket_cap(50_000, u64::MAX), 50_000);
    }

    #[test]
    fn the_open_file_limit_is_raised_to_the_hard_limit() {
        let (_, hard) = rlimit::getrlimit(rlimit::Resource::NOFILE).expect("readable");
        let lowered = hard.saturating_sub(1).max(64);
        rlimit::setrlimit(rlimit::Resource::NOFILE, lowered, hard).expect("lowering is allowed");
        let limit = raise_open_file_limit().expect("the limit can be read and raised");
        assert_eq!(limit.before, lowered);
        assert_eq!(limit.now, limit.hard);
        assert!(limit.before <= limit.now);
        let (soft, _) = rlimit::getrlimit(rlimit::Resource::NOFILE).expect("readable");
        assert_eq!(soft, limit.hard);
    }
}
