//! `flood=tail` (issue 25): a connection that asks for it gets a flood of
//! output as its first 256 KiB whole, then the newest events of each
//! moment after a `skipped` naming the rest, which `history` serves; one
//! that does not ask gets every event. Real host, real sockets.

use std::time::Duration;

use tether::host::agent::AgentSpec;
use tether::protocol::{
    ClientMessage, EventKind, EventRecord, HistoryRequest, NoticeLevel, OutputStream, ServerMessage,
};

use crate::support::*;

const LINES: usize = 3_000;

fn output(n: usize) -> EventKind {
    EventKind::Output {
        stream: OutputStream::Stdout,
        text: format!("line {n:05} {}\n", "o".repeat(1000)),
    }
}

/// What a connection received: events and `skipped` ranges, in order,
/// until event `last`.
#[derive(Debug, PartialEq)]
enum Got {
    Event(u64),
    Skipped(u64, u64),
}

async fn received(client: &mut Client, last: u64) -> Vec<Got> {
    let mut got = Vec::new();
    loop {
        match client.recv().await {
            ServerMessage::Event(record) => {
                got.push(Got::Event(record.seq));
                if record.seq == last {
                    return got;
                }
            }
            ServerMessage::Skipped { from, to } => got.push(Got::Skipped(from, to)),
            _ => {}
        }
    }
}

#[tokio::test]
async fn a_flood_reaches_a_tail_connection_as_its_tail_and_the_rest_by_history() {
    let host = TestHost::start(AgentSpec::Shell).await;
    let mut every = Client::connect(&host.url, &host.view, "mode=view").await;
    every.greeting().await;
    let mut tail = Client::connect(&host.url, &host.view, "mode=view&flood=tail").await;
    tail.greeting().await;
    let start = tail.events.last().map_or(0, |r| r.seq);

    let h = host.host.as_ref().unwrap();
    for n in 1..=LINES {
        h.inject(output(n)).await.unwrap();
    }
    // Not output: never skipped, and it sends what is held before it.
    let done = EventKind::Notice {
        level: NoticeLevel::Info,
        text: "flood over".into(),
    };
    h.inject(done).await.unwrap();
    let last = start + LINES as u64 + 1;

    let all = received(&mut every, last).await;
    assert_eq!(all.len(), LINES + 1, "every event without flood=tail");
    assert!(all.iter().all(|g| matches!(g, Got::Event(_))));

    let got = received(&mut tail, last).await;
    // In order, each seq once, as an event or within a `skipped`.
    let mut next = start + 1;
    for g in &got {
        match *g {
            Got::Event(seq) => {
                assert_eq!(seq, next, "{got:?}");
                next += 1;
            }
            Got::Skipped(from, to) => {
                assert!(from == next && to >= from, "{g:?} at {next}: {got:?}");
                next = to + 1;
            }
        }
    }
    assert_eq!(next, last + 1);
    let sent = got.iter().filter(|g| matches!(g, Got::Event(_))).count();
    assert!(
        sent < LINES / 4,
        "{sent} of {LINES} events sent: the flood was not cut"
    );
    // The burst's first 256 KiB went whole (about 250 of these events).
    assert!(
        got[..200].iter().all(|g| matches!(g, Got::Event(_))),
        "{:?}",
        &got[..210]
    );

    // Every skipped range is served by `history`, as it was broadcast.
    for g in &got {
        let Got::Skipped(from, to) = *g else { continue };
        let mut served: Vec<EventRecord> = Vec::new();
        while served.last().map_or(from - 1, |r| r.seq) < to {
            let after = served.last().map_or(from - 1, |r| r.seq);
            let id = tail.id();
            // Without `before` a page is the oldest events after `after`.
            let request = HistoryRequest {
                id: id.clone(),
                after,
                ..Default::default()
            };
            tail.send(&ClientMessage::HistoryRequest(request)).await;
            let page = tail
                .wait_for(|m| match m {
                    ServerMessage::History(page) if page.id == id => Some(page.clone()),
                    _ => None,
                })
                .await;
            assert!(!page.events.is_empty(), "nothing served after {after}");
            served.extend(page.events.into_iter().filter(|r| r.seq <= to));
        }
        let broadcast: Vec<EventRecord> = every
            .events
            .iter()
            .filter(|r| (from..=to).contains(&r.seq))
            .cloned()
            .collect();
        let seqs = |events: &[EventRecord]| events.iter().map(|r| r.seq).collect::<Vec<_>>();
        assert_eq!(seqs(&served), seqs(&broadcast), "skipped {from}..={to}");
        assert!(served == broadcast, "served as broadcast");
    }
}

#[tokio::test]
async fn output_that_trickles_reaches_a_tail_connection_whole() {
    let host = TestHost::start(AgentSpec::Shell).await;
    let mut tail = Client::connect(&host.url, &host.view, "mode=view&flood=tail").await;
    tail.greeting().await;
    let start = tail.events.last().map_or(0, |r| r.seq);
    let h = host.host.as_ref().unwrap();
    for n in 1..=5 {
        h.inject(output(n)).await.unwrap();
        tokio::time::sleep(Duration::from_millis(30)).await;
    }
    let got = received(&mut tail, start + 5).await;
    let seqs: Vec<Got> = (start + 1..=start + 5).map(Got::Event).collect();
    assert_eq!(got, seqs);
}

/// What a client applies, as the TUI does: seqs it has applied are
/// dropped, a `skipped` moves it past the events it names, anything past
/// a gap is an error.
#[derive(Default)]
struct Applied {
    last: u64,
    events: usize,
}

impl Applied {
    fn take(&mut self, message: &ServerMessage) {
        match *message {
            ServerMessage::Event(ref record) if record.seq > self.last => {
                assert_eq!(record.seq, self.last + 1, "a gap after {}", self.last);
                self.last = record.seq;
                self.events += 1;
            }
            ServerMessage::Skipped { from, to } if to > self.last => {
                assert!(
                    from <= self.last + 1,
                    "skipped {from}..={to} after {}",
                    self.last
                );
                self.last = to;
            }
            _ => {}
        }
    }
}

#[tokio::test]
async fn a_tail_connection_that_reconnects_mid_flood_resumes_without_a_gap() {
    let host = TestHost::start(AgentSpec::Shell).await;
    let h = host.host.as_ref().unwrap();
    let mut client = Client::connect(&host.url, &host.view, "mode=view&flood=tail").await;
    client.greeting().await;
    let mut applied = Applied::default();
    for record in &client.events {
        applied.take(&ServerMessage::Event(record.clone()));
    }
    let start = applied.last;
    for n in 1..=LINES {
        h.inject(output(n)).await.unwrap();
    }
    // Gone partway through what the flood sends it.
    while applied.last < start + 100 {
        let message = client.recv().await;
        applied.take(&message);
    }
    drop(client);
    for n in LINES + 1..=2 * LINES {
        h.inject(output(n)).await.unwrap();
    }
    let last = start + 2 * LINES as u64;
    let query = format!("mode=view&flood=tail&since={}", applied.last);
    let mut client = Client::connect(&host.url, &host.view, &query).await;
    loop {
        let message = client.recv().await;
        applied.take(&message);
        if matches!(message, ServerMessage::CaughtUp { .. }) {
            break;
        }
    }
    assert_eq!(applied.last, last, "the replay brought all it missed");
    // Everything after the reconnect was missed, so it was replayed whole.
    assert!(applied.events > LINES, "{} events applied", applied.events);
    // The flood goes on after the replay: its tail only.
    for n in 2 * LINES + 1..=3 * LINES {
        h.inject(output(n)).await.unwrap();
    }
    let before = applied.events;
    let last = start + 3 * LINES as u64;
    while applied.last < last {
        let message = client.recv().await;
        applied.take(&message);
    }
    assert!(
        applied.events - before < LINES / 4,
        "{} of {LINES} sent after the replay",
        applied.events - before
    );
}
