//! What the agent says about itself: its mode, slash commands, plan and
//! usage. The plan is one cell per turn, redrawn in place as it changes.

use super::{App, Effect, Level};
use crate::protocol::{ClientMessage, EventKind, NoticeLevel, SetMode};
use crate::tui::cells;
use crate::tui::transcript::{Block, BlockKind};

impl App {
    /// A `mode`, `commands`, `plan` or `usage` event.
    pub(super) fn on_agent_info(&mut self, seq: u64, event: &EventKind) {
        self.agent.apply(event);
        if let EventKind::Mode { by: Some(by), .. } = event {
            // A switch someone made is worth a line; the bar shows it too.
            let mode = self.agent.mode_name().unwrap_or_default();
            let text = format!("{by} switched the agent to mode {mode}");
            let cell = cells::notice(NoticeLevel::Info, &text);
            self.transcript
                .push(Block::new(BlockKind::Notice, seq, cell));
        }
        if let EventKind::Plan { entries } = event {
            let block = Block::new(BlockKind::Notice, seq, cells::plan::plan(entries));
            match self.plan_block {
                Some(at) if self.transcript.replace(at, block.clone()) => {}
                _ => {
                    self.transcript.push(block);
                    self.plan_block = Some(self.transcript.len() - 1);
                }
            }
        }
    }

    /// Shift+Tab in the input: the owner asks for the agent's next mode;
    /// the status bar shows it once the agent switched.
    pub(super) fn cycle_mode(&mut self) -> Vec<Effect> {
        let Some(next) = self.agent.next_mode() else {
            self.focus = self.focus.prev();
            return Vec::new();
        };
        if !self.is_owner() {
            self.say("read-only: only the owner can switch modes", Level::Info);
            return Vec::new();
        }
        let mode = next.id.clone();
        let name = crate::tui::sanitize::sanitize_plain(&next.name);
        self.say(format!("switching to mode {name}…"), Level::Info);
        self.send_tracked(|id| ClientMessage::SetMode(SetMode { id, mode }), None)
    }

    /// A new turn starts: its plan gets a cell of its own.
    pub(super) fn new_plan_cell(&mut self) {
        self.plan_block = None;
    }
}

#[cfg(test)]
mod tests {
    use crossterm::event::KeyCode;

    use crate::protocol::{
        AgentMode, ClientMessage, EventKind, PlanEntry, PlanStatus, Role, SetMode,
    };
    use crate::tui::app::Focus;
    use crate::tui::app::tests::{Rig, record, sent};

    fn plan(statuses: &[PlanStatus]) -> EventKind {
        EventKind::Plan {
            entries: statuses
                .iter()
                .enumerate()
                .map(|(n, status)| PlanEntry {
                    content: format!("step {n}"),
                    priority: None,
                    status: *status,
                })
                .collect(),
        }
    }

    fn user(text: &str) -> EventKind {
        EventKind::UserMessage {
            text: text.into(),
            by: "alice".into(),
            msg_id: None,
        }
    }

    fn plan_cells(rig: &Rig) -> Vec<String> {
        rig.app
            .transcript
            .blocks()
            .iter()
            .map(|b| b.text().text.clone())
            .filter(|t| t.starts_with("☰ Plan"))
            .collect()
    }

    #[test]
    fn a_turns_plan_is_one_cell_redrawn_in_place() {
        use PlanStatus::*;
        let mut rig = Rig::new(Role::Owner, false);
        rig.event(record(1, user("go")));
        rig.event(record(2, plan(&[InProgress, Pending])));
        rig.event(record(
            3,
            EventKind::Assistant {
                text: "working".into(),
            },
        ));
        rig.event(record(4, plan(&[Completed, InProgress])));
        assert_eq!(
            plan_cells(&rig),
            ["☰ Plan (1/2 done)\n  [x] step 0\n  [>] step 1"]
        );
        // The plan cell kept its place, before the reply.
        assert!(rig.app.transcript.blocks()[1].text().text.starts_with("☰"));
        rig.event(record(5, user("again")));
        rig.event(record(6, plan(&[Completed, Completed])));
        assert_eq!(plan_cells(&rig).len(), 2, "a new turn, a new cell");
        assert_eq!(rig.app.agent.plan.len(), 2);
    }

    fn modes() -> EventKind {
        let mode = |id: &str| AgentMode {
            id: id.into(),
            name: id.to_uppercase(),
            description: None,
        };
        EventKind::Mode {
            mode: "ask".into(),
            modes: Some(vec![mode("ask"), mode("code")]),
            by: None,
        }
    }

    #[test]
    fn shift_tab_asks_the_owners_agent_for_its_next_mode_only() {
        let mut owner = Rig::new(Role::Owner, false);
        // No modes: Shift+Tab is the previous pane, as in every pane.
        assert!(sent(&owner.key(KeyCode::BackTab)).is_empty());
        assert_eq!(owner.app.focus, Focus::Participants);
        owner.app.focus = Focus::Input;
        owner.event(record(1, modes()));
        let asked = sent(&owner.key(KeyCode::BackTab));
        assert!(
            matches!(&asked[..], [ClientMessage::SetMode(SetMode { mode, .. })] if mode == "code"),
            "{asked:?}"
        );
        assert_eq!(owner.app.focus, Focus::Input);
        let mut follower = Rig::new(Role::Follower, false);
        follower.event(record(1, modes()));
        assert!(sent(&follower.key(KeyCode::BackTab)).is_empty());
        assert_eq!(follower.app.agent.mode_name(), Some("ASK"));
        follower.event(record(
            2,
            EventKind::Mode {
                mode: "code".into(),
                modes: None,
                by: Some("alice".into()),
            },
        ));
        assert_eq!(follower.app.agent.mode_name(), Some("CODE"));
        let last = follower
            .app
            .transcript
            .last()
            .map(|b| b.text().text.clone());
        assert_eq!(
            last.as_deref(),
            Some("[note] alice switched the agent to mode CODE")
        );
    }
}
