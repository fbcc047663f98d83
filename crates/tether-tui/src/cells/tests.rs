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

/// What `plain` prints for `events`, numbered from 1.
fn plain_text(plain: &mut PlainTranscript, events: impl IntoIterator<Item = EventKind>) -> String {
    events
        .into_iter()
        .enumerate()
        .map(|(i, e)| plain.event(&record(i as u64 + 1, e)))
        .collect()
}

#[test]
fn cells_are_sanitised_one_line_labels_and_safe_text() {
    let cell = user_message("al\nice\x1b]0;x\x07", "hi\x1b[2J there");
    assert!(cell.text.starts_with("▶ al ice"), "{:?}", cell.text);
    assert!(!cell.text.contains('\x1b'), "{:?}", cell.text);
    let cell = tool_use("Bash", &json!({"command": "ls\nrm x"}));
    assert_eq!(cell.text, "⚙ Bash ls ⏎ rm x");
    let cell = permission_resolved(Decision::Deny, "bob", "Bash ls", Some("no"), None, None);
    assert_eq!(cell.text, "✘ denied by bob: Bash ls — no");
    // An edited input is what runs, so it is what the record names.
    let edited = json!({"command": "pwd; whoami"});
    let cell = permission_resolved(
        Decision::Allow,
        "me",
        "shell ls -la",
        None,
        Some(&edited),
        None,
    );
    assert_eq!(cell.text, "✔ allowed by me, edited: pwd; whoami");
    // An answer that has something remembered says so, and what.
    let always = Some("always allow Bash(ls) in this project");
    let cell = permission_resolved(Decision::Allow, "me", "Bash ls", None, None, always);
    assert_eq!(
        cell.text,
        "✔ always allowed by me: Bash ls — always allow Bash(ls) in this project"
    );
}

#[test]
fn headless_prints_the_transcript_cells_without_styles() {
    let mut plain = PlainTranscript::new();
    let events = [
        EventKind::UserMessage {
            text: "run ls".into(),
            by: "alice".into(),
            msg_id: None,
        },
        EventKind::PermissionRequest {
            request_id: "r1".into(),
            tool: "Bash".into(),
            input: json!({"command": "ls"}),
            tool_use_id: None,
            title: None,
            description: None,
            preview: None,
            options: Vec::new(),
        },
        EventKind::PermissionResolved {
            request_id: "r1".into(),
            decision: Decision::Allow,
            by: "alice".into(),
            message: None,
            option: None,
            updated_input: None,
        },
        EventKind::turn_end(TurnOutcome::Success),
    ];
    let text = plain_text(&mut plain, events);
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

#[test]
fn one_turn_is_singular() {
    let cell = turn_end(TurnOutcome::Success, Some(1200), None, Some(1));
    assert_eq!(cell.text, "── done · 1.2 s · 1 turn ──");
    let cell = turn_end(TurnOutcome::Success, None, None, Some(3));
    assert_eq!(cell.text, "── done · 3 turns ──");
}

#[test]
fn agent_states_read_as_words_for_people() {
    assert_eq!(
        state_word(AgentState::AwaitingPermission),
        "awaiting approval"
    );
    for state in [
        AgentState::Starting,
        AgentState::Idle,
        AgentState::Running,
        AgentState::AwaitingPermission,
        AgentState::Exited,
        AgentState::Unknown,
    ] {
        assert!(!state_word(state).contains('_'), "{state:?}");
    }
}

/// What agents send when they stop after a failure: a notice for clients
/// that ignore states, then the state.
fn failed_exit() -> [EventKind; 2] {
    [
        EventKind::notice(NoticeLevel::Error, "the agent exited with code 1"),
        EventKind::exited("exited with code 1", Some(1)),
    ]
}

#[test]
fn an_agent_exit_is_one_clear_line_in_the_transcript() {
    let mut rig = crate::tui::app::tests::Rig::new(crate::protocol::Role::Owner, false);
    for (seq, event) in failed_exit().into_iter().enumerate() {
        rig.event(record(seq as u64 + 1, event));
    }
    let texts: Vec<&str> = rig
        .app
        .transcript
        .blocks()
        .iter()
        .map(|b| b.text().text.as_str())
        .collect();
    assert_eq!(texts, ["■ agent stopped: exited with code 1"]);

    // An agent that could not start says the same words twice.
    let mut rig = crate::tui::app::tests::Rig::new(crate::protocol::Role::Owner, false);
    let why = "could not start `nope`: No such file or directory";
    rig.event(record(1, EventKind::notice(NoticeLevel::Error, why)));
    rig.event(record(2, EventKind::exited(why, None)));
    assert_eq!(rig.app.transcript.len(), 1);

    // Without a detail, the code says it.
    let cell = agent_exited(Some(3), None);
    assert_eq!(cell.text, "■ agent stopped (exit code 3)");
    // A notice about something else stays.
    let mut rig = crate::tui::app::tests::Rig::new(crate::protocol::Role::Owner, false);
    rig.event(record(
        1,
        EventKind::notice(NoticeLevel::Error, "the turn failed"),
    ));
    rig.event(record(2, EventKind::exited("shell agent stopped", None)));
    assert_eq!(rig.app.transcript.len(), 2);
}

#[test]
fn an_agent_exit_is_one_clear_line_headless() {
    let mut plain = PlainTranscript::new();
    let mut text = String::new();
    for (seq, event) in failed_exit().into_iter().enumerate() {
        text += &plain.event(&record(seq as u64 + 1, event));
    }
    text += &plain.finish();
    assert_eq!(text, "■ agent stopped: exited with code 1\n");
    // An error notice followed by something else is printed, in order.
    let mut plain = PlainTranscript::new();
    let mut text = plain.event(&record(
        1,
        EventKind::notice(NoticeLevel::Error, "the turn failed"),
    ));
    text += &plain.event(&record(2, EventKind::turn_end(TurnOutcome::Error)));
    assert_eq!(text, "[error] the turn failed\n── failed ──\n");
}

#[test]
fn headless_prints_a_permission_request_before_the_call_it_asks_for() {
    let call = |id: &str, command: &str| EventKind::ToolUse {
        tool_use_id: id.into(),
        name: "Bash".into(),
        input: json!({ "command": command }),
    };
    let request = |request_id: &str, tool_use_id: &str| EventKind::PermissionRequest {
        request_id: request_id.into(),
        tool: "Bash".into(),
        input: json!({"command": "touch a"}),
        tool_use_id: Some(tool_use_id.into()),
        title: None,
        description: None,
        preview: None,
        options: Vec::new(),
    };
    let resolved = |request_id: &str, decision| EventKind::PermissionResolved {
        request_id: request_id.into(),
        decision,
        by: "alice".into(),
        message: None,
        option: None,
        updated_input: None,
    };
    let result = EventKind::ToolResult {
        tool_use_id: "t1".into(),
        content: "done".into(),
        is_error: false,
    };
    let events = [
        call("t1", "touch a"),
        EventKind::status(crate::protocol::AgentState::AwaitingPermission),
        request("r1", "t1"),
        resolved("r1", Decision::Allow),
        result,
        call("t2", "touch a"),
        request("r2", "t2"),
        resolved("r2", Decision::Deny),
        // A call that needs no permission is printed when the next
        // thing happens.
        call("t3", "ls"),
        EventKind::turn_end(TurnOutcome::Success),
    ];
    let mut plain = PlainTranscript::new();
    let text = plain_text(&mut plain, events);
    assert_eq!(
        text,
        "⚠ Bash asks permission: touch a\n✔ allowed by alice: Bash touch a\n↳ done\n\
         ⚠ Bash asks permission: touch a\n✘ denied by alice: Bash touch a\n⚙ Bash ls\n── done ──\n"
    );
    // Held back with nothing after it: printed when flushed, or at the end.
    let mut plain = PlainTranscript::new();
    assert_eq!(plain.event(&record(1, call("t4", "sleep 9"))), "");
    assert!(plain.holds_call());
    assert_eq!(plain.flush_held_call(), "⚙ Bash sleep 9\n");
    assert_eq!(plain.event(&record(2, call("t5", "ls"))), "");
    assert_eq!(plain.finish(), "⚙ Bash ls\n");
}

#[test]
fn output_fed_onto_a_block_is_what_appending_the_fed_chunk_gives() {
    use ratatui::style::{Color, Style};
    let chunks = [
        "plain line\n",
        "\x1b[31mred\x1b[0m and \x1b[1",
        "mbold\ttab\r\nnext\x1b]0;title\x07",
        "\x1b[32mgreen to the end",
        " still green\n",
    ];
    for cut in 0..chunks.len() {
        let base = stream_base(OutputStream::Stderr);
        let existing = StyledText::plain("before", Style::default().fg(Color::Magenta));
        let (mut old_tail, mut new_tail) = (StreamTail::default(), StreamTail::default());
        let (mut appended, mut onto) = (existing.clone(), existing.clone());
        for chunk in &chunks[cut..] {
            appended.append(&old_tail.feed(chunk, base));
            new_tail.feed_onto(&mut onto, chunk, base);
        }
        assert_eq!(onto, appended, "from chunk {cut}");
        assert_eq!(new_tail.style, old_tail.style);
    }
}

#[test]
fn headless_says_what_an_always_answer_remembers() {
    use crate::protocol::{PermissionOption, PermissionOptionKind};
    let always = PermissionOption::new(
        "allow_always_1",
        PermissionOptionKind::AllowAlways,
        "always allow Bash(ls) in this project",
    );
    let events = [
        EventKind::PermissionRequest {
            request_id: "r1".into(),
            tool: "Bash".into(),
            input: json!({"command": "ls"}),
            tool_use_id: None,
            title: None,
            description: None,
            preview: None,
            options: PermissionOption::standard(vec![always]),
        },
        EventKind::PermissionResolved {
            request_id: "r1".into(),
            decision: Decision::Allow,
            by: "alice".into(),
            message: None,
            option: Some("allow_always_1".into()),
            updated_input: None,
        },
    ];
    let text = plain_text(&mut PlainTranscript::new(), events);
    assert!(
        text.contains("always allowed by alice: Bash ls — always allow Bash(ls) in this project"),
        "{text}"
    );
}
