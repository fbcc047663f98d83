use serde_json::json;

use super::plain::PlainTranscript;
use super::*;
use crate::protocol::{EventKind, EventRecord};

fn record(seq: u64, event: EventKind) -> EventRecord {
    EventRecord {
        seq,
        ts: "2026-01-01T00:00:00Z".into(),
        event,
    }
}

#[test]
fn cells_are_sanitised_one_line_labels_and_safe_text() {
    let cell = user_message("al\nice\x1b]0;x\x07", "hi\x1b[2J there");
    assert!(cell.text.starts_with("▶ al ice"), "{:?}", cell.text);
    assert!(!cell.text.contains('\x1b'), "{:?}", cell.text);
    let cell = tool_use("Bash", &json!({"command": "ls\nrm x"}));
    assert_eq!(cell.text, "⚙ Bash ls ⏎ rm x");
    let cell = permission_resolved(Decision::Deny, "bob", "Bash ls", Some("no"));
    assert_eq!(cell.text, "✘ denied by bob: Bash ls — no");
}

#[test]
fn headless_prints_the_transcript_cells_without_styles() {
    let mut plain = PlainTranscript::new();
    let events = [
        EventKind::UserMessage {
            text: "run ls".into(),
            by: "alice".into(),
        },
        EventKind::PermissionRequest {
            request_id: "r1".into(),
            tool: "Bash".into(),
            input: json!({"command": "ls"}),
            tool_use_id: None,
            title: None,
            description: None,
        },
        EventKind::PermissionResolved {
            request_id: "r1".into(),
            decision: Decision::Allow,
            by: "alice".into(),
            message: None,
        },
        EventKind::turn_end(TurnOutcome::Success),
    ];
    let text: String = events
        .into_iter()
        .enumerate()
        .map(|(i, e)| plain.event(&record(i as u64 + 1, e)))
        .collect();
    assert_eq!(
        text,
        "▶ alice run ls\n⚠ Bash asks permission: ls\n✔ allowed by alice: Bash ls\n── done ──\n"
    );
}

#[test]
fn headless_output_keeps_its_own_line_breaks_and_joins_split_escapes() {
    let mut plain = PlainTranscript::new();
    let out = |text: &str| EventKind::Output {
        stream: OutputStream::Stdout,
        text: text.into(),
    };
    let mut text = plain.event(&record(1, out("a\x1b[3")));
    text += &plain.event(&record(2, out("1mred\n")));
    text += &plain.event(&record(3, out("no newline")));
    text += &plain.event(&record(4, EventKind::turn_end(TurnOutcome::Error)));
    text += &plain.finish();
    assert_eq!(text, "ared\nno newline\n── failed ──\n");
}
