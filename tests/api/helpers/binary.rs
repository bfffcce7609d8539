//! The real `chatgate` binary as a child process, for what only a process shows: signals,
//! exit status and every line it logs.

use std::process::Stdio;
use std::time::Duration;

use serde_json::Value;
use tokio::io::{AsyncBufReadExt, BufReader, Lines};
use tokio::process::{Child, ChildStdout, Command};
use tokio::time::timeout;

/// `--shutdown-timeout` given to the server: the longest a graceful stop may take.
pub const DRAIN_SECS: u64 = 5;

/// A running binary with its log lines still to read.
pub struct Server {
    pub child: Child,
    pub stdout: Lines<BufReader<ChildStdout>>,
    pub address: String,
    /// The log lines written before the one saying where it listens.
    pub startup: Vec<Value>,
}

/// Parses a log line, failing the test if it is not JSON.
pub fn json_line(line: &str) -> Value {
    serde_json::from_str(line).unwrap_or_else(|e| panic!("log line is not JSON ({e}): {line}"))
}

pub async fn next_line(stdout: &mut Lines<BufReader<ChildStdout>>) -> Option<String> {
    timeout(Duration::from_secs(10), stdout.next_line())
        .await
        .expect("the server writes a line within 10 s")
        .expect("stdout is readable")
}

/// Starts the binary on a free loopback port with JSON logs and `env` added to a clean
/// environment; returns once it logged where it listens.
pub async fn start(env: &[(&str, &str)]) -> Server {
    start_command(Command::new(env!("CARGO_BIN_EXE_chatgate")), env).await
}

/// Like [`start`], with the open-file limit of the process set to `soft` (and `hard`) by the
/// system's `prlimit`, which then runs the binary in its place (same process id).
pub async fn start_with_file_limit(soft: u64, hard: u64, env: &[(&str, &str)]) -> Server {
    let mut command = Command::new("prlimit");
    command
        .arg(format!("--nofile={soft}:{hard}"))
        .arg(env!("CARGO_BIN_EXE_chatgate"));
    start_command(command, env).await
}

async fn start_command(mut command: Command, env: &[(&str, &str)]) -> Server {
    let mut child = command
        .args(["--host", "127.0.0.1", "--port", "0"])
        .args(["--shutdown-timeout", &DRAIN_SECS.to_string()])
        .env_clear()
        .env("LOG_FORMAT", "json")
        .env("RUST_LOG", "info")
        .envs(env.iter().copied())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("the chatgate binary starts");
    let mut stdout = BufReader::new(child.stdout.take().expect("piped stdout")).lines();
    let mut startup = Vec::new();
    loop {
        let line = next_line(&mut stdout)
            .await
            .expect("the server logs where it listens before anything else ends");
        let entry = json_line(&line);
        if entry["message"] == "chatgate listening" {
            let address = entry["address"].as_str().expect("address field").to_owned();
            let port = address.rsplit(':').next().expect("a port");
            assert_eq!(
                entry["playground"],
                format!("http://127.0.0.1:{port}/playground")
            );
            return Server {
                child,
                stdout,
                address,
                startup,
            };
        }
        startup.push(entry);
    }
}

/// Sends `signal` (`TERM` or `INT`) with the system's `kill`.
pub fn send(signal: &str, child: &Child) {
    send_to(signal, child.id().expect("the server is running"));
}

/// Sends `signal` (`TERM`, `STOP`, `CONT`, …) to the process `pid` with the system's `kill`.
pub fn send_to(signal: &str, pid: u32) {
    let status = std::process::Command::new("kill")
        .args(["-s", signal, &pid.to_string()])
        .status()
        .expect("kill runs");
    assert!(status.success(), "kill -s {signal} {pid}");
}
