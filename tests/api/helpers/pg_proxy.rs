//! A TCP proxy in front of PostgreSQL that counts the statements clients execute and can cut
//! every connection, standing in for a network that drops the database.
//!
//! It reads the frontend half of the wire protocol: after the untyped startup message, each
//! message is a type byte and a length. A statement executes on `E` (extended protocol) or `Q`
//! (simple protocol), so counting those counts round trips that ran SQL, whatever the client
//! library batches around them. Clients must not use TLS through it (`sslmode=disable`).

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use sqlx::postgres::{PgConnectOptions, PgSslMode};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

/// A running proxy; stops when dropped.
pub struct PgProxy {
    pub address: SocketAddr,
    statements: Arc<AtomicUsize>,
    /// Bumped by every cut: connections opened before it end.
    cuts: watch::Sender<u64>,
    refusing: Arc<AtomicBool>,
    accept: tokio::task::JoinHandle<()>,
}

impl PgProxy {
    /// Listens on a free loopback port and forwards to `upstream`.
    pub async fn start(upstream: SocketAddr) -> PgProxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind port 0");
        let address = listener.local_addr().expect("bound address");
        let statements = Arc::new(AtomicUsize::new(0));
        let refusing = Arc::new(AtomicBool::new(false));
        let (cuts, _) = watch::channel(0);
        let accept = tokio::spawn({
            let statements = statements.clone();
            let cuts = cuts.clone();
            let refusing = refusing.clone();
            async move {
                while let Ok((client, _)) = listener.accept().await {
                    if refusing.load(Ordering::SeqCst) {
                        continue;
                    }
                    let statements = statements.clone();
                    let cuts = cuts.subscribe();
                    let opened_after = *cuts.borrow();
                    tokio::spawn(forward(client, upstream, statements, cuts, opened_after));
                }
            }
        });
        PgProxy {
            address,
            statements,
            cuts,
            refusing,
            accept,
        }
    }

    /// `options` redirected through this proxy, without TLS.
    pub fn options(&self, options: PgConnectOptions) -> PgConnectOptions {
        options
            .host("127.0.0.1")
            .port(self.address.port())
            .ssl_mode(PgSslMode::Disable)
    }

    /// Statements executed through the proxy since the last [`reset`](Self::reset).
    pub fn statements(&self) -> usize {
        self.statements.load(Ordering::SeqCst)
    }

    pub fn reset(&self) {
        self.statements.store(0, Ordering::SeqCst);
    }

    /// Drops every open connection and refuses new ones until [`restore`](Self::restore).
    pub fn cut(&self) {
        self.refusing.store(true, Ordering::SeqCst);
        self.cuts.send_modify(|cuts| *cuts += 1);
    }

    pub fn restore(&self) {
        self.refusing.store(false, Ordering::SeqCst);
    }
}

impl Drop for PgProxy {
    fn drop(&mut self) {
        self.cut();
        self.accept.abort();
    }
}

async fn forward(
    mut client: TcpStream,
    upstream: SocketAddr,
    statements: Arc<AtomicUsize>,
    mut cuts: watch::Receiver<u64>,
    opened_after: u64,
) {
    let Ok(mut server) = TcpStream::connect(upstream).await else {
        return;
    };
    let (mut client_read, mut client_write) = client.split();
    let (mut server_read, mut server_write) = server.split();
    let upstream_bytes = async {
        let mut startup = true;
        loop {
            let message = if startup {
                read_startup(&mut client_read).await
            } else {
                read_typed(&mut client_read).await
            };
            let Some(message) = message else { break };
            if !startup && matches!(message.first(), Some(b'E' | b'Q')) {
                statements.fetch_add(1, Ordering::SeqCst);
            }
            startup = false;
            if server_write.write_all(&message).await.is_err() {
                break;
            }
        }
    };
    let downstream_bytes = async {
        let _ = tokio::io::copy(&mut server_read, &mut client_write).await;
    };
    tokio::select! {
        _ = upstream_bytes => {},
        _ = downstream_bytes => {},
        _ = cuts.wait_for(|cuts| *cuts != opened_after) => {},
    }
}

/// The startup message: a length (counting itself) and a body, no type byte.
async fn read_startup(read: &mut (impl AsyncReadExt + Unpin)) -> Option<Vec<u8>> {
    let mut length = [0u8; 4];
    read.read_exact(&mut length).await.ok()?;
    let total = u32::from_be_bytes(length) as usize;
    let mut message = length.to_vec();
    message.resize(total.max(4), 0);
    read.read_exact(&mut message[4..]).await.ok()?;
    Some(message)
}

/// A typed message: its type byte, a length (counting itself but not the type) and a body.
async fn read_typed(read: &mut (impl AsyncReadExt + Unpin)) -> Option<Vec<u8>> {
    let mut head = [0u8; 5];
    read.read_exact(&mut head).await.ok()?;
    let length = u32::from_be_bytes([head[1], head[2], head[3], head[4]]) as usize;
    let mut message = head.to_vec();
    message.resize(1 + length.max(4), 0);
    read.read_exact(&mut message[5..]).await.ok()?;
    Some(message)
}
