//! The running turn's clock, for the status bar: it starts when the agent
//! turns busy (at that event's time) and stops when it is idle again.

use std::time::Duration;

use super::App;
use crate::protocol::{AgentState, EventKind, ServerMessage};

impl App {
    /// Before a message is applied: a new status event that makes the
    /// agent busy starts the clock at the event's own time (so a replayed
    /// history shows the true age of a running turn).
    pub(super) fn note_turn(&mut self, message: &ServerMessage) {
        let ServerMessage::Event(record) = message else {
            return;
        };
        let EventKind::Status { state, .. } = record.event else {
            return;
        };
        let busy = matches!(state, AgentState::Running | AgentState::AwaitingPermission);
        if busy && self.turn_started.is_none() && record.seq > self.last_applied() {
            self.turn_started = humantime::parse_rfc3339_weak(&record.ts).ok();
        }
    }

    /// After a message is applied: the clock stops when the agent is no
    /// longer busy, and starts now if it is busy with no known start
    /// (`ready` said so).
    pub(super) fn note_turn_state(&mut self) {
        if !self.agent_busy() {
            self.turn_started = None;
        } else if self.turn_started.is_none() {
            self.turn_started = Some(self.wall);
        }
    }

    /// How long the current turn has been running; None when idle.
    pub fn turn_elapsed(&self) -> Option<Duration> {
        let started = self.turn_started?;
        self.agent_busy()
            .then(|| self.wall.duration_since(started).unwrap_or_default())
    }
}
