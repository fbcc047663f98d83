//! Key and message handling, driven through `update` with no terminal and
//! no socket: keys in, protocol messages out.

use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::time::{Duration, Instant, SystemTime};

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use serde_json::json;

use super::*;
use crate::client::ConnEvent;
use crate::protocol::{
    Decision, EventKind, EventRecord, Grant, Mode, ParticipantInfo, Role, ServerMessage,
    SessionDescription, You,
};

pub struct Rig {
    pub app: App,
    pub now: Instant,
}

fn ready(epoch: &str, pending: Vec<EventRecord>) -> ServerMessage {
    ServerMessage::Ready {
        protocol: 1,
        session: SessionDescription {
            id: "main".into(),
            epoch: epoch.into(),
            title: "shell".into(),
            agent: "shell".into(),
            cwd: "/work".into(),
            started_at: "2026-01-01T00:00:00Z".into(),
            rules: Vec::new(),
            takes_updated_input: true,
        },
        you: You {
            participant: "p1".into(),
            identity: "alice".into(),
            grants: vec![Grant::View, Grant::Control],
            mode: Mode::Control,
        },
        last_seq: 0,
        state: AgentState::Idle,
        pending,
        agent: None,
        features: Vec::new(),
    }
}

pub fn record(seq: u64, event: EventKind) -> EventRecord {
    EventRecord {
        seq,
        ts: "2026-01-01T00:00:00Z".into(),
        event,
    }
}

pub fn request(seq: u64, id: &str, command: &str) -> EventRecord {
    record(
        seq,
        EventKind::PermissionRequest {
            request_id: id.into(),
            tool: "shell".into(),
            input: json!({"command": command}),
            tool_use_id: None,
            title: None,
            description: None,
            preview: None,
            options: Vec::new(),
        },
    )
}

impl Rig {
    pub fn new(role: Role, view: bool) -> Rig {
        let mut rig = Rig {
            app: App::new(view, Arc::new(AtomicU64::new(0))),
            now: Instant::now(),
        };
        rig.conn(ConnEvent::Connected);
        rig.server(ready("e1", Vec::new()));
        rig.server(ServerMessage::Role { role, reason: None });
        rig.server(ServerMessage::Participants {
            unlisted: 0,
            participants: vec![ParticipantInfo {
                id: "p1".into(),
                identity: "alice".into(),
                role,
                grants: vec![Grant::View, Grant::Control],
                mode: if view { Mode::View } else { Mode::Control },
                client: Some("tether/0.1.0".into()),
                connected_at: "2026-01-01T00:00:00Z".into(),
            }],
            owner_slot: None,
        });
        rig.server(ServerMessage::CaughtUp { seq: 0 });
        rig
    }

    pub fn update(&mut self, msg: Msg) -> Vec<Effect> {
        self.app.update(
            msg,
            self.now,
            SystemTime::UNIX_EPOCH + Duration::from_secs(1_767_225_600),
        )
    }

    pub fn conn(&mut self, event: ConnEvent) -> Vec<Effect> {
        self.update(Msg::Conn(event))
    }

    pub fn server(&mut self, message: ServerMessage) -> Vec<Effect> {
        self.conn(ConnEvent::Message(message))
    }

    pub fn event(&mut self, record: EventRecord) -> Vec<Effect> {
        self.server(ServerMessage::Event(record))
    }

    pub fn key(&mut self, code: KeyCode) -> Vec<Effect> {
        self.update(Msg::Key(KeyEvent::new(code, KeyModifiers::NONE)))
    }

    pub fn key_mod(&mut self, code: KeyCode, modifiers: KeyModifiers) -> Vec<Effect> {
        self.update(Msg::Key(KeyEvent::new(code, modifiers)))
    }

    pub fn typed(&mut self, text: &str) -> Vec<Effect> {
        text.chars()
            .flat_map(|c| self.key(KeyCode::Char(c)))
            .collect()
    }

    pub fn focus(&mut self, focus: Focus) {
        while self.app.focus != focus {
            self.key(KeyCode::Tab);
        }
    }

    /// The transcript's rows in view at `width` x `height`, as text.
    pub fn transcript_rows(&mut self, width: u16, height: u16) -> String {
        let lines = self.app.transcript.visible_lines(width, height);
        lines
            .iter()
            .map(|l| {
                l.spans
                    .iter()
                    .map(|s| s.content.as_ref())
                    .collect::<String>()
            })
            .collect::<Vec<_>>()
            .join("\n")
    }
}

pub fn sent(effects: &[Effect]) -> Vec<ClientMessage> {
    effects
        .iter()
        .filter_map(|e| match e {
            Effect::Send(m) => Some(m.clone()),
            _ => None,
        })
        .collect()
}

#[test]
fn y_typed_in_the_input_box_does_not_approve() {
    let mut rig = Rig::new(Role::Owner, false);
    rig.event(request(1, "r1", "rm -rf /"));
    assert_eq!(rig.app.focus, Focus::Input);
    // The decision view takes the keys when the request arrives; Esc
    // leaves it, back to the input box.
    rig.key(KeyCode::Esc);
    let effects = rig.typed("yes");
    assert!(sent(&effects).is_empty(), "{effects:?}");
    assert_eq!(rig.app.input.lines(), ["yes"]);
    assert_eq!(rig.app.pending.len(), 1);
}

#[test]
fn y_and_n_answer_only_in_the_permissions_pane() {
    let mut rig = Rig::new(Role::Owner, false);
    rig.event(request(1, "r1", "ls"));
    rig.event(request(2, "r2", "rm x"));
    rig.focus(Focus::Permissions);
    rig.key(KeyCode::Down);
    let effects = rig.key(KeyCode::Char('y'));
    assert!(
        matches!(&sent(&effects)[..], [ClientMessage::PermissionDecision(crate::protocol::PermissionDecision { request_id, decision: Decision::Allow, .. })] if request_id == "r2")
    );
    // n asks for a reason; Enter sends it.
    rig.key(KeyCode::Up);
    assert!(rig.key(KeyCode::Char('n')).is_empty());
    rig.typed("too risky");
    let effects = rig.key(KeyCode::Enter);
    assert!(
        matches!(&sent(&effects)[..], [ClientMessage::PermissionDecision(crate::protocol::PermissionDecision { request_id, decision: Decision::Deny, message: Some(m), .. })] if request_id == "r1" && m == "too risky")
    );
}

#[test]
fn esc_in_the_reason_prompt_denies_without_a_reason() {
    let mut rig = Rig::new(Role::Owner, false);
    rig.event(request(1, "r1", "ls"));
    rig.focus(Focus::Permissions);
    rig.key(KeyCode::Char('n'));
    let effects = rig.key(KeyCode::Esc);
    assert!(matches!(
        &sent(&effects)[..],
        [ClientMessage::PermissionDecision(
            crate::protocol::PermissionDecision {
                decision: Decision::Deny,
                message: None,
                ..
            }
        )]
    ));
}

#[test]
fn a_request_settled_by_someone_else_disappears_at_once() {
    let mut rig = Rig::new(Role::Owner, false);
    rig.event(request(1, "r1", "ls"));
    rig.focus(Focus::Permissions);
    rig.key(KeyCode::Char('n'));
    rig.event(record(
        2,
        EventKind::PermissionResolved {
            request_id: "r1".into(),
            decision: Decision::Allow,
            by: "bob".into(),
            message: None,
            option: None,
            updated_input: None,
        },
    ));
    assert!(rig.app.pending.is_empty());
    assert!(rig.app.modals.is_empty(), "the reason prompt closed");
}

#[test]
fn follower_and_viewer_keys_send_nothing() {
    for view in [false, true] {
        let mut rig = Rig::new(Role::Follower, view);
        rig.event(request(1, "r1", "ls"));
        assert!(rig.key(KeyCode::Esc).is_empty());
        rig.typed("hello");
        assert!(sent(&rig.key(KeyCode::Enter)).is_empty());
        assert_eq!(
            rig.app.input.lines(),
            [""],
            "typing is ignored when read-only"
        );
        rig.focus(Focus::Permissions);
        assert!(sent(&rig.key(KeyCode::Char('y'))).is_empty());
        assert!(sent(&rig.key_mod(KeyCode::F(3), KeyModifiers::NONE)).is_empty());
        // Ctrl+C quits on a second press, as for the owner.
        assert!(
            rig.key_mod(KeyCode::Char('c'), KeyModifiers::CONTROL)
                .is_empty()
        );
        assert_eq!(
            rig.key_mod(KeyCode::Char('c'), KeyModifiers::CONTROL),
            [Effect::Quit]
        );
    }
}

#[test]
fn esc_interrupts_for_the_owner() {
    let mut rig = Rig::new(Role::Owner, false);
    assert!(matches!(
        &sent(&rig.key(KeyCode::Esc))[..],
        [ClientMessage::Interrupt(crate::protocol::Interrupt { .. })]
    ));
    // An owner in --view mode is a viewer.
    let mut rig = Rig::new(Role::Owner, true);
    assert!(rig.key(KeyCode::Esc).is_empty());
}

#[test]
fn enter_sends_and_the_text_stays_until_acknowledged() {
    let mut rig = Rig::new(Role::Owner, false);
    rig.typed("ls");
    let effects = rig.key(KeyCode::Enter);
    let [ClientMessage::UserMessage(crate::protocol::UserMessage { id, text })] =
        &sent(&effects)[..]
    else {
        panic!("{effects:?}")
    };
    assert_eq!(text, "ls");
    assert_eq!(rig.app.input.lines(), ["ls"]);
    rig.typed("x");
    assert_eq!(rig.app.input.lines(), ["ls"], "locked while sending");
    rig.server(ServerMessage::Ack {
        id: id.clone(),
        duplicate: false,
    });
    assert_eq!(rig.app.input.lines(), [""]);
}

#[test]
fn a_refused_message_returns_to_the_box_with_the_error_shown() {
    let mut rig = Rig::new(Role::Owner, false);
    rig.typed("ls");
    let effects = rig.key(KeyCode::Enter);
    let [ClientMessage::UserMessage(crate::protocol::UserMessage { id, .. })] = &sent(&effects)[..]
    else {
        panic!()
    };
    rig.server(ServerMessage::error(
        Some(id.clone()),
        crate::protocol::ErrorCode::Busy,
        "the agent is busy",
    ));
    assert_eq!(rig.app.input.lines(), ["ls"]);
    let super::StatusLine { text, level, .. } = rig.app.status.clone().unwrap();
    assert_eq!(level, Level::Error);
    assert!(text.contains("busy"));
    rig.typed("!");
    assert_eq!(rig.app.input.lines(), ["ls!"], "editable again");
}

#[test]
fn unsent_text_waits_for_the_connection_and_keeps_its_id() {
    let mut rig = Rig::new(Role::Owner, false);
    rig.conn(ConnEvent::Lost {
        reason: "gone".into(),
        retry_in: Duration::from_secs(1),
    });
    rig.typed("echo later");
    assert!(sent(&rig.key(KeyCode::Enter)).is_empty());
    assert_eq!(rig.app.input.lines(), ["echo later"]);
    let id = rig.app.in_flight_ids().next().unwrap().to_owned();
    let effects = rig.conn(ConnEvent::Connected);
    assert!(
        matches!(&sent(&effects)[..], [ClientMessage::UserMessage(crate::protocol::UserMessage { id: again, .. })] if *again == id)
    );
}

#[test]
fn ctrl_c_interrupts_clears_or_quits_on_a_second_press() {
    let ctrl_c = |rig: &mut Rig| rig.key_mod(KeyCode::Char('c'), KeyModifiers::CONTROL);
    let mut rig = Rig::new(Role::Owner, false);
    rig.event(record(1, EventKind::status(AgentState::Running)));
    assert!(matches!(
        &sent(&ctrl_c(&mut rig))[..],
        [ClientMessage::Interrupt(crate::protocol::Interrupt { .. })]
    ));
    rig.event(record(2, EventKind::status(AgentState::Idle)));
    rig.typed("draft");
    assert!(ctrl_c(&mut rig).is_empty());
    assert_eq!(rig.app.input.lines(), [""]);
    assert!(ctrl_c(&mut rig).is_empty());
    assert!(!rig.app.should_quit());
    assert_eq!(ctrl_c(&mut rig), [Effect::Quit]);
    // Slower than a second apart, it starts over.
    let mut rig = Rig::new(Role::Owner, false);
    ctrl_c(&mut rig);
    rig.now += Duration::from_millis(1500);
    assert!(ctrl_c(&mut rig).is_empty());
}

#[test]
fn ctrl_q_quits_from_anywhere() {
    let mut rig = Rig::new(Role::Owner, false);
    rig.key(KeyCode::F(1));
    assert_eq!(
        rig.key_mod(KeyCode::Char('q'), KeyModifiers::CONTROL),
        [Effect::Quit]
    );
}

#[test]
fn tab_cycles_focus_in_the_documented_order() {
    let mut rig = Rig::new(Role::Owner, false);
    let mut order = vec![rig.app.focus];
    for _ in 0..4 {
        rig.key(KeyCode::Tab);
        order.push(rig.app.focus);
    }
    assert_eq!(
        order,
        [
            Focus::Input,
            Focus::Permissions,
            Focus::Transcript,
            Focus::Participants,
            Focus::Input
        ]
    );
    rig.key(KeyCode::BackTab);
    assert_eq!(rig.app.focus, Focus::Participants);
}

#[test]
fn replayed_events_apply_once_and_a_gap_asks_for_a_resume() {
    let mut rig = Rig::new(Role::Owner, false);
    let notice = |seq| {
        record(
            seq,
            EventKind::notice(crate::protocol::NoticeLevel::Info, format!("n{seq}")),
        )
    };
    rig.event(notice(1));
    rig.event(notice(2));
    rig.event(notice(1));
    assert_eq!(rig.app.transcript.len(), 2);
    let effects = rig.event(notice(5));
    assert!(matches!(
        &sent(&effects)[..],
        [ClientMessage::Resume(crate::protocol::Resume {
            since: 2,
            ..
        })]
    ));
    assert_eq!(rig.app.last_applied(), 2);
    for seq in 3..=5 {
        rig.event(notice(seq));
    }
    assert_eq!(rig.app.transcript.len(), 5);
}

#[test]
fn a_new_epoch_clears_the_transcript_and_reconnects() {
    let mut rig = Rig::new(Role::Owner, false);
    rig.event(record(
        1,
        EventKind::notice(crate::protocol::NoticeLevel::Info, "old"),
    ));
    rig.conn(ConnEvent::Lost {
        reason: "x".into(),
        retry_in: Duration::ZERO,
    });
    rig.conn(ConnEvent::Connected);
    let effects = rig.server(ready("e2", Vec::new()));
    assert_eq!(effects, [Effect::Reconnect]);
    assert_eq!(rig.app.last_applied(), 0);
    // Whatever the old socket still delivers is ignored until the new ready.
    rig.event(record(
        7,
        EventKind::notice(crate::protocol::NoticeLevel::Info, "stale"),
    ));
    assert_eq!(rig.app.last_applied(), 0);
    rig.server(ready("e2", Vec::new()));
    rig.event(record(
        1,
        EventKind::notice(crate::protocol::NoticeLevel::Info, "new"),
    ));
    assert_eq!(rig.app.last_applied(), 1);
}

#[test]
fn pending_requests_from_ready_are_answerable() {
    let mut rig = Rig::new(Role::Owner, false);
    rig.server(ready("e1", vec![request(3, "early", "make")]));
    assert_eq!(rig.app.pending.len(), 1);
    rig.focus(Focus::Permissions);
    assert!(
        matches!(&sent(&rig.key(KeyCode::Char('y')))[..], [ClientMessage::PermissionDecision(crate::protocol::PermissionDecision { request_id, .. })] if request_id == "early")
    );
}

#[test]
fn output_colours_and_split_escapes_continue_across_chunks() {
    let mut rig = Rig::new(Role::Owner, false);
    let out = |seq, text: &str| {
        record(
            seq,
            EventKind::Output {
                stream: crate::protocol::OutputStream::Stdout,
                text: text.into(),
            },
        )
    };
    rig.event(out(1, "\u{1b}[3"));
    rig.event(out(2, "1mred\n"));
    rig.event(out(3, "still red\u{1b}[0m\n"));
    let block = &rig.app.transcript.blocks()[0];
    assert_eq!(
        block.text().text,
        "red\nstill red\n",
        "the split sequence was not shown as text"
    );
    let red = ratatui::style::Color::Red;
    assert!(
        block
            .text()
            .runs
            .iter()
            .all(|r| r.style.fg == Some(red) || r.start as usize >= "red\nstill red".len())
    );
}

mod keys;
pub mod paging;
pub mod people;
pub mod reading;
mod skipped;
