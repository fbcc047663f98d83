//! The replay agent: a recording played back, at a speed people choose.

use std::path::Path;

use serde_json::json;
use tether::host::agent::AgentSpec;
use tether::protocol::EventKind;

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
