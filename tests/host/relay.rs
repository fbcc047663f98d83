//! The relay through a real NATS broker (nats-server -js on loopback): a
//! host that dials out, clients that join through the broker with the same
//! rules as a WebSocket (roles, not_owner, pending requests on joining,
//! resume), and the host refusing what is forged or replayed.

use std::time::Duration;

use futures_util::StreamExt;
use tether::broker::Broker;
use tether::client::relay::{self, RelayTarget};
use tether::client::{ConnCommand, ConnEvent, Connection, Resume};
use tether::host::agent::AgentSpec;
use tether::host::server::relay::RelayConfig;
use tether::protocol::relay::{RelayCommand, RelayReply};
use tether::protocol::{ClientMessage, Decision, ErrorCode, EventKind, Role, ServerMessage};

use crate::common::broker::NatsServer;
use crate::support::*;

pub(crate) fn target(broker: &NatsServer, token: &str, view: bool) -> RelayTarget {
    RelayTarget {
        broker: Broker::at(broker.url()),
        host: "devbox".into(),
        session: "main".into(),
        token: token.into(),
        view,
        claim: true,
    }
}

/// The next server message (other events skipped), within [`WAIT`].
async fn next_message(conn: &mut Connection) -> ServerMessage {
    loop {
        match tokio::time::timeout(WAIT, conn.events.recv()).await {
            Ok(Some(ConnEvent::Message(message))) => return message,
            Ok(Some(ConnEvent::Failed(e))) => panic!("failed: {e}"),
            Ok(Some(_)) => {}
            Ok(None) => panic!("the connection task ended"),
            Err(_) => panic!("nothing within {WAIT:?}"),
        }
    }
}

/// Messages until one `matches`.
pub(crate) async fn until(
    conn: &mut Connection,
    matches: impl Fn(&ServerMessage) -> bool,
) -> ServerMessage {
    // One deadline for the whole wait: round-trip reports come every few
    // seconds, so a wait per message alone would never end.
    let mut seen = Vec::new();
    let waited = tokio::time::timeout(WAIT * 6, async {
        loop {
            let message = next_message(conn).await;
            if matches(&message) {
                return message;
            }
            seen.push(format!("{message:?}").chars().take(200).collect::<String>());
        }
    })
    .await;
    waited.unwrap_or_else(|_| panic!("no such message within {:?}; saw {seen:#?}", WAIT * 6))
}

pub(crate) fn send(conn: &Connection, message: ClientMessage) {
    conn.commands.send(ConnCommand::Send(message)).unwrap();
}

/// A shell host serving `main` only through the broker: it listens
/// nowhere (`--listen none`).
pub(crate) async fn relayed_host(dir: &std::path::Path, broker: &NatsServer) -> tether::host::Host {
    relayed_host_with(dir, broker, |_| {}).await
}

/// [`relayed_host`] with `tweak` applied to its configuration last.
pub(crate) async fn relayed_host_with(
    dir: &std::path::Path,
    broker: &NatsServer,
    tweak: impl FnOnce(&mut tether::host::HostConfig),
) -> tether::host::Host {
    write_auth(&dir.join("auth.json"));
    let url = broker.url();
    let host = crate::common::start_host(dir, AgentSpec::Shell, move |config| {
        config.relay = Some(RelayConfig {
            broker: Broker::at(url),
            host_id: "devbox".into(),
            stream: Default::default(),
        });
        config.listen_none = true;
        tweak(config);
    })
    .await;
    assert!(!host.listens());
    host
}

#[tokio::test(flavor = "multi_thread")]
async fn a_session_is_supervised_through_the_broker_with_the_usual_rules() {
    let dir = tempfile::tempdir().unwrap();
    let Some(broker) = NatsServer::start("relay", dir.path()) else {
        return;
    };
    let host = relayed_host(dir.path(), &broker).await;
    let (alice, bob, viewer) = (
        "tt_alice_0000000000000000",
        "tt_bob_00000000000000000",
        "tt_view_0000000000000000",
    );
    let mut owner = relay::spawn(target(&broker, alice, false), Resume::Live);
    let ready = until(&mut owner, |m| matches!(m, ServerMessage::Ready { .. })).await;
    let ServerMessage::Ready { you, .. } = ready else {
        unreachable!()
    };
    assert_eq!(you.identity, "alice");
    until(&mut owner, |m| {
        matches!(
            m,
            ServerMessage::Role {
                role: Role::Owner,
                ..
            }
        )
    })
    .await;
    until(&mut owner, |m| matches!(m, ServerMessage::CaughtUp { .. })).await;

    // The owner runs a command: its request reaches everyone.
    send(&owner, user("m1".into(), "echo relayed"));
    let request = until(&mut owner, |m| {
        matches!(m, ServerMessage::Event(r) if matches!(r.event, EventKind::PermissionRequest { .. }))
    })
    .await;
    let ServerMessage::Event(record) = request else {
        unreachable!()
    };
    let request_id = request_id(&record.event);

    // Bob joins later: the request waiting is in his greeting, and he
    // cannot answer it (not the owner).
    let mut follower = relay::spawn(target(&broker, bob, false), Resume::Live);
    let ready = until(&mut follower, |m| matches!(m, ServerMessage::Ready { .. })).await;
    let ServerMessage::Ready { pending, .. } = ready else {
        unreachable!()
    };
    assert_eq!(pending.len(), 1, "the waiting request comes with ready");
    until(&mut follower, |m| {
        matches!(m, ServerMessage::CaughtUp { .. })
    })
    .await;
    let decision = |id: &str| (decide(request_id.clone(), Decision::Allow).message())(id.into());
    send(&follower, decision("b1"));
    let refused = until(&mut follower, |m| matches!(m, ServerMessage::Error { .. })).await;
    assert!(
        matches!(
            refused,
            ServerMessage::Error {
                code: ErrorCode::NotOwner,
                ..
            }
        ),
        "{refused:?}"
    );
    // A viewer neither.
    let mut watcher = relay::spawn(target(&broker, viewer, true), Resume::Live);
    until(&mut watcher, |m| {
        matches!(m, ServerMessage::CaughtUp { .. })
    })
    .await;

    // The owner allows it; the output reaches all three, once each.
    send(&owner, decision("a1"));
    for conn in [&mut owner, &mut follower, &mut watcher] {
        until(conn, |m| {
            matches!(m, ServerMessage::Event(r) if matches!(&r.event, EventKind::Output { text, .. } if text.contains("relayed")))
        })
        .await;
    }
    drop((owner, follower, watcher));
    host.shutdown().await.unwrap();
}

/// A message published for someone else's connection with another token
/// is refused; the same message replayed as it was is a duplicate and does
/// nothing twice.
#[tokio::test(flavor = "multi_thread")]
async fn forged_and_replayed_commands_are_refused_by_the_host() {
    let dir = tempfile::tempdir().unwrap();
    let Some(broker) = NatsServer::start("relay_forged", dir.path()) else {
        return;
    };
    let host = relayed_host(dir.path(), &broker).await;
    let spy = tether::broker::async_nats::connect(broker.url().as_str())
        .await
        .unwrap();
    let mut watched = spy.subscribe("tether.devbox.main.from.*").await.unwrap();
    spy.flush().await.unwrap();
    let mut owner = relay::spawn(
        target(&broker, "tt_alice_0000000000000000", false),
        Resume::Live,
    );
    until(&mut owner, |m| matches!(m, ServerMessage::CaughtUp { .. })).await;
    send(&owner, user("m1".into(), "echo once"));
    // The spy sees the owner's message go by (pings aside).
    let seen = loop {
        let message = tokio::time::timeout(WAIT, watched.next())
            .await
            .unwrap()
            .unwrap();
        let command: RelayCommand = serde_json::from_slice(&message.payload).unwrap();
        if command.message["type"] == "user_message" {
            break message;
        }
    };
    until(&mut owner, |m| {
        matches!(m, ServerMessage::Event(r) if matches!(r.event, EventKind::PermissionRequest { .. }))
    })
    .await;
    // Forged: the same connection, bob's token.
    let mut forged: RelayCommand = serde_json::from_slice(&seen.payload).unwrap();
    forged.token = "tt_bob_00000000000000000".into();
    forged.message["id"] = "m2".into();
    let answer = spy
        .request(
            seen.subject.clone(),
            serde_json::to_vec(&forged).unwrap().into(),
        )
        .await
        .unwrap();
    let answer: RelayReply = serde_json::from_slice(&answer.payload).unwrap();
    assert!(
        matches!(answer, RelayReply::Refused { code: 403, .. }),
        "{answer:?}"
    );
    // Replayed as it was: acknowledged as a duplicate, nothing runs again.
    spy.request(seen.subject.clone(), seen.payload.clone())
        .await
        .unwrap();
    let ack = until(
        &mut owner,
        |m| matches!(m, ServerMessage::Ack { id, .. } if id == "m1"),
    )
    .await;
    assert!(
        matches!(
            ack,
            ServerMessage::Ack {
                duplicate: true,
                ..
            }
        ) || {
            // The first ack may come first: the duplicate's follows.
            let again = until(
                &mut owner,
                |m| matches!(m, ServerMessage::Ack { id, .. } if id == "m1"),
            )
            .await;
            matches!(
                again,
                ServerMessage::Ack {
                    duplicate: true,
                    ..
                }
            )
        }
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    let summary = host.summary().await.unwrap();
    assert_eq!(summary.pending, 1, "the replay raised no second request");
    drop(owner);
    host.shutdown().await.unwrap();
}

/// The events a connection has been handed, by seq (every event, each
/// once, in order, or the test fails), until `last` is among them.
/// `applied` advances as an application's would (what it resumes after).
pub(crate) async fn events_until(
    conn: &mut Connection,
    applied: &std::sync::atomic::AtomicU64,
    seqs: &mut Vec<u64>,
    last: u64,
) {
    while seqs.last().is_none_or(|s| *s < last) {
        match tokio::time::timeout(Duration::from_secs(30), conn.events.recv()).await {
            Ok(Some(ConnEvent::Message(ServerMessage::Event(record)))) => {
                if let Some(previous) = seqs.last() {
                    assert_eq!(record.seq, previous + 1, "after {previous}: {seqs:?}");
                }
                seqs.push(record.seq);
                applied.store(record.seq, std::sync::atomic::Ordering::Release);
            }
            Ok(Some(ConnEvent::Failed(e))) => panic!("failed: {e}"),
            Ok(Some(_)) => {}
            Ok(None) => panic!("the connection task ended"),
            Err(_) => panic!("event {last} never came; had {seqs:?}"),
        }
    }
}

/// A viewer of `main` through the broker, caught up: its connection, what
/// it applied (which it resumes after) and the seqs it has, from the
/// host's last one.
async fn caught_up_viewer(
    broker: &NatsServer,
    host: &tether::host::Host,
) -> (
    Connection,
    std::sync::Arc<std::sync::atomic::AtomicU64>,
    Vec<u64>,
) {
    let first = host.summary().await.unwrap().last_seq;
    let applied = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(first));
    let mut viewer = relay::spawn(
        target(broker, "tt_view_0000000000000000", true),
        Resume::After(applied.clone()),
    );
    until(&mut viewer, |m| matches!(m, ServerMessage::CaughtUp { .. })).await;
    (viewer, applied, vec![first])
}

pub(crate) fn notice(text: String) -> EventKind {
    EventKind::Notice {
        level: tether::protocol::NoticeLevel::Info,
        text,
    }
}

/// `kill -9` of the broker, restarted on an empty store, while events keep
/// coming: the viewer ends with every event once, in order.
#[tokio::test(flavor = "multi_thread")]
async fn a_broker_killed_and_restarted_loses_no_event_and_repeats_none() {
    let dir = tempfile::tempdir().unwrap();
    let Some(broker) = NatsServer::start("relay_broker_kill", dir.path()) else {
        return;
    };
    let port = broker.port;
    let host = relayed_host(dir.path(), &broker).await;
    let (mut viewer, applied, mut seqs) = caught_up_viewer(&broker, &host).await;
    let first = seqs[0];
    for n in 0..20 {
        host.inject(notice(format!("before {n}"))).await.unwrap();
    }
    events_until(&mut viewer, &applied, &mut seqs, first + 20).await;
    broker.kill();
    for n in 0..20 {
        host.inject(notice(format!("while down {n}")))
            .await
            .unwrap();
    }
    let empty = dir.path().join("empty");
    std::fs::create_dir_all(&empty).unwrap();
    let _broker = NatsServer::start_on("relay_broker_kill", &empty, port).unwrap();
    for n in 0..20 {
        host.inject(notice(format!("after {n}"))).await.unwrap();
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    events_until(&mut viewer, &applied, &mut seqs, first + 60).await;
    drop(viewer);
    host.shutdown().await.unwrap();
}

/// The lobby through the broker: the host's sessions are keys of the
/// lobby bucket, a waiting request shows there, and `attach
/// nats://BROKER` finds every host.
#[tokio::test(flavor = "multi_thread")]
async fn the_lobby_bucket_lists_each_hosts_sessions_and_their_requests() {
    use tether::client::lobby::LobbyEvent;
    use tether::protocol::LobbyMessage;
    let dir = tempfile::tempdir().unwrap();
    let Some(broker) = NatsServer::start("relay_lobby", dir.path()) else {
        return;
    };
    let host = relayed_host(dir.path(), &broker).await;
    let hosts = tether::client::relay_lobby::hosts_on(&Broker::at(broker.url()))
        .await
        .unwrap();
    assert_eq!(hosts, ["devbox"]);
    let (events_tx, mut events) = tokio::sync::mpsc::unbounded_channel();
    let link = tether::client::relay_lobby::LobbyLink {
        host: 0,
        broker: Broker::at(broker.url()),
        host_id: "devbox".into(),
        token: "tt_view_0000000000000000".into(),
        events: events_tx,
    };
    let (_requests, inbox) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(tether::client::relay_lobby::run(link, inbox));
    let next = async |events: &mut tokio::sync::mpsc::UnboundedReceiver<(usize, LobbyEvent)>| loop {
        match tokio::time::timeout(WAIT, events.recv())
            .await
            .unwrap()
            .unwrap()
            .1
        {
            LobbyEvent::Message(message) => return message,
            LobbyEvent::Unavailable(e) => panic!("{e}"),
            _ => {}
        }
    };
    let LobbyMessage::Sessions { sessions, .. } = next(&mut events).await else {
        panic!("a snapshot first");
    };
    assert_eq!(sessions.len(), 1);
    assert_eq!(sessions[0].id, "main");
    let mut owner = relay::spawn(
        target(&broker, "tt_alice_0000000000000000", false),
        Resume::Live,
    );
    until(&mut owner, |m| matches!(m, ServerMessage::CaughtUp { .. })).await;
    send(&owner, user("m1".into(), "echo waiting"));
    loop {
        if let LobbyMessage::Session { session, .. } = next(&mut events).await
            && session.pending_requests.len() == 1
        {
            assert_eq!(session.owner.as_deref(), Some("alice"));
            break;
        }
    }
    drop(owner);
    host.shutdown().await.unwrap();
}

/// The host restarted on its journal: the viewer is told the host is
/// offline while it is down, then resumes with every event once.
#[tokio::test(flavor = "multi_thread")]
async fn a_host_restarted_is_shown_offline_then_resumed_with_nothing_lost() {
    let dir = tempfile::tempdir().unwrap();
    let Some(broker) = NatsServer::start("relay_host_restart", dir.path()) else {
        return;
    };
    let journaled = |dir: &std::path::Path| {
        let url = broker.url();
        let journal = dir.join("journal");
        move |config: &mut tether::host::HostConfig| {
            config.relay = Some(RelayConfig {
                broker: Broker::at(url),
                host_id: "devbox".into(),
                stream: Default::default(),
            });
            config.listen_none = true;
            config.journal_dir = Some(journal);
        }
    };
    write_auth(&dir.path().join("auth.json"));
    let host = crate::common::start_host(dir.path(), AgentSpec::Shell, journaled(dir.path())).await;
    let (mut viewer, applied, mut seqs) = caught_up_viewer(&broker, &host).await;
    let first = seqs[0];
    for n in 0..10 {
        host.inject(notice(format!("before {n}"))).await.unwrap();
    }
    events_until(&mut viewer, &applied, &mut seqs, first + 10).await;
    host.shutdown().await.unwrap();
    // Down: the viewer says so (no host answers its joins), having had
    // what the host said as it stopped.
    let offline = async {
        loop {
            match viewer.events.recv().await {
                Some(ConnEvent::Lost { reason, .. }) if reason.contains("host offline") => {
                    return reason;
                }
                Some(ConnEvent::Message(ServerMessage::Event(record))) => {
                    assert_eq!(record.seq, seqs.last().unwrap() + 1, "{seqs:?}");
                    seqs.push(record.seq);
                    applied.store(record.seq, std::sync::atomic::Ordering::Release);
                }
                Some(_) => {}
                None => panic!("the connection task ended"),
            }
        }
    };
    let reason = tokio::time::timeout(Duration::from_secs(30), offline)
        .await
        .expect("the viewer says the host is offline");
    assert!(reason.contains("host offline"), "{reason}");
    let host = crate::common::start_host(dir.path(), AgentSpec::Shell, journaled(dir.path())).await;
    let restarted = host.summary().await.unwrap().last_seq;
    assert!(restarted >= first + 10, "the journal kept the events");
    for n in 0..10 {
        host.inject(notice(format!("after {n}"))).await.unwrap();
    }
    let last = host.summary().await.unwrap().last_seq;
    // Every event once, in order: those of the restart too.
    events_until(&mut viewer, &applied, &mut seqs, last).await;
    drop(viewer);
    host.shutdown().await.unwrap();
}
