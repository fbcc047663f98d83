//! `history` requests (issue 25): pages of older events served from
//! memory and, after a restart, from the journal, to any participant
//! (a viewer too), without touching the live stream or the resume point;
//! `find` searches the whole history on the host.

use std::path::Path;

use tether::host::HostConfig;
use tether::host::agent::AgentSpec;
use tether::protocol::{
    ClientMessage, EventKind, FEATURE_HISTORY, HistoryPage, HistoryRequest, OutputStream,
    ServerMessage,
};

use crate::support::*;

/// Memory keeps about the last 40 of these 1 KB events.
const BUDGET: usize = 40 * 1024;

fn output(n: usize) -> EventKind {
    EventKind::Output {
        stream: OutputStream::Stdout,
        text: format!("line {n:05} {}\n", "o".repeat(1000)),
    }
}

fn journaled(journal: &Path) -> impl FnOnce(&mut HostConfig) {
    let journal = journal.to_owned();
    move |c: &mut HostConfig| {
        c.history_bytes = BUDGET;
        c.journal_dir = Some(journal);
    }
}

async fn page(client: &mut Client, request: HistoryRequest) -> HistoryPage {
    let id = client.id();
    client
        .send(&ClientMessage::HistoryRequest(HistoryRequest {
            id: id.clone(),
            ..request
        }))
        .await;
    client
        .wait_for(|m| match m {
            ServerMessage::History(page) if page.id == id => Some(page.clone()),
            ServerMessage::Error { id: Some(got), .. } if *got == id => panic!("refused: {m:?}"),
            _ => None,
        })
        .await
}

fn seqs(page: &HistoryPage) -> Vec<u64> {
    page.events.iter().map(|r| r.seq).collect()
}

fn before(seq: u64, limit: usize) -> HistoryRequest {
    HistoryRequest {
        before: Some(seq),
        limit: Some(limit),
        ..Default::default()
    }
}

#[tokio::test]
async fn pages_come_from_memory_and_the_journal_and_a_viewer_may_ask() {
    let journal = tempfile::tempdir().unwrap();
    let host = TestHost::start_with(AgentSpec::Shell, journaled(journal.path())).await;
    let mut viewer = host.viewer().await;
    let Some(ServerMessage::Ready { features, .. }) = &viewer.ready else {
        unreachable!()
    };
    assert!(features.iter().any(|f| f == FEATURE_HISTORY));
    let h = host.host.as_ref().unwrap();
    for n in 1..=300 {
        h.inject(output(n)).await.unwrap();
    }
    let window = h.history_window().await.unwrap();
    assert!(window.first_seq > 250, "most is only on disk: {window:?}");
    let last = window.last_seq;
    viewer
        .wait_for(|m| matches!(m, ServerMessage::Event(r) if r.seq == last).then_some(()))
        .await;
    let live = viewer.events.clone();
    // The agent's own events came first: line n is event n + base.
    let base = last - 300;

    // The newest 10 before 295: from memory.
    let recent = page(&mut viewer, before(last - 5, 10)).await;
    assert_eq!(seqs(&recent), (last - 15..last - 5).collect::<Vec<_>>());
    assert_eq!((recent.oldest, recent.last_seq), (1, last));
    let index = |seq: u64| seq as usize - 1;
    assert_eq!(
        recent.events[..],
        live[index(last - 15)..index(last - 5)],
        "as they were broadcast"
    );
    // Across the journal and memory, and from the journal alone.
    let across = page(&mut viewer, before(window.first_seq + 5, 30)).await;
    let first = window.first_seq - 25;
    assert_eq!(
        seqs(&across),
        (first..window.first_seq + 5).collect::<Vec<_>>()
    );
    assert_eq!(
        across.events[..],
        live[index(first)..index(window.first_seq + 5)]
    );
    let oldest = page(&mut viewer, before(4, 100)).await;
    assert_eq!(seqs(&oldest), [1, 2, 3]);
    // Forward from a point, and a byte budget (the newest that fit).
    let forward = page(
        &mut viewer,
        HistoryRequest {
            after: 10,
            limit: Some(5),
            ..Default::default()
        },
    )
    .await;
    assert_eq!(seqs(&forward), [11, 12, 13, 14, 15]);
    let small = HistoryRequest {
        max_bytes: Some(3_500),
        ..before(200, 100)
    };
    assert_eq!(seqs(&page(&mut viewer, small).await), [197, 198, 199]);

    // A search finds the newest match before `before`, in the journal.
    let find = |text: &str, before: u64| HistoryRequest {
        find: Some(text.into()),
        before: Some(before),
        limit: Some(3),
        ..Default::default()
    };
    let found = page(&mut viewer, find("LINE 00042 ", last)).await;
    assert_eq!(found.found, Some(base + 42));
    assert_eq!(seqs(&found), [base + 40, base + 41, base + 42]);
    let nothing = page(&mut viewer, find("line 00042 ", base + 42)).await;
    assert_eq!((nothing.found, nothing.events.len()), (None, 0));
    // "output" is only the kind's name here: no match.
    assert_eq!(page(&mut viewer, find("output", last)).await.found, None);
    // Forward: the oldest match after `after`, the page starting with it,
    // from the journal and from memory.
    let next = |text: &str, after: u64| HistoryRequest {
        find: Some(text.into()),
        forward: true,
        after,
        before: Some(last + 1),
        limit: Some(3),
        ..Default::default()
    };
    let found = page(&mut viewer, next("line 0004", base + 42)).await;
    assert_eq!(found.found, Some(base + 43));
    assert_eq!(seqs(&found), [base + 43, base + 44, base + 45]);
    let recent = page(&mut viewer, next("line 0029", base + 295)).await;
    assert_eq!(recent.found, Some(base + 296), "from memory");
    let none = page(&mut viewer, next("line 00042 ", base + 42)).await;
    assert_eq!((none.found, none.events.len()), (None, 0));

    // Nothing of this moved the live stream or the resume point.
    h.inject(output(301)).await.unwrap();
    let next = viewer.wait_event(|_| true).await;
    assert_eq!(next.seq, last + 1);
    assert_eq!(viewer.events.len() as u64, last + 1);
    host.stop().await;

    // After a restart every page comes from the journal; a follower asks.
    let host = TestHost::start_with(AgentSpec::Shell, journaled(journal.path())).await;
    let _owner = host.owner().await;
    let mut follower = host.follower().await;
    let again = page(&mut follower, before(window.first_seq + 5, 30)).await;
    assert_eq!(again.events, across.events);
    let found = page(&mut follower, find("line 00007 ", last + 1)).await;
    assert_eq!(found.found, Some(base + 7));
    host.stop().await;
}

#[tokio::test]
async fn without_a_journal_pages_start_at_what_memory_holds() {
    let host = TestHost::start_with(AgentSpec::Shell, |c| c.history_bytes = BUDGET).await;
    let mut owner = host.owner().await;
    let h = host.host.as_ref().unwrap();
    for n in 1..=100 {
        h.inject(output(n)).await.unwrap();
    }
    let window = h.history_window().await.unwrap();
    let all = page(&mut owner, before(1_000, 1_000)).await;
    assert_eq!(all.oldest, window.first_seq);
    assert_eq!(
        seqs(&all),
        (window.first_seq..=window.last_seq).collect::<Vec<_>>()
    );
    host.stop().await;
}
