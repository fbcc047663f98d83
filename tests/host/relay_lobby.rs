//! A host's lobby through the broker: what a token sees and may do, and
//! sessions made there, checked by the host as over a WebSocket.

use tether::broker::Broker;
use tether::host::agent::AgentSpec;
use tether::host::server::relay::RelayConfig;

use crate::common::broker::NatsServer;
use crate::support::*;

/// The host's lobby through the broker: an admin's presets come with the
/// list, a session is created and shows in the bucket, a watcher's create
/// is refused by the host (its token has no admin grant).
#[tokio::test(flavor = "multi_thread")]
async fn sessions_are_created_through_the_broker_by_admins_only() {
    use tether::client::lobby::{self, LobbyEvent};
    use tether::protocol::{LobbyMessage, LobbyRequest};
    let dir = tempfile::tempdir().unwrap();
    let Some(broker) = NatsServer::start("relay_lobby_create", dir.path()) else {
        return;
    };
    let auth = dir.path().join("auth.json");
    write_auth(&auth);
    let mut file: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&auth).unwrap()).unwrap();
    let root = "tt_root_0000000000000000";
    file["tokens"]
        .as_array_mut()
        .unwrap()
        .push(serde_json::json!({"name": "root", "token": root, "grants": ["admin"]}));
    std::fs::write(&auth, file.to_string()).unwrap();
    let work = dir.path().join("work");
    std::fs::create_dir_all(&work).unwrap();
    let through = broker.url();
    let host = crate::common::start_host(dir.path(), AgentSpec::Shell, move |config| {
        config.relay = Some(RelayConfig {
            broker: Broker::at(through),
            host_id: "devbox".into(),
            stream: Default::default(),
        });
        config.listen_none = true;
        let shell = tether::host::agent::Preset::new(AgentSpec::Shell);
        config.presets.insert("shell".into(), shell);
        config.workspaces = vec![work];
    })
    .await;
    let url: url::Url = format!("nats://127.0.0.1:{}/devbox", broker.port)
        .parse()
        .unwrap();
    let next = async |events: &mut tokio::sync::mpsc::UnboundedReceiver<(usize, LobbyEvent)>,
                      wanted: &dyn Fn(&LobbyMessage) -> bool| loop {
        match tokio::time::timeout(WAIT, events.recv()).await {
            Ok(Some((_, LobbyEvent::Message(message)))) if wanted(&message) => return message,
            Ok(Some(_)) => {}
            other => panic!("no such lobby message: {other:?}"),
        }
    };
    let (tx, mut events) = tokio::sync::mpsc::unbounded_channel();
    let requests = lobby::spawn(0, &url, root.into(), tx);
    let first = next(&mut events, &|m| matches!(m, LobbyMessage::Sessions { .. })).await;
    let LobbyMessage::Sessions { presets, you, .. } = first else {
        unreachable!()
    };
    assert!(presets.iter().any(|p| p == "shell"), "{presets:?}");
    assert_eq!(you.unwrap().identity, "root");
    requests
        .send(LobbyRequest::CreateSession {
            id: "r1".into(),
            agent: "shell".into(),
            session: Some("fresh".into()),
            cwd: None,
            title: None,
            create_dir: false,
        })
        .unwrap();
    let created = next(&mut events, &|m| {
        matches!(
            m,
            LobbyMessage::Created { .. } | LobbyMessage::Refused { .. }
        )
    })
    .await;
    assert!(
        matches!(&created, LobbyMessage::Created { id, session } if id == "r1" && session.id == "fresh"),
        "{created:?}"
    );
    next(
        &mut events,
        &|m| matches!(m, LobbyMessage::Session { session, .. } if session.id == "fresh"),
    )
    .await;
    // A watcher asks the same: the host refuses.
    let (tx, mut events) = tokio::sync::mpsc::unbounded_channel();
    let requests = lobby::spawn(0, &url, "tt_view_0000000000000000".into(), tx);
    next(&mut events, &|m| matches!(m, LobbyMessage::Sessions { .. })).await;
    requests
        .send(LobbyRequest::CreateSession {
            id: "r2".into(),
            agent: "shell".into(),
            session: Some("theirs".into()),
            cwd: None,
            title: None,
            create_dir: false,
        })
        .unwrap();
    let refused = next(&mut events, &|m| matches!(m, LobbyMessage::Refused { .. })).await;
    assert!(
        matches!(&refused, LobbyMessage::Refused { id, code: 403, .. } if id == "r2"),
        "{refused:?}"
    );
    assert!(!host.session_ids().contains(&"theirs".to_owned()));
    host.shutdown().await.unwrap();
}
