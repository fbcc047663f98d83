//! Many sessions on several hosts in one screen: the list, switching, a
//! notification for a request elsewhere, and answering it from the inbox.

use std::path::Path;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use tether::host::agent::AgentSpec;
use tether::host::sessions::SessionSpec;
use tether::host::{Host, HostConfig};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

use crate::support::{Attach, TuiTest};

const ALICE: &str = "tt_alice_0000000000000000";

fn write_auth(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    let file = serde_json::json!({"tokens": [
        {"name": "alice", "token": ALICE, "grants": ["control"]},
    ]});
    std::fs::write(path, file.to_string()).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).unwrap();
}

/// Shell sessions `ids`, each in its own directory under `dir`.
fn sessions_in(dir: &Path, ids: &[&str]) -> Vec<SessionSpec> {
    ids.iter()
        .map(|id| {
            let cwd = dir.join(id);
            std::fs::create_dir_all(&cwd).unwrap();
            let mut spec = SessionSpec::new(*id, AgentSpec::Shell);
            spec.cwd = cwd;
            spec
        })
        .collect()
}

/// A host of shell sessions `ids` in `dir`, alice its one identity.
fn host_of(dir: &Path, ids: &[&str]) -> HostConfig {
    write_auth(&dir.join("auth.json"));
    let mut config = crate::common::host_config(dir, AgentSpec::Shell);
    config.sessions = sessions_in(dir, ids);
    config
}

/// A test on a host of shell sessions `ids`, attached as alice to the
/// first and waiting for it.
fn test_of(ids: &[&str]) -> TuiTest {
    let test = TuiTest::new();
    write_auth(&test.dir().join("auth.json"));
    let sessions = sessions_in(test.dir(), ids);
    test.host_config(|config| config.sessions = sessions)
        .token(ALICE)
        .shows(&format!("{} · shell", ids[0]))
}

/// As alice from a script: asks to run `command` in the session at `url`,
/// waits for the permission request, then lets the session go (release),
/// so whoever opens it next owns it.
async fn raise_request(url: &str, command: &str) {
    let mut request = url.into_client_request().unwrap();
    let bearer = format!("Bearer {ALICE}").parse().unwrap();
    request.headers_mut().insert("Authorization", bearer);
    let (mut socket, _) = tokio_tungstenite::connect_async(request).await.unwrap();
    let message = serde_json::json!({"type": "user_message", "id": "m1", "text": command});
    socket
        .send(Message::text(message.to_string()))
        .await
        .unwrap();
    loop {
        let frame = tokio::time::timeout(Duration::from_secs(10), socket.next())
            .await
            .expect("the request in time")
            .unwrap()
            .unwrap();
        if let Message::Text(text) = frame
            && text.contains("\"permission_request\"")
        {
            break;
        }
    }
    let release = serde_json::json!({"type": "release", "id": "r1"});
    socket
        .send(Message::text(release.to_string()))
        .await
        .unwrap();
    socket.close(None).await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn two_hosts_in_one_screen_switch_notify_and_answer_from_the_inbox() {
    let dir_b = tempfile::tempdir().unwrap();
    let host_b = Host::start(host_of(dir_b.path(), &["ops"])).await.unwrap();
    let ops = host_b.session_url("ops");
    let host_b_url = format!("ws://{}", host_b.addr());
    // Host A's session api first, then all of host B.
    let host_a = test_of(&["api", "web"])
        .args(&[&host_b_url])
        .size(36, 140)
        .start()
        .await;
    assert_eq!(host_a.url(), host_a.host.session_url("api"));
    let mut tui = host_a
        .open(|tui| {
            // Both hosts are listed, each under its name.
            tui.wait_text("ops");
            tui.wait_text("web");
        })
        .await;

    // A request in a session not on screen: a notification, and the
    // title counts it.
    raise_request(&ops, "touch from-inbox").await;
    let mut tui = tokio::task::spawn_blocking(move || {
        tui.wait_text("⚠1");
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        loop {
            let raw = String::from_utf8_lossy(&tui.raw.lock().unwrap()).into_owned();
            if raw.contains("\x1b]9;tether: ") && raw.contains("/ops: asks permission") {
                assert!(
                    raw.contains("\x1b]0;tether · 1 request waiting"),
                    "the title"
                );
                break;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "no notification written"
            );
            std::thread::sleep(Duration::from_millis(25));
        }

        // The inbox answers it in place, in the session's own decision view.
        tui.send(b"\x07"); // Ctrl+G
        tui.wait_text("Inbox · 1 waiting");
        tui.wait_text("ops  shell touch from-inbox");
        tui.wait_text("$ touch from-inbox");
        tui.wait_text("1. Allow once");
        tui.send(b"y");
        // Nothing is left: it closes by itself, and says what was done.
        tui.wait_for("the inbox closed", |s| !s.contains("Inbox"));
        tui.wait_text("✓ allowed in ops: shell touch from-inbox");
        // Switching between the sessions of the two hosts, in list order.
        tui.send(b"\x1b[1;3B"); // Alt+Down: web (host A)
        tui.wait_text("web · shell");
        tui.send(b"\x1b[1;3B"); // Alt+Down: ops (host B)
        tui.wait_text("ops · shell");
        tui.send(b"\x1b[1;3A"); // Alt+Up: web again
        tui.wait_text("web · shell");
        tui
    })
    .await
    .unwrap();
    let ran = dir_b.path().join("ops/from-inbox");
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while !ran.exists() {
        assert!(
            std::time::Instant::now() < deadline,
            "the allowed command ran"
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    tokio::task::spawn_blocking(move || tui.quit())
        .await
        .unwrap();
    host_a.shutdown().await;
    host_b.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn an_admin_makes_a_session_from_the_ui() {
    use std::os::unix::fs::PermissionsExt;
    let test = test_of(&["first"]).size(30, 110);
    let auth = serde_json::json!({"tokens": [
        {"name": "alice", "token": ALICE, "grants": ["control", "admin"]},
    ]});
    let auth_path = test.dir().join("auth.json");
    std::fs::write(&auth_path, auth.to_string()).unwrap();
    std::fs::set_permissions(&auth_path, std::fs::Permissions::from_mode(0o600)).unwrap();
    std::fs::create_dir_all(test.dir().join("work/made")).unwrap();
    let work = test.dir().join("work");
    let test = test
        .host_config(move |config| {
            config.presets.insert(
                "shell".into(),
                tether::host::agent::Preset::new(AgentSpec::Shell),
            );
            config.workspaces = vec![work];
        })
        .start()
        .await;
    assert_eq!(test.url(), test.host.session_url("first"));
    let tui = test
        .open(|tui| {
            tui.send(b"\x0e"); // Ctrl+N
            tui.wait_text("New session on");
            // The directory is the first field, and has the keys.
            tui.send(b"made\r");
            tui.wait_text("made · shell");
            tui.wait_text("~/work/made");
            // A directory that does not exist is made on a second Enter.
            tui.send(b"\x0e");
            tui.wait_text("New session on");
            tui.send(b"fresh\r");
            tui.wait_text("directory fresh does not exist: Enter makes it");
            tui.send(b"\r");
            tui.wait_text("fresh · shell");
        })
        .await;
    assert!(test.host.session_ids().contains(&"made".to_owned()));
    assert!(test.dir().join("work/fresh").is_dir());
    drop(tui);
    test.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_host_that_is_down_never_keeps_the_others_away() {
    let test = test_of(&["api", "web"]).start().await;
    let down = format!("ws://127.0.0.1:{}", crate::free_port());
    let up = format!("ws://{}", test.host.addr());
    // The host that is down first, then the one that is up.
    let attach = Attach::new(&down, ALICE, test.dir())
        .args(&[&up])
        .size(30, 120);
    tokio::task::spawn_blocking(move || {
        let mut tui = attach.spawn();
        tui.wait_text("api · shell");
        tui.wait_text("down: connection refused");
        tui.quit();
    })
    .await
    .unwrap();
    test.shutdown().await;
}

#[test]
fn a_host_without_a_session_list_is_named_as_such() {
    use std::io::{Read, Write};
    // An older host: every request but its one session's gets a 404.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("ws://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for stream in listener.incoming().take(4) {
            let Ok(mut stream) = stream else { return };
            let mut request = [0u8; 4096];
            let _ = stream.read(&mut request);
            let _ = stream.write_all(b"HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n");
        }
    });
    let dir = tempfile::tempdir().unwrap();
    let mut tui = Attach::new(&url, ALICE, dir.path()).size(24, 100).spawn();
    let status = tui.wait_exit();
    assert_eq!(status.exit_code(), 2);
    let screen = tui.screen();
    assert!(screen.contains("has no session list"), "{screen}");
    assert!(screen.contains("/v1/sessions/ID"), "{screen}");
}

/// Attached to a whole host, looking at its sessions takes none of them,
/// nor does typing a draft; sending claims, and the status bar says so.
#[tokio::test(flavor = "multi_thread")]
async fn glancing_through_a_host_takes_nothing_and_sending_claims() {
    let test = test_of(&["api", "web"]).start().await;
    let host_url = format!("ws://{}", test.host.addr());
    let attach = Attach::new(&host_url, ALICE, test.dir()).size(30, 120);
    tokio::task::spawn_blocking(move || {
        let mut tui = attach.spawn();
        tui.wait_text("api · shell");
        tui.wait_text("alice (follower)");
        tui.send(b"\x1b[1;3B"); // Alt+Down: web
        tui.wait_text("web · shell");
        tui.wait_text("alice (follower)");
        let screen = tui.screen();
        assert!(
            !screen.contains("idle · alice"),
            "the list shows no owner: {screen}"
        );
        tui.send(b"pwd");
        tui.wait_text("│pwd");
        let screen = tui.screen();
        assert!(
            screen.contains("alice (follower)") && screen.contains("sending claims"),
            "typing only drafts: {screen}"
        );
        tui.send(b"\r");
        tui.wait_text("claiming the session");
        tui.wait_text("alice (owner)");
        tui.wait_text("Allow once");
        tui.quit();
    })
    .await
    .unwrap();
    test.shutdown().await;
}

/// Ctrl+K jumps to a session by name; Ctrl+^ (the byte 0x1e) goes back.
#[tokio::test(flavor = "multi_thread")]
async fn ctrl_k_jumps_by_name_and_ctrl_caret_goes_back() {
    let test = test_of(&["api", "web", "ops"]).start().await;
    let host_url = format!("ws://{}", test.host.addr());
    let attach = Attach::new(&host_url, ALICE, test.dir()).size(30, 120);
    tokio::task::spawn_blocking(move || {
        let mut tui = attach.spawn();
        tui.wait_text("api · shell");
        tui.send(b"\x0b"); // Ctrl+K
        tui.wait_text("filter:");
        tui.send(b"ops\r");
        tui.wait_text("ops · shell");
        tui.send(b"\x1e"); // Ctrl+^
        tui.wait_text("api · shell");
        tui.send(b"\x1b\t"); // Alt+Tab
        tui.wait_text("ops · shell");
        tui.quit();
    })
    .await
    .unwrap();
    test.shutdown().await;
}

/// From the list (the picker), an admin deletes a session and restarts
/// another's agent, each after a y/n question; the host does it.
#[tokio::test(flavor = "multi_thread")]
async fn an_admin_deletes_and_restarts_sessions_from_the_list() {
    use std::os::unix::fs::PermissionsExt;
    let test = test_of(&["api", "web"]);
    let auth = serde_json::json!({"tokens": [
        {"name": "alice", "token": ALICE, "grants": ["control", "admin"]},
    ]});
    let auth_path = test.dir().join("auth.json");
    std::fs::write(&auth_path, auth.to_string()).unwrap();
    std::fs::set_permissions(&auth_path, std::fs::Permissions::from_mode(0o600)).unwrap();
    let test = test.start().await;
    let host_url = format!("ws://{}", test.host.addr());
    let attach = Attach::new(&host_url, ALICE, test.dir()).size(30, 120);
    tokio::task::spawn_blocking(move || {
        let mut tui = attach.spawn();
        tui.wait_text("api · shell");
        tui.send(b"\x0b"); // Ctrl+K: the picker
        tui.wait_text("filter:");
        tui.send(b"web\x04"); // Ctrl+D on `web`
        tui.wait_text("Delete web on");
        tui.wait_text("everyone connected is disconnected");
        tui.send(b"n");
        tui.wait_for("Delete web on gone", |s| !s.contains("Delete web on"));
        tui.send(b"\x04");
        tui.wait_text("Delete web on");
        tui.send(b"y");
        tui.wait_text("deleted web");
        tui.send(b"x"); // any key: back to the picker
        tui.wait_for("deleted web gone", |s| !s.contains("deleted web"));
        tui.send(b"\x7f\x7f\x7f\x7fapi\x12"); // Ctrl+R on `api`
        tui.wait_text("Restart api on");
        tui.send(b"y");
        tui.wait_text("restarted api");
        tui.quit();
    })
    .await
    .unwrap();
    assert_eq!(test.host.session_ids(), ["api"]);
    test.shutdown().await;
}
