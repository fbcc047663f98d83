//! The lobby WebSocket: a snapshot, then what changes, within the token's
//! scope.

use futures_util::StreamExt;
use tether::host::Host;
use tether::host::agent::AgentSpec;
use tether::protocol::{Decision, LobbyMessage, SessionSummary};
use tokio_tungstenite::tungstenite::Message;

use crate::sessions::{ALICE, SCOPED, three_sessions};
use crate::support::*;

fn lobby_url(host: &Host) -> String {
    format!("ws://{}/v1/lobby", host.addr())
}

async fn next(lobby: &mut Socket) -> LobbyMessage {
    loop {
        let frame = tokio::time::timeout(WAIT, lobby.next())
            .await
            .expect("a lobby message in time")
            .expect("open")
            .expect("a frame");
        if let Message::Text(text) = frame {
            return serde_json::from_str(&text).expect("a lobby message");
        }
    }
}

/// Reads lobby messages until one about `id` satisfies `pick`.
async fn until(
    lobby: &mut Socket,
    id: &str,
    pick: impl Fn(&SessionSummary) -> bool,
) -> SessionSummary {
    loop {
        if let LobbyMessage::Session { session, .. } = next(lobby).await
            && session.id == id
            && pick(&session)
        {
            return *session;
        }
    }
}

#[tokio::test]
async fn the_lobby_shows_a_new_request_and_its_answer() {
    let dir = tempfile::tempdir().unwrap();
    let host = Host::start(three_sessions(dir.path())).await.unwrap();
    let mut lobby = try_connect(&lobby_url(&host), Some(ALICE), "")
        .await
        .unwrap();
    let LobbyMessage::Sessions { sessions, .. } = next(&mut lobby).await else {
        panic!("a snapshot first");
    };
    let ids: Vec<&str> = sessions.iter().map(|s| s.id.as_str()).collect();
    assert_eq!(ids, ["api", "web-front", "ops"], "the config's order");

    let mut owner = Client::connect(&host.session_url("api"), ALICE, "").await;
    owner.greeting().await;
    let owned = until(&mut lobby, "api", |s| s.owner.is_some()).await;
    assert_eq!(owned.owner.as_deref(), Some("alice"));
    assert_eq!(owned.participants, 1);

    let request = ask(&mut owner, "touch lobby.txt").await;
    let waiting = until(&mut lobby, "api", |s| s.pending == 1).await;
    let pending = &waiting.pending_requests[0];
    assert_eq!(pending.request_id, request);
    assert_eq!(pending.tool, "shell");
    assert_eq!(pending.subject.as_deref(), Some("touch lobby.txt"));
    assert!(!pending.requested_at.is_empty());

    let answer = owner
        .request(decide(request, Decision::Deny).message())
        .await;
    assert_eq!(code_of(&answer), None);
    let answered = until(&mut lobby, "api", |s| s.pending == 0).await;
    assert!(answered.pending_requests.is_empty());
    host.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_scoped_lobby_hears_nothing_of_other_sessions() {
    let dir = tempfile::tempdir().unwrap();
    let host = Host::start(three_sessions(dir.path())).await.unwrap();
    let mut lobby = try_connect(&lobby_url(&host), Some(SCOPED), "")
        .await
        .unwrap();
    let LobbyMessage::Sessions { sessions, .. } = next(&mut lobby).await else {
        panic!("a snapshot first");
    };
    assert_eq!(sessions.len(), 2);

    let mut ops = Client::connect(&host.session_url("ops"), ALICE, "").await;
    ops.greeting().await;
    ask(&mut ops, "echo secret").await;
    let mut api = Client::connect(&host.session_url("api"), ALICE, "").await;
    api.greeting().await;
    ask(&mut api, "echo visible").await;
    // Everything up to api's request: nothing about ops on the way.
    loop {
        match next(&mut lobby).await {
            LobbyMessage::Session { session, .. } => {
                assert_ne!(session.id, "ops");
                if session.id == "api" && session.pending == 1 {
                    break;
                }
            }
            other => panic!("unexpected {other:?}"),
        }
    }
    host.shutdown().await.unwrap();
}

#[tokio::test]
async fn the_lobby_hears_of_created_and_stopped_sessions() {
    let dir = tempfile::tempdir().unwrap();
    let host = Host::start(three_sessions(dir.path())).await.unwrap();
    let mut lobby = try_connect(&lobby_url(&host), Some(ALICE), "")
        .await
        .unwrap();
    next(&mut lobby).await;
    let addr = host.addr().to_string();
    let body = serde_json::json!({"agent": "shell", "id": "fresh"});
    let admin = crate::sessions::ADMIN;
    let (status, _) = http(&addr, "POST", "/v1/sessions", Some(admin), Some(&body)).await;
    assert_eq!(status, 201);
    let fresh = until(&mut lobby, "fresh", |_| true).await;
    assert_eq!(fresh.order, Some(3), "after the three configured sessions");
    let (status, _) = http(&addr, "DELETE", "/v1/sessions/fresh", Some(admin), None).await;
    assert_eq!(status, 204);
    loop {
        if let LobbyMessage::SessionRemoved { id } = next(&mut lobby).await {
            assert_eq!(id, "fresh");
            break;
        }
    }
    let (status, _) = http_get(&addr, "/v1/lobby", None).await;
    assert_eq!(status, 401);
    host.shutdown().await.unwrap();
}

#[tokio::test]
async fn an_admin_creates_a_session_over_the_lobby_and_others_are_refused() {
    use futures_util::SinkExt;
    use tether::protocol::LobbyRequest;
    let dir = tempfile::tempdir().unwrap();
    let host = Host::start(three_sessions(dir.path())).await.unwrap();
    let ask = |id: &str, session: &str| LobbyRequest::CreateSession {
        id: id.into(),
        agent: "shell".into(),
        session: Some(session.into()),
        cwd: Some("api".into()),
        title: None,
        create_dir: false,
    };

    let mut admin = try_connect(&lobby_url(&host), Some(crate::sessions::ADMIN), "")
        .await
        .unwrap();
    let LobbyMessage::Sessions {
        presets,
        workspaces,
        ..
    } = next(&mut admin).await
    else {
        panic!("a snapshot first");
    };
    assert_eq!(presets, ["shell"], "an admin learns what it may create");
    assert!(workspaces[0].ends_with("work"), "{workspaces:?}");
    let text = serde_json::to_string(&ask("q1", "lobby-made")).unwrap();
    admin.send(Message::text(text)).await.unwrap();
    loop {
        match next(&mut admin).await {
            LobbyMessage::Created { id, session } => {
                assert_eq!(id, "q1");
                assert_eq!(session.id, "lobby-made");
                break;
            }
            LobbyMessage::Refused { message, .. } => panic!("refused: {message}"),
            _ => {}
        }
    }
    assert!(host.session_ids().contains(&"lobby-made".to_owned()));

    let mut alice = try_connect(&lobby_url(&host), Some(ALICE), "")
        .await
        .unwrap();
    let LobbyMessage::Sessions { presets, you, .. } = next(&mut alice).await else {
        panic!("a snapshot first");
    };
    assert!(presets.is_empty(), "only admins are told the presets");
    // Who it is, so a dashboard tells its own requests from others'.
    let you = you.expect("the lobby says who the token is");
    assert_eq!(you.identity, "alice");
    assert!(you.grants.contains(&tether::protocol::Grant::Control));
    let text = serde_json::to_string(&ask("q2", "not-mine")).unwrap();
    alice.send(Message::text(text)).await.unwrap();
    loop {
        if let LobbyMessage::Refused { id, code, .. } = next(&mut alice).await {
            assert_eq!((id.as_str(), code), ("q2", 403));
            break;
        }
    }
    alice
        .send(Message::text("{\"type\":\"nonsense\"}"))
        .await
        .unwrap();
    loop {
        if let LobbyMessage::Refused { code, .. } = next(&mut alice).await {
            assert_eq!(code, 400, "a bad request is answered, the lobby stays");
            break;
        }
    }
    host.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_revoked_admin_loses_its_lobby_at_once() {
    let dir = tempfile::tempdir().unwrap();
    // The keepalive (when the lobby used to check tokens) far away.
    let mut config = three_sessions(dir.path());
    config.keepalive = std::time::Duration::from_secs(600);
    let host = Host::start(config).await.unwrap();
    let mut admin = try_connect(&lobby_url(&host), Some(crate::sessions::ADMIN), "")
        .await
        .unwrap();
    next(&mut admin).await;
    let path = dir.path().join("auth.json");
    let mut file: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    file["tokens"]
        .as_array_mut()
        .unwrap()
        .retain(|t| t["token"] != crate::sessions::ADMIN);
    std::fs::write(&path, serde_json::to_string(&file).unwrap()).unwrap();
    host.reload_auth().await.unwrap();
    let closed = tokio::time::timeout(std::time::Duration::from_secs(2), async {
        loop {
            match admin.next().await {
                Some(Ok(Message::Close(Some(frame)))) => return u16::from(frame.code),
                Some(Ok(_)) => {}
                other => panic!("no close frame: {other:?}"),
            }
        }
    })
    .await
    .expect("closed within 2 s of the reload, not at the next keepalive");
    assert_eq!(closed, 4003);
    host.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_missing_directory_is_made_when_asked_and_never_outside_the_workspaces() {
    use futures_util::SinkExt;
    use tether::protocol::LobbyRequest;
    let dir = tempfile::tempdir().unwrap();
    let host = Host::start(three_sessions(dir.path())).await.unwrap();
    let mut admin = try_connect(&lobby_url(&host), Some(crate::sessions::ADMIN), "")
        .await
        .unwrap();
    let LobbyMessage::Sessions { workspaces, .. } = next(&mut admin).await else {
        panic!("a snapshot first");
    };
    let work = std::path::PathBuf::from(&workspaces[0]);
    let mut ask = async |id: &str, cwd: &str, create_dir: bool| {
        let request = LobbyRequest::CreateSession {
            id: id.into(),
            agent: "shell".into(),
            session: None,
            cwd: Some(cwd.into()),
            title: None,
            create_dir,
        };
        let text = serde_json::to_string(&request).unwrap();
        admin.send(Message::text(text)).await.unwrap();
        loop {
            let answer = next(&mut admin).await;
            if matches!(
                answer,
                LobbyMessage::Created { .. } | LobbyMessage::Refused { .. }
            ) {
                return answer;
            }
        }
    };
    let LobbyMessage::Refused {
        code, missing_dir, ..
    } = ask("q1", "new/deep", false).await
    else {
        panic!("refused first");
    };
    assert_eq!((code, missing_dir), (400, true));
    assert!(!work.join("new").exists(), "nothing made unasked");
    let made = ask("q2", "new/deep", true).await;
    assert!(matches!(made, LobbyMessage::Created { .. }), "{made:?}");
    assert!(work.join("new/deep").is_dir());
    let LobbyMessage::Refused {
        code, missing_dir, ..
    } = ask("q3", "../escape", true).await
    else {
        panic!("refused outside");
    };
    assert_eq!((code, missing_dir), (403, false));
    assert!(!work.parent().unwrap().join("escape").exists());
    host.shutdown().await.unwrap();
}

/// A preset whose program is missing is not offered: the lobby names it
/// with how to install it, and asking for it anyway is refused with the
/// same words before any directory is made.
#[tokio::test]
async fn a_preset_that_cannot_start_is_named_with_its_package_not_offered() {
    use futures_util::SinkExt;
    use tether::host::agent::Preset;
    use tether::protocol::LobbyRequest;
    let dir = tempfile::tempdir().unwrap();
    let mut config = three_sessions(dir.path());
    let missing = Preset {
        agent: AgentSpec::Acp {
            command: vec!["tether-no-such-agent".into()],
        },
        install: Some("npm install -g no-such-agent".into()),
    };
    config.presets.insert("ghost".into(), missing);
    let host = Host::start(config).await.unwrap();
    let mut admin = try_connect(&lobby_url(&host), Some(crate::sessions::ADMIN), "")
        .await
        .unwrap();
    let LobbyMessage::Sessions {
        presets,
        unavailable,
        ..
    } = next(&mut admin).await
    else {
        panic!("a snapshot first");
    };
    assert_eq!(presets, ["shell"], "not offered");
    assert_eq!(unavailable.len(), 1);
    assert_eq!(unavailable[0].name, "ghost");
    assert_eq!(
        unavailable[0].install.as_deref(),
        Some("npm install -g no-such-agent")
    );
    assert!(
        unavailable[0]
            .why
            .contains("`tether-no-such-agent` is not on PATH")
    );

    let ask = LobbyRequest::CreateSession {
        id: "q1".into(),
        agent: "ghost".into(),
        session: None,
        cwd: Some("brand-new".into()),
        title: None,
        create_dir: true,
    };
    let text = serde_json::to_string(&ask).unwrap();
    admin.send(Message::text(text)).await.unwrap();
    loop {
        match next(&mut admin).await {
            LobbyMessage::Refused { code, message, .. } => {
                assert_eq!(code, 400);
                assert!(
                    message.contains("npm install -g no-such-agent"),
                    "{message}"
                );
                break;
            }
            LobbyMessage::Created { .. } => panic!("created a session that cannot start"),
            _ => {}
        }
    }
    assert!(
        !dir.path().join("work").join("brand-new").exists(),
        "nothing is made for a refused session"
    );
    // Refused later (the id is taken): the directories made go again.
    let ask = LobbyRequest::CreateSession {
        id: "q2".into(),
        agent: "shell".into(),
        session: Some("api".into()),
        cwd: Some("made/deeper".into()),
        title: None,
        create_dir: true,
    };
    let text = serde_json::to_string(&ask).unwrap();
    admin.send(Message::text(text)).await.unwrap();
    loop {
        match next(&mut admin).await {
            LobbyMessage::Refused { code, .. } => {
                assert_eq!(code, 409);
                break;
            }
            LobbyMessage::Created { .. } => panic!("`api` exists"),
            _ => {}
        }
    }
    assert!(!dir.path().join("work").join("made").exists());
    host.shutdown().await.unwrap();
}

/// Deleting and restarting over the lobby follow the HTTP rules: a control
/// token restarts a session nobody owns but may not delete it; an admin
/// deletes it; a session out of scope is not found.
#[tokio::test]
async fn sessions_are_deleted_and_restarted_over_the_lobby_by_who_may() {
    use futures_util::SinkExt;
    use tether::protocol::LobbyRequest;
    let dir = tempfile::tempdir().unwrap();
    let host = Host::start(three_sessions(dir.path())).await.unwrap();
    async fn ask(socket: &mut Socket, request: LobbyRequest) -> LobbyMessage {
        let text = serde_json::to_string(&request).unwrap();
        socket.send(Message::text(text)).await.unwrap();
        loop {
            if let answer @ (LobbyMessage::Done { .. } | LobbyMessage::Refused { .. }) =
                next(socket).await
            {
                return answer;
            }
        }
    }
    let delete = |session: &str| LobbyRequest::DeleteSession {
        id: "d".into(),
        session: session.into(),
    };
    let restart = |session: &str| LobbyRequest::RestartSession {
        id: "r".into(),
        session: session.into(),
    };
    let mut alice = try_connect(&lobby_url(&host), Some(ALICE), "")
        .await
        .unwrap();
    let answer = ask(&mut alice, delete("ops")).await;
    assert!(
        matches!(&answer, LobbyMessage::Refused { code: 403, message, .. } if message.contains("admin")),
        "{answer:?}"
    );
    let answer = ask(&mut alice, restart("ops")).await;
    assert_eq!(answer, LobbyMessage::Done { id: "r".into() });
    let mut scoped = try_connect(&lobby_url(&host), Some(SCOPED), "")
        .await
        .unwrap();
    let answer = ask(&mut scoped, restart("ops")).await;
    assert!(
        matches!(answer, LobbyMessage::Refused { code: 404, .. }),
        "{answer:?}"
    );
    let mut admin = try_connect(&lobby_url(&host), Some(crate::sessions::ADMIN), "")
        .await
        .unwrap();
    let answer = ask(&mut admin, delete("ops")).await;
    assert_eq!(answer, LobbyMessage::Done { id: "d".into() });
    assert!(!host.session_ids().contains(&"ops".to_owned()));
    host.shutdown().await.unwrap();
}
