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
mod state;
mod types;

use std::time::Instant;

use bytes::Bytes;

use crate::protocol::{
    AgentState, Claim, ClientMessage, EventKind, EventRecord, Interrupt, NoticeLevel, OwnerReason,
    OwnerSlot, PROTOCOL_VERSION, PendingSummary, Ping, Preview, Release, RemoveRule, Resume,
    ServerMessage, SessionDescription, SessionSummary, SetMode, Transfer, TurnOutcome, You,
    rfc3339,
};

use commands::{Sender, reply_to, role_message};
pub use log::{
    EventLog, Frame, HistoryBudget, HistoryWindow, PagePlan, ReplayPlan, SeqRange, page_limit,
};
pub use refusal::Refusal;
pub use roster::{LISTED_MAX, Listing, Participant, ParticipantId, RoleChange, Roster};
pub use state::SessionState;
pub use types::{AgentCommand, AgentTraits, At, Join, Output, SessionConfig, Since, Welcome};

#[derive(Debug)]
pub struct Session {
    config: SessionConfig,
    roster: Roster,
    log: EventLog,
    /// What the history implies (requests, rules, agent state, turn...).
    state: SessionState,
    /// Agent requests are being refused (too many open): noticed once.
    refusing: bool,
    /// When the newest event happened (RFC 3339).
    last_activity: String,
}

impl Session {
    pub fn new(config: SessionConfig) -> Self {
        Session {
            roster: Roster::new(config.owner_grace),
            log: EventLog::new(config.history),
            state: SessionState::default(),
            refusing: false,
            last_activity: String::new(),
            config,
        }
    }

    /// Re-applies the state one event of a journal being loaded at
    /// start-up implies (pending requests, agent state, turn, title).
    /// Events come in seq order; those that change no state may be left
    /// out.
    pub fn restore_state(&mut self, record: &EventRecord) {
        self.state.apply(record);
    }

    /// Takes the state a journal's history implies, as
    /// [`SessionState::apply`] left it over the events read.
    pub fn restore_from(&mut self, state: SessionState) {
        debug_assert_eq!(self.log.last_seq(), 0, "restored before any event");
        self.state = state;
    }

    /// What the history implies so far.
    pub fn state(&self) -> &SessionState {
        &self.state
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
        self.state.outstanding = 0;
        let mut out = Vec::new();
        self.restore_owner(owner, at, &mut out);
        if !self.state.rules.all().is_empty() {
            // The new agent runs what the restored rules allow.
            out.push(Output::Agent(AgentCommand::Rules(
                self.state.rules.all().to_vec(),
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
        if self.state.turn_active {
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
        self.state.turn_active
    }

    pub fn agent_state(&self) -> AgentState {
        self.state.agent_state
    }

    pub fn roster(&self) -> &Roster {
        &self.roster
    }

    /// The rules in force.
    pub fn rules(&self) -> &[crate::protocol::Rule] {
        self.state.rules.all()
    }

    pub fn pending_ids(&self) -> impl Iterator<Item = &str> {
        self.state.pending.ids()
    }

    /// The open permission requests, oldest first.
    pub fn open_requests(&self) -> Vec<&EventRecord> {
        self.state.pending.refs_by_seq()
    }

    pub fn id(&self) -> &str {
        &self.config.description.id
    }

    /// This instance of the session (a successor under the same id has
    /// another).
    pub fn epoch(&self) -> &str {
        &self.config.description.epoch
    }

    /// The events after `since` that are still in memory (those before
    /// the oldest retained are left out, never read from the journal).
    pub fn memory_replay(&self, since: u64) -> ReplayPlan {
        let oldest = self.log.first_retained();
        self.log
            .plan_replay(since.max(oldest.saturating_sub(1)), false)
    }

    pub fn title(&self) -> &str {
        self.state
            .title
            .as_deref()
            .unwrap_or(&self.config.description.title)
    }

    /// The session as `GET /v1/sessions` and the lobby show it.
    pub fn summary(&self, now: Instant) -> SessionSummary {
        let description = &self.config.description;
        // Borrowed: a request's input and preview (a whole diff) are not
        // copied to read four fields of it.
        let pending_requests: Vec<PendingSummary> = self
            .state
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
            title: self.title().to_owned(),
            order: None,
            agent: description.agent.clone(),
            preset: None,
            cwd: description.cwd.clone(),
            state: self.state.agent_state,
            detail: self.state.agent_detail.clone(),
            owner: self.roster.slot_holder(now).map(str::to_owned),
            participants: self.roster.len(),
            pending: self.state.pending.len(),
            pending_permissions: self.state.pending.len(),
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
        self.state.lobby_generation
    }

    /// How many permission requests were raised (see `lobby_feed`).
    pub fn requests_raised(&self) -> u64 {
        self.state.requests_raised
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
                title: self.title().to_owned(),
                rules: self.state.rules.all().to_vec(),
                ..self.config.description.clone()
            },
            you: You {
                participant: id.to_string(),
                identity: me.identity.clone(),
                grants: me.grants.clone(),
                mode: me.mode,
            },
            last_seq: self.log.last_seq(),
            state: self.state.agent_state,
            pending: self.state.pending.by_seq(),
            agent: (!self.state.agent_info.is_empty())
                .then(|| Box::new(self.state.agent_info.clone())),
            features: vec![crate::protocol::FEATURE_HISTORY.to_owned()],
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
            ClientMessage::HistoryRequest(request) => self.on_history(from, request),
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
            if oversized || self.state.pending.len() >= bounds::MAX_OPEN_REQUESTS {
                return self.refuse_request(&event, at);
            }
            self.refusing = false;
            bounds::bound_request(&mut event);
        }
        match &event {
            // A cancel that raced with a decision refers to nothing pending.
            EventKind::PermissionCancelled { request_id, .. }
                if !self.state.pending.is_open(request_id) =>
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
            unlisted: 0,
            participants: self.roster.infos(),
            owner_slot: self.roster.owner_slot(now),
        }
    }

    /// The entries of the current `participants` message as JSON each.
    pub fn participant_entries(&mut self) -> Listing {
        self.roster.entries()
    }

    fn cancel_pending(&mut self, reason: &str, at: At, out: &mut Vec<Output>) {
        for record in self.state.pending.by_seq() {
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
        self.state.apply(&record);
        self.last_activity.clone_from(&record.ts);
        let seq = record.seq;
        let output = matches!(record.event, EventKind::Output { .. });
        let frame = Bytes::from(ServerMessage::Event(record).to_json());
        self.log.push(seq, frame.clone());
        out.push(Output::Event { seq, frame, output });
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
