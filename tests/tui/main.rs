//! End-to-end: the real binary in a pseudo-terminal against a real host.

// A test reads top to bottom as one story; the length rule is for code.
#![allow(clippy::too_many_lines)]

mod acp;
// Each test binary uses part of the shared support.
#[allow(dead_code)]
#[path = "../common/mod.rs"]
mod common;
mod decision;
mod demo;
mod feel;
mod flood;
mod keys;
mod ownership;
mod pictures;
mod pty;
mod relay;
mod rules;
mod safety;
mod sessions;
mod support;
mod svg;
mod tls;

use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Stdio};
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};

use pty::Pty;
use support::{Attach, TuiTest};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

/// A host with the shell agent in `dir`.
pub async fn start_host(dir: &Path) -> tether::host::Host {
    common::start_host(dir, tether::host::agent::AgentSpec::Shell, |_| {}).await
}

/// Rows of the transcript pane (the leftmost bordered column) that read
/// exactly `needle`.
fn line_count(screen: &str, needle: &str) -> usize {
    screen
        .lines()
        .filter_map(|l| l.strip_prefix('│'))
        .filter(|rest| rest.split('│').next().unwrap_or("").trim_end() == needle)
        .count()
}

#[tokio::test(flavor = "multi_thread")]
async fn approve_a_command_and_see_its_output() {
    let tui = TuiTest::new()
        .run(|tui| {
            // The command also tries to retitle the terminal: that must not
            // reach it.
            tui.send(b"printf '\\033]0;pwned\\007\\n'; echo hello-from-e2e\r");
            tui.wait_text("asks permission");
            // Tab to the permissions pane, then y.
            tui.send(b"\t");
            tui.send(b"y");
            tui.wait_for("the command's output", |s| {
                line_count(s, "hello-from-e2e") == 1
            });
            tui.wait_text("── done");
            let raw = tui.raw.lock().unwrap().clone();
            assert!(
                !raw.windows(5).any(|w| w == b"\x1b]0;p"),
                "an agent escape reached the terminal"
            );
        })
        .await;
    // It quit (Ctrl+Q, a clean exit) and left the UI's screen.
    tui.with_screen(|s| assert!(!s.alternate_screen(), "left the alternate screen"));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_follower_cannot_send() {
    let test = TuiTest::new().shows("(follower)").start().await;
    // Someone else owns the session first.
    let mut request = test.url().into_client_request().unwrap();
    request.headers_mut().insert(
        "Authorization",
        format!("Bearer {}", test.token()).parse().unwrap(),
    );
    let (mut owner, _) = tokio_tungstenite::connect_async(request).await.unwrap();
    let tui = test
        .open(|tui| {
            tui.wait_text("read-only");
            tui.send(b"echo should-not-run\r");
            tui.send(b"\x1b"); // Esc: no interrupt from a follower
            std::thread::sleep(Duration::from_millis(500));
            let screen = tui.screen();
            assert!(!screen.contains("should-not-run"), "{screen}");
        })
        .await;
    // The owner saw no event at all from the follower's keys.
    let deadline = tokio::time::Instant::now() + Duration::from_millis(300);
    while let Ok(Some(Ok(frame))) = tokio::time::timeout_at(deadline, owner.next()).await {
        if let Message::Text(text) = frame {
            assert!(
                !text.contains("should-not-run") && !text.contains("\"interrupt\""),
                "{text}"
            );
        }
    }
    let _ = owner.send(Message::Close(None)).await;
    drop(tui);
    test.shutdown().await;
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn serve(dir: &Path, port: u16) -> Child {
    let mut child = common::tether(dir)
        .args(["serve", "--listen", &format!("127.0.0.1:{port}"), "--auth"])
        .arg(dir.join("auth.json"))
        .arg("--journal")
        .arg(dir.join("journal"))
        .arg("--cwd")
        .arg(dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    for _ in 0..200 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return child;
        }
        std::thread::sleep(Duration::from_millis(25));
    }
    let _ = child.kill();
    let _ = child.wait();
    panic!("tether serve did not listen on {port}");
}

fn control_token(dir: &Path) -> String {
    let file: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("auth.json")).unwrap()).unwrap();
    file["tokens"][0]["token"].as_str().unwrap().to_owned()
}

fn run_approved(tui: &mut Pty, command: &str, output: &str) {
    tui.send(format!("{command}\r").as_bytes());
    tui.wait_text("Permissions (1)");
    tui.send(b"\t");
    tui.send(b"y");
    tui.send(b"\x1b[Z"); // Shift+Tab back to the input
    tui.wait_for(output, |s| line_count(s, output) == 1);
}

#[test]
fn the_tui_reconnects_to_a_restarted_host_and_catches_up_without_duplicates() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let mut host = serve(dir.path(), port);
    let url = format!("ws://127.0.0.1:{port}/v1/sessions/main");
    let mut tui = Attach::new(&url, &control_token(dir.path()), dir.path()).spawn();
    tui.wait_text("(owner)");
    run_approved(&mut tui, "echo before-restart", "before-restart");

    host.kill().unwrap();
    host.wait().unwrap();
    tui.wait_text("reconnecting in");
    let mut host = serve(dir.path(), port);
    tui.wait_text("connected");
    tui.wait_text("the host restarted");
    // The owner gets its role back and carries on.
    tui.wait_text("(owner)");
    run_approved(&mut tui, "echo after-restart", "after-restart");
    let screen = tui.screen();
    assert_eq!(
        line_count(&screen, "before-restart"),
        1,
        "no duplicates after the replay:\n{screen}"
    );
    assert_eq!(
        screen.matches("▶ ").count(),
        2,
        "two user messages, once each:\n{screen}"
    );
    tui.quit();
    host.kill().unwrap();
    host.wait().unwrap();
}

#[test]
fn attach_errors_are_one_clear_line_and_exit_code_2() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let cases: [(&str, &str); 2] = [
        ("not-a-url", "bad URL"),
        (
            &format!("ws://127.0.0.1:{port}/v1/sessions/main"),
            "connection refused",
        ),
    ];
    for (url, expected) in cases {
        let output = common::tether(dir.path())
            .args(["attach", url, "--token", "tt_0123456789abcdef"])
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(2));
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains(expected), "{stderr}");
        assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn attach_refusals_by_the_host_are_one_line_and_exit_code_2() {
    let dir = tempfile::tempdir().unwrap();
    let host = start_host(dir.path()).await;
    let url = host.url();
    let token = host.control_token().unwrap();
    let cases = [
        (
            url.clone(),
            "tt_wrong_token_0000000".to_owned(),
            "unauthorized (401)",
        ),
        (
            url.replace("/main", "/nope"),
            token,
            "no such session (404)",
        ),
    ];
    for (url, token, expected) in cases {
        let output = common::tether_async(dir.path())
            .args(["attach", &url, "--token", &token])
            .output()
            .await
            .unwrap();
        assert_eq!(output.status.code(), Some(2));
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains(expected), "{stderr}");
        assert!(
            !stderr.contains(&token),
            "errors never echo a token: {stderr}"
        );
        assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
    }
    host.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn headless_prompt_runs_one_turn_and_reports_by_exit_code() {
    let dir = tempfile::tempdir().unwrap();
    let host = start_host(dir.path()).await;
    let url = host.url();
    let token = host.control_token().unwrap();
    let run = |extra: &'static [&'static str], text: &'static str| {
        let (url, token, dir) = (url.clone(), token.clone(), dir.path().to_owned());
        async move {
            let mut args = vec![
                "attach".to_owned(),
                url,
                "--token".into(),
                token,
                "--prompt".into(),
                text.into(),
            ];
            args.extend(extra.iter().map(|s| s.to_string()));
            common::tether_async(&dir)
                .args(args)
                .stdin(Stdio::null())
                .output()
                .await
                .unwrap()
        }
    };
    let ok = run(&["--allow-all"], "echo headless-ok").await;
    let stdout = String::from_utf8_lossy(&ok.stdout);
    assert_eq!(ok.status.code(), Some(0), "{stdout}");
    assert!(stdout.lines().any(|l| l == "headless-ok"), "{stdout}");
    assert!(stdout.lines().any(|l| l.starts_with("── done")), "{stdout}");

    // No terminal to ask on and no --allow-all: denied, and said so.
    let denied = run(&[], "touch never-made").await;
    assert_eq!(denied.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&denied.stderr).contains("no terminal"));
    assert!(!dir.path().join("never-made").exists());

    let failed = run(&["--allow-all"], "exit 4").await;
    assert_eq!(failed.status.code(), Some(1));
    host.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn headless_plain_prints_history_then_live_events() {
    let dir = tempfile::tempdir().unwrap();
    let host = start_host(dir.path()).await;
    let mut watcher = common::tether_async(dir.path())
        .args([
            "attach",
            &host.url(),
            "--token",
            &host.view_token().unwrap(),
            "--plain",
        ])
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let output = common::tether_async(dir.path())
        .args([
            "attach",
            &host.url(),
            "--token",
            &host.control_token().unwrap(),
            "--prompt",
            "echo watched-line",
            "--allow-all",
        ])
        .output()
        .await
        .unwrap();
    assert!(output.status.success());
    let mut lines = tokio::io::BufReader::new(watcher.stdout.take().unwrap());
    let mut seen = String::new();
    let found = tokio::time::timeout(Duration::from_secs(10), async {
        use tokio::io::AsyncBufReadExt;
        loop {
            let mut line = String::new();
            if lines.read_line(&mut line).await.unwrap() == 0 {
                return false;
            }
            seen.push_str(&line);
            if line.trim() == "watched-line" {
                return true;
            }
        }
    })
    .await
    .unwrap_or(false);
    assert!(found, "{seen}");
    let _ = watcher.kill().await;
    host.shutdown().await.unwrap();
}

#[test]
fn plain_tether_hosts_a_shell_session_and_says_how_to_watch() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().to_str().unwrap();
    let config = dir.path().join("config");
    let mut tui = Pty::spawn(
        &[],
        &[
            ("HOME", home),
            ("XDG_CONFIG_HOME", config.to_str().unwrap()),
            ("TETHER_LOG", dir.path().join("log").to_str().unwrap()),
        ],
        30,
        160,
    );
    tui.wait_text("(owner)");
    tui.wait_text("watch: tether attach ws://127.0.0.1:");
    assert!(
        config.join("tether/auth.json").exists(),
        "the view token lives in the default auth file"
    );
    tui.quit();
}

/// A TLS-terminating proxy in front of a host, with a self-signed
/// certificate for `localhost`; returns its port and the certificate (PEM).
async fn tls_proxy(host_addr: String) -> (u16, String) {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let generated = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
    let cert_pem = generated.cert.pem();
    let key = rustls::pki_types::PrivateKeyDer::Pkcs8(generated.signing_key.serialize_der().into());
    let config = rustls::ServerConfig::builder()
        .with_no_client_auth()
        .with_single_cert(vec![generated.cert.der().clone()], key)
        .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(std::sync::Arc::new(config));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let (acceptor, host_addr) = (acceptor.clone(), host_addr.clone());
            tokio::spawn(async move {
                let Ok(mut tls) = acceptor.accept(tcp).await else {
                    return;
                };
                let Ok(mut upstream) = tokio::net::TcpStream::connect(host_addr).await else {
                    return;
                };
                let _ = tokio::io::copy_bidirectional(&mut tls, &mut upstream).await;
            });
        }
    });
    (port, cert_pem)
}

#[tokio::test(flavor = "multi_thread")]
async fn attach_works_through_a_tls_terminating_proxy() {
    let dir = tempfile::tempdir().unwrap();
    let host = start_host(dir.path()).await;
    let host_addr = common::host_addr(&host.url());
    let (port, cert) = tls_proxy(host_addr).await;
    let ca = dir.path().join("ca.pem");
    std::fs::write(&ca, cert).unwrap();
    let url = format!("wss://localhost:{port}/v1/sessions/main");
    let run = |trusted: bool| {
        let mut command = common::tether_async(dir.path());
        command
            .args([
                "attach",
                &url,
                "--token",
                &host.control_token().unwrap(),
                "--prompt",
                "echo over-tls",
                "--allow-all",
            ])
            .env_remove("SSL_CERT_DIR");
        if trusted {
            command.env("SSL_CERT_FILE", &ca);
        } else {
            command.env("SSL_CERT_FILE", dir.path().join("no-such-bundle.pem"));
        }
        command.output()
    };
    let output = run(true).await.unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(stdout.lines().any(|l| l == "over-tls"), "{stdout}");
    // A certificate no root vouches for is refused (headless runs never
    // ask), saying its fingerprint and how to trust it.
    let output = run(false).await.unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    let first = stderr.lines().next().unwrap_or_default();
    assert!(
        first.starts_with(&format!("tether: cannot attach to {url}: "))
            && first.contains("no certificate authority this machine trusts vouches"),
        "{stderr}"
    );
    assert!(stderr.contains("--fingerprint SHA256:"), "{stderr}");
    host.shutdown().await.unwrap();
}
