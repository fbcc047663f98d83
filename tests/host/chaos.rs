//! Chaos: clients whose connections are cut at random byte offsets (so
//! mid-frame, during the greeting, between `ready` and the replay) while a
//! real host streams 10,000 events. Each reconnects with `since=<last
//! applied>` and must end with exactly events 1..=N, in order, once each.

use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use tether::host::agent::AgentSpec;
use tether::protocol::{ClientMessage, EventKind, OutputStream, Resume, ServerMessage};
use tokio::net::TcpListener;
use tokio_tungstenite::tungstenite::Message;

use crate::support::*;

const EVENTS: u64 = 10_000;
const CLIENTS: usize = 20;

/// A one-shot proxy: forwards the client's bytes, and at most `budget` of
/// the host's, then cuts both sides.
async fn cutting_proxy(host: String, budget: usize) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        if let Ok((client, _)) = listener.accept().await {
            crate::cutting::forward_until_cut(client, &host, budget).await;
        }
    });
    addr.to_string()
}

/// One chaotic client: returns the seqs it applied, in order.
async fn client(url: String, token: String, seed: u64, total: u64, deadline: Instant) -> Vec<u64> {
    let mut rng = StdRng::seed_from_u64(seed);
    let host = host_addr(&url);
    let path = url.split_once(&host).unwrap().1.to_owned();
    let mut applied = Vec::with_capacity(total as usize);
    let mut cuts = 0;
    while (applied.len() as u64) < total && Instant::now() < deadline {
        let last = applied.last().copied().unwrap_or(0);
        // Mostly short connections, so cuts land everywhere, and sometimes
        // a long one so progress is sure.
        let budget = if cuts >= 3 && rng.random_bool(0.2) {
            4_000_000
        } else {
            rng.random_range(0..60_000)
        };
        let proxy = cutting_proxy(host.clone(), budget).await;
        let Ok(mut ws) = try_connect(
            &format!("ws://{proxy}{path}"),
            Some(&token),
            &format!("since={last}&mode=view"),
        )
        .await
        else {
            cuts += 1;
            continue;
        };
        let mut resumed = false;
        loop {
            let frame = match tokio::time::timeout(Duration::from_secs(5), ws.next()).await {
                Ok(Some(Ok(Message::Text(text)))) => text,
                Ok(Some(Ok(_))) => continue,
                _ => break,
            };
            let Ok(ServerMessage::Event(record)) =
                serde_json::from_str::<ServerMessage>(frame.as_str())
            else {
                continue;
            };
            let last = applied.last().copied().unwrap_or(0);
            if record.seq == last + 1 {
                applied.push(record.seq);
            } else if record.seq > last + 1 && !resumed {
                resumed = true;
                let resume = ClientMessage::Resume(Resume {
                    id: None,
                    since: last,
                });
                if ws.send(Message::text(resume.to_json())).await.is_err() {
                    break;
                }
            }
            if applied.len() as u64 == total {
                break;
            }
        }
        cuts += 1;
    }
    assert!(cuts >= 3, "client {seed} was cut {cuts} times");
    applied
}

async fn chaos(seed: u64) {
    let host = TestHost::start(AgentSpec::Replay {
        file: write_empty_recording(),
        speed: 0.0,
        pause_at_requests: false,
    })
    .await;
    // Let the agent's own start-up events land first.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let base = host
        .host
        .as_ref()
        .unwrap()
        .summary()
        .await
        .unwrap()
        .last_seq;
    let target = base + EVENTS;
    let deadline = Instant::now() + Duration::from_secs(40);
    let clients: Vec<_> = (0..CLIENTS)
        .map(|i| {
            tokio::spawn(client(
                host.url.clone(),
                host.view.clone(),
                seed * 1000 + i as u64,
                target,
                deadline,
            ))
        })
        .collect();
    let inject = host.host.as_ref().unwrap();
    for n in 0..(target - base) {
        let text = format!("event {n}\n");
        inject
            .inject(EventKind::Output {
                stream: OutputStream::Stdout,
                text,
            })
            .await
            .unwrap();
        if n % 500 == 0 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
    for (i, task) in clients.into_iter().enumerate() {
        let applied = task.await.unwrap();
        // The first `base` events are the replay agent's own (it ends at
        // once); everything after must be exactly ours, in order, once.
        assert_eq!(
            applied.len() as u64,
            target,
            "seed {seed}, client {i} applied {} of {target}",
            applied.len()
        );
        assert!(
            applied.iter().copied().eq(1..=target),
            "seed {seed}, client {i}: out of order or repeated"
        );
    }
    host.stop().await;
}

fn write_empty_recording() -> std::path::PathBuf {
    let path = std::env::temp_dir().join(format!("tether-empty-{}.jsonl", rand::random::<u32>()));
    std::fs::write(&path, "").unwrap();
    path
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_client_ends_with_every_event_once_in_order() {
    for seed in [1, 2, 3] {
        chaos(seed).await;
    }
}
