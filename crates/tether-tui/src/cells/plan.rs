//! The agent's plan as a checklist cell: `[x]` done, `[>]` in progress,
//! `[ ]` to do. A newer plan replaces the cell of the turn's last one.

use crate::protocol::{PlanEntry, PlanPriority, PlanStatus};
use crate::tui::sanitize::sanitize_into;
use crate::tui::text::StyledText;
use crate::tui::theme;

/// `Plan (1/3 done)` and one line per entry.
pub fn plan(entries: &[PlanEntry]) -> StyledText {
    let done = entries
        .iter()
        .filter(|e| e.status == PlanStatus::Completed)
        .count();
    let mut cell = StyledText::default();
    if entries.is_empty() {
        cell.push("☰ Plan cleared", theme::DIM);
        return cell;
    }
    cell.push(
        &format!("☰ Plan ({done}/{} done)", entries.len()),
        theme::BOLD,
    );
    for entry in entries {
        let (mark, style) = match entry.status {
            PlanStatus::Completed => ("[x] ", theme::DIM),
            PlanStatus::InProgress => ("[>] ", theme::BOLD),
            _ => ("[ ] ", ratatui::style::Style::default()),
        };
        cell.push("\n  ", style);
        cell.push(mark, theme::BULLET);
        let one_line = entry.content.replace('\n', " ");
        sanitize_into(&mut cell, &one_line, style);
        if entry.priority == Some(PlanPriority::High) && entry.status != PlanStatus::Completed {
            cell.push(" !", theme::WARN);
        }
    }
    cell
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(content: &str, status: PlanStatus) -> PlanEntry {
        PlanEntry {
            content: content.into(),
            priority: None,
            status,
        }
    }

    #[test]
    fn a_plan_is_a_checklist_without_the_agents_escapes() {
        let cell = plan(&[
            entry("read", PlanStatus::Completed),
            entry("write\x1b[2J", PlanStatus::InProgress),
            entry("test", PlanStatus::Pending),
        ]);
        assert_eq!(
            cell.text,
            "☰ Plan (1/3 done)\n  [x] read\n  [>] write␛[2J\n  [ ] test"
        );
        assert_eq!(plan(&[]).text, "☰ Plan cleared");
    }
}
