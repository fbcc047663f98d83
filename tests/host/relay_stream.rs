//! Each session's events in a JetStream stream on the broker, at stream
//! sequences equal to their seqs: a new viewer catches up from it instead
//! of from the host, a broker that lost its store, or came back on an
//! older copy of it, is filled again from the host's memory and journal,
//! and a successor under the same id never shows its predecessor's events.

use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use tether::broker::async_nats::{self, jetstream};
use tether::client::relay;
use tether::client::{ConnEvent, Connection, Resume};
use tether::protocol::relay::{RelayCatchUp, stream_name};
use tether::protocol::{EventKind, ServerMessage};

use crate::common::broker::NatsServer;
use crate::relay::{events_until, notice, relayed_host, relayed_host_with, target};

const VIEW: &str = "tt_view_0000000000000000";

/// The stream of `main` as the broker holds it: first and last sequence.
async fn stream_range(broker: &NatsServer) -> Option<(u64, u64)> {
    let client = async_nats::connect(broker.url().as_str()).await.ok()?;
    let js = jetstream::new(client);
    let mut stream = js.get_stream(stream_name("devbox", "main")).await.ok()?;
    let state = stream.info().await.ok()?.state.clone();
    Some((state.first_sequence, state.last_sequence))
}

/// Waits until the stream of `main` holds events `1..=last`.
async fn stream_holds(broker: &NatsServer, last: u64) {
    stream_until(broker, Duration::from_secs(20), |range| range == (1, last)).await;
}

/// Waits until the stream of `main`'s range (first, last) is `wanted`.
async fn stream_until(broker: &NatsServer, limit: Duration, wanted: impl Fn((u64, u64)) -> bool) {
    let deadline = Instant::now() + limit;
    loop {
        let range = stream_range(broker).await;
        if range.is_some_and(&wanted) {
            return;
        }
        assert!(Instant::now() < deadline, "the stream holds {range:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The `relay_catch_up` frames the host sends its relay connections.
async fn catch_ups(broker: &NatsServer) -> tokio::sync::mpsc::UnboundedReceiver<RelayCatchUp> {
    let client = async_nats::connect(broker.url().as_str()).await.unwrap();
    let mut own = client.subscribe("tether.devbox.main.to.*").await.unwrap();
    client.flush().await.unwrap();
    let (found, seen) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        let _client = client;
        while let Some(message) = own.next().await {
            let text = String::from_utf8_lossy(&message.payload);
            if let Some(catch_up) = RelayCatchUp::parse(&text) {
                let _ = found.send(catch_up);
            }
        }
    });
    seen
}

/// A viewer from the start: it is handed every event `1..=last`, each
/// once, in order.
async fn viewer_from_the_start(broker: &NatsServer, last: u64) -> (Connection, Vec<u64>) {
    let applied = Arc::new(AtomicU64::new(0));
    let mut viewer = relay::spawn(target(broker, VIEW, true), Resume::After(applied.clone()));
    let mut seqs = Vec::new();
    events_until(&mut viewer, &applied, &mut seqs, last).await;
    assert_eq!(seqs.first(), Some(&1), "from the first event");
    (viewer, seqs)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_new_viewer_catches_up_from_the_sessions_stream() {
    let dir = tempfile::tempdir().unwrap();
    let Some(broker) = NatsServer::start("relay_stream", dir.path()) else {
        return;
    };
    let host = relayed_host(dir.path(), &broker).await;
    for n in 0..300 {
        host.inject(notice(format!("event {n}"))).await.unwrap();
    }
    let last = host.summary().await.unwrap().last_seq;
    let (first_viewer, _) = viewer_from_the_start(&broker, last).await;
    stream_holds(&broker, last).await;
    let mut seen = catch_ups(&broker).await;
    let (second_viewer, seqs) = viewer_from_the_start(&broker, last).await;
    assert_eq!(seqs.len() as u64, last);
    let catch_up = tokio::time::timeout(Duration::from_secs(5), seen.recv())
        .await
        .expect("the host sent the viewer to the stream")
        .unwrap();
    assert_eq!((catch_up.from, catch_up.to), (1, last));
    // Live events still come after the catch-up, each once.
    host.inject(notice("after".into())).await.unwrap();
    let mut seqs = vec![last];
    let applied = AtomicU64::new(last);
    let mut second_viewer = second_viewer;
    events_until(&mut second_viewer, &applied, &mut seqs, last + 1).await;
    drop((first_viewer, second_viewer));
    host.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_broker_restarted_on_an_empty_store_gets_the_stream_back_from_the_host() {
    let dir = tempfile::tempdir().unwrap();
    let Some(broker) = NatsServer::start("relay_stream_lost", dir.path()) else {
        return;
    };
    let port = broker.port;
    let host = relayed_host(dir.path(), &broker).await;
    for n in 0..100 {
        host.inject(notice(format!("before {n}"))).await.unwrap();
    }
    let last = host.summary().await.unwrap().last_seq;
    let (watching, _) = viewer_from_the_start(&broker, last).await;
    stream_holds(&broker, last).await;
    broker.kill();
    let empty = dir.path().join("empty");
    std::fs::create_dir_all(&empty).unwrap();
    let broker = NatsServer::start_on("relay_stream_lost", &empty, port).unwrap();
    for n in 0..10 {
        host.inject(notice(format!("after {n}"))).await.unwrap();
    }
    let last = host.summary().await.unwrap().last_seq;
    stream_holds(&broker, last).await;
    let mut seen = catch_ups(&broker).await;
    let (late, _) = viewer_from_the_start(&broker, last).await;
    let catch_up = tokio::time::timeout(Duration::from_secs(5), seen.recv())
        .await
        .expect("caught up from the refilled stream")
        .unwrap();
    assert_eq!((catch_up.from, catch_up.to), (1, last));
    drop((watching, late));
    host.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_successor_under_the_same_id_never_shows_its_predecessors_events() {
    let dir = tempfile::tempdir().unwrap();
    let Some(broker) = NatsServer::start("relay_stream_successor", dir.path()) else {
        return;
    };
    let old_dir = dir.path().join("old");
    std::fs::create_dir_all(&old_dir).unwrap();
    let old = relayed_host(&old_dir, &broker).await;
    for n in 0..200 {
        old.inject(notice(format!("old {n}"))).await.unwrap();
    }
    let old_last = old.summary().await.unwrap().last_seq;
    let (watching, _) = viewer_from_the_start(&broker, old_last).await;
    stream_holds(&broker, old_last).await;
    drop(watching);
    old.shutdown().await.unwrap();

    // A new host on a new journal: `main` again, a new instance.
    let new_dir = dir.path().join("new");
    std::fs::create_dir_all(&new_dir).unwrap();
    let new = relayed_host(&new_dir, &broker).await;
    new.inject(notice("new".into())).await.unwrap();
    let last = new.summary().await.unwrap().last_seq;
    assert!(last < old_last);
    let applied = Arc::new(AtomicU64::new(0));
    let mut viewer = relay::spawn(target(&broker, VIEW, true), Resume::After(applied));
    // Every notice it is handed, up to `caught_up` and a little after.
    let mut texts = Vec::new();
    let mut caught_up = None;
    loop {
        let wait = if caught_up.is_some() { 500 } else { 10_000 };
        let next = tokio::time::timeout(Duration::from_millis(wait), viewer.events.recv()).await;
        match next {
            Ok(Some(ConnEvent::Message(ServerMessage::Event(record)))) => {
                if let EventKind::Notice { text, .. } = record.event {
                    texts.push(text);
                }
            }
            Ok(Some(ConnEvent::Message(ServerMessage::CaughtUp { seq }))) => caught_up = Some(seq),
            Ok(Some(ConnEvent::Failed(e))) => panic!("failed: {e}"),
            Ok(Some(_)) => {}
            Ok(None) => panic!("the connection task ended"),
            Err(_) if caught_up.is_some() => break,
            Err(_) => panic!("never caught up"),
        }
    }
    assert_eq!(caught_up, Some(last));
    assert!(texts.contains(&"new".to_owned()), "{texts:?}");
    assert!(texts.iter().all(|t| !t.starts_with("old")), "{texts:?}");
    stream_holds(&broker, last).await;
    drop(viewer);
    new.shutdown().await.unwrap();
}

/// A session nobody watches still has its stream, kept up through a
/// flood of events (more than the broker client lets go unacknowledged).
#[tokio::test(flavor = "multi_thread")]
async fn an_unwatched_sessions_flood_reaches_its_stream() {
    let dir = tempfile::tempdir().unwrap();
    let Some(broker) = NatsServer::start("relay_stream_flood", dir.path()) else {
        return;
    };
    let host = relayed_host(dir.path(), &broker).await;
    for n in 0..12_000 {
        host.inject(notice(format!("flood {n}"))).await.unwrap();
    }
    let last = host.summary().await.unwrap().last_seq;
    stream_until(&broker, Duration::from_secs(30), |(_, held)| held == last).await;
    host.shutdown().await.unwrap();
}

/// A host that keeps 50 events in memory and all in its journal, 20
/// events in its stream; then `broker` is killed.
async fn journaled_host_then_broker_gone(
    dir: &std::path::Path,
    broker: NatsServer,
) -> tether::host::Host {
    let journal = dir.join("journal");
    let host = relayed_host_with(dir, &broker, move |config| {
        config.journal_dir = Some(journal);
        config.retain = 50;
    })
    .await;
    for n in 0..20 {
        host.inject(notice(format!("before {n}"))).await.unwrap();
    }
    stream_holds(&broker, host.summary().await.unwrap().last_seq).await;
    broker.kill();
    host
}

/// The broker away while events flow (more than the host keeps in
/// memory), back on its store: the stream ends with every event once and
/// a new viewer reads them all. (What the client library buffered while
/// away lands first; what it could not, the journal refills.)
#[tokio::test(flavor = "multi_thread")]
async fn a_broker_away_while_events_flow_ends_with_every_event_in_the_stream() {
    let dir = tempfile::tempdir().unwrap();
    let Some(broker) = NatsServer::start("relay_stream_refill", dir.path()) else {
        return;
    };
    let port = broker.port;
    let host = journaled_host_then_broker_gone(dir.path(), broker).await;
    // 300 events while the broker is away: memory keeps the last 50.
    for n in 0..300 {
        host.inject(notice(format!("away {n}"))).await.unwrap();
    }
    let broker = NatsServer::start_on("relay_stream_refill", dir.path(), port).unwrap();
    let last = host.summary().await.unwrap().last_seq;
    stream_holds(&broker, last).await;
    let (viewer, seqs) = viewer_from_the_start(&broker, last).await;
    assert_eq!(seqs, (1..=last).collect::<Vec<_>>());
    drop(viewer);
    host.shutdown().await.unwrap();
}

/// The broker back on an older copy of its store (a restore from backup):
/// its stream of `main` stops 300 events short, and the host keeps only
/// the last 50 in memory, so what lies between must come from its
/// journal. The stream ends with every event at its seq, and a new viewer
/// reads them all from it.
#[tokio::test(flavor = "multi_thread")]
async fn a_broker_back_on_an_older_store_is_refilled_from_the_journal() {
    let dir = tempfile::tempdir().unwrap();
    let Some(broker) = NatsServer::start("relay_stream_journal", dir.path()) else {
        return;
    };
    let port = broker.port;
    let host = journaled_host_then_broker_gone(dir.path(), broker).await;
    // The backup: the store as it is now.
    let older = dir.path().join("older");
    std::fs::create_dir_all(&older).unwrap();
    let copied = std::process::Command::new("cp")
        .arg("-a")
        .arg(dir.path().join("nats-store"))
        .arg(&older)
        .status()
        .unwrap();
    assert!(copied.success());
    let broker = NatsServer::start_on("relay_stream_journal", dir.path(), port).unwrap();
    for n in 0..300 {
        host.inject(notice(format!("later {n}"))).await.unwrap();
    }
    let last = host.summary().await.unwrap().last_seq;
    stream_holds(&broker, last).await;
    broker.kill();
    let broker = NatsServer::start_on("relay_stream_journal", &older, port).unwrap();
    // What the host aligns the restored stream with: its journal for
    // 21..=last-50, its memory for the rest.
    stream_holds(&broker, last).await;
    let (viewer, seqs) = viewer_from_the_start(&broker, last).await;
    assert_eq!(seqs, (1..=last).collect::<Vec<_>>());
    drop(viewer);
    host.shutdown().await.unwrap();
}
