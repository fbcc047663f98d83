//! Faults: a follower that stops reading, an owner that keeps dropping.

use std::time::{Duration, Instant};

use futures_util::StreamExt;
use tether::host::agent::AgentSpec;
use tether::protocol::{EventKind, OutputStream, Role, ServerMessage};
use tokio_tungstenite::tungstenite::Message;

use crate::support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_follower_that_stops_reading_is_cut_off_and_the_others_keep_up() {
    let host = TestHost::start_with(AgentSpec::Shell, |c| c.queue_frames = 256).await;
    let inner = host.host.as_ref().unwrap();
    let mut healthy = host.viewer().await;
    // The stalled one reads its greeting, then never reads again.
    let mut stalled = Client::connect(&host.url, &host.view, "").await;
    stalled.greeting().await;
    let before = inner.summary().await.unwrap();
    assert_eq!(before.participants, 2);
    let base = before.last_seq;
    // 4 MB/s for 3 s: easy for a reader, and enough to fill the stalled
    // one's socket buffers and then its queue.
    const EVENTS: u64 = 3000;
    let text = "z".repeat(4 * 1024);
    let reader = tokio::spawn(async move {
        let started = Instant::now();
        let mut next = base + 1;
        let mut worst = Duration::ZERO;
        while next <= base + EVENTS {
            let sent = Instant::now();
            let record = healthy.wait_event(|_| true).await;
            // The session's own first events may come after this viewer
            // joined and before `base` was read: not part of the test.
            if record.seq <= base {
                continue;
            }
            worst = worst.max(sent.elapsed());
            assert_eq!(record.seq, next, "the healthy follower misses nothing");
            next += 1;
        }
        (started.elapsed(), worst)
    });
    let mut cut_at = None;
    let started = Instant::now();
    for n in 0..EVENTS {
        inner
            .inject(EventKind::Output {
                stream: OutputStream::Stdout,
                text: text.clone(),
            })
            .await
            .unwrap();
        if n % 50 == 0 && cut_at.is_none() && inner.summary().await.unwrap().participants == 1 {
            cut_at = Some(n);
        }
        if n % 10 == 0 {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
    let (took, worst_gap) = reader.await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(5);
    while cut_at.is_none() && Instant::now() < deadline {
        if inner.summary().await.unwrap().participants == 1 {
            cut_at = Some(EVENTS);
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(cut_at.is_some(), "the stalled follower was never cut off");
    assert!(
        worst_gap < Duration::from_secs(5),
        "the healthy follower never waited long: {worst_gap:?} (all in {took:?}, {:?} total)",
        started.elapsed()
    );
    // Draining what reached it ends in the 1008 close, or a cut connection
    // when the close frame no longer fit.
    let mut code = None;
    while let Ok(Some(frame)) =
        tokio::time::timeout(Duration::from_secs(5), stalled.ws.next()).await
    {
        match frame {
            Ok(Message::Close(Some(close))) => {
                code = Some(u16::from(close.code));
                break;
            }
            Ok(_) => continue,
            Err(_) => break,
        }
    }
    assert!(code.is_none_or(|c| c == 1008), "closed with {code:?}");
    host.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_owner_that_keeps_dropping_always_gets_the_slot_back() {
    let mut tokens = None;
    let host = TestHost::start_with(AgentSpec::Shell, |c| {
        c.owner_grace = Duration::from_secs(5);
        tokens = Some(write_auth(&c.auth_path));
    })
    .await;
    let (alice, bob, view) = tokens.unwrap();
    let mut watcher = Client::connect(&host.url, &view, "").await;
    watcher.greeting().await;
    let mut owner = Client::connect(&host.url, &alice, "").await;
    owner.greeting().await;
    assert_eq!(owner.role, Some(Role::Owner));
    let mut bobs = Vec::new();
    for round in 0..15 {
        drop(owner);
        // Someone else eligible arrives while the slot is held.
        let mut intruder = Client::connect(&host.url, &bob, "").await;
        intruder.greeting().await;
        assert_eq!(
            intruder.role,
            Some(Role::Follower),
            "round {round}: bob took a held slot"
        );
        bobs.push(intruder);
        owner = Client::connect(&host.url, &alice, "").await;
        owner.greeting().await;
        if owner.role != Some(Role::Owner) {
            // Her new connection beat the old one's close: the slot passes
            // to it as soon as the host notices the old one gone.
            let role = tokio::time::timeout(
                Duration::from_secs(2),
                owner.wait_for(|m| match m {
                    ServerMessage::Role { role, .. } => Some(*role),
                    _ => None,
                }),
            )
            .await;
            assert_eq!(
                role.ok(),
                Some(Role::Owner),
                "round {round}: alice did not get her slot back"
            );
        }
    }
    // Every participants message the watcher saw had at most one owner,
    // and it was always alice.
    let mut seen = 0;
    while let Some(message) = watcher.recv_within(Duration::from_millis(300)).await {
        if let ServerMessage::Participants { participants, .. } = message {
            seen += 1;
            let owners: Vec<_> = participants
                .iter()
                .filter(|p| p.role == Role::Owner)
                .collect();
            assert!(owners.len() <= 1, "two owners at once: {participants:?}");
            assert!(owners.iter().all(|p| p.identity == "alice"));
        }
    }
    assert!(seen > 0);
    host.stop().await;
}
