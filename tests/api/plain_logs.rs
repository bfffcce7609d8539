//! Pretty log lines written to a pipe or a file (anything but a terminal) carry no terminal
//! colour codes: the real binary's first lines, read through a pipe, are plain text.

use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Command;

#[tokio::test]
async fn pretty_lines_into_a_pipe_have_no_escape_codes() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_chatgate"))
        .args(["--host", "127.0.0.1", "--port", "0"])
        .env_clear()
        .env("LOG_FORMAT", "pretty")
        .env("RUST_LOG", "info")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("the chatgate binary starts");
    let mut lines = BufReader::new(child.stdout.take().expect("piped stdout")).lines();
    let listening = loop {
        let line = tokio::time::timeout(Duration::from_secs(10), lines.next_line())
            .await
            .expect("the server writes a line within 10 s")
            .expect("stdout is readable")
            .expect("the server logs where it listens before its output ends");
        assert!(!line.contains('\u{1b}'), "a colour code in {line:?}");
        if line.contains("chatgate listening") {
            break line;
        }
    };
    assert!(
        listening.contains(" address=127.0.0.1:"),
        "fields read as plain `name=value`: {listening:?}"
    );
}
