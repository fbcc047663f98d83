//! What the agent says about itself: its mode, slash commands, plan and
//! usage. The plan is one cell per turn, redrawn in place as it changes.

use super::App;
use crate::protocol::EventKind;
use crate::tui::cells;
use crate::tui::transcript::{Block, BlockKind};

impl App {
    /// A `mode`, `commands`, `plan` or `usage` event.
    pub(super) fn on_agent_info(&mut self, seq: u64, event: &EventKind) {
        self.agent.apply(event);
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

    /// A new turn starts: its plan gets a cell of its own.
    pub(super) fn new_plan_cell(&mut self) {
        self.plan_block = None;
    }
}

#[cfg(test)]
mod tests {
    use crate::protocol::{EventKind, PlanEntry, PlanStatus, Role};
    use crate::tui::app::tests::{Rig, record};

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
}
