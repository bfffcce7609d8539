//! A throwaway `redis-server` of our own on a free loopback port, for tests that stop, pause
//! and restart Redis (never the shared one). The binary is `REDIS_SERVER` (default
//! `/usr/bin/redis-server`); the process is killed on drop.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use chatgate::edge::rate_limit::scratch::skip;

use super::free_port;

/// A private Redis; killed on drop.
pub struct RedisServer {
    pub port: u16,
    binary: PathBuf,
    child: Option<Child>,
}

impl RedisServer {
    /// A running server, or `None` (reported as skipped; a failure under `CI=true`) when this
    /// machine has no `redis-server`.
    pub async fn start() -> Option<RedisServer> {
        let binary = PathBuf::from(
            std::env::var("REDIS_SERVER").unwrap_or_else(|_| "/usr/bin/redis-server".into()),
        );
        if !binary.exists() {
            skip(&format!("no Redis server binary at {}", binary.display()));
            return None;
        }
        let mut server = RedisServer {
            port: free_port(),
            binary,
            child: None,
        };
        server.restart().await;
        Some(server)
    }

    /// `redis://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// Kills the server (as a crash would) and waits for it to be gone.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts a fresh, empty server on the same port (after [`Self::kill`]) and waits until it
    /// answers.
    pub async fn restart(&mut self) {
        self.kill();
        let child = Command::new(&self.binary)
            .args(["--port", &self.port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server starts");
        self.child = Some(child);
        for _ in 0..100 {
            if self.ping().await {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("the throwaway Redis on port {} never answered", self.port);
    }

    /// Stops (`STOP`) or continues (`CONT`) the process: a Redis that hangs without closing
    /// its connections.
    pub fn signal(&self, signal: &str) {
        let pid = self.child.as_ref().expect("a running server").id();
        super::binary::send_to(signal, pid);
    }

    /// Whether the server answers `PING` within a second.
    async fn ping(&self) -> bool {
        let Ok(client) = redis::Client::open(self.url()) else {
            return false;
        };
        let ping = async {
            let mut connection = client.get_multiplexed_async_connection().await?;
            redis::cmd("PING")
                .query_async::<String>(&mut connection)
                .await
        };
        matches!(
            tokio::time::timeout(Duration::from_secs(1), ping).await,
            Ok(Ok(_))
        )
    }

    /// How many requests the server holds in the log of `key`.
    pub async fn zcard(&self, key: &str) -> usize {
        let client = redis::Client::open(self.url()).expect("a valid URL");
        let mut connection = client
            .get_multiplexed_async_connection()
            .await
            .expect("the throwaway Redis answers");
        redis::cmd("ZCARD")
            .arg(key)
            .query_async(&mut connection)
            .await
            .expect("ZCARD answers")
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.kill();
    }
}
