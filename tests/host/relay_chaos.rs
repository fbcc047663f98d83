//! Chaos through the broker: viewers whose broker connections are cut at
//! random byte offsets (mid-message, during the join, in the replay) while
//! a host streams events through the relay. The client library reconnects
//! to the broker, the relay client notices what it missed and joins again
//! after what it applied: each viewer ends with every event once, in order.

use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use tether::broker::Broker;
use tether::client::relay::{self, RelayTarget};
use tether::client::{ConnEvent, Resume};
use tether::host::agent::AgentSpec;
use tether::host::server::relay::RelayConfig;
use tether::protocol::{EventKind, OutputStream, ServerMessage};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use crate::common::broker::NatsServer;
use crate::support::*;

const EVENTS: u64 = 3_000;
const VIEWERS: usize = 8;

/// A proxy to the broker that cuts each connection after a random number
/// of the broker's bytes (now and then a long one, so progress is sure).
/// Returns its address.
async fn cutting_proxy(broker: u16, seed: u64) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        let mut rng = StdRng::seed_from_u64(seed);
        let mut accepted = 0u32;
        while let Ok((client, _)) = listener.accept().await {
            accepted += 1;
            let budget = if accepted > 3 && rng.random_bool(0.3) {
                usize::MAX
            } else {
                rng.random_range(0..40_000)
            };
            let broker = format!("127.0.0.1:{broker}");
            tokio::spawn(async move {
                crate::cutting::forward_until_cut(client, &broker, budget).await
            });
        }
    });
    port
}

/// One viewer through its cutting proxy: the seqs it was handed, in order.
async fn viewer(proxy: u16, token: String, base: u64, total: u64) -> (Vec<u64>, u32) {
    let target = RelayTarget {
        broker: Broker::at(format!("nats://127.0.0.1:{proxy}").parse().unwrap()),
        host: "devbox".into(),
        session: "main".into(),
        token,
        view: true,
        claim: false,
    };
    let applied = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(base));
    let mut conn = relay::spawn(target, Resume::After(applied.clone()));
    let mut seqs = Vec::new();
    let mut losses = 0;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(90);
    while seqs.last().is_none_or(|s| *s < total) {
        match tokio::time::timeout_at(deadline, conn.events.recv()).await {
            Ok(Some(ConnEvent::Message(ServerMessage::Event(record)))) => {
                seqs.push(record.seq);
                applied.store(record.seq, std::sync::atomic::Ordering::Release);
            }
            Ok(Some(ConnEvent::Lost { .. })) => losses += 1,
            Ok(Some(ConnEvent::Failed(e))) => panic!("failed: {e}"),
            Ok(Some(_)) => {}
            Ok(None) | Err(_) => break,
        }
    }
    (seqs, losses)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_viewer_through_a_cutting_broker_link_ends_with_every_event_once() {
    let dir = tempfile::tempdir().unwrap();
    let Some(broker) = NatsServer::start("relay_chaos", dir.path()) else {
        return;
    };
    write_auth(&dir.path().join("auth.json"));
    let url = broker.url();
    let host = crate::common::start_host(dir.path(), AgentSpec::Shell, move |config| {
        config.relay = Some(RelayConfig {
            broker: Broker::at(url),
            host_id: "devbox".into(),
            stream: Default::default(),
        });
    })
    .await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let base = host.summary().await.unwrap().last_seq;
    let total = base + EVENTS;
    let started = Instant::now();
    let mut viewers = Vec::new();
    for n in 0..VIEWERS {
        let proxy = cutting_proxy(broker.port, 7_000 + n as u64).await;
        let token = "tt_view_0000000000000000".to_owned();
        viewers.push(tokio::spawn(viewer(proxy, token, base, total)));
    }
    for n in 0..EVENTS {
        let text = format!("event {n}\n");
        let event = EventKind::Output {
            stream: OutputStream::Stdout,
            text,
        };
        host.inject(event).await.unwrap();
        if n % 100 == 0 {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
    for (n, task) in viewers.into_iter().enumerate() {
        let (seqs, losses) = task.await.unwrap();
        assert!(
            seqs.iter().copied().eq(base + 1..=total),
            "viewer {n}: {} events, first {:?}, last {:?}, not exactly {}..={total} once in order",
            seqs.len(),
            seqs.first(),
            seqs.last(),
            base + 1
        );
        assert!(losses >= 1, "viewer {n} was never cut");
    }
    eprintln!(
        "relay chaos: {VIEWERS} viewers, {EVENTS} events in {:?}",
        started.elapsed()
    );
    host.shutdown().await.unwrap();
}

/// A proxy to the broker that can swallow what the host sends (bytes read
/// and dropped, as a link that dies does) and then cut the connection.
struct HostLink {
    port: u16,
    swallow: std::sync::Arc<std::sync::atomic::AtomicBool>,
    cut: tokio::sync::broadcast::Sender<()>,
}

async fn host_link(broker: u16) -> HostLink {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let swallow = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let (cut, _) = tokio::sync::broadcast::channel(4);
    let (flag, cuts) = (swallow.clone(), cut.clone());
    tokio::spawn(async move {
        while let Ok((host, _)) = listener.accept().await {
            let Ok(upstream) = TcpStream::connect(("127.0.0.1", broker)).await else {
                return;
            };
            let (mut host_read, mut host_write) = host.into_split();
            let (mut up_read, mut up_write) = upstream.into_split();
            let (flag, mut cut) = (flag.clone(), cuts.subscribe());
            tokio::spawn(async move {
                let to_broker = async {
                    let mut buf = vec![0u8; 4096];
                    loop {
                        let n = match host_read.read(&mut buf).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => n,
                        };
                        if flag.load(std::sync::atomic::Ordering::SeqCst) {
                            continue;
                        }
                        if up_write.write_all(&buf[..n]).await.is_err() {
                            return;
                        }
                    }
                };
                let to_host = tokio::io::copy(&mut up_read, &mut host_write);
                tokio::select! {
                    _ = to_broker => {}
                    _ = to_host => {}
                    _ = cut.recv() => {}
                }
            });
        }
    });
    HostLink { port, swallow, cut }
}

/// The host's own broker link dies just after it published an event, and
/// nothing follows: its viewers are told to join again once it is back,
/// and get that event (they would otherwise wait for the next one).
#[tokio::test(flavor = "multi_thread")]
async fn an_event_lost_with_the_hosts_broker_link_reaches_its_viewers() {
    let dir = tempfile::tempdir().unwrap();
    let Some(broker) = NatsServer::start("relay_host_link", dir.path()) else {
        return;
    };
    write_auth(&dir.path().join("auth.json"));
    let link = host_link(broker.port).await;
    let through = format!("nats://127.0.0.1:{}", link.port).parse().unwrap();
    let host = crate::common::start_host(dir.path(), AgentSpec::Shell, move |config| {
        config.relay = Some(RelayConfig {
            broker: Broker::at(through),
            host_id: "devbox".into(),
            stream: Default::default(),
        });
    })
    .await;
    let base = host.summary().await.unwrap().last_seq;
    let target = RelayTarget {
        broker: Broker::at(broker.url()),
        host: "devbox".into(),
        session: "main".into(),
        token: "tt_view_0000000000000000".into(),
        view: true,
        claim: false,
    };
    let applied = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(base));
    let mut conn = relay::spawn(target, Resume::After(applied.clone()));
    let next_event = async |conn: &mut tether::client::Connection| loop {
        match conn.events.recv().await {
            Some(ConnEvent::Message(ServerMessage::Event(record))) => return record.seq,
            Some(ConnEvent::Failed(e)) => panic!("failed: {e}"),
            Some(_) => {}
            None => panic!("the connection task ended"),
        }
    };
    let say = |text: &str| EventKind::Output {
        stream: OutputStream::Stdout,
        text: text.into(),
    };
    // Joined and its first heartbeat answered, before the link dies.
    loop {
        match tokio::time::timeout(Duration::from_secs(10), conn.events.recv()).await {
            Ok(Some(ConnEvent::Rtt(_))) => break,
            Ok(Some(ConnEvent::Failed(e))) => panic!("failed: {e}"),
            Ok(Some(_)) => {}
            Ok(None) | Err(_) => panic!("no heartbeat answered"),
        }
    }
    host.inject(say("before\n")).await.unwrap();
    let seq = tokio::time::timeout(Duration::from_secs(10), next_event(&mut conn))
        .await
        .unwrap();
    applied.store(seq, std::sync::atomic::Ordering::Release);
    link.swallow
        .store(true, std::sync::atomic::Ordering::SeqCst);
    host.inject(say("lost on the way\n")).await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let _ = link.cut.send(());
    link.swallow
        .store(false, std::sync::atomic::Ordering::SeqCst);
    let cut_at = Instant::now();
    let seq = tokio::time::timeout(Duration::from_secs(20), next_event(&mut conn))
        .await
        .expect("the event lost with the host's link comes once it is back");
    // Well before its next heartbeat (every 5 s) would have noticed.
    assert!(
        cut_at.elapsed() < Duration::from_secs(4),
        "{:?}",
        cut_at.elapsed()
    );
    assert_eq!(seq, base + 2);
    drop(conn);
    host.shutdown().await.unwrap();
}
