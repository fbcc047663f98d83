//! What a session's history implies, apart from the history itself: the
//! open permission requests, the rules in force, the agent's state, the
//! open turn, the idempotency window. Live events and a journal read at
//! start-up change it through the one [`SessionState::apply`]; a journal
//! checkpoint keeps it (serde) so a restart need not read every event.

use serde::{Deserialize, Serialize};

use super::dedupe::RecentIds;
use super::pending::PendingRequests;
use super::rules::SessionRules;
use crate::protocol::{AgentInfo, AgentState, EventKind, EventRecord};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SessionState {
    pub(super) pending: PendingRequests,
    pub(super) rules: SessionRules,
    pub(super) recent_ids: RecentIds,
    /// Messages taken whose turn has not ended (the one running and those
    /// an agent that queues input holds); bounded by [`super::MAX_QUEUED`].
    pub(super) outstanding: usize,
    pub(super) agent_state: AgentState,
    /// A user turn is under way (set by a user message, cleared by its end).
    pub(super) turn_active: bool,
    /// Why the agent exited, from its last `status` event.
    pub(super) agent_detail: Option<String>,
    /// Bumped whenever what a lobby shows first changes (state, open
    /// requests, title, who is there): such changes are published at
    /// once, the rest (the newest seq, the last activity) at a slower pace.
    pub(super) lobby_generation: u64,
    /// Permission requests raised so far (the lobby sends a new one with
    /// the least delay of all).
    pub(super) requests_raised: u64,
    /// What the agent last said about its modes, commands, plan, usage.
    pub(super) agent_info: AgentInfo,
    /// The session has had an owner (see `Session::note_owner`).
    pub(super) owner_seen: bool,
    /// The title the agent last gave (the configured one until then).
    pub(super) title: Option<String>,
    /// The agent's own session id, as last reported.
    pub(super) agent_session: Option<String>,
}

impl Default for SessionState {
    fn default() -> Self {
        SessionState {
            pending: PendingRequests::default(),
            rules: SessionRules::default(),
            recent_ids: RecentIds::default(),
            outstanding: 0,
            agent_state: AgentState::Starting,
            turn_active: false,
            agent_detail: None,
            lobby_generation: 0,
            requests_raised: 0,
            agent_info: AgentInfo::default(),
            owner_seen: false,
            title: None,
            agent_session: None,
        }
    }
}

impl SessionState {
    /// The agent's own session id, as last reported (a restart resumes it).
    pub fn agent_session(&self) -> Option<&str> {
        self.agent_session.as_deref()
    }

    /// Whether permission request `request_id` is open.
    pub fn is_pending(&self, request_id: &str) -> bool {
        self.pending.is_open(request_id)
    }

    /// The state an event implies, shared by live events and restores.
    /// A restart decodes only the kinds this may change: a kind that
    /// starts to matter here must leave `journal::line::STATELESS_KINDS`.
    pub fn apply(&mut self, record: &EventRecord) {
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
                title,
                agent_session_id,
                ..
            } => {
                if let Some(id) = agent_session_id {
                    self.agent_session = Some(id.clone());
                }
                if let Some(title) = title {
                    self.lobby_generation += 1;
                    // An agent's title reaches the lobby and every session list.
                    self.title = Some(crate::host::server::query::displayable_up_to(title, 120));
                }
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::{Decision, ServerMessage};

    fn record(seq: u64, event: EventKind) -> EventRecord {
        EventRecord {
            seq,
            ts: "t".into(),
            event,
        }
    }

    #[test]
    fn a_state_survives_serde_whole() {
        let mut state = SessionState::default();
        let events = [
            EventKind::UserMessage {
                text: "hi".into(),
                by: "alice".into(),
                msg_id: Some("m1".into()),
            },
            EventKind::PermissionRequest {
                request_id: "r1".into(),
                tool: "Bash".into(),
                input: serde_json::json!({"command": "ls", "n": 1.5}),
                tool_use_id: None,
                title: Some("Run".into()),
                description: None,
                preview: None,
                options: Vec::new(),
            },
            EventKind::PermissionRequest {
                request_id: "r2".into(),
                tool: "Bash".into(),
                input: serde_json::json!({}),
                tool_use_id: None,
                title: None,
                description: None,
                preview: None,
                options: Vec::new(),
            },
            EventKind::PermissionResolved {
                request_id: "r2".into(),
                decision: Decision::Allow,
                by: "alice".into(),
                message: None,
                option: None,
                updated_input: None,
            },
            EventKind::status(AgentState::AwaitingPermission),
        ];
        for (n, event) in events.into_iter().enumerate() {
            state.apply(&record(n as u64 + 1, event));
        }
        let text = serde_json::to_string(&state).unwrap();
        let back: SessionState = serde_json::from_str(&text).unwrap();
        assert_eq!(back, state);
        assert!(back.pending.is_open("r1") && !back.pending.is_open("r2"));
        assert!(back.recent_ids.contains("alice", "m1"));
        // The records it keeps are the frames' own (a request as raised).
        let raised = &back.pending.by_seq()[0];
        let frame = ServerMessage::Event(raised.clone()).to_json();
        assert!(frame.contains(r#""n":1.5"#), "{frame}");
    }
}
