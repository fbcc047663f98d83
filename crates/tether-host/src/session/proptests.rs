//! Property tests: random sequences of joins, leaves, role changes,
//! decisions, messages and agent events keep the session's invariants.

use std::collections::HashMap;
use std::time::{Duration, Instant, SystemTime};

use proptest::prelude::*;

use super::*;
use crate::protocol::{Decision, ErrorCode, Grant, Mode, Role};

#[derive(Debug, Clone)]
enum Op {
    Join {
        who: u8,
        control: bool,
        view_mode: bool,
    },
    Leave {
        slot: u8,
    },
    Claim {
        slot: u8,
    },
    Release {
        slot: u8,
    },
    Transfer {
        slot: u8,
        to: u8,
    },
    Message {
        slot: u8,
        id: u8,
    },
    Decide {
        slot: u8,
        request: u8,
        allow: bool,
        id: u8,
    },
    Interrupt {
        slot: u8,
    },
    AgentAsks {
        request: u8,
    },
    AgentWithdraws {
        request: u8,
    },
    AgentEndsTurn,
    AgentExits,
    Wait {
        secs: u8,
    },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => (0..3u8, any::<bool>(), any::<bool>()).prop_map(|(who, control, view_mode)| Op::Join { who, control, view_mode }),
        2 => (0..8u8).prop_map(|slot| Op::Leave { slot }),
        2 => (0..8u8).prop_map(|slot| Op::Claim { slot }),
        1 => (0..8u8).prop_map(|slot| Op::Release { slot }),
        2 => (0..8u8, 0..8u8).prop_map(|(slot, to)| Op::Transfer { slot, to }),
        3 => (0..8u8, 0..6u8).prop_map(|(slot, id)| Op::Message { slot, id }),
        3 => (0..8u8, 0..4u8, any::<bool>(), 0..6u8).prop_map(|(slot, request, allow, id)| Op::Decide { slot, request, allow, id }),
        1 => (0..8u8).prop_map(|slot| Op::Interrupt { slot }),
        3 => (0..4u8).prop_map(|request| Op::AgentAsks { request }),
        1 => (0..4u8).prop_map(|request| Op::AgentWithdraws { request }),
        1 => Just(Op::AgentEndsTurn),
        1 => Just(Op::AgentExits),
        1 => (0..15u8).prop_map(|secs| Op::Wait { secs }),
    ]
}

struct World {
    session: Session,
    /// Connected participants, in join order.
    slots: Vec<ParticipantId>,
    clock: Instant,
    last_seq: u64,
    settled: HashMap<String, usize>,
    asked: Vec<String>,
}

impl World {
    fn at(&self) -> At {
        At {
            mono: self.clock,
            wall: SystemTime::UNIX_EPOCH,
        }
    }

    fn pick(&self, slot: u8) -> Option<ParticipantId> {
        (!self.slots.is_empty()).then(|| self.slots[slot as usize % self.slots.len()])
    }

    /// Checks what the outputs say: contiguous seqs, settle-once.
    fn observe(&mut self, out: &[Output]) -> Result<(), TestCaseError> {
        for o in out {
            if let Output::Event { seq, frame, .. } = o {
                prop_assert_eq!(*seq, self.last_seq + 1, "seqs are contiguous");
                self.last_seq = *seq;
                let ServerMessage::Event(record) = serde_json::from_slice(frame).unwrap() else {
                    panic!("an event frame");
                };
                if let EventKind::PermissionResolved { request_id, .. }
                | EventKind::PermissionCancelled { request_id, .. } = record.event
                {
                    let n = self.settled.entry(request_id).or_default();
                    *n += 1;
                    prop_assert!(*n <= 1, "a request is settled at most once");
                }
            }
        }
        Ok(())
    }

    fn check_roster(&self) -> Result<(), TestCaseError> {
        let roster = self.session.roster();
        let owners: Vec<_> = roster
            .ids()
            .filter(|id| roster.role_of(*id) == Role::Owner)
            .collect();
        prop_assert!(owners.len() <= 1, "at most one owner");
        let held = self.session.owner_slot(self.clock);
        prop_assert!(
            held.is_none() || roster.owner().is_none(),
            "a slot is held only while nobody owns"
        );
        if let Some(owner) = roster.owner() {
            let who = roster.get(owner);
            prop_assert!(who.is_some(), "the owner is connected");
            prop_assert!(who.unwrap().eligible(), "only eligible connections own");
        }
        Ok(())
    }
}

/// An owner-only action from a non-owner: one error, nothing else.
fn refused_without_effect(
    out: &[Output],
    before: u64,
    session: &Session,
) -> Result<(), TestCaseError> {
    prop_assert_eq!(out.len(), 1, "a refusal is one message: {:?}", out);
    let refused = matches!(
        &out[0],
        Output::Send {
            message: ServerMessage::Error {
                code: ErrorCode::NotOwner,
                ..
            },
            ..
        }
    );
    prop_assert!(refused, "refused with not_owner: {:?}", out);
    prop_assert_eq!(session.last_seq(), before);
    Ok(())
}

fn run(ops: Vec<Op>) -> Result<(), TestCaseError> {
    let mut world = World {
        session: Session::new(SessionConfig::sample(
            AgentTraits {
                takes_input: true,
                queues_input: false,
                takes_updated_input: true,
            },
            64,
        )),
        slots: Vec::new(),
        clock: Instant::now(),
        last_seq: 0,
        settled: HashMap::new(),
        asked: Vec::new(),
    };
    for op in ops {
        let owner = world.session.roster().owner();
        let Some(out) = world.step(op)? else {
            continue;
        };
        world.observe(&out)?;
        world.check_roster()?;
        // No agent command ever comes from anyone but the owner at the time.
        if out.iter().any(|o| matches!(o, Output::Agent(_))) {
            prop_assert!(owner.is_some(), "agent commands need an owner");
        }
    }
    Ok(())
}

impl World {
    /// Carries out one op; `None` when it made no sense in this state.
    fn step(&mut self, op: Op) -> Result<Option<Vec<Output>>, TestCaseError> {
        let at = self.at();
        let out = match op {
            Op::Join {
                who,
                control,
                view_mode,
            } => self.join(who, control, view_mode),
            Op::Leave { slot } => match self.pick(slot) {
                Some(id) => self.leave(id)?,
                None => return Ok(None),
            },
            Op::Claim { slot }
            | Op::Release { slot }
            | Op::Transfer { slot, .. }
            | Op::Message { slot, .. }
            | Op::Decide { slot, .. }
            | Op::Interrupt { slot } => match self.pick(slot) {
                Some(from) => self.client_op(from, op)?,
                None => return Ok(None),
            },
            Op::AgentAsks { request } => {
                let request_id = format!("r{request}");
                if self.asked.contains(&request_id) {
                    return Ok(None); // an agent never reuses a request id
                }
                self.asked.push(request_id.clone());
                self.session.agent_event(
                    EventKind::PermissionRequest {
                        request_id,
                        tool: "shell".into(),
                        input: serde_json::json!({}),
                        tool_use_id: None,
                        title: None,
                        description: None,
                        preview: None,
                        options: Vec::new(),
                    },
                    at,
                )
            }
            Op::AgentWithdraws { request } => self.session.agent_event(
                EventKind::PermissionCancelled {
                    request_id: format!("r{request}"),
                    reason: None,
                },
                at,
            ),
            Op::AgentEndsTurn => self.session.agent_event(
                EventKind::turn_end(crate::protocol::TurnOutcome::Success),
                at,
            ),
            Op::AgentExits => self
                .session
                .agent_event(EventKind::status(AgentState::Exited), at),
            Op::Wait { secs } => self.wait(secs)?,
        };
        Ok(Some(out))
    }

    fn join(&mut self, who: u8, control: bool, view_mode: bool) -> Vec<Output> {
        let join = Join {
            identity: ["ann", "bob", "cat"][who as usize].into(),
            grants: if control {
                vec![Grant::View, Grant::Control]
            } else {
                vec![Grant::View]
            },
            mode: if view_mode { Mode::View } else { Mode::Control },
            client: None,
            since: Since::Live,
            claims: true,
        };
        let (welcome, out) = self.session.join(join, self.at());
        self.slots.push(welcome.to);
        out
    }

    /// A leave promotes nobody but a connection of the leaver's identity.
    fn leave(&mut self, id: ParticipantId) -> Result<Vec<Output>, TestCaseError> {
        let identity = self.session.roster().get(id).unwrap().identity.clone();
        self.slots.retain(|s| *s != id);
        let out = self.session.leave(id, self.at());
        for o in &out {
            if let Output::Send {
                to,
                message:
                    ServerMessage::Role {
                        role: Role::Owner, ..
                    },
            } = o
            {
                let heir = &self.session.roster().get(*to).unwrap().identity;
                prop_assert_eq!(heir, &identity, "followers are never promoted");
            }
        }
        Ok(out)
    }

    /// Time passes; a reservation that ran out is freed, and said so.
    fn wait(&mut self, secs: u8) -> Result<Vec<Output>, TestCaseError> {
        self.clock += Duration::from_secs(secs.into());
        let now = self.clock;
        let due = self.session.owner_slot_deadline().is_some_and(|d| d <= now);
        let out = self.session.expire_owner_slot(self.at());
        prop_assert_eq!(due, !out.is_empty(), "an expiry announces itself");
        prop_assert!(self.session.owner_slot_deadline().is_none_or(|d| d > now));
        Ok(out)
    }

    fn client_op(&mut self, from: ParticipantId, op: Op) -> Result<Vec<Output>, TestCaseError> {
        let message = match op {
            Op::Claim { .. } => ClientMessage::Claim(crate::protocol::Claim { id: "c".into() }),
            Op::Release { .. } => {
                ClientMessage::Release(crate::protocol::Release { id: "r".into() })
            }
            Op::Transfer { to, .. } => ClientMessage::Transfer(crate::protocol::Transfer {
                id: "t".into(),
                to: self.pick(to).map(|p| p.to_string()).unwrap_or_default(),
            }),
            Op::Message { id, .. } => ClientMessage::UserMessage(crate::protocol::UserMessage {
                id: format!("m{id}"),
                text: "ls".into(),
            }),
            Op::Decide {
                request, allow, id, ..
            } => ClientMessage::PermissionDecision(crate::protocol::PermissionDecision {
                id: format!("d{id}"),
                request_id: format!("r{request}"),
                decision: if allow {
                    Decision::Allow
                } else {
                    Decision::Deny
                },
                message: None,
                updated_input: None,
                option: None,
            }),
            _ => ClientMessage::Interrupt(crate::protocol::Interrupt { id: "i".into() }),
        };
        let owner_only = !matches!(message, ClientMessage::Claim(crate::protocol::Claim { .. }));
        let before = self.session.last_seq();
        let owner = self.session.roster().owner();
        let out = self.session.handle(from, message, self.at());
        if owner_only && owner != Some(from) {
            refused_without_effect(&out, before, &self.session)?;
        }
        Ok(out)
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    #[test]
    fn invariants_hold_for_any_sequence(ops in proptest::collection::vec(op(), 1..80)) {
        run(ops)?;
    }
}
