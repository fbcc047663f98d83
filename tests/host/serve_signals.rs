//! The real binary: SIGHUP in and out of a terminal, auth file reloads,
//! the printed URL, attach's URL hints and plain `tether`'s journal.

use std::fs::File;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use nix::pty::{OpenptyResult, Winsize, openpty};
use nix::sys::signal::Signal;

use crate::served::*;
use crate::support::*;

fn pty() -> OpenptyResult {
    let size = Winsize {
        ws_row: 30,
        ws_col: 100,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    openpty(Some(&size), None).unwrap()
}

/// Rewrites the auth file in place (same inode), as an editor might.
fn rewrite_auth(path: &Path, text: &str) {
    std::fs::write(path, text).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).unwrap();
}

#[tokio::test]
async fn sighup_stops_a_serve_run_from_a_terminal() {
    let dir = tempfile::tempdir().unwrap();
    let pty = pty();
    drain(File::from(pty.master));
    let mut served = serve_on(dir.path(), "127.0.0.1:0", Stdio::from(pty.slave));
    let mut owner = Client::connect(&served.url, &served.token_with("control"), "").await;
    owner.greeting().await;
    // Closing the terminal sends SIGHUP: the host must not linger.
    served.signal(Signal::SIGHUP);
    let close = owner.expect_close().await.expect("a close frame");
    assert_eq!(u16::from(close.code), 1001);
    let status = tokio::task::spawn_blocking(move || served.wait_exit())
        .await
        .unwrap();
    assert!(status.success(), "{status:?}");
}

#[tokio::test]
async fn sighup_reloads_a_serve_run_without_a_terminal() {
    let dir = tempfile::tempdir().unwrap();
    let mut served = serve(dir.path());
    let view = served.token_with("view");
    let control = served.token_with("control");
    let mut viewer = Client::connect(&served.url, &view, "").await;
    viewer.greeting().await;
    // An unchanged file: only a reload asked for by SIGHUP says so.
    served.signal(Signal::SIGHUP);
    served.wait_stderr("auth: no token changed");
    let fresh = serde_json::json!({"tokens": [
        {"name": "dana", "token": control, "grants": ["control"]},
        {"name": "eve", "token": "tt_eve_000000000000000000", "grants": ["view"]},
    ]});
    rewrite_auth(&served.auth, &fresh.to_string());
    served.signal(Signal::SIGHUP);
    let close = viewer.expect_close().await.expect("a close frame");
    assert_eq!(u16::from(close.code), 4003);
    let line = served.wait_stderr("auth: added");
    assert!(line.starts_with("auth: added eve (view)"), "{line}");
    assert!(line.contains("removed viewer"), "{line}");
    assert!(!served.stderr().contains("tt_"), "names only, never tokens");
    let mut eve = Client::connect(&served.url, "tt_eve_000000000000000000", "").await;
    eve.greeting().await;
    assert!(
        served.is_running(),
        "SIGHUP without a terminal only reloads"
    );
}

#[tokio::test]
async fn a_broken_auth_file_keeps_the_old_tokens() {
    let dir = tempfile::tempdir().unwrap();
    let served = serve(dir.path());
    let control = served.token_with("control");
    rewrite_auth(&served.auth, "{ not json");
    let line = served.wait_stderr("auth file not reloaded");
    assert!(line.contains("old tokens stay"), "{line}");
    let mut owner = Client::connect(&served.url, &control, "").await;
    owner.greeting().await;
}

#[tokio::test]
async fn serve_on_every_interface_prints_an_address_that_answers() {
    let dir = tempfile::tempdir().unwrap();
    let served = serve_on(dir.path(), "0.0.0.0:0", Stdio::null());
    let host = host_addr(&served.url);
    assert!(!host.starts_with("0.0.0.0"), "{}", served.url);
    assert!(!host.ends_with(":0"), "{}", served.url);
    let mut owner = Client::connect(&served.url, &served.token_with("control"), "").await;
    owner.greeting().await;
    let warning = served.wait_stderr("warning:");
    assert!(warning.contains("beyond this machine"), "{warning}");
}

#[test]
fn attach_suggests_a_scheme_when_there_is_none() {
    let out = tether(&[
        "attach",
        "localhost:7878/v1/sessions/main",
        "--token",
        "tt_0000000000000000",
        "--plain",
    ]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("did you mean ws://localhost:7878/v1/sessions/main?"),
        "{stderr}"
    );
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
}

#[test]
fn attach_with_wss_to_a_plain_host_suggests_ws() {
    let dir = tempfile::tempdir().unwrap();
    let served = serve(dir.path());
    let secure = served.url.replacen("ws://", "wss://", 1);
    let token = served.token_with("control");
    let out = tether(&["attach", &secure, "--token", &token, "--plain"]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "answered in plain text, not TLS (it serves ws://, not wss://); did you mean {}?",
            served.url
        )),
        "{stderr}"
    );
}

/// Runs plain `tether` in a terminal, in `cwd`, with `home` as its home,
/// until its journal appears; returns the journal's file name.
fn plain_tether_journal(home: &Path, cwd: &Path) -> String {
    let sessions = home.join(".local/state/tether/sessions");
    let before: Vec<_> = std::fs::read_dir(&sessions)
        .map(|d| d.map(|e| e.unwrap().file_name()).collect())
        .unwrap_or_default();
    let pty = pty();
    drain(File::from(pty.master));
    let slave = pty.slave;
    let mut child = Command::new(crate::common::TETHER)
        .current_dir(cwd)
        .env("HOME", home)
        .env("XDG_CONFIG_HOME", home.join("config"))
        .env_remove("XDG_STATE_HOME")
        .env("TETHER_LOG", home.join("log"))
        .env("TERM", "xterm-256color")
        .stdin(Stdio::from(slave.try_clone().unwrap()))
        .stdout(Stdio::from(slave.try_clone().unwrap()))
        .stderr(Stdio::from(slave))
        .spawn()
        .unwrap();
    let start = Instant::now();
    let journal = loop {
        let fresh = std::fs::read_dir(&sessions).ok().and_then(|d| {
            d.map(|e| e.unwrap().file_name())
                .find(|n| !before.contains(n) && n.to_string_lossy().ends_with(".jsonl"))
        });
        if let Some(name) = fresh {
            break name.to_string_lossy().into_owned();
        }
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "no journal in {}",
            sessions.display()
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    child.kill().unwrap();
    child.wait().unwrap();
    journal
}

#[test]
fn plain_tether_keeps_a_journal_per_directory() {
    let home = tempfile::tempdir().unwrap();
    let one = home.path().join("a/project");
    let two = home.path().join("b/project");
    std::fs::create_dir_all(&one).unwrap();
    std::fs::create_dir_all(&two).unwrap();
    let first = plain_tether_journal(home.path(), &one);
    let second = plain_tether_journal(home.path(), &two);
    assert!(first.starts_with("project-"), "{first}");
    assert!(second.starts_with("project-"), "{second}");
    assert_ne!(first, second, "two directories never share a journal");
}
