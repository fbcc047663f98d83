//! The slash-command popup, just above the input box: the agent's
//! commands that match what is typed, the highlighted one reversed.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Clear, Paragraph};

use super::fit::{truncate, width};
use super::pane_block;
use crate::protocol::SlashCommand;
use crate::tui::app::App;
use crate::tui::sanitize::sanitize_plain;
use crate::tui::theme;

/// The most commands shown at once (the list scrolls with the highlight).
const ROWS: usize = 8;

pub fn draw(app: &App, frame: &mut Frame, input: Rect) {
    let found = app.completions();
    if found.is_empty() || input.y < 3 {
        return;
    }
    let selected = app.completion_selected(found.len());
    let rows = found.len().min(ROWS).min(input.y as usize - 2);
    let first = (selected + 1).saturating_sub(rows);
    let height = rows as u16 + 2;
    let area = Rect {
        x: input.x,
        y: input.y - height,
        width: input.width,
        height,
    };
    let inner = area.width.saturating_sub(2) as usize;
    let lines: Vec<Line> = found
        .iter()
        .enumerate()
        .skip(first)
        .take(rows)
        .map(|(at, command)| row(command, at == selected, inner))
        .collect();
    let title = format!(" Commands ({}) ", found.len());
    frame.render_widget(Clear, area);
    frame.render_widget(
        Paragraph::new(lines).block(pane_block(Line::from(title), true)),
        area,
    );
}

/// `/name <hint>  description`, cut to `room` columns.
fn row(command: &SlashCommand, selected: bool, room: usize) -> Line<'static> {
    let one_line = |text: &str| sanitize_plain(&text.replace(['\n', '\r'], " "));
    let mut name = format!("/{}", one_line(&command.name));
    if let Some(hint) = &command.input_hint {
        name.push_str(&format!(" <{}>", one_line(hint)));
    }
    let name = truncate(&name, room);
    let left = room.saturating_sub(width(&name) + 2);
    let description = truncate(&one_line(&command.description), left);
    let (name_style, text_style) = if selected {
        (theme::SELECTED.patch(theme::BOLD), theme::SELECTED)
    } else {
        (theme::BOLD, theme::DIM)
    };
    let mut spans = vec![Span::styled(name, name_style)];
    if !description.is_empty() {
        spans.push(Span::styled(format!("  {description}"), text_style));
    }
    Line::from(spans)
}
