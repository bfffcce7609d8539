//! A throwaway PostgreSQL cluster of our own, for tests that stop and restart the database
//! (never the shared server). Built with the binaries in `PG_BIN` (default
//! `/usr/lib/postgresql/15/bin`) on a free loopback port, in a temporary directory removed on
//! drop. As root, the cluster runs as the `postgres` user, since PostgreSQL refuses root.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::str::FromStr;

use sqlx::postgres::PgConnectOptions;

use chatgate::store::scratch::skip;

use super::free_port;

/// A private cluster; stopped and deleted on drop.
pub struct PgCluster {
    pub port: u16,
    dir: PathBuf,
    bin: PathBuf,
}

fn running_as_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|out| String::from_utf8_lossy(&out.stdout).trim() == "0")
}

/// Runs a PostgreSQL program, as `postgres` when we are root.
fn run(program: &Path, args: &[&str]) -> std::process::Output {
    let mut command = if running_as_root() {
        let mut command = Command::new("runuser");
        command.args(["-u", "postgres", "--"]).arg(program);
        command
    } else {
        Command::new(program)
    };
    command
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{} runs: {e}", program.display()))
}

impl PgCluster {
    /// A new, running cluster, or `None` (reported as skipped; a failure under `CI=true`) when
    /// this machine has no PostgreSQL binaries.
    pub fn start() -> Option<PgCluster> {
        let bin = PathBuf::from(
            std::env::var("PG_BIN").unwrap_or_else(|_| "/usr/lib/postgresql/15/bin".into()),
        );
        if !bin.join("initdb").exists() {
            skip(&format!("no PostgreSQL binaries in {}", bin.display()));
            return None;
        }
        let dir = std::env::temp_dir().join(format!(
            "chatgate-pg-{}-{}",
            std::process::id(),
            uuid::Uuid::new_v4().simple()
        ));
        std::fs::create_dir_all(&dir).expect("a temporary directory");
        if running_as_root() {
            let status = Command::new("chown")
                .args(["-R", "postgres:postgres"])
                .arg(&dir)
                .status()
                .expect("chown runs");
            assert!(
                status.success(),
                "the cluster directory is handed to postgres"
            );
        }
        let data = dir.join("data");
        let out = run(
            &bin.join("initdb"),
            &[
                "-D",
                data.to_str().expect("UTF-8 path"),
                "-U",
                "postgres",
                "--auth=trust",
                "--no-sync",
                "--no-instructions",
            ],
        );
        assert!(
            out.status.success(),
            "initdb: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let cluster = PgCluster {
            port: free_port(),
            dir,
            bin,
        };
        cluster.resume();
        Some(cluster)
    }

    /// Options reaching the cluster's `postgres` database.
    pub fn options(&self) -> PgConnectOptions {
        PgConnectOptions::from_str(&self.url()).expect("a valid URL")
    }

    /// The cluster's `DATABASE_URL`.
    pub fn url(&self) -> String {
        format!(
            "postgres://postgres@127.0.0.1:{}/postgres?sslmode=disable",
            self.port
        )
    }

    fn pg_ctl(&self, args: &[&str]) -> std::process::Output {
        let data = self.dir.join("data");
        let mut all = vec!["-D", data.to_str().expect("UTF-8 path")];
        all.extend_from_slice(args);
        run(&self.bin.join("pg_ctl"), &all)
    }

    /// Stops the server (fast: open connections are cut) and waits until it is down.
    pub fn stop(&self) {
        let out = self.pg_ctl(&["stop", "-m", "fast", "-w"]);
        assert!(
            out.status.success(),
            "pg_ctl stop: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// Starts the (stopped) server on its port and waits until it accepts connections.
    pub fn resume(&self) {
        let socket_dir = self.dir.to_str().expect("UTF-8 path");
        let log = self.dir.join("log");
        let options = format!(
            "-p {} -c listen_addresses=127.0.0.1 -k {socket_dir} -c fsync=off",
            self.port
        );
        let out = self.pg_ctl(&[
            "start",
            "-w",
            "-l",
            log.to_str().expect("UTF-8 path"),
            "-o",
            &options,
        ]);
        assert!(
            out.status.success(),
            "pg_ctl start: {} {}",
            String::from_utf8_lossy(&out.stdout),
            std::fs::read_to_string(&log).unwrap_or_default()
        );
    }
}

impl Drop for PgCluster {
    fn drop(&mut self) {
        let _ = self.pg_ctl(&["stop", "-m", "immediate", "-w"]);
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
