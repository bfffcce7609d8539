//! Runs the browser suite in `tests/browser/` (Node's test runner driving Debian's Chromium
//! through playwright-core) against the real `chatgate` binary, so `cargo test` covers the
//! playground pages as a person uses them.
//!
//! Without Chromium or Node the suite is reported as skipped, with the reason, except under
//! `CI=true`, where a missing browser is a failure. Screenshots go to
//! `<target dir>/browser-artifacts/`.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The whole suite takes about 20 s; this only stops a hung run.
const SUITE_LIMIT: Duration = Duration::from_secs(300);
const INSTALL_LIMIT: Duration = Duration::from_secs(300);

fn suite_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/browser")
}

/// `<target dir>/browser-artifacts`, found from the binary cargo built for this test.
fn artifacts_dir() -> PathBuf {
    let binary = Path::new(env!("CARGO_BIN_EXE_chatgate"));
    binary
        .parent()
        .and_then(Path::parent)
        .expect("the binary lives in <target>/<profile>/")
        .join("browser-artifacts")
}

/// Says why the suite did not run. Written past the test harness's capture, so it shows.
fn skip(reason: &str) {
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("browser tests cannot run under CI=true: {reason}");
    }
    let _ = writeln!(
        std::io::stderr(),
        "\nbrowser tests SKIPPED: {reason}\n  (install with `apt-get install -y chromium`; Node 20+ with npm is needed too)\n"
    );
}

fn found(program: &str) -> bool {
    Command::new(program)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Waits for `child` up to `limit`, collecting its output; kills it when the limit passes.
fn finish(mut child: Child, limit: Duration) -> (bool, String) {
    let mut stdout = child.stdout.take().expect("stdout is piped");
    let mut stderr = child.stderr.take().expect("stderr is piped");
    let out = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = stdout.read_to_string(&mut text);
        text
    });
    let err = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = stderr.read_to_string(&mut text);
        text
    });
    let deadline = Instant::now() + limit;
    let status = loop {
        if let Some(status) = child.try_wait().expect("the child can be waited on") {
            break Some(status);
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let output = format!(
        "{}{}",
        out.join().expect("stdout reader"),
        err.join().expect("stderr reader")
    );
    match status {
        Some(status) => (status.success(), output),
        None => (false, format!("{output}\n(killed after {limit:?})")),
    }
}

/// `npm ci`, unless `node_modules` already holds exactly what `package-lock.json` pins.
fn install_dependencies(dir: &Path) {
    let lock = std::fs::read(dir.join("package-lock.json")).expect("package-lock.json exists");
    let stamp = dir.join("node_modules/.installed-package-lock.json");
    if std::fs::read(&stamp).is_ok_and(|installed| installed == lock) {
        return;
    }
    let child = Command::new("npm")
        .args(["ci", "--no-audit", "--no-fund", "--prefer-offline"])
        .current_dir(dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("npm starts");
    let (ok, output) = finish(child, INSTALL_LIMIT);
    assert!(ok, "npm ci failed in {}:\n{output}", dir.display());
    std::fs::write(&stamp, lock).expect("node_modules is writable");
}

#[test]
fn the_playground_pages_pass_their_browser_tests_in_headless_chromium() {
    let chromium = std::env::var("CHROMIUM_PATH").unwrap_or_else(|_| "/usr/bin/chromium".into());
    if !Path::new(&chromium).exists() {
        skip(&format!("no Chromium at {chromium}"));
        return;
    }
    if !found("node") || !found("npm") {
        skip("node and npm are not on PATH");
        return;
    }
    let dir = suite_dir();
    install_dependencies(&dir);

    let child = Command::new("node")
        .args(["--test", "--test-reporter=spec", "--test-timeout=60000"])
        .current_dir(&dir)
        .env("CHATGATE_BIN", env!("CARGO_BIN_EXE_chatgate"))
        .env("CHROMIUM_PATH", &chromium)
        .env("ARTIFACTS_DIR", artifacts_dir())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("node starts");
    let (ok, output) = finish(child, SUITE_LIMIT);
    assert!(ok, "browser tests failed:\n{output}");
    let summary: Vec<&str> = output
        .lines()
        .filter(|l| l.starts_with("ℹ tests") || l.starts_with("ℹ pass"))
        .collect();
    let _ = writeln!(
        std::io::stderr(),
        "\nbrowser tests: {} (screenshots in {})",
        summary.join(", "),
        artifacts_dir().display()
    );
}
