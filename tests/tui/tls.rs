//! Trust on first use in a terminal: `tether attach wss://…` to a host
//! whose self-signed certificate nobody vouches for asks once, as ssh
//! does, before the full-screen UI takes the terminal; a yes is
//! remembered in known_hosts and later connections are silent; a no
//! connects to nothing and remembers nothing; a changed certificate is
//! refused loudly, never asked about. A deck of several such hosts asks
//! about each in turn.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use tether::host::HostConfig;

use crate::support::TuiTest;

const QUESTION: &str = "Trust it and connect (y/N)?";

/// A self-signed certificate for `localhost` in `dir` (the key 0600);
/// returns the files and the fingerprint.
fn certificate(dir: &Path, name: &str) -> (PathBuf, PathBuf, String) {
    let made = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
    let (cert, key) = (
        dir.join(format!("{name}.pem")),
        dir.join(format!("{name}.key")),
    );
    std::fs::write(&cert, made.cert.pem()).unwrap();
    std::fs::write(&key, made.signing_key.serialize_pem()).unwrap();
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).unwrap();
    let fingerprint = tether::client::pinning::fingerprint(made.cert.der());
    (cert, key, fingerprint)
}

/// A test whose host serves TLS with a fresh certificate, and whose TUI
/// keeps its configuration (known_hosts) in `<dir>/config`.
fn tls_test() -> (TuiTest, String) {
    let test = TuiTest::new();
    let (cert, key, fingerprint) = certificate(test.dir(), "host");
    let config = test.dir().join("config");
    let test = test
        .host_config(move |c: &mut HostConfig| c.tls = Some((cert, key)))
        .env(&[("XDG_CONFIG_HOME", config.to_str().unwrap())]);
    (test, fingerprint)
}

fn known_hosts(dir: &Path) -> PathBuf {
    dir.join("config/tether/known_hosts")
}

fn host_port(url: &str) -> String {
    url.trim_start_matches("wss://")
        .split('/')
        .next()
        .unwrap()
        .to_owned()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_new_host_is_asked_about_once_then_trusted_silently() {
    let (test, fingerprint) = tls_test();
    let running = test.start().await;
    let attach = running.attach();
    let shown = fingerprint.clone();
    tokio::task::spawn_blocking(move || {
        let mut tui = attach.spawn();
        tui.wait_text(QUESTION);
        let screen = tui.screen();
        assert!(
            screen.contains("The authenticity of host '127.0.0.1:") && screen.contains(&shown),
            "{screen}"
        );
        tui.send(b"y\r");
        tui.wait_text("(owner)");
        tui.quit();
    })
    .await
    .unwrap();
    let file = known_hosts(running.dir());
    let expected = format!("{} {fingerprint}\n", host_port(&running.url()));
    assert_eq!(std::fs::read_to_string(&file).unwrap(), expected);
    let mode = std::fs::metadata(&file).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    // Again: no question, straight to the session.
    let tui = running.drive(|_| {}).await;
    let raw = String::from_utf8_lossy(&tui.raw.lock().unwrap()).into_owned();
    assert!(!raw.contains("authenticity"), "{raw}");
    running.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn answering_no_connects_to_nothing_and_remembers_nothing() {
    let (test, _) = tls_test();
    let running = test.start().await;
    let attach = running.attach();
    tokio::task::spawn_blocking(move || {
        let mut tui = attach.spawn();
        tui.wait_text(QUESTION);
        tui.send(b"n\r");
        tui.wait_text("not trusted (answered no)");
        assert_eq!(tui.wait_exit().exit_code(), 2, "{}", tui.screen());
        assert!(!tui.screen().contains("(owner)"));
    })
    .await
    .unwrap();
    assert!(!known_hosts(running.dir()).exists());
    running.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_changed_certificate_is_refused_loudly_and_never_asked_about() {
    let (test, fingerprint) = tls_test();
    let running = test.start().await;
    let file = known_hosts(running.dir());
    std::fs::create_dir_all(file.parent().unwrap()).unwrap();
    let old = tether::client::pinning::fingerprint(b"the certificate it had before");
    let host_port = host_port(&running.url());
    std::fs::write(&file, format!("# mine\n{host_port} {old}\n")).unwrap();
    let attach = running.attach();
    let shown = file.display().to_string();
    let old_again = old.clone();
    tokio::task::spawn_blocking(move || {
        let mut tui = attach.spawn();
        tui.wait_text("Not connecting: the certificate of the host has changed.");
        let screen = tui.screen();
        for needed in [
            "@    WARNING: REMOTE HOST IDENTIFICATION HAS CHANGED!     @",
            &old,
            &fingerprint,
            &format!("line 2 of {shown}"),
            &format!("sed -i '2d' '{shown}'"),
        ] {
            assert!(screen.contains(needed), "{needed}: {screen}");
        }
        assert!(!screen.contains(QUESTION), "{screen}");
        assert_eq!(tui.wait_exit().exit_code(), 2, "{screen}");
    })
    .await
    .unwrap();
    let kept = std::fs::read_to_string(&file).unwrap();
    assert_eq!(kept, format!("# mine\n{host_port} {old_again}\n"));
    running.shutdown().await;
}

/// A deck of two unknown hosts asks about each in turn, before the screen
/// is taken, then shows the sessions.
#[tokio::test(flavor = "multi_thread")]
async fn a_deck_asks_about_each_unknown_host_in_turn() {
    let (test, first_fingerprint) = tls_test();
    // A second host with a certificate of its own and the same tokens.
    let second_dir = tempfile::tempdir().unwrap();
    let (cert, key, second_fingerprint) = certificate(second_dir.path(), "second");
    let auth = test.dir().join("auth.json");
    let second = crate::common::start_host(
        second_dir.path(),
        tether::host::agent::AgentSpec::Shell,
        |c| {
            c.tls = Some((cert, key));
            c.auth_path = auth;
        },
    )
    .await;
    let second_url = second.url();
    let running = test.args(&[&second_url]).start().await;
    let first = host_port(&running.url());
    let attach = running.attach();
    let asked = (first.clone(), first_fingerprint.clone());
    let then = (host_port(&second_url), second_fingerprint.clone());
    tokio::task::spawn_blocking(move || {
        let mut tui = attach.spawn();
        for (host_port, fingerprint) in [asked, then] {
            tui.wait_for(&host_port, |s| {
                s.contains(&format!("host '{host_port}'")) && s.contains(&fingerprint)
            });
            tui.send(b"y\r");
        }
        tui.wait_text("(owner)");
        tui.quit();
    })
    .await
    .unwrap();
    let text = std::fs::read_to_string(known_hosts(running.dir())).unwrap();
    assert_eq!(
        text,
        format!(
            "{first} {first_fingerprint}\n{} {second_fingerprint}\n",
            host_port(&second_url)
        )
    );
    second.shutdown().await.unwrap();
    running.shutdown().await;
}
