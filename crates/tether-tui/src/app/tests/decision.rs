//! The decision view's state machine, driven through `update`: keys in,
//! `permission_decision` messages out.

use std::time::Duration;

use crossterm::event::{KeyCode, KeyModifiers};
use serde_json::{Value, json};

use super::*;
use crate::protocol::{
    ClientMessage, Decision, EventKind, EventRecord, PermissionDecision, PermissionOption,
    PermissionOptionKind, Preview, Role, ServerMessage,
};
use crate::tui::app::Focus;
use crate::tui::app::tests::people::{person, roster};
use crate::tui::app::tests::{Rig, record, sent};

fn always(label: &str) -> PermissionOption {
    PermissionOption::new("allow_always_1", PermissionOptionKind::AllowAlways, label)
}

/// A request as a current host sends it.
fn ask(seq: u64, id: &str, tool: &str, input: Value, preview: Option<Preview>) -> EventRecord {
    let always = match tool {
        "Write" | "Edit" => vec![always("accept edits for this session")],
        _ => Vec::new(),
    };
    record(
        seq,
        EventKind::PermissionRequest {
            request_id: id.into(),
            tool: tool.into(),
            input,
            tool_use_id: None,
            title: None,
            description: None,
            preview: preview.map(Box::new),
            options: PermissionOption::standard(always),
        },
    )
}

fn command(seq: u64, id: &str, text: &str) -> EventRecord {
    let preview = Preview::Command {
        command: text.into(),
        cwd: "/work".into(),
        description: None,
    };
    ask(
        seq,
        id,
        "shell",
        json!({"command": text, "cwd": "/work"}),
        Some(preview),
    )
}

fn write(seq: u64, id: &str) -> EventRecord {
    ask(
        seq,
        id,
        "Write",
        json!({"file_path": "/work/a.txt", "content": "hello"}),
        None,
    )
}

/// The one decision sent: (request, decision, option, message, input).
fn decision(
    effects: &[Effect],
) -> (
    String,
    Decision,
    Option<String>,
    Option<String>,
    Option<Value>,
) {
    match &sent(effects)[..] {
        [
            ClientMessage::PermissionDecision(PermissionDecision {
                request_id,
                decision,
                message,
                updated_input,
                option,
                ..
            }),
        ] => (
            request_id.clone(),
            *decision,
            option.clone(),
            message.clone(),
            updated_input.clone(),
        ),
        other => panic!("expected one decision, got {other:?}"),
    }
}

fn opt(id: &str) -> Option<String> {
    Some(id.to_owned())
}

#[test]
fn choices_come_from_the_options_in_order() {
    let mut rig = Rig::new(Role::Owner, false);
    rig.event(write(1, "r1"));
    let (_, request) = rig.app.decision_request().unwrap();
    let labels: Vec<String> = choices(request).iter().map(Choice::label).collect();
    assert_eq!(
        labels,
        [
            "Allow once",
            "Accept edits for this session",
            "Edit, then allow…",
            "Deny, with a message to the agent…"
        ]
    );
    // An older host offers no options: the same choices, no option ids.
    rig.event(crate::tui::app::tests::request(2, "r2", "ls"));
    rig.key(KeyCode::Char(']'));
    let (at, request) = rig.app.decision_request().unwrap();
    assert_eq!(at, 1);
    assert_eq!(choices(request).len(), 3);
    assert_eq!(
        decision(&rig.key(KeyCode::Char('1'))),
        ("r2".into(), Decision::Allow, None, None, None)
    );
}

#[test]
fn the_view_opens_by_itself_and_digits_y_n_and_enter_answer_with_option_ids() {
    let mut rig = Rig::new(Role::Owner, false);
    rig.event(write(1, "r1"));
    assert!(rig.app.decision.is_open(), "it takes the keys by itself");
    assert_eq!(rig.app.focus_context(), Context::Decision);
    assert_eq!(
        decision(&rig.key(KeyCode::Char('2'))),
        (
            "r1".into(),
            Decision::Allow,
            opt("allow_always_1"),
            None,
            None
        )
    );
    assert!(!rig.app.decision.is_open(), "answered: the view goes");

    rig.event(write(2, "r2"));
    assert_eq!(
        decision(&rig.key(KeyCode::Char('y'))),
        ("r2".into(), Decision::Allow, opt("allow_once"), None, None)
    );
    rig.event(write(3, "r3"));
    assert_eq!(
        decision(&rig.key(KeyCode::Char('n'))),
        ("r3".into(), Decision::Deny, opt("reject_once"), None, None)
    );
    // Enter on the highlighted choice: the last one asks for a message.
    rig.event(write(4, "r4"));
    for _ in 0..5 {
        rig.key(KeyCode::Down);
    }
    assert_eq!(rig.app.decision.highlight(), 3, "stops at the last choice");
    assert!(sent(&rig.key(KeyCode::Enter)).is_empty());
    assert_eq!(rig.app.focus_context(), Context::DecisionText);
    rig.typed("use git mv instead");
    assert_eq!(
        decision(&rig.key(KeyCode::Enter)),
        (
            "r4".into(),
            Decision::Deny,
            opt("reject_once"),
            opt("use git mv instead"),
            None
        )
    );
}

#[test]
fn edit_and_allow_sends_the_edited_command_as_updated_input() {
    let mut rig = Rig::new(Role::Owner, false);
    rig.event(command(1, "r1", "ls"));
    assert!(sent(&rig.key(KeyCode::Char('e'))).is_empty());
    let editor = rig.app.decision.editor().unwrap();
    assert_eq!(editor.kind, EditorKind::Command);
    assert_eq!(editor.text.lines(), ["ls"]);
    rig.typed(" -la");
    assert_eq!(
        decision(&rig.key(KeyCode::Enter)),
        (
            "r1".into(),
            Decision::Allow,
            opt("allow_once"),
            None,
            Some(json!({"command": "ls -la", "cwd": "/work"}))
        )
    );
}

#[test]
fn invalid_json_is_refused_in_place_and_nothing_is_sent() {
    let mut rig = Rig::new(Role::Owner, false);
    rig.event(write(1, "r1"));
    // Choice 3 is "edit, then allow": the input as JSON.
    rig.key(KeyCode::Char('3'));
    let editor = rig.app.decision.editor().unwrap();
    assert_eq!(editor.kind, EditorKind::Json);
    assert_eq!(editor.text.lines().first().map(String::as_str), Some("{"));
    rig.typed(",");
    assert!(sent(&rig.key(KeyCode::Enter)).is_empty());
    let problem = rig.app.decision.editor().unwrap().problem.clone();
    assert!(
        problem.as_deref().unwrap_or("").contains("not valid JSON"),
        "{problem:?}"
    );
    assert_eq!(rig.app.pending.len(), 1);
    rig.key(KeyCode::Backspace);
    assert_eq!(
        decision(&rig.key(KeyCode::Enter)),
        (
            "r1".into(),
            Decision::Allow,
            opt("allow_once"),
            None,
            Some(json!({"file_path": "/work/a.txt", "content": "hello"}))
        )
    );
}

#[test]
fn esc_closes_the_text_area_first_then_leaves_the_request_pending() {
    let mut rig = Rig::new(Role::Owner, false);
    rig.event(command(1, "r1", "rm -rf build"));
    // The shell offers no allow-always: choice 3 is the deny message.
    rig.key(KeyCode::Char('3'));
    assert!(rig.app.decision.editor().is_some());
    assert!(rig.key(KeyCode::Esc).is_empty());
    assert!(rig.app.decision.editor().is_none());
    assert!(
        rig.app.decision.is_open(),
        "the first Esc closes only the text area"
    );
    assert!(rig.key(KeyCode::Esc).is_empty(), "no interrupt, no answer");
    assert!(!rig.app.decision.is_open());
    assert_eq!(rig.app.focus, Focus::Input);
    assert_eq!(rig.app.pending.len(), 1, "still pending");
    // Enter on it in the permissions pane brings it back.
    rig.focus(Focus::Permissions);
    rig.key(KeyCode::Enter);
    assert!(rig.app.decision.is_open());
    assert_eq!(
        decision(&rig.key(KeyCode::Char('y'))).0,
        "r1",
        "answered from the reopened view"
    );
    assert_eq!(rig.app.focus, Focus::Permissions, "back where the user was");
}

#[test]
fn typed_text_survives_a_decision() {
    let mut rig = Rig::new(Role::Owner, false);
    rig.typed("half a thought");
    rig.now += Duration::from_secs(5);
    rig.event(command(1, "r1", "make"));
    assert!(rig.app.decision.is_open());
    // Keys while deciding never reach the input box.
    rig.typed("xz");
    rig.update(crate::tui::app::Msg::Paste("pasted".into()));
    assert_eq!(rig.app.input.lines(), ["half a thought"]);
    decision(&rig.key(KeyCode::Char('y')));
    assert!(!rig.app.decision.is_open());
    assert_eq!(rig.app.focus, Focus::Input);
    assert_eq!(rig.app.input.lines(), ["half a thought"]);
    rig.typed(", finished");
    assert_eq!(rig.app.input.lines(), ["half a thought, finished"]);
}

#[test]
fn several_requests_oldest_first_brackets_move_and_answers_go_on_to_the_next() {
    let mut rig = Rig::new(Role::Owner, false);
    rig.event(command(1, "r1", "one"));
    rig.event(command(2, "r2", "two"));
    rig.event(command(3, "r3", "three"));
    let at = |rig: &Rig| rig.app.decision_request().unwrap().0;
    assert_eq!(at(&rig), 0, "oldest first");
    rig.key(KeyCode::Char(']'));
    rig.key(KeyCode::Char(']'));
    rig.key(KeyCode::Char(']'));
    assert_eq!(at(&rig), 2);
    rig.key(KeyCode::Char('['));
    assert_eq!(decision(&rig.key(KeyCode::Char('y'))).0, "r2");
    // On to the oldest still waiting.
    assert!(rig.app.decision.is_open());
    assert_eq!(at(&rig), 0);
    assert_eq!(decision(&rig.key(KeyCode::Char('y'))).0, "r1");
    assert_eq!(decision(&rig.key(KeyCode::Char('y'))).0, "r3");
    assert!(!rig.app.decision.is_open());
}

#[test]
fn tab_leaves_the_view_and_moves_on_from_the_pane_underneath() {
    let mut rig = Rig::new(Role::Owner, false);
    rig.event(command(1, "r1", "ls"));
    rig.key(KeyCode::Tab);
    assert!(!rig.app.decision.is_open());
    assert_eq!(rig.app.focus, Focus::Permissions);
    // A request settled by someone else closes a view opened on it.
    rig.key(KeyCode::Enter);
    rig.event(record(
        2,
        EventKind::PermissionCancelled {
            request_id: "r1".into(),
            reason: None,
        },
    ));
    assert!(!rig.app.decision.is_open());
    assert!(!rig.app.decision_shown());
}

#[test]
fn followers_see_the_request_read_only_and_who_is_to_answer() {
    for view in [false, true] {
        let mut rig = Rig::new(Role::Follower, view);
        rig.server(roster(
            vec![
                person("p1", "alice", Role::Follower),
                person("p2", "bob", Role::Owner),
            ],
            None,
        ));
        rig.event(command(1, "r1", "ls"));
        assert!(rig.app.decision_shown());
        assert!(
            !rig.app.decision.is_open(),
            "it does not take a watcher's keys"
        );
        assert_eq!(rig.app.waiting_for(), "waiting for bob to answer");
        rig.focus(Focus::Permissions);
        rig.key(KeyCode::Enter);
        for key in ['y', 'n', '1', 'e'] {
            assert!(sent(&rig.key(KeyCode::Char(key))).is_empty());
        }
        assert!(rig.app.decision.editor().is_none());
        assert!(sent(&rig.key(KeyCode::Enter)).is_empty());
    }
}

#[test]
fn becoming_the_owner_with_a_request_waiting_opens_the_view() {
    let mut rig = Rig::new(Role::Follower, false);
    rig.event(command(1, "r1", "ls"));
    assert!(!rig.app.decision.is_open());
    rig.server(ServerMessage::Role {
        role: Role::Owner,
        reason: Some("claimed".into()),
    });
    assert!(rig.app.decision.is_open());
    // Pasting goes into an open text area, newlines kept.
    rig.key(KeyCode::Char('e'));
    rig.update(crate::tui::app::Msg::Paste(" &&\r\nls".into()));
    let editor = rig.app.decision.editor().unwrap();
    assert_eq!(editor.text.lines(), ["ls &&", "ls"]);
    // Alt+Enter adds a line, Enter sends.
    rig.key_mod(KeyCode::Enter, KeyModifiers::ALT);
    let (_, _, _, _, input) = decision(&rig.key(KeyCode::Enter));
    assert_eq!(input.unwrap()["command"], "ls &&\nls\n");
}

#[test]
fn the_edit_text_area_shows_escapes_as_they_are_and_sends_what_was_seen() {
    let mut rig = Rig::new(Role::Owner, false);
    rig.event(command(1, "r1", "echo \u{1b}[31mred\u{7}"));
    rig.key(KeyCode::Char('e'));
    let editor = rig.app.decision.editor().unwrap();
    assert_eq!(editor.text.lines(), ["echo ␛[31mred␇"]);
    let (_, _, _, _, input) = decision(&rig.key(KeyCode::Enter));
    assert_eq!(input.unwrap()["command"], "echo ␛[31mred␇");
}

#[test]
fn a_request_appearing_mid_word_holds_answers_and_drops_the_keys_held() {
    let mut rig = Rig::new(Role::Owner, false);
    rig.typed("say y");
    rig.event(command(1, "r1", "rm -rf build"));
    assert!(rig.app.decision.is_open(), "it still opens at once");
    assert!(
        rig.app.decision.holding(rig.now),
        "the view says answers are held"
    );
    // Typed by reflex: not answers, and not sent on later from a box the
    // view hides (after allowing, `pwd` went out as `ypwd`).
    assert!(sent(&rig.typed("es 1")).is_empty());
    assert!(sent(&rig.key(KeyCode::Enter)).is_empty());
    assert!(sent(&rig.key(KeyCode::Char('n'))).is_empty());
    assert_eq!(
        rig.app.input.lines(),
        ["say y"],
        "the draft typed before stays"
    );
    assert_eq!(rig.app.pending.len(), 1);
    // A moment later the keys answer, and the notice is gone.
    rig.now += Duration::from_secs(1);
    assert!(!rig.app.decision.holding(rig.now));
    assert_eq!(decision(&rig.key(KeyCode::Char('n'))).1, Decision::Deny);
    assert_eq!(rig.app.input.lines(), ["say y"]);
}

#[test]
fn the_permissions_pane_names_the_once_options_whatever_their_order() {
    // claude-agent-acp's order: a plain allow here once meant "always".
    let options = vec![
        PermissionOption::new("always", PermissionOptionKind::AllowAlways, "Always Allow"),
        PermissionOption::new("allow", PermissionOptionKind::AllowOnce, "Allow"),
        PermissionOption::new("reject", PermissionOptionKind::RejectOnce, "Reject"),
    ];
    let request = |seq, id: &str| {
        record(
            seq,
            EventKind::PermissionRequest {
                request_id: id.into(),
                tool: "execute".into(),
                input: json!({"command": "touch x"}),
                tool_use_id: None,
                title: None,
                description: None,
                preview: None,
                options: options.clone(),
            },
        )
    };
    let mut rig = Rig::new(Role::Owner, false);
    rig.event(request(1, "r1"));
    rig.key(KeyCode::Esc);
    rig.focus(Focus::Permissions);
    let (id, allowed, option, ..) = decision(&rig.key(KeyCode::Char('y')));
    assert_eq!((id.as_str(), allowed), ("r1", Decision::Allow));
    assert_eq!(option.as_deref(), Some("allow"));
    rig.event(request(2, "r2"));
    rig.key(KeyCode::Esc);
    rig.focus(Focus::Permissions);
    rig.key(KeyCode::Char('n'));
    let (_, denied, option, ..) = decision(&rig.key(KeyCode::Enter));
    assert_eq!(
        (denied, option.as_deref()),
        (Decision::Deny, Some("reject"))
    );
}

#[test]
fn edit_is_offered_only_where_the_agent_can_run_an_edited_input() {
    let mut rig = Rig::new(Role::Owner, false);
    // An ACP agent's session says it cannot.
    rig.server(ServerMessage::Ready {
        protocol: 1,
        session: crate::protocol::SessionDescription {
            id: "main".into(),
            epoch: "e1".into(),
            title: "acp".into(),
            agent: "acp".into(),
            cwd: "/work".into(),
            started_at: "2026-01-01T00:00:00Z".into(),
            rules: Vec::new(),
            takes_updated_input: false,
        },
        you: crate::protocol::You {
            participant: "p1".into(),
            identity: "alice".into(),
            grants: vec![crate::protocol::Grant::Control],
            mode: crate::protocol::Mode::Control,
        },
        last_seq: 0,
        state: crate::protocol::AgentState::Idle,
        pending: Vec::new(),
        agent: None,
        features: Vec::new(),
    });
    rig.server(ServerMessage::Role {
        role: Role::Owner,
        reason: None,
    });
    rig.server(ServerMessage::CaughtUp { seq: 0 });
    rig.event(command(1, "r1", "touch x"));
    let (_, request) = rig.app.decision_request().unwrap();
    assert!(!choices(request).contains(&Choice::EditAndAllow));
    assert!(
        sent(&rig.key(KeyCode::Char('e'))).is_empty(),
        "e sends nothing"
    );
    assert!(rig.app.decision.editor().is_none(), "and opens no editor");
}

/// `a` answers with the first allow-always option, as `[a]` does in the
/// headless prompt; a request with none says so and sends nothing.
#[test]
fn a_allows_always_with_the_first_such_option() {
    use crate::protocol::{PermissionOption, PermissionOptionKind};
    let mut rig = Rig::new(Role::Owner, false);
    let mut asked = crate::tui::app::tests::request(1, "r1", "make");
    if let EventKind::PermissionRequest { options, .. } = &mut asked.event {
        *options = PermissionOption::standard(vec![PermissionOption::new(
            "always-make",
            PermissionOptionKind::AllowAlways,
            "always allow make",
        )]);
    }
    rig.event(asked);
    let effects = rig.key(KeyCode::Char('a'));
    let sent = sent(&effects);
    assert!(
        matches!(&sent[..], [ClientMessage::PermissionDecision(d)] if d.option.as_deref() == Some("always-make")),
        "{sent:?}"
    );
    let mut rig = Rig::new(Role::Owner, false);
    let mut asked = crate::tui::app::tests::request(1, "r1", "make");
    if let EventKind::PermissionRequest { options, .. } = &mut asked.event {
        *options = PermissionOption::standard(Vec::new());
    }
    rig.event(asked);
    assert!(crate::tui::app::tests::sent(&rig.key(KeyCode::Char('a'))).is_empty());
    assert!(
        rig.app
            .status
            .as_ref()
            .unwrap()
            .text
            .contains("no always-allow")
    );
}
