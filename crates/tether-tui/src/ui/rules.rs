//! The rules overlay: each rule in force, what it allows and who made it.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph};

use super::centered;
use crate::protocol::Rule;
use crate::tui::app::rules::RulesView;
use crate::tui::cells::sanitize_name;
use crate::tui::sanitize::sanitize_plain;
use crate::tui::theme;

/// Draws the list in the middle of `area` (the panes).
pub fn draw(frame: &mut Frame, area: Rect, rules: &[Rule], view: &RulesView, owner: bool) {
    let mut lines: Vec<Line> = Vec::new();
    if rules.is_empty() {
        lines.push(Line::styled(
            "No rules: answering a request with an always-allow option makes one.",
            theme::DIM,
        ));
    }
    let selected = view.selected(rules.len());
    for (i, rule) in rules.iter().enumerate() {
        let marker = if i == selected { "▸ " } else { "  " };
        let label = sanitize_plain(&rule.label.replace('\n', " "));
        let style = if i == selected {
            theme::SELECTED
        } else {
            Default::default()
        };
        lines.push(Line::from(vec![
            Span::styled(format!("{marker}{label}"), style),
            Span::styled(
                format!(
                    "  made by {} ({})",
                    sanitize_name(&rule.made_by),
                    sanitize_name(&rule.id)
                ),
                theme::DIM,
            ),
        ]));
    }
    lines.push(Line::raw(""));
    lines.push(if owner {
        Line::styled(
            "d removes the selected rule (after y/n); Esc closes.",
            theme::DIM,
        )
    } else {
        Line::styled(
            "read-only: only the owner removes rules. Esc closes.",
            theme::DIM,
        )
    });
    let width = area.width.saturating_sub(4).min(100);
    let height = (lines.len() as u16 + 2).min(area.height);
    let popup = centered(area, width, height);
    frame.render_widget(Clear, popup);
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(theme::FOCUS_BORDER)
        .title(format!(" Rules in force ({}) ", rules.len()));
    // Long labels wrap rather than run off the edge.
    let text = Paragraph::new(lines)
        .block(block)
        .wrap(ratatui::widgets::Wrap { trim: false });
    frame.render_widget(text, popup);
}
