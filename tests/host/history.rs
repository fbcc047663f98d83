//! History bounded by bytes: memory holds the newest events within
//! `history_bytes`, the journal the rest, and a resume from 0 or a restart
//! sees the whole history, once, in order.

use std::io::Write;
use std::path::Path;

use serde_json::json;
use tether::host::HostConfig;
use tether::host::agent::AgentSpec;
use tether::protocol::{
    AgentState, EventKind, EventRecord, NoticeLevel, OutputStream, ServerMessage, TurnOutcome,
};

use crate::support::*;

const BUDGET: usize = 64 * 1024;

fn output(n: usize) -> EventKind {
    EventKind::Output {
        stream: OutputStream::Stdout,
        text: format!("{n:06} {}\n", "o".repeat(2000)),
    }
}

fn small_history(journal: &Path) -> impl FnOnce(&mut HostConfig) {
    let journal = journal.to_owned();
    move |c: &mut HostConfig| {
        c.history_bytes = BUDGET;
        c.journal_dir = Some(journal);
    }
}

/// Every event from seq 1, read by a fresh viewer resuming from 0.
async fn whole_history(host: &TestHost) -> (Vec<EventRecord>, u64) {
    let mut late = Client::connect(&host.url, &host.view, "since=0&mode=view").await;
    late.greeting().await;
    let Some(ServerMessage::Ready { last_seq, .. }) = late.ready else {
        unreachable!()
    };
    (late.events, last_seq)
}

fn assert_once_in_order(events: &[EventRecord], last_seq: u64) {
    let seqs: Vec<u64> = events.iter().map(|r| r.seq).collect();
    assert_eq!(seqs, (1..=last_seq).collect::<Vec<_>>());
}

#[tokio::test]
async fn a_megabyte_of_output_stays_within_the_budget_and_resumes_whole() {
    let journal = tempfile::tempdir().unwrap();
    let host = TestHost::start_with(AgentSpec::Shell, small_history(journal.path())).await;
    let mut watcher = host.viewer().await;
    let h = host.host.as_ref().unwrap();
    for n in 0..500 {
        h.inject(output(n)).await.unwrap();
    }
    let window = h.history_window().await.unwrap();
    assert!(window.bytes <= BUDGET, "{window:?}");
    assert!(window.first_seq > 400, "most of it left memory: {window:?}");
    let (events, last_seq) = whole_history(&host).await;
    assert_eq!(last_seq, window.last_seq);
    assert_once_in_order(&events, last_seq);
    // The journal part and the memory part carry what was broadcast.
    watcher
        .wait_for(|m| matches!(m, ServerMessage::Event(r) if r.seq == last_seq).then_some(()))
        .await;
    assert_eq!(events, watcher.events);
    let before = events;
    host.stop().await;

    // A restart reads the same history back, and memory still holds only
    // the budget.
    let host = TestHost::start_with(AgentSpec::Shell, small_history(journal.path())).await;
    let window = host.host.as_ref().unwrap().history_window().await.unwrap();
    assert!(window.bytes <= BUDGET, "{window:?}");
    let (events, last_seq) = whole_history(&host).await;
    assert_once_in_order(&events, last_seq);
    assert_eq!(events[..before.len()], before[..], "the same history");
    host.stop().await;
}

#[tokio::test]
async fn without_a_journal_what_left_memory_is_a_gap() {
    let host = TestHost::start_with(AgentSpec::Shell, |c| c.history_bytes = BUDGET).await;
    let h = host.host.as_ref().unwrap();
    for n in 0..100 {
        h.inject(output(n)).await.unwrap();
    }
    let window = h.history_window().await.unwrap();
    assert!(window.bytes <= BUDGET && window.first_seq > 1, "{window:?}");
    let mut late = Client::connect(&host.url, &host.view, "since=0").await;
    let gap = late
        .wait_for(|m| match m {
            ServerMessage::Error { oldest, .. } => Some(*oldest),
            _ => None,
        })
        .await;
    assert_eq!(gap, Some(window.first_seq));
    late.until_caught_up().await;
    let seqs: Vec<u64> = late.events.iter().map(|r| r.seq).collect();
    assert_eq!(
        seqs,
        (window.first_seq..=window.last_seq).collect::<Vec<_>>()
    );
    host.stop().await;
}

/// Writes the journal a killed host would leave: a title, a turn and a
/// permission request near the start, then a megabyte of output.
fn write_killed_journal(dir: &Path) -> Vec<EventRecord> {
    std::fs::create_dir_all(dir).unwrap();
    let mut events = vec![
        EventKind::status(AgentState::Idle),
        EventKind::Metadata {
            title: Some("restored title".into()),
            model: None,
            cwd: None,
            tools: None,
            agent_session_id: None,
        },
        EventKind::UserMessage {
            text: "make".into(),
            by: "alice".into(),
            msg_id: None,
        },
        EventKind::PermissionRequest {
            request_id: "early".into(),
            tool: "Bash".into(),
            input: json!({"command": "make"}),
            tool_use_id: None,
            title: None,
            description: None,
            preview: None,
            options: Vec::new(),
        },
        EventKind::status(AgentState::AwaitingPermission),
    ];
    events.extend((0..500).map(output));
    let records: Vec<EventRecord> = events
        .into_iter()
        .enumerate()
        .map(|(n, event)| EventRecord {
            seq: n as u64 + 1,
            ts: "2026-01-01T00:00:00.000Z".into(),
            event,
        })
        .collect();
    let mut file = std::fs::File::create(dir.join("main.jsonl")).unwrap();
    let header = json!({"journal": 1, "session": "main", "epoch": "killed", "started_at": "2026-01-01T00:00:00Z"});
    writeln!(file, "{header}").unwrap();
    for record in &records {
        writeln!(file, "{}", ServerMessage::Event(record.clone()).to_json()).unwrap();
    }
    records
}

#[tokio::test]
async fn a_restart_rebuilds_state_from_events_long_out_of_memory() {
    let journal = tempfile::tempdir().unwrap();
    let written = write_killed_journal(journal.path());
    let host = TestHost::start_with(AgentSpec::Shell, small_history(journal.path())).await;
    let window = host.host.as_ref().unwrap().history_window().await.unwrap();
    assert!(window.bytes <= BUDGET, "{window:?}");
    assert!(window.first_seq > 400, "{window:?}");

    let mut viewer = Client::connect(&host.url, &host.view, "since=0&mode=view").await;
    viewer.greeting().await;
    let Some(ServerMessage::Ready { session, .. }) = &viewer.ready else {
        unreachable!()
    };
    assert_eq!(session.title, "restored title");
    assert_eq!(session.epoch, "killed");
    let (events, last_seq) = (viewer.events.clone(), viewer.events.last().unwrap().seq);
    assert_once_in_order(&events, last_seq);
    assert_eq!(
        events[..written.len()],
        written[..],
        "the history as written"
    );
    let restart: Vec<&EventKind> = events[written.len()..].iter().map(|r| &r.event).collect();
    assert!(
        restart.iter().any(|e| matches!(e, EventKind::PermissionCancelled { request_id, .. } if request_id == "early")),
        "the request pending before the restart is cancelled: {restart:?}"
    );
    assert!(
        restart.iter().any(|e| matches!(
            e,
            EventKind::TurnEnd {
                outcome: TurnOutcome::Interrupted,
                ..
            }
        )),
        "the open turn is closed: {restart:?}"
    );
    assert!(restart.iter().any(|e| matches!(e, EventKind::Notice { level: NoticeLevel::Info, text } if text.contains(&format!("({} events)", written.len())))));
    host.stop().await;
}

#[tokio::test]
async fn a_replay_stops_at_a_line_that_changed_on_disk_and_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let journal = dir.path().join("journal");
    let host = TestHost::start_with(AgentSpec::Shell, small_history(&journal)).await;
    let inner = host.host.as_ref().unwrap();
    for n in 0..200 {
        inner.inject(output(n)).await.unwrap();
    }
    inner.summary().await.unwrap();
    // Long out of memory, the line of output 5 changes on disk, its JSON
    // still valid.
    let path = journal.join("main.jsonl");
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(&path, text.replacen("000005 o", "000005 x", 1)).unwrap();
    let mut late = Client::connect(&host.url, &host.view, "since=0&mode=view").await;
    let close = late
        .expect_close()
        .await
        .expect("a close frame, not a silent hole");
    assert_eq!(u16::from(close.code), 1011, "{close:?}");
    assert!(close.reason.contains("checksum"), "{}", close.reason);
    host.stop().await;
}

#[tokio::test]
async fn a_clean_stop_leaves_a_checkpoint_and_a_restart_from_it_serves_the_same() {
    let journal = tempfile::tempdir().unwrap();
    write_killed_journal(journal.path());
    // Read whole, a title set live and pushed out of the history window,
    // then stopped cleanly: the stop writes a checkpoint, and only its
    // state can bring that title back.
    let host = TestHost::start_with(AgentSpec::Shell, small_history(journal.path())).await;
    let h = host.host.as_ref().unwrap();
    h.inject(EventKind::Metadata {
        title: Some("set live".into()),
        model: None,
        cwd: None,
        tools: None,
        agent_session_id: None,
    })
    .await
    .unwrap();
    for n in 0..100 {
        h.inject(output(n)).await.unwrap();
    }
    host.stop().await;
    let checkpoint = journal.path().join("main.jsonl.checkpoint");
    assert!(checkpoint.exists(), "a clean stop writes a checkpoint");
    let alone = tempfile::tempdir().unwrap();
    std::fs::copy(
        journal.path().join("main.jsonl"),
        alone.path().join("main.jsonl"),
    )
    .unwrap();
    let mut seen = Vec::new();
    for dir in [journal.path(), alone.path()] {
        let host = TestHost::start_with(AgentSpec::Shell, small_history(dir)).await;
        // One that does not fit is removed at the start.
        assert_eq!(
            dir.join("main.jsonl.checkpoint").exists(),
            dir == journal.path()
        );
        let mut viewer = Client::connect(&host.url, &host.view, "since=0&mode=view").await;
        viewer.greeting().await;
        let Some(ServerMessage::Ready { session, .. }) = &viewer.ready else {
            unreachable!()
        };
        // Up to the restart's notice (then the agent starts, in this
        // host's own directory); the restart's events carry their own time.
        let restarted = viewer.events.iter().rposition(|r| {
            matches!(&r.event, EventKind::Notice { text, .. } if text.contains("history continues"))
        });
        let events: Vec<(u64, EventKind)> = viewer.events[..=restarted.unwrap()]
            .iter()
            .map(|r| (r.seq, r.event.clone()))
            .collect();
        seen.push((session.title.clone(), session.rules.clone(), events));
        host.stop().await;
    }
    assert_eq!(
        seen[0], seen[1],
        "from the checkpoint as from the journal alone"
    );
}
