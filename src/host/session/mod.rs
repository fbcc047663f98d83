//! The session: a pure, synchronous state machine (sans I/O).
//!
//! Inputs are joins, leaves, decoded client messages and agent events, each
//! with the time it happened. Outputs are what the edges must do, in order:
//! send a message to one connection, broadcast, journal-then-broadcast an
//! event, replay history, or pass a command to the agent. Nothing here
//! touches a socket, a file, a process or a clock.

mod dedupe;
mod log;
mod roster;

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use bytes::Bytes;
use serde_json::Value;

use crate::protocol::{
    AgentState, ClientMessage, Decision, ErrorCode, EventKind, EventRecord, Grant,
    MAX_USER_TEXT_BYTES, Mode, PROTOCOL_VERSION, ServerMessage, SessionDescription, SessionSummary,
    You, rfc3339,
};

use dedupe::RecentIds;
pub use log::{EventLog, Frame, ReplayPlan};
pub use roster::{Participant, ParticipantId, Refusal, RoleChange, Roster};

/// A moment, on both clocks: monotonic for deadlines, wall for timestamps.
#[derive(Debug, Clone, Copy)]
pub struct At {
    pub mono: Instant,
    pub wall: SystemTime,
}

impl At {
    pub fn now() -> Self {
        At {
            mono: Instant::now(),
            wall: SystemTime::now(),
        }
    }
}

/// What the session needs to know about its agent's input rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AgentTraits {
    /// Whether it takes user messages at all (a replay does not).
    pub takes_input: bool,
    /// Whether it queues messages sent during a turn (stream-json does);
    /// otherwise such a message is refused with `busy`.
    pub queues_input: bool,
}

/// A command for the agent, produced by an owner's action.
#[derive(Debug, Clone, PartialEq)]
pub enum AgentCommand {
    UserMessage {
        text: String,
    },
    Decision {
        request_id: String,
        decision: Decision,
        message: Option<String>,
        updated_input: Option<Value>,
        /// The chosen option's id (checked against the request's options).
        option: Option<String>,
    },
    Interrupt,
}

/// Static settings of one session.
#[derive(Debug, Clone)]
pub struct SessionConfig {
    pub description: SessionDescription,
    pub owner_grace: Duration,
    /// Events kept in memory for replay (at least 100,000 by default).
    pub retain: usize,
    /// Whether every event is also on disk, so older replays can be served.
    pub journal: bool,
    pub agent: AgentTraits,
}

impl SessionConfig {
    /// A small in-memory session for tests and fuzzing: session `main`,
    /// 10 s owner grace, no journal, `retain` events kept.
    #[doc(hidden)]
    pub fn sample(agent: AgentTraits, retain: usize) -> Self {
        SessionConfig {
            description: SessionDescription {
                id: "main".into(),
                epoch: "e1".into(),
                title: "test".into(),
                agent: "shell".into(),
                cwd: "/tmp".into(),
                started_at: "2026-01-01T00:00:00Z".into(),
            },
            owner_grace: Duration::from_secs(10),
            retain,
            journal: false,
            agent,
        }
    }
}

/// How far back a connection wants history.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Since {
    Seq(u64),
    Live,
}

/// A new connection, as the edge authenticated it.
#[derive(Debug, Clone)]
pub struct Join {
    pub identity: String,
    pub grants: Vec<Grant>,
    pub mode: Mode,
    pub client: Option<String>,
    pub since: Since,
}

/// One thing the edges must do, in order.
#[derive(Debug, Clone)]
pub enum Output {
    /// Send to one connection.
    Send {
        to: ParticipantId,
        message: ServerMessage,
    },
    /// The participant list changed: everyone gets a fresh `participants`
    /// message. The edge may coalesce a burst of changes (a join storm)
    /// into one message built from [`Session::participants`].
    ParticipantsChanged,
    /// A new event: append it to the journal, then broadcast the frame.
    Event {
        seq: u64,
        frame: Frame,
    },
    /// Greet a new connection: these messages (`ready`, `role`), then
    /// the `participants` message made of these entries, then the replay.
    /// The connection joins the broadcast only after this output.
    Welcome {
        to: ParticipantId,
        messages: Vec<ServerMessage>,
        participants: Vec<Arc<str>>,
        replay: ReplayPlan,
    },
    /// Replay history to one connection, then `caught_up`.
    Replay {
        to: ParticipantId,
        replay: ReplayPlan,
    },
    Agent(AgentCommand),
}

#[derive(Debug)]
pub struct Session {
    config: SessionConfig,
    title: String,
    roster: Roster,
    log: EventLog,
    /// Unresolved permission requests by id, with the event that raised them.
    pending: BTreeMap<String, EventRecord>,
    /// Request ids that were resolved or cancelled.
    settled: HashSet<String>,
    recent_ids: RecentIds,
    agent_state: AgentState,
    /// A user turn is under way (set by a user message, cleared by its end).
    turn_active: bool,
}

impl Session {
    pub fn new(config: SessionConfig) -> Self {
        Session {
            title: config.description.title.clone(),
            roster: Roster::new(config.owner_grace),
            log: EventLog::new(config.retain),
            pending: BTreeMap::new(),
            settled: HashSet::new(),
            recent_ids: RecentIds::default(),
            agent_state: AgentState::Starting,
            turn_active: false,
            config,
        }
    }

    /// Re-applies one event of a journal being loaded at start-up. Events
    /// must come in seq order starting at 1; only the newest `retain` stay
    /// in memory.
    pub fn restore(&mut self, record: &EventRecord, frame: Frame) {
        self.apply(record);
        self.log.push(record.seq, frame);
    }

    /// Marks the end of a restore: the previous agent is gone, so its turn
    /// is over and its permission requests are cancelled.
    pub fn finish_restore(&mut self, at: At) -> Vec<Output> {
        self.turn_active = false;
        let mut out = Vec::new();
        self.cancel_pending(
            "the host restarted; the agent was started anew",
            at,
            &mut out,
        );
        out
    }

    pub fn last_seq(&self) -> u64 {
        self.log.last_seq()
    }

    pub fn agent_state(&self) -> AgentState {
        self.agent_state
    }

    pub fn roster(&self) -> &Roster {
        &self.roster
    }

    pub fn pending_ids(&self) -> impl Iterator<Item = &str> {
        self.pending.keys().map(String::as_str)
    }

    pub fn summary(&self) -> SessionSummary {
        SessionSummary {
            id: self.config.description.id.clone(),
            title: self.title.clone(),
            agent: self.config.description.agent.clone(),
            state: self.agent_state,
            participants: self.roster.len(),
            last_seq: self.log.last_seq(),
            pending_permissions: self.pending.len(),
        }
    }

    pub fn join(&mut self, join: Join, at: At) -> (ParticipantId, Vec<Output>) {
        let participant = Participant {
            identity: join.identity,
            grants: join.grants,
            mode: join.mode,
            client: join.client,
            connected_at: rfc3339(at.wall),
        };
        let (id, role) = self.roster.join(participant, at.mono);
        let me = self.roster.get(id).expect("just joined");
        let ready = ServerMessage::Ready {
            protocol: PROTOCOL_VERSION,
            session: SessionDescription {
                title: self.title.clone(),
                ..self.config.description.clone()
            },
            you: You {
                participant: id.to_string(),
                identity: me.identity.clone(),
                grants: me.grants.clone(),
                mode: me.mode,
            },
            last_seq: self.log.last_seq(),
            state: self.agent_state,
            pending: self.pending_by_seq(),
        };
        let replay = match join.since {
            Since::Seq(since) => self.log.plan_replay(since, self.config.journal),
            Since::Live => self.log.plan_replay(self.log.last_seq(), false),
        };
        let welcome = Output::Welcome {
            to: id,
            messages: vec![
                ready,
                ServerMessage::Role {
                    role: role.role,
                    reason: Some(role.reason),
                },
            ],
            participants: self.roster.entries(),
            replay,
        };
        (id, vec![Output::ParticipantsChanged, welcome])
    }

    pub fn leave(&mut self, id: ParticipantId, at: At) -> Vec<Output> {
        if self.roster.get(id).is_none() {
            return Vec::new();
        }
        let mut out = Vec::new();
        if let Some(change) = self.roster.leave(id, at.mono) {
            out.push(Output::Send {
                to: change.who,
                message: ServerMessage::Role {
                    role: change.role,
                    reason: Some(change.reason),
                },
            });
        }
        out.push(self.participants_message());
        out
    }

    /// Handles one decoded message from participant `from`.
    pub fn handle(&mut self, from: ParticipantId, message: ClientMessage, at: At) -> Vec<Output> {
        let mut out = Vec::new();
        let Some(identity) = self.roster.get(from).map(|p| p.identity.clone()) else {
            return out;
        };
        let reply = |out: &mut Vec<Output>, message| out.push(Output::Send { to: from, message });
        let refusal = |id: Option<&str>, r: Refusal| ServerMessage::Error {
            id: id.map(str::to_owned),
            code: r.code,
            message: r.message,
            oldest: None,
        };
        let is_owner = self.roster.owner() == Some(from);
        let not_owner = |id: &str, action: &str| {
            ServerMessage::error(
                Some(id.to_owned()),
                ErrorCode::NotOwner,
                format!("read-only follower: only the owner may {action}"),
            )
        };
        match message {
            ClientMessage::UserMessage { id, text } => {
                if !is_owner {
                    reply(&mut out, not_owner(&id, "send messages"));
                } else if self.recent_ids.contains(&identity, &id) {
                    reply(&mut out, duplicate_ack(id));
                } else if let Err(refused) = self.check_can_take_message(&text) {
                    reply(&mut out, refusal(Some(&id), refused));
                } else {
                    self.recent_ids.remember(&identity, &id);
                    self.turn_active = true;
                    let by = identity;
                    self.emit(
                        EventKind::UserMessage {
                            text: text.clone(),
                            by,
                        },
                        at,
                        &mut out,
                    );
                    out.push(Output::Agent(AgentCommand::UserMessage { text }));
                    reply(&mut out, ServerMessage::ack(id));
                }
            }
            ClientMessage::PermissionDecision {
                id,
                request_id,
                decision,
                message,
                updated_input,
                option,
            } => {
                if !is_owner {
                    reply(&mut out, not_owner(&id, "answer permission requests"));
                } else if self.recent_ids.contains(&identity, &id) {
                    reply(&mut out, duplicate_ack(id));
                } else if !self.pending.contains_key(&request_id) {
                    let (code, what) = if self.settled.contains(&request_id) {
                        (
                            ErrorCode::AlreadyResolved,
                            "was already resolved or cancelled",
                        )
                    } else {
                        (
                            ErrorCode::UnknownRequest,
                            "is not a known permission request",
                        )
                    };
                    let text = format!("`{request_id}` {what}");
                    reply(&mut out, ServerMessage::error(Some(id), code, text));
                } else if let Some(why) = option
                    .as_deref()
                    .and_then(|o| self.pending[&request_id].event.option_mismatch(o, decision))
                {
                    reply(
                        &mut out,
                        ServerMessage::error(Some(id), ErrorCode::BadRequest, why),
                    );
                } else {
                    self.recent_ids.remember(&identity, &id);
                    let updated_input = updated_input.filter(|_| decision == Decision::Allow);
                    let event = EventKind::PermissionResolved {
                        request_id: request_id.clone(),
                        decision,
                        by: identity,
                        message: message.clone(),
                    };
                    self.emit(event, at, &mut out);
                    out.push(Output::Agent(AgentCommand::Decision {
                        request_id,
                        decision,
                        message,
                        updated_input,
                        option,
                    }));
                    reply(&mut out, ServerMessage::ack(id));
                }
            }
            ClientMessage::Interrupt { id } => {
                if !is_owner {
                    reply(&mut out, not_owner(&id, "interrupt"));
                } else if self.agent_state == AgentState::Exited {
                    let text = "the agent has exited";
                    reply(
                        &mut out,
                        ServerMessage::error(Some(id), ErrorCode::AgentExited, text),
                    );
                } else {
                    self.emit(EventKind::Interrupt { by: identity }, at, &mut out);
                    out.push(Output::Agent(AgentCommand::Interrupt));
                    reply(&mut out, ServerMessage::ack(id));
                }
            }
            ClientMessage::Claim { id } => {
                let result = self.roster.claim(from, at.mono);
                self.finish_role_op(from, id, result, &mut out);
            }
            ClientMessage::Release { id } => {
                let result = self.roster.release(from);
                self.finish_role_op(from, id, result, &mut out);
            }
            ClientMessage::Transfer { id, to } => {
                let result = self.roster.transfer(from, &to);
                self.finish_role_op(from, id, result, &mut out);
            }
            ClientMessage::Resume { since, .. } => {
                let replay = self.log.plan_replay(since, self.config.journal);
                out.push(Output::Replay { to: from, replay });
            }
            ClientMessage::Ping { id } => reply(&mut out, ServerMessage::Pong { id }),
        }
        out
    }

    /// Takes one event from the agent and records it.
    pub fn agent_event(&mut self, event: EventKind, at: At) -> Vec<Output> {
        let mut out = Vec::new();
        match &event {
            // A cancel that raced with a decision refers to nothing pending.
            EventKind::PermissionCancelled { request_id, .. }
                if !self.pending.contains_key(request_id) =>
            {
                return out;
            }
            EventKind::Status {
                state: AgentState::Exited,
                ..
            } => self.cancel_pending("the agent exited", at, &mut out),
            _ => {}
        }
        self.emit(event, at, &mut out);
        out
    }

    /// Adds an event the host itself raises (a notice, say).
    pub fn host_event(&mut self, event: EventKind, at: At) -> Vec<Output> {
        let mut out = Vec::new();
        self.emit(event, at, &mut out);
        out
    }

    fn check_can_take_message(&self, text: &str) -> Result<(), Refusal> {
        let refuse = |code, message: &str| {
            Err(Refusal {
                code,
                message: message.to_owned(),
            })
        };
        if text.len() > MAX_USER_TEXT_BYTES {
            let message = format!(
                "message is {} bytes; the limit is {MAX_USER_TEXT_BYTES}",
                text.len()
            );
            return refuse(ErrorCode::TooLarge, &message);
        }
        if self.agent_state == AgentState::Exited {
            return refuse(ErrorCode::AgentExited, "the agent has exited");
        }
        if !self.config.agent.takes_input {
            return refuse(ErrorCode::Busy, "this agent takes no input");
        }
        if self.turn_active && !self.config.agent.queues_input {
            return refuse(
                ErrorCode::Busy,
                "the agent is busy with a command; wait for it or interrupt it",
            );
        }
        Ok(())
    }

    fn finish_role_op(
        &mut self,
        from: ParticipantId,
        id: String,
        result: Result<Vec<RoleChange>, Refusal>,
        out: &mut Vec<Output>,
    ) {
        match result {
            Err(refused) => out.push(Output::Send {
                to: from,
                message: ServerMessage::Error {
                    id: Some(id),
                    code: refused.code,
                    message: refused.message,
                    oldest: None,
                },
            }),
            Ok(changes) => {
                for change in &changes {
                    out.push(Output::Send {
                        to: change.who,
                        message: ServerMessage::Role {
                            role: change.role,
                            reason: Some(change.reason.clone()),
                        },
                    });
                }
                if !changes.is_empty() {
                    out.push(self.participants_message());
                }
                out.push(Output::Send {
                    to: from,
                    message: ServerMessage::ack(id),
                });
            }
        }
    }

    fn participants_message(&self) -> Output {
        Output::ParticipantsChanged
    }

    /// The current `participants` message.
    pub fn participants(&self) -> ServerMessage {
        ServerMessage::Participants {
            participants: self.roster.infos(),
            owner_slot: None,
        }
    }

    /// The current `participants` message as the JSON of each entry.
    pub fn participant_entries(&mut self) -> Vec<Arc<str>> {
        self.roster.entries()
    }

    fn pending_by_seq(&self) -> Vec<EventRecord> {
        let mut pending: Vec<EventRecord> = self.pending.values().cloned().collect();
        pending.sort_by_key(|r| r.seq);
        pending
    }

    fn cancel_pending(&mut self, reason: &str, at: At, out: &mut Vec<Output>) {
        for record in self.pending_by_seq() {
            let EventKind::PermissionRequest { request_id, .. } = record.event else {
                continue;
            };
            let event = EventKind::PermissionCancelled {
                request_id,
                reason: Some(reason.to_owned()),
            };
            self.emit(event, at, out);
        }
    }

    /// Numbers, records and outputs a new event.
    fn emit(&mut self, event: EventKind, at: At, out: &mut Vec<Output>) {
        let record = EventRecord {
            seq: self.log.next_seq(),
            ts: rfc3339(at.wall),
            event,
        };
        self.apply(&record);
        let seq = record.seq;
        let frame = Bytes::from(ServerMessage::Event(record).to_json());
        self.log.push(seq, frame.clone());
        out.push(Output::Event { seq, frame });
    }

    /// The state an event implies, shared by live events and restores.
    fn apply(&mut self, record: &EventRecord) {
        match &record.event {
            EventKind::PermissionRequest { request_id, .. } => {
                self.pending.insert(request_id.clone(), record.clone());
            }
            EventKind::PermissionResolved { request_id, .. }
            | EventKind::PermissionCancelled { request_id, .. } => {
                self.pending.remove(request_id);
                self.settled.insert(request_id.clone());
            }
            EventKind::Status { state, .. } => {
                self.agent_state = *state;
                if *state == AgentState::Exited {
                    self.turn_active = false;
                }
            }
            EventKind::TurnEnd { .. } => self.turn_active = false,
            EventKind::UserMessage { .. } => self.turn_active = true,
            EventKind::Metadata {
                title: Some(title), ..
            } => self.title = title.clone(),
            _ => {}
        }
    }
}

fn duplicate_ack(id: String) -> ServerMessage {
    ServerMessage::Ack {
        id,
        duplicate: true,
    }
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod proptests;
