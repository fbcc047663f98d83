//! Ownership from the TUI's side, end to end: a deliberate quit frees the
//! owner slot at once; the mouse can be let go for selecting text.

use std::path::Path;
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

use crate::support::TuiTest;

/// Two control identities, alice and bob; returns their tokens.
fn write_two_identities(path: &Path) -> (String, String) {
    use std::os::unix::fs::PermissionsExt;
    let (alice, bob) = (
        "tt_alice_0000000000000000".to_owned(),
        "tt_bob_00000000000000000".to_owned(),
    );
    let file = serde_json::json!({"tokens": [
        {"name": "alice", "token": alice, "grants": ["control"]},
        {"name": "bob", "token": bob, "grants": ["control"]},
    ]});
    std::fs::write(path, file.to_string()).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).unwrap();
    (alice, bob)
}

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn connect(url: &str, token: &str) -> Socket {
    let mut request = url.into_client_request().unwrap();
    request
        .headers_mut()
        .insert("Authorization", format!("Bearer {token}").parse().unwrap());
    tokio_tungstenite::connect_async(request).await.unwrap().0
}

/// The role a new connection with `token` is greeted with.
async fn greeted_role(url: &str, token: &str) -> String {
    let mut socket = connect(url, token).await;
    next_role(&mut socket).await
}

/// The next `role` message's role.
async fn next_role(socket: &mut Socket) -> String {
    loop {
        let frame = tokio::time::timeout(Duration::from_secs(5), socket.next())
            .await
            .expect("a role message within 5 s")
            .unwrap()
            .unwrap();
        if let Message::Text(text) = frame {
            let message: serde_json::Value = serde_json::from_str(&text).unwrap();
            if message["type"] == "role" {
                let role = message["role"].as_str().unwrap();
                let reason = message["reason"].as_str().unwrap_or_default();
                return format!("{role} {reason}").trim().to_owned();
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn an_owner_who_quits_frees_the_session_at_once() {
    let (test, bob) = two_identities();
    let test = test
        .host_config(|config| config.owner_grace = Duration::from_secs(30))
        .start()
        .await;
    // Attached as alice, then Ctrl+Q.
    test.drive(|_| {}).await;
    let quit_at = Instant::now();
    // Another identity connecting now owns the session: the slot was not
    // held for alice's 30 s grace.
    assert!(greeted_role(&test.url(), &bob).await.starts_with("owner"));
    assert!(quit_at.elapsed() < Duration::from_secs(10));
    test.shutdown().await;
}

/// A test whose host knows alice and bob, attached as alice; and bob's
/// token.
fn two_identities() -> (TuiTest, String) {
    let test = TuiTest::new();
    let (alice, bob) = write_two_identities(&test.dir().join("auth.json"));
    (test.token(&alice), bob)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_transfer_is_confirmed_then_recorded_in_the_transcript() {
    let (test, bob) = two_identities();
    let test = test.start().await;
    let url = test.url();
    let (owner_tx, owner_rx) = tokio::sync::oneshot::channel();
    let (joined_tx, joined_rx) = std::sync::mpsc::channel();
    // Alice in the TUI and bob on a socket, side by side.
    let alice = test.drive(move |tui| {
        owner_tx.send(()).unwrap();
        joined_rx.recv().unwrap();
        tui.wait_text("Participants (2)");
        tui.send(b"\t\t\t"); // to the participants pane
        tui.send(b"\x1b[B"); // Down: bob
        tui.send(b"t");
        tui.wait_text("transfer ownership to bob?");
        tui.send(b"y");
        tui.wait_text("⇄ you transferred ownership to bob");
        tui.wait_text("alice (follower)");
    });
    let bob = async {
        owner_rx.await.unwrap();
        let mut bob_socket = connect(&url, &bob).await;
        assert_eq!(
            next_role(&mut bob_socket).await,
            "follower alice owns the session"
        );
        joined_tx.send(()).unwrap();
        assert_eq!(
            next_role(&mut bob_socket).await,
            "owner transferred by alice"
        );
        bob_socket
    };
    let (_tui, _bob_socket) = tokio::join!(alice, bob);
    test.shutdown().await;
}

/// How often `needle` occurs in what the TUI wrote.
fn count(raw: &[u8], needle: &[u8]) -> usize {
    raw.windows(needle.len()).filter(|w| *w == needle).count()
}

#[tokio::test(flavor = "multi_thread")]
async fn mouse_capture_starts_off_with_tether_mouse_0_and_f6_toggles_it() {
    let test = TuiTest::new().size(30, 110).start().await;
    let (attach, path) = (test.attach(), test.dir().to_owned());
    tokio::task::spawn_blocking(move || {
        // Asked for by the environment, by the flag, by the settings file.
        let config = path.join("config");
        std::fs::create_dir_all(config.join("tether")).unwrap();
        std::fs::write(config.join("tether/config.toml"), "mouse = false\n").unwrap();
        let config = config.to_str().unwrap();
        for (env, flags) in [
            (&[("TETHER_MOUSE", "0")][..], &[][..]),
            (&[][..], &["--no-mouse"][..]),
            (&[("XDG_CONFIG_HOME", config)][..], &[][..]),
        ] {
            mouse_starts_free(attach.clone().env(env).args(flags));
        }
    })
    .await
    .unwrap();
    test.shutdown().await;
}

fn mouse_starts_free(attach: crate::support::Attach) {
    {
        let mut tui = attach.spawn();
        tui.wait_text("(owner)");
        // SGR mouse reporting (?1006) was switched on, then off again.
        let raw = tui.raw.lock().unwrap().clone();
        assert_eq!(count(&raw, b"\x1b[?1006h"), 1);
        assert_eq!(count(&raw, b"\x1b[?1006l"), 1, "capture released at start");
        tui.send(b"\x1b[17~"); // F6
        tui.wait_text("wheel scrolls");
        let raw = tui.raw.lock().unwrap().clone();
        assert_eq!(count(&raw, b"\x1b[?1006h"), 2, "capture back on");
        tui.quit();
    }
}

/// Issue 22: F3 in the window, a `--prompt` with the same token, and the
/// transcript says each change of owner, marking this window's own.
#[tokio::test(flavor = "multi_thread")]
async fn the_transcript_says_who_owns_after_f3_and_a_prompt_with_the_same_token() {
    let test = TuiTest::new().start().await;
    let (url, token, dir) = (test.url(), test.token(), test.dir().to_owned());
    test.drive(move |tui| {
        tui.send(b"\x1bOR"); // F3
        tui.wait_text("released it in this window)");
        let prompt = crate::common::tether(&dir)
            .args(["attach", &url, "--token", &token])
            .args(["--prompt", "echo from-prompt", "--allow-all"])
            .stdin(std::process::Stdio::null())
            .output()
            .unwrap();
        assert_eq!(prompt.status.code(), Some(0), "{prompt:?}");
        tui.wait_text("owns the session (connected while nobody owned it)");
        // The prompt gave the slot back as it ended: another line,
        // not this window's.
        tui.wait_for("the prompt's release", |screen| {
            screen.matches("⇄ nobody owns the session").count() == 2
        });
        let screen = tui.screen();
        assert!(
            screen.contains("released it)") && !screen.contains("in this window (connected"),
            "{screen}"
        );
    })
    .await;
    test.shutdown().await;
}
