//! The session: a pure, synchronous state machine (sans I/O).
//!
//! Inputs are joins, leaves, decoded client messages and agent events, each
//! with the time it happened. Outputs are what the edges must do, in order:
//! send a message to one connection, broadcast, journal-then-broadcast an
//! event, replay history, or pass a command to the agent. Nothing here
//! touches a socket, a file, a process or a clock.

mod bounds;
mod commands;
mod dedupe;
mod log;
mod ownership;
mod pending;
mod refusal;
mod roster;
mod rules;
mod types;

use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;

use crate::protocol::{
    AgentInfo, AgentState, Claim, ClientMessage, EventKind, EventRecord, Interrupt, NoticeLevel,
    OwnerReason, OwnerSlot, PROTOCOL_VERSION, PendingSummary, Ping, Preview, Release, RemoveRule,
    Resume, ServerMessage, SessionDescription, SessionSummary, SetMode, Transfer, TurnOutcome, You,
    rfc3339,
};

use commands::{Sender, reply_to, role_message};
use dedupe::RecentIds;
pub use log::{EventLog, Frame, HistoryBudget, HistoryWindow, ReplayPlan, SeqRange};
use pending::PendingRequests;
pub use refusal::Refusal;
pub use roster::{Participant, ParticipantId, RoleChange, Roster};
use rules::SessionRules;
pub use types::{AgentCommand, AgentTraits, At, Join, Output, SessionConfig, Since, Welcome};

#[derive(Debug)]
pub struct Session {
    config: SessionConfig,
    title: String,
    roster: Roster,
    log: EventLog,
    pending: PendingRequests,
    rules: SessionRules,
    recent_ids: RecentIds,
    /// Agent requests are being refused (too many open): noticed once.
    refusing: bool,
    /// Messages taken whose turn has not ended (the one running and those
    /// an agent that queues input holds); bounded by [`MAX_QUEUED`].
    outstanding: usize,
    agent_state: AgentState,
    /// A user turn is under way (set by a user message, cleared by its end).
    turn_active: bool,
    /// Why the agent exited, from its last `status` event.
    agent_detail: Option<String>,
    /// When the newest event happened (RFC 3339).
    last_activity: String,
    /// Bumped whenever what a lobby shows first changes (state, open
    /// requests, title, who is there): such changes are published at
    /// once, the rest (the newest seq, the last activity) at a slower pace.
    lobby_generation: u64,
    /// Permission requests raised so far (the lobby sends a new one with
    /// the least delay of all).
    requests_raised: u64,
    /// What the agent last said about its modes, commands, plan, usage.
    agent_info: AgentInfo,
    /// The session has had an owner (see [`Session::note_owner`]).
    owner_seen: bool,
}

impl Session {
    pub fn new(config: SessionConfig) -> Self {
        Session {
            title: config.description.title.clone(),
            roster: Roster::new(config.owner_grace),
            log: EventLog::new(config.history),
            pending: PendingRequests::default(),
            rules: SessionRules::default(),
            recent_ids: RecentIds::default(),
            refusing: false,
            outstanding: 0,
            agent_state: AgentState::Starting,
            turn_active: false,
            agent_detail: None,
            last_activity: String::new(),
            lobby_generation: 0,
            requests_raised: 0,
            agent_info: AgentInfo::default(),
            owner_seen: false,
            config,
        }
    }

    /// Re-applies the state one event of a journal being loaded at
    /// start-up implies (pending requests, agent state, turn, title).
    /// Events come in seq order; those that change no state may be left
    /// out.
    pub fn restore_state(&mut self, record: &EventRecord) {
        self.apply(record);
    }

    /// Takes the history a journal left: its numbering and the newest
    /// frames, as [`EventLog`] keeps them (built with this session's
    /// budget).
    pub fn restore_history(&mut self, history: EventLog) {
        debug_assert_eq!(history.budget(), self.config.history);
        debug_assert_eq!(self.log.last_seq(), 0, "restored before any event");
        self.log = history;
    }

    /// Marks the end of a restore: the previous agent is gone, so its turn
    /// is over and its permission requests are cancelled. The identity
    /// that held the owner slot before the restart (`owner`, from the
    /// journal) gets it held for the owner grace, as after a dropped
    /// connection: followers that reconnect first are not promoted.
    pub fn finish_restore(&mut self, owner: Option<String>, at: At) -> Vec<Output> {
        // The agent starts anew: nothing waits in its queue.
        self.outstanding = 0;
        let mut out = Vec::new();
        self.restore_owner(owner, at, &mut out);
        if !self.rules.all().is_empty() {
            // The new agent runs what the restored rules allow.
            out.push(Output::Agent(AgentCommand::Rules(
                self.rules.all().to_vec(),
            )));
        }
        self.cancel_pending(
            "the host restarted; the agent was started anew",
            at,
            &mut out,
        );
        // A host that stopped cleanly recorded its agent's exit, which
        // ended the turn; one that was killed left it open: close it, so
        // clients (and `--prompt`) do not wait for an end that never comes.
        if self.turn_active {
            let notice = EventKind::notice(
                NoticeLevel::Warn,
                "the host stopped in the middle of a turn; that turn is over",
            );
            self.emit(notice, at, &mut out);
            self.emit(EventKind::turn_end(TurnOutcome::Interrupted), at, &mut out);
        }
        out
    }

    pub fn last_seq(&self) -> u64 {
        self.log.last_seq()
    }

    /// What the in-memory history holds.
    pub fn history_window(&self) -> HistoryWindow {
        self.log.window()
    }

    /// Whether a turn is open (a message taken, its `turn_end` not yet).
    pub fn turn_active(&self) -> bool {
        self.turn_active
    }

    pub fn agent_state(&self) -> AgentState {
        self.agent_state
    }

    pub fn roster(&self) -> &Roster {
        &self.roster
    }

    /// The rules in force.
    pub fn rules(&self) -> &[crate::protocol::Rule] {
        self.rules.all()
    }

    pub fn pending_ids(&self) -> impl Iterator<Item = &str> {
        self.pending.ids()
    }

    /// The open permission requests, oldest first.
    pub fn open_requests(&self) -> Vec<&EventRecord> {
        self.pending.refs_by_seq()
    }

    pub fn id(&self) -> &str {
        &self.config.description.id
    }

    pub fn title(&self) -> &str {
        &self.title
    }

    /// The session as `GET /v1/sessions` and the lobby show it.
    pub fn summary(&self, now: Instant) -> SessionSummary {
        let description = &self.config.description;
        // Borrowed: a request's input and preview (a whole diff) are not
        // copied to read four fields of it.
        let pending_requests: Vec<PendingSummary> = self
            .pending
            .refs_by_seq()
            .into_iter()
            .take(bounds::MAX_LISTED_REQUESTS)
            .filter_map(|record| match &record.event {
                EventKind::PermissionRequest {
                    request_id,
                    tool,
                    title,
                    preview,
                    ..
                } => Some(PendingSummary {
                    request_id: request_id.clone(),
                    tool: bounds::cut(tool, bounds::MAX_SUMMARY_CHARS),
                    title: title
                        .as_deref()
                        .map(|t| bounds::cut(t, bounds::MAX_SUMMARY_CHARS)),
                    subject: preview
                        .as_deref()
                        .and_then(subject_of)
                        .map(|s| bounds::cut(&s, bounds::MAX_SUMMARY_CHARS)),
                    requested_at: record.ts.clone(),
                }),
                _ => None,
            })
            .collect();
        SessionSummary {
            id: description.id.clone(),
            title: self.title.clone(),
            order: None,
            agent: description.agent.clone(),
            preset: None,
            cwd: description.cwd.clone(),
            state: self.agent_state,
            detail: self.agent_detail.clone(),
            owner: self.roster.slot_holder(now).map(str::to_owned),
            participants: self.roster.len(),
            pending: self.pending.len(),
            pending_permissions: self.pending.len(),
            pending_requests,
            last_activity: self.last_activity.clone(),
            epoch: description.epoch.clone(),
            last_seq: self.log.last_seq(),
        }
    }

    /// Changes whenever the lobby should learn of this session at once
    /// (see [`Session::summary`]); joins and leaves are reported by
    /// [`Output::ParticipantsChanged`].
    pub fn lobby_generation(&self) -> u64 {
        self.lobby_generation
    }

    /// How many permission requests were raised (see `lobby_feed`).
    pub fn requests_raised(&self) -> u64 {
        self.requests_raised
    }

    /// Admits a connection: its greeting, and what the others must learn.
    pub fn join(&mut self, join: Join, at: At) -> (Welcome, Vec<Output>) {
        let participant = Participant {
            identity: join.identity,
            grants: join.grants,
            mode: join.mode,
            client: join.client,
            connected_at: rfc3339(at.wall),
            claims: join.claims,
        };
        let (before, held) = (self.owner_connection(), self.roster.reserved_for(at.mono));
        let reason = match held {
            Some(_) => OwnerReason::Reconnected,
            None => OwnerReason::Joined,
        };
        let (id, role) = self.roster.join(participant, at.mono);
        let mut out = Vec::new();
        self.note_owner(before, reason, at, &mut out);
        out.push(Output::ParticipantsChanged);
        let me = self.roster.get(id).expect("just joined");
        let ready = ServerMessage::Ready {
            protocol: PROTOCOL_VERSION,
            session: SessionDescription {
                title: self.title.clone(),
                rules: self.rules.all().to_vec(),
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
            pending: self.pending.by_seq(),
            agent: (!self.agent_info.is_empty()).then(|| Box::new(self.agent_info.clone())),
        };
        let replay = match join.since {
            Since::Seq(since) => self.log.plan_replay(since, self.config.journal),
            Since::Live => self.log.plan_replay(self.log.last_seq(), false),
        };
        let welcome = Welcome {
            to: id,
            messages: vec![
                ready,
                ServerMessage::Role {
                    role: role.role,
                    reason: Some(role.reason),
                },
            ],
            participants: self.roster.entries(),
            owner_slot: self.roster.owner_slot(at.mono),
            replay,
        };
        (welcome, out)
    }

    pub fn leave(&mut self, id: ParticipantId, at: At) -> Vec<Output> {
        if self.roster.get(id).is_none() {
            return Vec::new();
        }
        let mut out = Vec::new();
        let before = self.owner_connection();
        let reason = match self.roster.leave(id, at.mono) {
            Some(change) => {
                out.push(role_message(&change));
                OwnerReason::Inherited
            }
            None => OwnerReason::Left,
        };
        self.note_owner(before, reason, at, &mut out);
        out.push(Output::ParticipantsChanged);
        out
    }

    /// Handles one decoded message from participant `from`.
    pub fn handle(&mut self, from: ParticipantId, message: ClientMessage, at: At) -> Vec<Output> {
        let Some(identity) = self.roster.get(from).map(|p| p.identity.clone()) else {
            return Vec::new();
        };
        if message
            .id()
            .is_some_and(|id| id.len() > crate::protocol::MAX_MESSAGE_ID_BYTES)
        {
            let refused = Refusal::new(
                crate::protocol::ErrorCode::BadRequest,
                format!(
                    "message ids are at most {} bytes",
                    crate::protocol::MAX_MESSAGE_ID_BYTES
                ),
            );
            // Not echoed: the id is what is wrong.
            return vec![Output::Send {
                to: from,
                message: refused.into_error(None),
            }];
        }
        let sender = Sender { id: from, identity };
        match message {
            ClientMessage::UserMessage(message) => self.on_user_message(sender, message, at),
            ClientMessage::PermissionDecision(answer) => self.on_decision(sender, answer, at),
            ClientMessage::Interrupt(Interrupt { id }) => self.on_interrupt(sender, id, at),
            ClientMessage::Claim(Claim { id }) => self.on_claim(from, id, at),
            ClientMessage::Release(Release { id }) => self.on_release(from, id, at),
            ClientMessage::Transfer(Transfer { id, to }) => self.on_transfer(from, id, &to, at),
            ClientMessage::RemoveRule(RemoveRule { id, rule }) => {
                self.on_remove_rule(sender, id, &rule, at)
            }
            ClientMessage::SetMode(SetMode { id, mode }) => self.on_set_mode(sender, id, mode),
            ClientMessage::Resume(Resume { since, .. }) => self.on_resume(from, since),
            ClientMessage::Ping(Ping { id }) => reply_to(from, ServerMessage::Pong { id }),
        }
    }

    /// Takes one event from the agent and records it.
    pub fn agent_event(&mut self, mut event: EventKind, at: At) -> Vec<Output> {
        let mut out = Vec::new();
        if let EventKind::PermissionRequest {
            request_id, tool, ..
        } = &event
        {
            let oversized =
                request_id.len() > bounds::MAX_REQUEST_ID || tool.len() > bounds::MAX_REQUEST_ID;
            if oversized || self.pending.len() >= bounds::MAX_OPEN_REQUESTS {
                return self.refuse_request(&event, at);
            }
            self.refusing = false;
            bounds::bound_request(&mut event);
        }
        match &event {
            // A cancel that raced with a decision refers to nothing pending.
            EventKind::PermissionCancelled { request_id, .. }
                if !self.pending.is_open(request_id) =>
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

    /// A request past [`bounds::MAX_OPEN_REQUESTS`]: denied to the agent
    /// at once, never shown; a notice says so once per burst.
    fn refuse_request(&mut self, event: &EventKind, at: At) -> Vec<Output> {
        let EventKind::PermissionRequest { request_id, .. } = event else {
            return Vec::new();
        };
        let mut out = Vec::new();
        if !self.refusing {
            self.refusing = true;
            self.emit(bounds::refusal_notice(), at, &mut out);
        }
        out.push(Output::Agent(AgentCommand::Decision {
            request_id: request_id.clone(),
            decision: crate::protocol::Decision::Deny,
            message: Some("too many permission requests are open: answer those first".into()),
            updated_input: None,
            option: event
                .once_option(crate::protocol::Decision::Deny)
                .ok()
                .flatten()
                .map(str::to_owned),
        }));
        out
    }

    /// Adds an event the host itself raises (a notice, say).
    pub fn host_event(&mut self, event: EventKind, at: At) -> Vec<Output> {
        let mut out = Vec::new();
        self.emit(event, at, &mut out);
        out
    }

    /// Frees the owner slot once its reservation has run out, so everyone
    /// learns it is free (call at [`Session::owner_slot_deadline`]).
    pub fn expire_owner_slot(&mut self, at: At) -> Vec<Output> {
        if self.roster.expire_reservation(at.mono) {
            vec![Output::ParticipantsChanged]
        } else {
            Vec::new()
        }
    }

    /// When the owner slot held for a disconnected owner runs out.
    pub fn owner_slot_deadline(&self) -> Option<Instant> {
        self.roster.reservation_deadline()
    }

    /// The slot held for a disconnected owner, as `participants` shows it.
    pub fn owner_slot(&self, now: Instant) -> Option<OwnerSlot> {
        self.roster.owner_slot(now)
    }

    /// Whose the owner slot is (the owner, or the identity it is held
    /// for): what the journal records so a restart keeps it.
    pub fn slot_holder(&self, now: Instant) -> Option<&str> {
        self.roster.slot_holder(now)
    }

    /// The current `participants` message.
    pub fn participants(&self, now: Instant) -> ServerMessage {
        ServerMessage::Participants {
            participants: self.roster.infos(),
            owner_slot: self.roster.owner_slot(now),
        }
    }

    /// The entries of the current `participants` message as JSON each.
    pub fn participant_entries(&mut self) -> Vec<Arc<str>> {
        self.roster.entries()
    }

    fn cancel_pending(&mut self, reason: &str, at: At, out: &mut Vec<Output>) {
        for record in self.pending.by_seq() {
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
        self.last_activity.clone_from(&record.ts);
        let seq = record.seq;
        let frame = Bytes::from(ServerMessage::Event(record).to_json());
        self.log.push(seq, frame.clone());
        out.push(Output::Event { seq, frame });
    }

    /// The state an event implies, shared by live events and restores.
    /// A restart decodes only the kinds this may change: a kind that
    /// starts to matter here must leave `journal::line::STATELESS_KINDS`.
    fn apply(&mut self, record: &EventRecord) {
        self.pending.apply(record);
        self.rules.apply(&record.event);
        self.agent_info.apply(&record.event);
        match &record.event {
            EventKind::PermissionRequest { .. } => {
                self.lobby_generation += 1;
                self.requests_raised += 1;
            }
            EventKind::PermissionResolved { .. } | EventKind::PermissionCancelled { .. } => {
                self.lobby_generation += 1;
            }
            EventKind::Status { state, detail, .. } => {
                self.lobby_generation += 1;
                self.agent_detail = if *state == AgentState::Exited {
                    detail.clone()
                } else {
                    None
                };
                self.agent_state = *state;
                if *state == AgentState::Exited {
                    self.turn_active = false;
                    self.outstanding = 0;
                }
            }
            EventKind::TurnEnd { .. } => {
                self.turn_active = false;
                self.outstanding = self.outstanding.saturating_sub(1);
            }
            // Agents drop what they queued when interrupted.
            EventKind::Interrupt { .. } => self.outstanding = self.outstanding.min(1),
            EventKind::OwnerChanged { .. } => self.owner_seen = true,
            EventKind::UserMessage { by, msg_id, .. } => {
                self.turn_active = true;
                self.outstanding += 1;
                // Rebuilds the idempotency window when a journal is read.
                if let Some(id) = msg_id {
                    self.recent_ids.remember(by, id);
                }
            }
            EventKind::Metadata {
                title: Some(title), ..
            } => {
                self.lobby_generation += 1;
                // An agent's title reaches the lobby and every session list.
                self.title = crate::host::server::query::displayable_up_to(title, 120);
            }
            _ => {}
        }
    }
}

/// Messages an agent that queues input may hold behind the running one;
/// more are refused as `busy` (the queue once grew without limit behind a
/// stuck turn).
pub const MAX_QUEUED: usize = 16;

/// What a request is about, in a line: its command, or the file it edits.
fn subject_of(preview: &Preview) -> Option<String> {
    let text = match preview {
        Preview::Command { command, .. } => command.lines().next().unwrap_or_default(),
        Preview::Diff { path, .. } => path,
        Preview::Unavailable { .. } | Preview::Unknown => return None,
    };
    Some(text.chars().take(200).collect())
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod proptests;
