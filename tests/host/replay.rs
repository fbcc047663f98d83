//! The replay agent: a recording played back, at a speed people choose.

use std::path::{Path, PathBuf};

use serde_json::{Value, json};
use tether::host::agent::AgentSpec;
use tether::protocol::{ClientMessage, Decision, ErrorCode, EventKind, EventRecord, Interrupt};

use crate::support::*;

#[tokio::test]
async fn replay_plays_a_recording_and_takes_no_input() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("rec.jsonl");
    let recording = [
        json!({"seq": 1, "ts": "2026-01-01T00:00:00Z", "event": {"kind": "user_message", "text": "hi", "by": "ann"}}),
        json!({"seq": 2, "ts": "2026-01-01T00:00:01Z", "event": {"kind": "assistant", "text": "hello"}}),
        json!({"seq": 3, "ts": "2026-01-01T00:00:02Z", "event": {"kind": "turn_end", "outcome": "success"}}),
    ];
    std::fs::write(
        &file,
        recording
            .iter()
            .map(|l| format!("{l}\n"))
            .collect::<String>(),
    )
    .unwrap();
    let host = TestHost::start(AgentSpec::Replay {
        file,
        speed: 0.0,
        pause_at_requests: false,
    })
    .await;
    let mut owner = host.owner().await;
    owner.saw_or_wait(is_exit).await;
    let texts: Vec<_> = owner
        .events
        .iter()
        .filter_map(|r| match &r.event {
            EventKind::Assistant { text } => Some(text.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(texts, ["hello"]);
    assert!(owner.events.iter().any(|r| matches!(&r.event, EventKind::Notice { text, .. } if text.contains("replay finished (3 events)"))));
    host.stop().await;

    assert!(tether::host::agent::replay::Recording::load(Path::new("/nonexistent/rec")).is_err());
}

#[tokio::test]
async fn a_tiny_replay_speed_plays_instead_of_killing_the_session() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("rec.jsonl");
    let recording = [
        json!({"seq": 1, "ts": "2026-01-01T00:00:00Z", "event": {"kind": "assistant", "text": "one"}}),
        json!({"seq": 2, "ts": "2026-01-01T00:00:00.001Z", "event": {"kind": "assistant", "text": "two"}}),
    ];
    let text: String = recording.iter().map(|l| format!("{l}\n")).collect();
    std::fs::write(&file, text).unwrap();
    // The pause between the two (1 ms / 1e-300) overflows a Duration: it
    // once panicked the agent's task and left the session idle for ever.
    let host = TestHost::start(AgentSpec::Replay {
        file: file.clone(),
        speed: 1e-300,
        pause_at_requests: false,
    })
    .await;
    let mut owner = host.owner().await;
    owner.saw_or_wait(is_exit).await;
    host.stop().await;
    // People are told the range instead.
    let refused = crate::common::tether(dir.path())
        .args(["serve", "--agent", "replay", "--replay"])
        .arg(&file)
        .args([
            "--speed",
            "1e-300",
            "--no-journal",
            "--listen",
            "127.0.0.1:0",
        ])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert_eq!(refused.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("0.01 to 1000"), "{stderr}");
}

// ---- pausing at requests --------------------------------------------------

fn replay(file: PathBuf, pause_at_requests: bool) -> AgentSpec {
    AgentSpec::Replay {
        file,
        speed: 0.0,
        pause_at_requests,
    }
}

fn write_recording(dir: &Path, events: &[Value]) -> PathBuf {
    let file = dir.join("rec.jsonl");
    let lines: String = events
        .iter()
        .enumerate()
        .map(|(n, event)| {
            format!(
                "{}\n",
                json!({"seq": n + 1, "ts": "2026-01-01T00:00:00Z", "event": event})
            )
        })
        .collect();
    std::fs::write(&file, lines).unwrap();
    file
}

fn request_event(id: &str) -> Value {
    json!({"kind": "permission_request", "request_id": id, "tool": "Bash", "input": {"command": "ls"}})
}

fn resolved_event(id: &str) -> Value {
    json!({"kind": "permission_resolved", "request_id": id, "decision": "allow", "by": "recorded-owner"})
}

fn assistant_texts(events: &[EventRecord]) -> Vec<String> {
    events
        .iter()
        .filter_map(|r| match &r.event {
            EventKind::Assistant { text } => Some(text.clone()),
            _ => None,
        })
        .collect()
}

#[tokio::test]
async fn a_pausing_replay_waits_at_a_request_until_the_owner_allows_it() {
    let dir = tempfile::tempdir().unwrap();
    let file = write_recording(
        dir.path(),
        &[
            json!({"kind": "assistant", "text": "before"}),
            request_event("r1"),
            resolved_event("r1"),
            json!({"kind": "assistant", "text": "after"}),
        ],
    );
    let host = TestHost::start(replay(file, true)).await;
    let mut owner = host.owner().await;
    owner
        .saw_or_wait(|e| matches!(e, EventKind::PermissionRequest { .. }))
        .await;
    // It waits: nothing more comes until the answer.
    owner
        .assert_no_events(std::time::Duration::from_millis(400))
        .await;
    assert_eq!(assistant_texts(&owner.events), ["before"]);
    // A replay takes no messages, but it does take answers.
    let refused = owner.request(|id| user(id, "hello")).await;
    assert_eq!(code_of(&refused), Some(ErrorCode::Busy));
    let answer = owner.request(decide("r1", Decision::Allow).message()).await;
    assert_eq!(code_of(&answer), None, "{answer:?}");
    owner.saw_or_wait(is_exit).await;
    assert_eq!(assistant_texts(&owner.events), ["before", "after"]);
    // The owner's resolution, once: the recorded one is skipped.
    let resolutions: Vec<&str> = owner
        .events
        .iter()
        .filter_map(|r| match &r.event {
            EventKind::PermissionResolved { by, .. } => Some(by.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(resolutions.len(), 1, "{resolutions:?}");
    assert_ne!(resolutions[0], "recorded-owner");
    host.stop().await;
}

#[tokio::test]
async fn an_interrupt_ends_the_pause_and_the_recording_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let file = write_recording(
        dir.path(),
        &[
            request_event("r1"),
            resolved_event("r1"),
            json!({"kind": "assistant", "text": "after"}),
        ],
    );
    let host = TestHost::start(replay(file, true)).await;
    let mut owner = host.owner().await;
    owner
        .saw_or_wait(|e| matches!(e, EventKind::PermissionRequest { .. }))
        .await;
    owner
        .request(|id| ClientMessage::Interrupt(Interrupt { id }))
        .await;
    owner.saw_or_wait(is_exit).await;
    assert_eq!(assistant_texts(&owner.events), ["after"]);
    host.stop().await;
}

#[tokio::test]
async fn without_pausing_the_replay_plays_through_its_requests() {
    let dir = tempfile::tempdir().unwrap();
    let file = write_recording(dir.path(), &[request_event("r1"), resolved_event("r1")]);
    let host = TestHost::start(replay(file, false)).await;
    let mut owner = host.owner().await;
    owner.saw_or_wait(is_exit).await;
    assert!(owner.events.iter().any(
        |r| matches!(&r.event, EventKind::PermissionResolved { by, .. } if by == "recorded-owner")
    ));
    host.stop().await;
}

/// Without pausing, an owner who answers before the recording does still
/// sees one resolution: the recorded one is skipped.
#[tokio::test]
async fn an_answer_before_the_recorded_one_is_the_only_resolution() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("rec.jsonl");
    let lines = [
        json!({"seq": 1, "ts": "2026-01-01T00:00:00Z", "event": request_event("r1")}),
        json!({"seq": 2, "ts": "2026-01-01T00:00:01Z", "event": resolved_event("r1")}),
        json!({"seq": 3, "ts": "2026-01-01T00:00:01Z", "event": {"kind": "assistant", "text": "after"}}),
    ];
    let text: String = lines.iter().map(|l| format!("{l}\n")).collect();
    std::fs::write(&file, text).unwrap();
    let host = TestHost::start(AgentSpec::Replay {
        file,
        speed: 1.0,
        pause_at_requests: false,
    })
    .await;
    let mut owner = host.owner().await;
    owner
        .saw_or_wait(|e| matches!(e, EventKind::PermissionRequest { .. }))
        .await;
    let answer = owner.request(decide("r1", Decision::Allow).message()).await;
    assert_eq!(code_of(&answer), None, "{answer:?}");
    owner.saw_or_wait(is_exit).await;
    let resolutions = owner
        .events
        .iter()
        .filter(|r| matches!(&r.event, EventKind::PermissionResolved { .. }))
        .count();
    assert_eq!(resolutions, 1);
    assert_eq!(assistant_texts(&owner.events), ["after"]);
    host.stop().await;
}
