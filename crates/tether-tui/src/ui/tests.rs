//! Snapshots of the rendered screen (TestBackend), driven through the
//! same `update` the event loop uses.

use std::time::Duration;

use crossterm::event::KeyCode;
use ratatui::Terminal;
use ratatui::backend::TestBackend;

use crate::client::ConnEvent;
use crate::protocol::{
    EventKind, Grant, Mode, OutputStream, ParticipantInfo, Role, ServerMessage, TurnOutcome,
};
use crate::tui::app::tests::{Rig, record, request};

fn render(rig: &mut Rig, width: u16, height: u16) -> String {
    let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
    terminal
        .draw(|frame| super::draw(&mut rig.app, frame))
        .unwrap();
    terminal.backend().to_string()
}

fn with_transcript(rig: &mut Rig) {
    rig.server(ServerMessage::Participants {
        unlisted: 0,
        participants: vec![
            participant("p1", "alice", Role::Owner, Mode::Control),
            participant("p2", "bob", Role::Follower, Mode::Control),
            participant("p3", "viewer", Role::Follower, Mode::View),
        ],
        owner_slot: None,
    });
    rig.event(record(
        1,
        EventKind::UserMessage {
            text: "ls -la".into(),
            by: "alice".into(),
            msg_id: None,
        },
    ));
    rig.event(record(
        2,
        EventKind::Assistant {
            text: "# Plan\nI will:\n- list files\n- run `make`\n```\nmake all\n```".into(),
        },
    ));
    rig.event(record(
        3,
        EventKind::Output {
            stream: OutputStream::Stdout,
            text: "total 8\n\u{1b}[32mgreen.txt\u{1b}[0m\n".into(),
        },
    ));
    rig.event(record(
        4,
        EventKind::Output {
            stream: OutputStream::Stderr,
            text: "warning: \u{1b}]0;pwned\u{7}title\n".into(),
        },
    ));
    rig.event(record(
        5,
        EventKind::TurnEnd {
            outcome: TurnOutcome::Success,
            duration_ms: Some(1234),
            cost_usd: None,
            num_turns: None,
            usage: None,
        },
    ));
    rig.event(request(6, "r1", "rm -rf build"));
    rig.event(request(7, "r2", "make install"));
}

fn participant(id: &str, identity: &str, role: Role, mode: Mode) -> ParticipantInfo {
    ParticipantInfo {
        id: id.into(),
        identity: identity.into(),
        role,
        grants: if identity == "viewer" {
            vec![Grant::View]
        } else {
            vec![Grant::View, Grant::Control]
        },
        mode,
        client: Some("tether/0.1.0".into()),
        connected_at: "2026-01-01T00:00:00Z".into(),
    }
}

#[test]
fn owner_with_transcript_and_two_pending_requests() {
    let mut rig = Rig::new(Role::Owner, false);
    with_transcript(&mut rig);
    insta::assert_snapshot!(render(&mut rig, 110, 28));
}

#[test]
fn follower_sees_a_read_only_input() {
    let mut rig = Rig::new(Role::Follower, false);
    with_transcript(&mut rig);
    insta::assert_snapshot!(render(&mut rig, 110, 28));
}

#[test]
fn viewer_dashboard() {
    let mut rig = Rig::new(Role::Follower, true);
    with_transcript(&mut rig);
    insta::assert_snapshot!(render(&mut rig, 110, 28));
}

#[test]
fn reconnecting() {
    let mut rig = Rig::new(Role::Owner, false);
    with_transcript(&mut rig);
    rig.conn(ConnEvent::Lost {
        reason: "connection lost".into(),
        retry_in: Duration::from_secs(3),
    });
    insta::assert_snapshot!(render(&mut rig, 110, 28));
}

#[test]
fn help_overlay() {
    let mut rig = Rig::new(Role::Owner, false);
    rig.app.hints.watch_command = Some("tether attach ws://127.0.0.1:7878/v1/sessions/main --view (view token in ~/.config/tether/auth.json)".into());
    rig.key(KeyCode::F(1));
    insta::assert_snapshot!(render(&mut rig, 110, 40));
}

#[test]
fn narrow_terminal() {
    let mut rig = Rig::new(Role::Owner, false);
    with_transcript(&mut rig);
    insta::assert_snapshot!(render(&mut rig, 60, 20));
}

#[test]
fn follower_sees_the_owner_slot_held_and_counting_down() {
    use crate::tui::app::tests::people::{person, roster};
    let mut rig = Rig::new(Role::Follower, false);
    rig.server(roster(
        vec![
            person("p2", "bob", Role::Follower),
            person("p3", "carol-with-a-very-long-name", Role::Follower),
        ],
        Some(("alice", 7_000)),
    ));
    insta::assert_snapshot!(render(&mut rig, 110, 16));
}

#[test]
fn follower_sees_nobody_owns_and_that_f2_claims() {
    use crate::tui::app::tests::people::{person, roster};
    let mut rig = Rig::new(Role::Follower, false);
    rig.server(roster(vec![person("p2", "bob", Role::Follower)], None));
    insta::assert_snapshot!(render(&mut rig, 110, 14));
}

#[test]
fn a_transfer_waits_for_yes_or_no() {
    use crate::tui::app::tests::people::{person, roster};
    let mut rig = Rig::new(Role::Owner, false);
    rig.server(roster(
        vec![
            person("p1", "alice", Role::Owner),
            person("p4", "bob", Role::Follower),
        ],
        None,
    ));
    rig.focus(crate::tui::app::Focus::Participants);
    rig.key(KeyCode::Down);
    // A status message showing does not hide the question.
    rig.key(KeyCode::F(6));
    rig.key(KeyCode::Char('t'));
    insta::assert_snapshot!(render(&mut rig, 110, 14));
}

#[test]
fn a_running_turn_shows_its_clock_model_and_directory() {
    let mut rig = Rig::new(Role::Owner, false);
    rig.event(crate::protocol::EventRecord {
        ts: "2025-12-31T23:58:55Z".into(),
        ..record(1, EventKind::status(crate::protocol::AgentState::Running))
    });
    rig.event(record(
        2,
        EventKind::Metadata {
            title: None,
            model: Some("claude-sonnet-4".into()),
            cwd: None,
            tools: None,
            agent_session_id: None,
        },
    ));
    insta::assert_snapshot!(render(&mut rig, 110, 10));
}

#[test]
fn a_narrow_footer_shortens_the_watch_command_then_drops_hints() {
    let mut rig = Rig::new(Role::Owner, false);
    rig.app.hints.watch_command = Some(
        "tether attach ws://127.0.0.1:7878/v1/sessions/main --view (view token in ~/.config/tether/auth.json)"
            .into(),
    );
    let footer = |rig: &mut Rig, width| {
        let screen = render(rig, width, 10);
        screen.lines().last().unwrap().to_owned()
    };
    insta::assert_snapshot!(
        [200, 150, 110, 60, 30]
            .map(|width| footer(&mut rig, width))
            .join("\n")
    );
}

mod reading;

mod decision {
    use serde_json::json;

    use super::*;
    use crate::protocol::{PermissionOption, PermissionOptionKind, Preview};

    const EDIT_DIFF: &str = "--- a/src/notes.txt\n+++ b/src/notes.txt\n@@ -7,7 +7,8 @@\n one\n two\n three\n-beta\n+BETA\n+\u{1b}[31mgamma\u{1b}]0;pwned\u{7}\n four\n five\n six\n@@ -98,3 +99,3 @@\n ninety-eight\n-ninety-nine\n+99\n one hundred\n";

    fn edit_request(seq: u64, id: &str) -> crate::protocol::EventRecord {
        record(
            seq,
            EventKind::PermissionRequest {
                request_id: id.into(),
                tool: "Edit".into(),
                input: json!({"file_path": "/work/src/notes.txt", "old_string": "beta", "new_string": "BETA"}),
                tool_use_id: None,
                title: Some("Edit notes.txt".into()),
                description: None,
                preview: Some(Box::new(Preview::Diff {
                    path: "src/notes.txt".into(),
                    diff: EDIT_DIFF.into(),
                    added: 3,
                    removed: 2,
                    new_file: false,
                })),
                options: PermissionOption::standard(vec![PermissionOption::new(
                    "allow_always_1",
                    PermissionOptionKind::AllowAlways,
                    "accept edits for this session",
                )]),
            },
        )
    }

    fn command_request(seq: u64, id: &str) -> crate::protocol::EventRecord {
        let command = "for f in *.log; do gzip -9 \"$f\" && mv \"$f.gz\" archive/; done; echo archived all the logs in this directory";
        record(
            seq,
            EventKind::PermissionRequest {
                request_id: id.into(),
                tool: "Bash".into(),
                input: json!({"command": command, "description": "Archive logs"}),
                tool_use_id: None,
                title: Some("Run a shell command".into()),
                description: Some("Archive logs".into()),
                preview: Some(Box::new(Preview::Command {
                    command: command.into(),
                    cwd: "/work/project".into(),
                    description: Some("Archive logs".into()),
                })),
                options: PermissionOption::standard(Vec::new()),
            },
        )
    }

    fn owner_deciding() -> Rig {
        let mut rig = Rig::new(Role::Owner, false);
        with_transcript(&mut rig);
        rig.event(edit_request(8, "r3"));
        rig.event(command_request(9, "r4"));
        // The two shell requests of the transcript come first.
        rig.key(KeyCode::Char(']'));
        rig.key(KeyCode::Char(']'));
        rig
    }

    #[test]
    fn an_edit_diff_with_line_numbers_at_80x24() {
        let mut rig = owner_deciding();
        insta::assert_snapshot!(render(&mut rig, 80, 24));
    }

    #[test]
    fn an_edit_diff_with_line_numbers_at_160x48() {
        let mut rig = owner_deciding();
        insta::assert_snapshot!(render(&mut rig, 160, 48));
    }

    #[test]
    fn a_long_command_wrapped_with_its_directory_at_80x24() {
        let mut rig = owner_deciding();
        rig.key(KeyCode::Char(']'));
        insta::assert_snapshot!(render(&mut rig, 80, 24));
    }

    #[test]
    fn the_input_as_json_refused_in_place_at_80x24() {
        let mut rig = owner_deciding();
        rig.key(KeyCode::Char('e'));
        rig.typed("oops");
        rig.key(KeyCode::Enter);
        insta::assert_snapshot!(render(&mut rig, 80, 24));
    }

    #[test]
    fn at_80x24_the_side_panes_give_way_to_the_decision() {
        let mut rig = owner_deciding();
        let screen = render(&mut rig, 80, 24);
        assert!(!screen.contains("Participants"), "{screen}");
        // The transcript above the decision spans the whole width.
        let top = screen.lines().nth(1).unwrap().trim_matches('"');
        assert!(
            top.starts_with("┌ Transcript") && top.ends_with('┐'),
            "{screen}"
        );
        assert_eq!(top.chars().count(), 80, "{screen}");
        assert!(!top.contains("┐┌"), "{screen}");
        // With room to spare they stay.
        let screen = render(&mut rig, 200, 50);
        assert!(screen.contains("Participants"), "{screen}");
    }

    #[test]
    fn a_follower_sees_it_read_only_at_160x48() {
        let mut rig = Rig::new(Role::Follower, false);
        with_transcript(&mut rig);
        rig.event(edit_request(8, "r3"));
        insta::assert_snapshot!(render(&mut rig, 160, 48));
    }
}

#[test]
fn a_long_preview_scrolls_with_pgup_and_pgdn_and_stops_at_its_end() {
    use crate::protocol::{PermissionOption, Preview};
    let mut rig = Rig::new(Role::Owner, false);
    let body: String = (1..=100).map(|n| format!("+line {n}\n")).collect();
    rig.event(record(
        1,
        EventKind::PermissionRequest {
            request_id: "r1".into(),
            tool: "Write".into(),
            input: serde_json::json!({}),
            tool_use_id: None,
            title: None,
            description: None,
            preview: Some(Box::new(Preview::Diff {
                path: "long.txt".into(),
                diff: format!("--- /dev/null\n+++ b/long.txt\n@@ -0,0 +1,100 @@\n{body}"),
                added: 100,
                removed: 0,
                new_file: true,
            })),
            options: PermissionOption::standard(Vec::new()),
        },
    ));
    let screen = render(&mut rig, 80, 24);
    assert!(screen.contains("  1 + line 1 "), "{screen}");
    assert!(screen.contains("rows 1-"), "{screen}");
    rig.key(KeyCode::PageDown);
    let screen = render(&mut rig, 80, 24);
    assert!(!screen.contains("  1 + line 1 "), "{screen}");
    assert!(!screen.contains("rows 1-"), "{screen}");
    for _ in 0..50 {
        rig.key(KeyCode::PageDown);
    }
    // Stopped at the end by the layout, not by a frame drawn.
    let most = rig.app.layout().decision.unwrap().most_scroll();
    assert_eq!(rig.app.decision.scroll(), most);
    let screen = render(&mut rig, 80, 24);
    assert!(screen.contains("100 + line 100"), "{screen}");
    assert!(screen.contains("-102 of 102"), "{screen}");
    // One page back up from the end, not fifty.
    rig.key(KeyCode::PageUp);
    let screen = render(&mut rig, 80, 24);
    assert!(!screen.contains("100 + line 100"), "{screen}");
    assert!(!screen.contains("rows 1-"), "{screen}");
}

/// A list longer than the pane: the rows around the selection are shown
/// (only those are made each frame), with the selected one in view.
#[test]
fn a_long_participant_list_scrolls_to_the_selection() {
    let mut rig = Rig::new(Role::Follower, true);
    let participants = (0..40)
        .map(|n| {
            let name = format!("viewer-{n:02}");
            participant(&format!("p{n}"), &name, Role::Follower, Mode::View)
        })
        .collect();
    rig.server(ServerMessage::Participants {
        unlisted: 0,
        participants,
        owner_slot: None,
    });
    rig.app.selected_participant = 35;
    let screen = render(&mut rig, 120, 40);
    assert!(screen.contains("Participants (40)"), "{screen}");
    assert!(screen.contains("identity"), "{screen}");
    assert!(screen.contains("viewer-35"), "{screen}");
    assert!(!screen.contains("viewer-00"), "{screen}");
}

/// The host lists at most 100 viewers; the pane counts the rest and says
/// so under the rows.
#[test]
fn viewers_the_host_did_not_list_are_counted() {
    let mut rig = Rig::new(Role::Follower, true);
    let participants = (0..100)
        .map(|n| {
            participant(
                &format!("p{n}"),
                &format!("v{n}"),
                Role::Follower,
                Mode::View,
            )
        })
        .collect();
    rig.server(ServerMessage::Participants {
        participants,
        unlisted: 9_900,
        owner_slot: None,
    });
    rig.app.selected_participant = 99;
    let screen = render(&mut rig, 120, 40);
    assert!(screen.contains("Participants (10000)"), "{screen}");
    assert!(screen.contains("and 9900 more watching"), "{screen}");
}
