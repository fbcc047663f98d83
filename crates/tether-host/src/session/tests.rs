use std::time::{Duration, Instant, SystemTime};

use super::*;
use crate::protocol::{
    AgentState, Claim, ClientMessage, Decision, ErrorCode, EventKind, Grant, Interrupt,
    MAX_USER_TEXT_BYTES, Mode, OutputStream, PermissionDecision, Ping, Release, Resume, Role,
    ServerMessage, Transfer, UserMessage,
};

fn config(traits: AgentTraits) -> SessionConfig {
    SessionConfig::sample(traits, 1000)
}

const SHELL: AgentTraits = AgentTraits {
    takes_input: true,
    queues_input: false,
    takes_updated_input: true,
};

struct Harness {
    session: Session,
    t0: Instant,
}

impl Harness {
    fn new(traits: AgentTraits) -> Self {
        let mut session = Session::new(config(traits));
        let at = At::now();
        session.agent_event(EventKind::status(AgentState::Idle), at);
        Harness {
            session,
            t0: at.mono,
        }
    }

    fn at(&self, secs: u64) -> At {
        At {
            mono: self.t0 + Duration::from_secs(secs),
            wall: SystemTime::UNIX_EPOCH + Duration::from_secs(secs),
        }
    }

    fn join_as(&mut self, identity: &str, grant: Grant, mode: Mode) -> (Welcome, Vec<Output>) {
        let join = Join {
            identity: identity.into(),
            grants: vec![grant],
            mode,
            client: Some("test/1".into()),
            since: Since::Seq(0),
            claims: true,
        };
        let at = self.at(0);
        self.session.join(join, at)
    }

    fn owner(&mut self, identity: &str) -> ParticipantId {
        let id = self.join_as(identity, Grant::Control, Mode::Control).0.to;
        assert_eq!(self.session.roster().owner(), Some(id));
        id
    }

    fn follower(&mut self, identity: &str) -> ParticipantId {
        let id = self.join_as(identity, Grant::Control, Mode::Control).0.to;
        assert_ne!(self.session.roster().owner(), Some(id));
        id
    }

    fn send(&mut self, from: ParticipantId, message: ClientMessage) -> Vec<Output> {
        let at = self.at(1);
        self.session.handle(from, message, at)
    }

    fn agent(&mut self, event: EventKind) -> Vec<Output> {
        let at = self.at(1);
        self.session.agent_event(event, at)
    }

    fn request(&mut self, id: &str) {
        self.agent(EventKind::PermissionRequest {
            request_id: id.into(),
            tool: "shell".into(),
            input: serde_json::json!({"command": "ls"}),
            tool_use_id: None,
            title: None,
            description: None,
            preview: None,
            options: Vec::new(),
        });
    }
}

fn user(id: &str, text: &str) -> ClientMessage {
    ClientMessage::UserMessage(UserMessage {
        id: id.into(),
        text: text.into(),
    })
}

fn decide(id: &str, request: &str, decision: Decision) -> ClientMessage {
    ClientMessage::PermissionDecision(PermissionDecision {
        id: id.into(),
        request_id: request.into(),
        decision,
        message: None,
        updated_input: None,
        option: None,
    })
}

/// The error code of the single reply, asserting nothing else happened.
fn only_error(out: &[Output], to: ParticipantId) -> ErrorCode {
    match out {
        [
            Output::Send {
                to: who,
                message: ServerMessage::Error { code, .. },
            },
        ] if *who == to => *code,
        other => panic!("expected one error to {to}, got {other:?}"),
    }
}

fn events(out: &[Output]) -> Vec<EventKind> {
    out.iter()
        .filter_map(|o| match o {
            Output::Event { frame, .. } => match serde_json::from_slice(frame).unwrap() {
                ServerMessage::Event(record) => Some(record.event),
                other => panic!("event frame holds {other:?}"),
            },
            _ => None,
        })
        .collect()
}

fn agent_commands(out: &[Output]) -> Vec<AgentCommand> {
    out.iter()
        .filter_map(|o| match o {
            Output::Agent(c) => Some(c.clone()),
            _ => None,
        })
        .collect()
}

#[test]
fn join_greets_in_protocol_order_and_tells_the_others() {
    let mut h = Harness::new(SHELL);
    let first = h.join_as("alice", Grant::Control, Mode::Control).0.to;
    let (welcome, out) = h.join_as("bob", Grant::View, Mode::Control);
    let second = welcome.to;
    let [Output::ParticipantsChanged] = &out[..] else {
        panic!("unexpected outputs {out:?}");
    };
    let ServerMessage::Participants { participants, .. } = h.session.participants(h.t0) else {
        panic!("participants() builds a participants message");
    };
    assert_eq!(participants.len(), 2);
    let Welcome {
        to,
        messages,
        participants: entries,
        replay,
        ..
    } = welcome;
    assert_eq!(to, second);
    assert!(
        matches!(messages[0], ServerMessage::Ready { ref you, .. } if you.participant == second.to_string())
    );
    assert!(matches!(
        messages[1],
        ServerMessage::Role {
            role: Role::Follower,
            ..
        }
    ));
    assert_eq!(messages.len(), 2, "ready and role, then the list");
    let list: Vec<crate::protocol::ParticipantInfo> = entries
        .entries
        .iter()
        .map(|e| serde_json::from_str(e).unwrap())
        .collect();
    assert_eq!(list, participants, "the entries are the participants");
    assert_eq!(replay.caught_up, 1, "the idle status is event 1");
    assert_eq!(replay.frames.len(), 1);
    assert_ne!(first, second);
}

#[test]
fn follower_actions_are_refused_with_no_effect() {
    let mut h = Harness::new(SHELL);
    let _owner = h.owner("alice");
    let bob = h.follower("bob");
    h.request("r1");
    let before = h.session.last_seq();
    let actions = [
        user("1", "ls"),
        decide("2", "r1", Decision::Allow),
        ClientMessage::Interrupt(Interrupt { id: "3".into() }),
        ClientMessage::Release(Release { id: "4".into() }),
        ClientMessage::Transfer(Transfer {
            id: "5".into(),
            to: "p1".into(),
        }),
    ];
    for action in actions {
        let out = h.send(bob, action);
        assert_eq!(only_error(&out, bob), ErrorCode::NotOwner);
    }
    assert_eq!(h.session.last_seq(), before);
    assert_eq!(h.session.pending_ids().collect::<Vec<_>>(), ["r1"]);
}

#[test]
fn user_message_reaches_the_agent_once_per_id() {
    let mut h = Harness::new(SHELL);
    let alice = h.owner("alice");
    let out = h.send(alice, user("m1", "echo hi"));
    assert_eq!(
        events(&out),
        [EventKind::UserMessage {
            text: "echo hi".into(),
            by: "alice".into(),
            msg_id: Some("m1".into()),
        }]
    );
    assert_eq!(
        agent_commands(&out),
        [AgentCommand::UserMessage(UserMessage {
            id: "m1".into(),
            text: "echo hi".into()
        })]
    );
    assert!(
        matches!(out.last(), Some(Output::Send { to, message: ServerMessage::Ack { duplicate: false, .. } }) if *to == alice)
    );
    let again = h.send(alice, user("m1", "echo hi"));
    assert!(matches!(
        &again[..],
        [Output::Send {
            message: ServerMessage::Ack {
                duplicate: true,
                ..
            },
            ..
        }]
    ));
}

#[test]
fn shell_refuses_a_second_message_while_busy_and_stream_json_queues() {
    let mut h = Harness::new(SHELL);
    let alice = h.owner("alice");
    h.send(alice, user("m1", "sleep 5"));
    assert_eq!(
        only_error(&h.send(alice, user("m2", "ls")), alice),
        ErrorCode::Busy
    );
    h.agent(EventKind::turn_end(crate::protocol::TurnOutcome::Success));
    assert_eq!(
        events(&h.send(alice, user("m2", "ls"))).len(),
        1,
        "a refused id can be retried"
    );

    let mut h = Harness::new(AgentTraits {
        takes_input: true,
        queues_input: true,
        takes_updated_input: true,
    });
    let alice = h.owner("alice");
    h.send(alice, user("m1", "one"));
    assert_eq!(events(&h.send(alice, user("m2", "two"))).len(), 1);
}

#[test]
fn oversized_text_and_exited_agent_are_refused() {
    let mut h = Harness::new(SHELL);
    let alice = h.owner("alice");
    let huge = "x".repeat(MAX_USER_TEXT_BYTES + 1);
    assert_eq!(
        only_error(&h.send(alice, user("big", &huge)), alice),
        ErrorCode::TooLarge
    );
    h.agent(EventKind::Status {
        state: AgentState::Exited,
        detail: None,
        exit_code: Some(1),
    });
    assert_eq!(
        only_error(&h.send(alice, user("m", "ls")), alice),
        ErrorCode::AgentExited
    );
    let interrupt = ClientMessage::Interrupt(Interrupt { id: "i".into() });
    assert_eq!(
        only_error(&h.send(alice, interrupt), alice),
        ErrorCode::AgentExited
    );
}

#[test]
fn decisions_resolve_once() {
    let mut h = Harness::new(SHELL);
    let alice = h.owner("alice");
    h.request("r1");
    assert_eq!(
        only_error(&h.send(alice, decide("d0", "nope", Decision::Allow)), alice),
        ErrorCode::UnknownRequest
    );
    let out = h.send(alice, decide("d1", "r1", Decision::Deny));
    assert!(
        matches!(&events(&out)[..], [EventKind::PermissionResolved { decision: Decision::Deny, by, .. }] if by == "alice")
    );
    assert_eq!(agent_commands(&out).len(), 1);
    assert_eq!(
        only_error(&h.send(alice, decide("d2", "r1", Decision::Allow)), alice),
        ErrorCode::AlreadyResolved
    );
    // The same id again is a duplicate, not an error.
    let again = h.send(alice, decide("d1", "r1", Decision::Deny));
    assert!(matches!(
        &again[..],
        [Output::Send {
            message: ServerMessage::Ack {
                duplicate: true,
                ..
            },
            ..
        }]
    ));
}

#[test]
fn late_joiners_see_every_pending_request() {
    let mut h = Harness::new(SHELL);
    h.request("r1");
    h.request("r2");
    h.agent(EventKind::PermissionCancelled {
        request_id: "r1".into(),
        reason: None,
    });
    h.request("r3");
    let (Welcome { messages, .. }, _) = h.join_as("late", Grant::View, Mode::View);
    let ServerMessage::Ready { pending, .. } = &messages[0] else {
        panic!()
    };
    let ids: Vec<_> = pending
        .iter()
        .map(|r| match &r.event {
            EventKind::PermissionRequest { request_id, .. } => request_id.as_str(),
            _ => panic!(),
        })
        .collect();
    assert_eq!(ids, ["r2", "r3"]);
}

#[test]
fn agent_exit_cancels_pending_requests_with_a_reason() {
    let mut h = Harness::new(SHELL);
    h.request("r1");
    let out = h.agent(EventKind::Status {
        state: AgentState::Exited,
        detail: None,
        exit_code: Some(137),
    });
    let kinds = events(&out);
    assert!(
        matches!(&kinds[0], EventKind::PermissionCancelled { request_id, reason: Some(_) } if request_id == "r1")
    );
    assert!(matches!(
        &kinds[1],
        EventKind::Status {
            state: AgentState::Exited,
            ..
        }
    ));
    // A late cancel from the agent for a settled request adds nothing.
    let out = h.agent(EventKind::PermissionCancelled {
        request_id: "r1".into(),
        reason: None,
    });
    assert!(out.is_empty());
}

#[test]
fn seqs_are_contiguous_and_resume_replays_after_since() {
    let mut h = Harness::new(SHELL);
    let alice = h.owner("alice");
    for n in 0..5 {
        h.agent(EventKind::Output {
            stream: OutputStream::Stdout,
            text: n.to_string(),
        });
    }
    assert_eq!(h.session.last_seq(), 6);
    let out = h.send(alice, ClientMessage::Resume(Resume { id: None, since: 4 }));
    let [Output::Replay { to, replay }] = &out[..] else {
        panic!("{out:?}")
    };
    assert_eq!(*to, alice);
    assert_eq!(replay.frames.len(), 2);
    assert_eq!(replay.first_frame_seq, 5);
    assert_eq!(replay.caught_up, 6);
}

#[test]
fn role_operations_notify_the_changed_and_everyone() {
    let mut h = Harness::new(SHELL);
    let alice = h.owner("alice");
    let bob = h.follower("bob");
    let out = h.send(
        alice,
        ClientMessage::Transfer(Transfer {
            id: "t".into(),
            to: bob.to_string(),
        }),
    );
    let roles: Vec<_> = out
        .iter()
        .filter_map(|o| match o {
            Output::Send {
                to,
                message: ServerMessage::Role { role, .. },
            } => Some((*to, *role)),
            _ => None,
        })
        .collect();
    assert_eq!(roles, [(alice, Role::Follower), (bob, Role::Owner)]);
    assert!(out.iter().any(|o| matches!(o, Output::ParticipantsChanged)));
    assert_eq!(
        only_error(
            &h.send(alice, ClientMessage::Claim(Claim { id: "c".into() })),
            alice
        ),
        ErrorCode::OwnerPresent
    );
}

#[test]
fn pong_answers_ping_to_the_sender_only() {
    let mut h = Harness::new(SHELL);
    let v = h.follower_view();
    let out = h.send(
        v,
        ClientMessage::Ping(Ping {
            id: Some("x".into()),
        }),
    );
    assert!(
        matches!(&out[..], [Output::Send { to, message: ServerMessage::Pong { id: Some(id) } }] if *to == v && id == "x")
    );
}

impl Harness {
    fn follower_view(&mut self) -> ParticipantId {
        self.join_as("viewer", Grant::View, Mode::View).0.to
    }
}

#[test]
fn restore_rebuilds_pending_and_cancels_it() {
    let mut h = Harness::new(SHELL);
    h.request("r1");
    let frames: Vec<(EventRecord, Frame)> = h
        .session
        .log
        .plan_replay(0, false)
        .frames
        .into_iter()
        .map(|f| match serde_json::from_slice(&f).unwrap() {
            ServerMessage::Event(r) => (r, f),
            _ => panic!(),
        })
        .collect();
    let mut restored = Session::new(config(SHELL));
    let mut history = EventLog::new(config(SHELL).history);
    for (record, frame) in &frames {
        restored.restore_state(record);
        history.push(record.seq, frame.clone());
    }
    restored.restore_history(history);
    assert_eq!(restored.last_seq(), 2);
    assert_eq!(restored.pending_ids().count(), 1);
    let out = restored.finish_restore(None, At::now());
    assert!(matches!(
        &events(&out)[..],
        [EventKind::PermissionCancelled { .. }]
    ));
    assert_eq!(restored.last_seq(), 3);
}

/// The events a restore of `history` ends with.
fn restored_ending(history: Vec<EventKind>) -> Vec<EventKind> {
    let mut session = Session::new(config(SHELL));
    let mut log = EventLog::new(config(SHELL).history);
    for (n, event) in history.into_iter().enumerate() {
        let record = EventRecord {
            seq: n as u64 + 1,
            ts: "t".into(),
            event,
        };
        let frame = Bytes::from(ServerMessage::Event(record.clone()).to_json());
        session.restore_state(&record);
        log.push(record.seq, frame);
    }
    session.restore_history(log);
    session
        .finish_restore(None, At::now())
        .into_iter()
        .filter_map(|output| match output {
            Output::Event { frame, .. } => match serde_json::from_slice(&frame) {
                Ok(ServerMessage::Event(record)) => Some(record.event),
                _ => None,
            },
            _ => None,
        })
        .collect()
}

#[test]
fn a_turn_left_open_by_a_killed_host_is_closed_on_restore() {
    let user = EventKind::UserMessage {
        text: "sleep 100".into(),
        by: "alice".into(),
        msg_id: None,
    };
    let ending = restored_ending(vec![EventKind::status(AgentState::Idle), user.clone()]);
    assert!(
        matches!(&ending[..], [EventKind::Notice { text, .. }, EventKind::TurnEnd { outcome: crate::protocol::TurnOutcome::Interrupted, .. }] if text.contains("middle of a turn")),
        "{ending:?}"
    );
    // A host that stopped cleanly recorded the agent's exit: nothing to close.
    let clean = restored_ending(vec![user, EventKind::exited("stopped", None)]);
    assert!(clean.is_empty(), "{clean:?}");
}

mod plain_answers;

mod ids;
mod listing;

mod bounds;

mod owners;
