//! Many sessions on one host: listing, token scopes, creating, stopping
//! and restarting over HTTP, and a restart of the host bringing them back.

use std::path::Path;

use serde_json::{Value, json};
use tether::host::agent::AgentSpec;
use tether::host::sessions::SessionSpec;
use tether::host::{Host, HostConfig};
use tether::protocol::{EventKind, ServerMessage};

use crate::support::*;

pub const ADMIN: &str = "tt_admin_000000000000000";
pub const ALICE: &str = "tt_alice_0000000000000000";
pub const SCOPED: &str = "tt_scoped_00000000000000";
pub const VIEW: &str = "tt_view_0000000000000000";

/// An auth file with an admin (admin only), alice (control), a control
/// token limited to `api` and `web-*`, and a viewer.
pub fn write_scoped_auth(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    let file = json!({"tokens": [
        {"name": "root", "token": ADMIN, "grants": ["admin"]},
        {"name": "alice", "token": ALICE, "grants": ["control"]},
        {"name": "carol", "token": SCOPED, "grants": ["control"], "sessions": ["api", "web-*"]},
        {"name": "watcher", "token": VIEW, "grants": ["view"]},
    ]});
    std::fs::write(path, file.to_string()).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).unwrap();
}

/// A host with sessions `api`, `web-front` and `ops` (shell agents, each
/// in its own directory under `dir/work`), the `shell` preset, `dir/work`
/// as its workspace and a journal in `dir/journal`.
pub fn three_sessions(dir: &Path) -> HostConfig {
    let auth = dir.join("auth.json");
    if !auth.exists() {
        write_scoped_auth(&auth);
    }
    let mut config = crate::common::host_config(dir, AgentSpec::Shell);
    config.sessions = ["api", "web-front", "ops"]
        .into_iter()
        .map(|id| {
            let cwd = dir.join("work").join(id);
            std::fs::create_dir_all(&cwd).unwrap();
            let mut spec = SessionSpec::new(id, AgentSpec::Shell);
            spec.cwd = cwd;
            spec
        })
        .collect();
    config.presets.insert(
        "shell".into(),
        tether::host::agent::Preset::new(AgentSpec::Shell),
    );
    config.workspaces = vec![dir.join("work")];
    config.journal_dir = Some(dir.join("journal"));
    config
}

fn ids(listing: &str) -> Vec<String> {
    let listing: Value = serde_json::from_str(listing).unwrap();
    listing["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn tokens_see_the_sessions_of_their_scope_and_nothing_of_others() {
    let dir = tempfile::tempdir().unwrap();
    let host = Host::start(three_sessions(dir.path())).await.unwrap();
    let addr = host.addr().to_string();

    let (status, all) = http_get(&addr, "/v1/sessions", Some(ALICE)).await;
    assert_eq!(status, 200);
    assert_eq!(ids(&all), ["api", "web-front", "ops"], "the config's order");
    let listing: Value = serde_json::from_str(&all).unwrap();
    let api = &listing["sessions"][0];
    assert_eq!(api["agent"], "shell");
    assert_eq!(api["owner"], Value::Null);
    assert_eq!(api["pending"], 0);
    assert!(api["cwd"].as_str().unwrap().ends_with("work/api"), "{api}");
    assert!(!api["epoch"].as_str().unwrap().is_empty());

    let (_, scoped) = http_get(&addr, "/v1/sessions", Some(SCOPED)).await;
    assert_eq!(ids(&scoped), ["api", "web-front"]);

    // Outside the scope looks exactly like not there.
    let outside = try_connect(&host.session_url("ops"), Some(SCOPED), "").await;
    let unknown = try_connect(&host.session_url("nope"), Some(SCOPED), "").await;
    for refused in [outside, unknown] {
        let Err(tokio_tungstenite::tungstenite::Error::Http(response)) = refused else {
            panic!("expected an HTTP refusal");
        };
        assert_eq!(response.status(), 404);
    }
    let mut carol = Client::connect(&host.session_url("web-front"), SCOPED, "").await;
    carol.greeting().await;
    assert_eq!(carol.role, Some(tether::protocol::Role::Owner));
    host.shutdown().await.unwrap();
}

#[tokio::test]
async fn sessions_run_apart_each_with_its_own_owner_and_history() {
    let dir = tempfile::tempdir().unwrap();
    let host = Host::start(three_sessions(dir.path())).await.unwrap();
    let mut api = Client::connect(&host.session_url("api"), ALICE, "").await;
    api.greeting().await;
    let mut ops = Client::connect(&host.session_url("ops"), ALICE, "").await;
    ops.greeting().await;
    assert_eq!(
        ops.role,
        Some(tether::protocol::Role::Owner),
        "each has one"
    );

    let request = ask(&mut api, "echo from-api").await;
    let answer = api
        .request(decide(request, tether::protocol::Decision::Allow).message())
        .await;
    assert_eq!(code_of(&answer), None);
    api.wait_event(|e| matches!(e, EventKind::TurnEnd { .. }))
        .await;
    ops.assert_no_events(std::time::Duration::from_millis(300))
        .await;
    host.shutdown().await.unwrap();
}

#[tokio::test]
async fn an_admin_creates_sessions_from_presets_inside_the_workspaces() {
    let dir = tempfile::tempdir().unwrap();
    let host = Host::start(three_sessions(dir.path())).await.unwrap();
    let addr = host.addr().to_string();
    let create = |token, body: Value| {
        let addr = addr.clone();
        async move { http(&addr, "POST", "/v1/sessions", Some(token), Some(&body)).await }
    };

    let (status, body) = create(ALICE, json!({"agent": "shell"})).await;
    assert_eq!(status, 403, "control is not admin: {body}");
    let (status, body) = create(ADMIN, json!({"agent": "rm -rf /"})).await;
    assert_eq!(status, 400, "only configured presets: {body}");
    assert!(body.contains("no agent preset"), "{body}");
    let (status, body) = create(ADMIN, json!({"agent": "shell", "cwd": "/"})).await;
    assert_eq!(status, 403, "outside the workspaces: {body}");
    let (status, body) = create(ADMIN, json!({"agent": "shell", "id": "api"})).await;
    assert_eq!(status, 409, "{body}");
    let (status, _) = create(ADMIN, json!({"agent": "shell", "id": "../x"})).await;
    assert_eq!(status, 400);

    let (status, body) = create(
        ADMIN,
        json!({"agent": "shell", "id": "new", "cwd": "api", "title": "New one"}),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    let made: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(made["id"], "new");
    assert_eq!(made["title"], "New one");
    assert_eq!(made["preset"], "shell");
    assert!(made["cwd"].as_str().unwrap().ends_with("work/api"));
    let (_, listing) = http_get(&addr, "/v1/sessions", Some(ALICE)).await;
    assert_eq!(
        ids(&listing),
        ["api", "web-front", "ops", "new"],
        "a created session comes after the configured ones"
    );
    let listing: Value = serde_json::from_str(&listing).unwrap();
    let orders: Vec<u64> = listing["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["order"].as_u64().unwrap())
        .collect();
    assert_eq!(orders, [0, 1, 2, 3]);
    // A scoped token does not see it, and may create only in its scope.
    let (_, scoped) = http_get(&addr, "/v1/sessions", Some(SCOPED)).await;
    assert_eq!(ids(&scoped), ["api", "web-front"]);

    let mut owner = Client::connect(&host.session_url("new"), ALICE, "").await;
    owner.greeting().await;
    let request = ask(&mut owner, "pwd").await;
    assert!(!request.is_empty());
    host.shutdown().await.unwrap();
}

#[tokio::test]
async fn deleting_a_session_closes_its_connections_and_retires_its_journal() {
    let dir = tempfile::tempdir().unwrap();
    let host = Host::start(three_sessions(dir.path())).await.unwrap();
    let addr = host.addr().to_string();
    let mut watcher = Client::connect(&host.session_url("ops"), VIEW, "").await;
    watcher.greeting().await;

    let (status, _) = http(&addr, "DELETE", "/v1/sessions/ops", Some(ALICE), None).await;
    assert_eq!(status, 403, "control is not admin");
    let (status, _) = http(&addr, "DELETE", "/v1/sessions/nope", Some(ADMIN), None).await;
    assert_eq!(status, 404);
    let (status, _) = http(&addr, "DELETE", "/v1/sessions/ops", Some(ADMIN), None).await;
    assert_eq!(status, 204);
    let close = watcher.expect_close().await.expect("a close frame");
    assert_eq!(u16::from(close.code), 1001);
    let (_, listing) = http_get(&addr, "/v1/sessions", Some(ALICE)).await;
    assert_eq!(ids(&listing), ["api", "web-front"]);
    // Its history ended: kept aside, never served again under that id.
    assert!(!dir.path().join("journal/ops.jsonl").exists());
    let kept: Vec<String> = std::fs::read_dir(dir.path().join("journal/deleted"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(
        matches!(&kept[..], [one] if one.starts_with("ops.") && one.ends_with(".jsonl")),
        "{kept:?}"
    );
    host.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_session_whose_agent_cannot_start_says_why_and_can_be_restarted() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = three_sessions(dir.path());
    let replay = dir.path().join("recording.jsonl");
    config.sessions[2].agent = AgentSpec::Replay {
        file: replay.clone(),
        speed: 0.0,
        pause_at_requests: false,
    };
    let host = Host::start(config).await.expect("the host starts anyway");
    let addr = host.addr().to_string();
    let (_, listing) = http_get(&addr, "/v1/sessions", Some(ALICE)).await;
    let listing: Value = serde_json::from_str(&listing).unwrap();
    let ops = &listing["sessions"][2];
    assert_eq!(ops["state"], "exited");
    assert!(
        ops["detail"].as_str().unwrap().contains("cannot start"),
        "{ops}"
    );

    let mut watcher = Client::connect(&host.session_url("ops"), VIEW, "").await;
    watcher.greeting().await;
    std::fs::write(&replay, "").unwrap();
    let restart = "/v1/sessions/ops/restart";
    let (status, _) = http(&addr, "POST", restart, Some(VIEW), None).await;
    assert_eq!(status, 403, "a viewer may not");
    let (status, body) = http(&addr, "POST", restart, Some(ALICE), None).await;
    assert_eq!(status, 200, "nobody owns it: a control token may: {body}");
    watcher
        .saw_or_wait(|e| matches!(e, EventKind::Notice { text, .. } if text.contains("alice restarted the agent")))
        .await;
    host.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_restarted_host_brings_back_every_session_with_history_and_owner() {
    let dir = tempfile::tempdir().unwrap();
    let host = Host::start(three_sessions(dir.path())).await.unwrap();
    let addr = host.addr().to_string();
    let body = json!({"agent": "shell", "id": "made", "cwd": "ops"});
    let (status, _) = http(&addr, "POST", "/v1/sessions", Some(ADMIN), Some(&body)).await;
    assert_eq!(status, 201);
    let mut seqs = Vec::new();
    for id in ["api", "made", "web-front"] {
        let mut owner = Client::connect(&host.session_url(id), ALICE, "").await;
        owner.greeting().await;
        let answer = owner.request(|n| user(n, &format!("echo {id}"))).await;
        assert_eq!(code_of(&answer), None);
        owner
            .wait_event(|e| matches!(e, EventKind::PermissionRequest { .. }))
            .await;
        seqs.push(owner.events.last().unwrap().seq);
    }
    host.shutdown().await.unwrap();

    let again = Host::start(three_sessions(dir.path())).await.unwrap();
    assert_eq!(again.session_ids(), ["api", "made", "ops", "web-front"]);
    let (_, listing) = http_get(&again.addr().to_string(), "/v1/sessions", Some(ALICE)).await;
    assert_eq!(ids(&listing), ["api", "web-front", "ops", "made"]);
    for (id, seq) in ["api", "made", "web-front"].into_iter().zip(seqs) {
        // Bob-like followers come first: the slot is held for alice.
        let mut watcher = Client::connect(&again.session_url(id), VIEW, "").await;
        watcher.greeting().await;
        assert!(
            watcher.events.iter().any(|e| e.seq == seq),
            "{id}: the history is back"
        );
        let participants = watcher
            .wait_for(|m| match m {
                ServerMessage::Participants { owner_slot, .. } => Some(owner_slot.clone()),
                _ => None,
            })
            .await;
        assert_eq!(
            participants.map(|slot| slot.held_for).as_deref(),
            Some("alice"),
            "{id}: the slot is held for its owner"
        );
    }
    again.shutdown().await.unwrap();
}

#[tokio::test]
async fn tether_serve_runs_the_sessions_of_its_config_file() {
    use tokio::io::AsyncBufReadExt;
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    write_scoped_auth(&root.join("auth.json"));
    for id in ["api", "web-front"] {
        std::fs::create_dir_all(root.join("work").join(id)).unwrap();
    }
    let config = format!(
        r#"
listen = "127.0.0.1:0"
auth = "{root}/auth.json"
journal = "{root}/journal"
workspaces = ["{root}/work"]

[agents.sh]
kind = "shell"

[[sessions]]
id = "api"
agent = "shell"
cwd = "{root}/work/api"

[[sessions]]
id = "web-front"
agent = "sh"
cwd = "{root}/work/web-front"
title = "Front end"
"#,
        root = root.display()
    );
    std::fs::write(root.join("serve.toml"), config).unwrap();
    let mut child = crate::common::tether_async(root)
        .args(["serve", "--config"])
        .arg(root.join("serve.toml"))
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = tokio::io::BufReader::new(child.stdout.take().unwrap()).lines();
    let first = tokio::time::timeout(WAIT, lines.next_line())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    let url = first
        .strip_prefix("listening on ")
        .expect(&first)
        .to_owned();
    assert!(url.ends_with("/v1/sessions/api"), "{url}");
    let addr = host_addr(&url);
    let (status, listing) = http_get(&addr, "/v1/sessions", Some(ALICE)).await;
    assert_eq!(status, 200);
    assert_eq!(ids(&listing), ["api", "web-front"]);
    let listing: Value = serde_json::from_str(&listing).unwrap();
    assert_eq!(listing["sessions"][1]["title"], "Front end");
    assert_eq!(listing["sessions"][1]["preset"], "sh");
    let body = json!({"agent": "sh", "cwd": "api"});
    let (status, made) = http(&addr, "POST", "/v1/sessions", Some(ADMIN), Some(&body)).await;
    assert_eq!(status, 201, "{made}");
    let made: Value = serde_json::from_str(&made).unwrap();
    assert_eq!(
        made["id"], "api-2",
        "named after its directory, made unique"
    );
    child.kill().await.unwrap();
}

#[tokio::test]
async fn titles_and_ids_keep_to_what_every_screen_can_show() {
    let dir = tempfile::tempdir().unwrap();
    let host = Host::start(three_sessions(dir.path())).await.unwrap();
    let addr = host.addr().to_string();
    let hostile = "Deploy\u{1b}]0;pwned\u{7}\u{1b}[2J \u{202e}gnp.exe";
    let body = json!({"agent": "shell", "id": "titled", "title": hostile});
    let (status, made) = http(&addr, "POST", "/v1/sessions", Some(ADMIN), Some(&body)).await;
    assert_eq!(status, 201, "{made}");
    let made: Value = serde_json::from_str(&made).unwrap();
    let title = made["title"].as_str().unwrap();
    assert!(
        !title.chars().any(|c| c.is_control() || c == '\u{202e}'),
        "{title:?}"
    );
    assert!(title.starts_with("Deploy"), "{title:?}");
    for id in [".hidden", &"x".repeat(65), "-flag"] {
        let body = json!({"agent": "shell", "id": id});
        let (status, why) = http(&addr, "POST", "/v1/sessions", Some(ADMIN), Some(&body)).await;
        assert_eq!(status, 400, "{id}: {why}");
        assert!(why.contains("1 to 64"), "{why}");
    }
    host.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_damaged_journal_stops_its_session_not_the_host() {
    let dir = tempfile::tempdir().unwrap();
    let journal = dir.path().join("journal");
    std::fs::create_dir_all(&journal).unwrap();
    // `ops` has a journal damaged in the middle (not a torn last line).
    let header = r#"{"journal":1,"session":"ops","epoch":"e","started_at":"t"}"#;
    let text = format!("{header}\nnot a record\n{{\"type\":\"event\",\"seq\":2}}\n");
    std::fs::write(journal.join("ops.jsonl"), &text).unwrap();
    let host = Host::start(three_sessions(dir.path())).await.unwrap();
    assert!(
        host.problems()
            .iter()
            .any(|p| p.contains("`ops`") && p.contains("damaged")),
        "{:?}",
        host.problems()
    );
    let addr = host.addr().to_string();
    let (_, listing) = http_get(&addr, "/v1/sessions", Some(ALICE)).await;
    assert_eq!(ids(&listing), ["api", "web-front", "ops"]);
    let listing: Value = serde_json::from_str(&listing).unwrap();
    let ops = &listing["sessions"][2];
    assert_eq!(ops["state"], "exited", "{ops}");
    assert!(ops["detail"].as_str().unwrap().contains("damaged"), "{ops}");
    // The others run, and the damaged file is left for a person to look at.
    let mut owner = Client::connect(&host.session_url("api"), ALICE, "").await;
    owner.greeting().await;
    ask(&mut owner, "pwd").await;
    let (status, _) = http(&addr, "POST", "/v1/sessions/ops/restart", Some(ADMIN), None).await;
    assert_eq!(status, 409, "a broken session cannot be restarted");
    assert_eq!(
        std::fs::read_to_string(journal.join("ops.jsonl")).unwrap(),
        text
    );
    // Deleting it ends that history too: a new `ops` starts afresh.
    let (status, _) = http(&addr, "DELETE", "/v1/sessions/ops", Some(ADMIN), None).await;
    assert_eq!(status, 204);
    assert!(!journal.join("ops.jsonl").exists());
    assert_eq!(
        std::fs::read_dir(journal.join("deleted")).unwrap().count(),
        1
    );
    host.shutdown().await.unwrap();
}
