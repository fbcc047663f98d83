//! Reading what happened: tool calls and long results collapse, the
//! block cursor opens them, and a call reads after its permission.

use crossterm::event::KeyCode;
use serde_json::json;

use super::{Rig, record, sent};
use crate::protocol::{ClientMessage, Decision, EventKind, PermissionDecision, Role};
use crate::tui::app::Focus;
use crate::tui::theme;
use crate::tui::transcript::BlockKind;

pub fn tool_use(
    seq: u64,
    id: &str,
    name: &str,
    input: serde_json::Value,
) -> crate::protocol::EventRecord {
    record(
        seq,
        EventKind::ToolUse {
            tool_use_id: id.into(),
            name: name.into(),
            input,
        },
    )
}

pub fn tool_result(seq: u64, content: &str, is_error: bool) -> crate::protocol::EventRecord {
    record(
        seq,
        EventKind::ToolResult {
            tool_use_id: "t1".into(),
            content: content.into(),
            is_error,
        },
    )
}

/// A permission request `id` for `tool` with `input`, asking for the call
/// `for_call` (none: no call named).
pub fn asks(
    seq: u64,
    id: &str,
    tool: &str,
    input: serde_json::Value,
    for_call: Option<&str>,
) -> crate::protocol::EventRecord {
    record(
        seq,
        EventKind::PermissionRequest {
            request_id: id.into(),
            tool: tool.into(),
            input,
            tool_use_id: for_call.map(str::to_owned),
            title: None,
            description: None,
            preview: None,
            options: Vec::new(),
        },
    )
}

/// alice's answer to request `id`.
pub fn answered(seq: u64, id: &str, decision: Decision) -> crate::protocol::EventRecord {
    record(
        seq,
        EventKind::PermissionResolved {
            request_id: id.into(),
            decision,
            by: "alice".into(),
            message: None,
            option: None,
            updated_input: None,
        },
    )
}

/// The text the transcript shows now, block by block.
pub fn shown(rig: &mut Rig) -> String {
    rig.transcript_rows(100, 200)
}

fn edit_input() -> serde_json::Value {
    json!({
        "file_path": "/work/notes.txt",
        "old_string": "alpha\nbeta\n",
        "new_string": "alpha\ngamma\n",
    })
}

#[test]
fn a_tool_call_is_one_line_until_opened_then_shows_its_input_and_diff() {
    let mut rig = Rig::new(Role::Follower, false);
    rig.event(tool_use(1, "t1", "Edit", edit_input()));
    assert_eq!(shown(&mut rig), "⚙ Edit /work/notes.txt");
    rig.focus(Focus::Transcript);
    rig.key(KeyCode::Up);
    assert_eq!(rig.app.transcript.selected(), Some(0));
    rig.key(KeyCode::Enter);
    let open = shown(&mut rig);
    assert!(
        open.contains("\"file_path\": \"/work/notes.txt\""),
        "{open}"
    );
    assert!(
        open.contains("- beta") && open.contains("+ gamma"),
        "{open}"
    );
    assert!(
        !open.contains("old_string"),
        "the texts show as the diff: {open}"
    );
    rig.key(KeyCode::Char('o'));
    assert_eq!(shown(&mut rig), "⚙ Edit /work/notes.txt");
}

#[test]
fn a_written_file_shows_as_added_lines() {
    let mut rig = Rig::new(Role::Owner, false);
    let input = json!({"file_path": "new.txt", "content": "one\ntwo\n"});
    rig.event(tool_use(1, "t1", "Write", input));
    rig.focus(Focus::Transcript);
    rig.key(KeyCode::Enter);
    let open = shown(&mut rig);
    assert!(open.contains("+ one\n  + two"), "{open}");
}

#[test]
fn a_long_result_shows_its_head_and_opens_whole_and_errors_stay_red() {
    let mut rig = Rig::new(Role::Owner, false);
    let content: Vec<String> = (1..=30).map(|i| format!("row {i}")).collect();
    rig.event(tool_result(1, &content.join("\n"), true));
    let collapsed = shown(&mut rig);
    assert!(collapsed.contains("row 12") && !collapsed.contains("row 13"));
    assert!(collapsed.contains("… 18 more lines"), "{collapsed}");
    let block = &rig.app.transcript.blocks()[0];
    assert_eq!(block.kind, BlockKind::ToolResult);
    assert!(block.text().runs.iter().any(|r| r.style == theme::ERROR));
    rig.focus(Focus::Transcript);
    rig.key(KeyCode::Up);
    rig.key(KeyCode::Enter);
    let open = shown(&mut rig);
    assert!(open.contains("row 30") && !open.contains("more lines"));
    // A short result is never collapsed.
    let mut rig = Rig::new(Role::Owner, false);
    rig.event(tool_result(1, "just one line", false));
    assert!(!rig.app.transcript.blocks()[0].is_collapsible());
}

#[test]
fn a_tool_call_reads_after_its_permission_request_and_answer() {
    let mut rig = Rig::new(Role::Owner, false);
    // Claude announces the call, then asks for it.
    rig.event(tool_use(1, "t1", "Bash", json!({"command": "make"})));
    rig.event(asks(
        2,
        "r1",
        "Bash",
        json!({"command": "make"}),
        Some("t1"),
    ));
    assert_eq!(shown(&mut rig), "⚠ Bash asks permission: make");
    rig.focus(Focus::Permissions);
    let effects = rig.key(KeyCode::Char('y'));
    assert!(matches!(
        &sent(&effects)[..],
        [ClientMessage::PermissionDecision(PermissionDecision { .. })]
    ));
    rig.event(answered(3, "r1", Decision::Allow));
    // One line says what was asked and how it was answered; it stands
    // for the call, whose whole input it opens to.
    assert_eq!(shown(&mut rig), "✔ allowed by alice: Bash make");
    let block = &rig.app.transcript.blocks()[0];
    assert!(block.is_collapsible());
    assert!(block.text().text.contains("make"), "{}", block.text().text);
}

#[test]
fn the_shell_agents_request_answer_and_call_are_one_line() {
    let mut rig = Rig::new(Role::Owner, false);
    // The shell agent asks, then announces the call it runs.
    rig.event(asks(
        1,
        "r1",
        "shell",
        json!({"command": "sleep 30"}),
        Some("r1"),
    ));
    rig.event(answered(2, "r1", Decision::Allow));
    rig.event(tool_use(3, "r1", "shell", json!({"command": "sleep 30"})));
    assert_eq!(shown(&mut rig), "✔ allowed by alice: shell sleep 30");
    // Another call is a line of its own.
    rig.event(tool_use(4, "t2", "shell", json!({"command": "ls"})));
    assert_eq!(
        shown(&mut rig),
        "✔ allowed by alice: shell sleep 30\n⚙ shell ls"
    );
}

#[test]
fn a_denied_call_does_not_read_as_run() {
    let mut rig = Rig::new(Role::Owner, false);
    rig.event(tool_use(1, "t1", "Bash", json!({"command": "rm -rf /"})));
    rig.event(asks(
        2,
        "r1",
        "Bash",
        json!({"command": "rm -rf /"}),
        Some("t1"),
    ));
    rig.event(answered(3, "r1", Decision::Deny));
    let text = shown(&mut rig);
    assert!(!text.contains('⚙'), "{text}");
}

/// Event `seq`: a command's output of 100 lines, "out 1" to "out 100".
fn hundred_lines_of_output(seq: u64) -> crate::protocol::EventRecord {
    let text: String = (1..=100).map(|n| format!("out {n}\n")).collect();
    let output = EventKind::Output {
        stream: crate::protocol::OutputStream::Stdout,
        text,
    };
    record(seq, output)
}

/// Long output is folded once the command ends, as the tools people know
/// fold it: its first and last lines, and how many are hidden; Enter on
/// it shows them all. Output still coming is never folded.
#[test]
fn long_output_is_folded_when_it_ends_and_opens_whole() {
    use crate::protocol::AgentState;
    let mut rig = Rig::new(Role::Owner, false);
    rig.event(hundred_lines_of_output(1));
    assert!(
        shown(&mut rig).contains("out 50"),
        "not folded while it runs"
    );
    rig.event(record(2, EventKind::status(AgentState::Idle)));
    assert!(
        shown(&mut rig).contains("out 50"),
        "a status does not end it"
    );
    rig.event(record(
        3,
        EventKind::turn_end(crate::protocol::TurnOutcome::Success),
    ));
    let folded = shown(&mut rig);
    assert!(
        folded.starts_with(
            "out 1\nout 2\nout 3\nout 4\nout 5\n  … 90 more lines (Enter expands)\nout 96\n"
        ),
        "{folded}"
    );
    assert!(
        folded.contains("out 100") && !folded.contains("out 50"),
        "{folded}"
    );
    rig.focus(Focus::Transcript);
    rig.key(KeyCode::Up);
    rig.key(KeyCode::Up);
    rig.key(KeyCode::Enter);
    assert!(shown(&mut rig).contains("out 50"));
}

/// A search for a line folded away opens its block, shows the line and
/// counts it (the title said "no match" for a line the fold hid).
#[test]
fn a_search_opens_the_fold_that_hides_its_match() {
    let mut rig = Rig::new(Role::Owner, false);
    rig.event(hundred_lines_of_output(1));
    rig.event(record(
        2,
        EventKind::turn_end(crate::protocol::TurnOutcome::Success),
    ));
    assert!(!shown(&mut rig).contains("out 50\n"), "folded");
    rig.focus(Focus::Transcript);
    rig.key(KeyCode::Char('/'));
    rig.typed("out 50");
    rig.key(KeyCode::Enter);
    let status = rig.app.transcript.match_status().unwrap();
    assert_eq!(status, "/out 50: 1/1");
    assert!(shown(&mut rig).contains("out 50\n"), "{}", shown(&mut rig));
}

/// The search marks the match `n`/`N` are at apart from the others, and
/// expanded thinking keeps its label.
#[test]
fn the_current_match_stands_apart_and_thinking_keeps_its_label() {
    use crate::tui::theme;
    let mut rig = Rig::new(Role::Owner, false);
    let text = "alpha one\nbeta\nalpha two\n".to_owned();
    let output = EventKind::Output {
        stream: crate::protocol::OutputStream::Stdout,
        text,
    };
    rig.event(record(1, output));
    rig.app.transcript.visible_lines(100, 20);
    assert_eq!(rig.app.transcript.search("alpha"), 2);
    let lines = rig.app.transcript.visible_lines(100, 20);
    let style_of = |row: usize| {
        lines[row]
            .spans
            .iter()
            .find(|s| s.content.contains("alpha"))
            .map(|s| s.style)
            .unwrap()
    };
    let (first, second) = (style_of(0), style_of(2));
    assert_ne!(first, second, "one of them is the current match");
    assert!(
        [first, second]
            .iter()
            .any(|s| s.bg == theme::CURRENT_MATCH.bg)
    );
    assert!([first, second].iter().any(|s| s.bg == theme::MATCH.bg));

    rig.event(record(2, EventKind::Thinking { text: "hmm".into() }));
    rig.focus(Focus::Transcript);
    rig.key(KeyCode::Char('t'));
    let shown = shown(&mut rig);
    assert!(shown.contains("✻ thinking\nhmm"), "{shown}");
}

/// An allowed edit's line opens to the edit as its request's preview
/// showed it: with the file's lines around the change.
#[test]
fn an_allowed_edit_opens_to_its_preview_with_context() {
    use crate::protocol::Preview;
    let mut rig = Rig::new(Role::Owner, false);
    let input = json!({"file_path": "/w/n.txt", "old_string": "beta", "new_string": "BETA"});
    rig.event(tool_use(1, "t1", "Edit", input.clone()));
    let diff = "--- a/n.txt\n+++ b/n.txt\n@@ -1,3 +1,3 @@\n alpha\n-beta\n+BETA\n gamma\n";
    rig.event(record(
        2,
        EventKind::PermissionRequest {
            request_id: "r1".into(),
            tool: "Edit".into(),
            input,
            tool_use_id: Some("t1".into()),
            title: None,
            description: None,
            preview: Some(Box::new(Preview::Diff {
                path: "/w/n.txt".into(),
                diff: diff.into(),
                added: 1,
                removed: 1,
                new_file: false,
            })),
            options: Vec::new(),
        },
    ));
    rig.event(answered(3, "r1", Decision::Allow));
    assert_eq!(shown(&mut rig), "✔ allowed by alice: Edit /w/n.txt");
    rig.focus(Focus::Transcript);
    rig.key(KeyCode::Up);
    rig.key(KeyCode::Enter);
    let open = shown(&mut rig);
    assert!(open.contains("alpha") && open.contains("gamma"), "{open}");
    assert!(open.contains("- beta") && open.contains("+ BETA"), "{open}");
}

/// `c` copies the selected block, all of it (folded or not), as plain
/// text; with nothing selected it says how to select.
#[test]
fn c_copies_the_selected_block_whole() {
    use crate::tui::app::Effect;
    let mut rig = Rig::new(Role::Owner, false);
    let content: Vec<String> = (1..=30).map(|i| format!("row {i}")).collect();
    rig.event(tool_result(1, &content.join("\n"), false));
    rig.focus(Focus::Transcript);
    assert!(rig.key(KeyCode::Char('c')).is_empty());
    assert!(
        rig.app
            .status
            .as_ref()
            .unwrap()
            .text
            .contains("select a block")
    );
    rig.key(KeyCode::Up);
    let effects = rig.key(KeyCode::Char('c'));
    let [Effect::Copy(text)] = &effects[..] else {
        panic!("{effects:?}");
    };
    assert!(text.contains("row 1") && text.contains("row 30"), "{text}");
    assert!(
        rig.app
            .status
            .as_ref()
            .unwrap()
            .text
            .contains("copied 30 lines")
    );
}

/// Output folded while the reader is scrolled up inside it: the view
/// stays valid (its anchor was a line the folded block no longer has).
#[test]
fn folding_output_the_reader_is_scrolled_into_keeps_the_view_valid() {
    use crate::protocol::{OutputStream, TurnOutcome};
    let mut rig = Rig::new(Role::Owner, false);
    let text: String = (1..=100).map(|n| format!("out {n}\n")).collect();
    let output = EventKind::Output {
        stream: OutputStream::Stdout,
        text,
    };
    rig.event(record(1, output));
    rig.app.transcript.visible_lines(80, 10);
    rig.app.transcript.scroll_up(40);
    rig.app.transcript.search("out 5");
    rig.event(record(2, EventKind::turn_end(TurnOutcome::Success)));
    let lines = rig.app.transcript.visible_lines(80, 10);
    assert!(!lines.is_empty());
    rig.app.transcript.step_match(true);
    rig.app.transcript.visible_lines(80, 10);
}
