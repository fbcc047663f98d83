//! The help overlay: every key by pane, in one or two columns; the keys
//! scroll (the closing lines stay), so it fits a 80x24 terminal. Its
//! geometry is part of the layout (`Areas`): the keys that scroll it stop
//! at its last row.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph};

use super::centered;
use crate::tui::keymap::{self, Action, Context};
use crate::tui::theme;

/// Where the help goes in the main area.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Areas {
    pub popup: Rect,
    /// The keys, scrolled.
    pub columns: Rect,
    /// The closing lines under them.
    pub rest: Rect,
    pub two_columns: bool,
    /// Rows of keys in all (the longer column).
    pub rows: u16,
}

impl Areas {
    /// The most the keys scroll: their last row at the bottom.
    pub fn most_scroll(&self) -> u16 {
        self.rows.saturating_sub(self.columns.height)
    }
}

/// The sections in each column: everywhere and the sessions left, the
/// panes right.
fn columns(two_columns: bool) -> (Vec<Line<'static>>, Vec<Line<'static>>) {
    let sections = keymap::help_sections();
    if two_columns {
        (section_lines(&sections[..2]), section_lines(&sections[2..]))
    } else {
        (section_lines(&sections), Vec::new())
    }
}

pub fn areas(main: Rect, watch: Option<&str>) -> Areas {
    let two_columns = main.width >= 100;
    let (left, right) = columns(two_columns);
    let rows = left.len().max(right.len()) as u16;
    let width = if two_columns { main.width.min(130) } else { 76 };
    let inner_width = usize::from(width.min(main.width).saturating_sub(2)).max(1);
    // Wrapped rows of the closing lines.
    let footer_rows: u16 = help_footer(watch)
        .iter()
        .map(|line| line.width().max(1).div_ceil(inner_width) as u16)
        .sum();
    let popup = centered(main, width, rows + footer_rows + 2);
    let inner = Block::default().borders(Borders::ALL).inner(popup);
    let columns = Rect {
        height: rows.min(inner.height.saturating_sub(footer_rows).max(1)),
        ..inner
    };
    let rest = Rect {
        y: inner.y + columns.height,
        height: inner.height.saturating_sub(columns.height),
        ..inner
    };
    Areas {
        popup,
        columns,
        rest,
        two_columns,
        rows,
    }
}

pub fn draw(frame: &mut Frame, areas: &Areas, watch: Option<&str>, scroll: u16) {
    let scroll = scroll.min(areas.most_scroll());
    let (left, right) = columns(areas.two_columns);
    frame.render_widget(Clear, areas.popup);
    // Help that does not fit says so, and which way the rest is.
    let more = match (scroll > 0, scroll < areas.most_scroll()) {
        (false, true) => " Help · ↓ more ",
        (true, true) => " Help · ↑↓ more ",
        (true, false) => " Help · ↑ more ",
        (false, false) => " Help ",
    };
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(theme::FOCUS_BORDER)
        .title(more);
    frame.render_widget(block, areas.popup);
    let columns = areas.columns;
    if areas.two_columns {
        let half = Rect {
            width: columns.width / 2,
            ..columns
        };
        frame.render_widget(Paragraph::new(left).scroll((scroll, 0)), half);
        let right_half = Rect {
            x: columns.x + columns.width / 2,
            ..half
        };
        frame.render_widget(Paragraph::new(right).scroll((scroll, 0)), right_half);
    } else {
        frame.render_widget(Paragraph::new(left).scroll((scroll, 0)), columns);
    }
    frame.render_widget(
        Paragraph::new(help_footer(watch)).wrap(ratatui::widgets::Wrap { trim: false }),
        areas.rest,
    );
}

type Sections = [(&'static str, Vec<(&'static str, &'static str)>)];

fn section_lines(sections: &Sections) -> Vec<Line<'static>> {
    let mut lines = Vec::new();
    for (heading, rows) in sections {
        lines.push(Line::styled(*heading, theme::HEADING));
        for (keys, help) in rows {
            lines.push(Line::from(vec![
                Span::styled(format!("  {keys:<11}"), theme::BOLD),
                Span::raw(*help),
            ]));
        }
    }
    lines
}

/// How a global key is written now (the settings may remap it).
fn label(action: Action) -> &'static str {
    keymap::binding(Context::Global, action).map_or("?", |b| b.label)
}

/// The lines under the keys: the mouse, how to watch, how to close.
fn help_footer(watch: Option<&str>) -> Vec<Line<'static>> {
    let mut footer = vec![
        Line::raw(""),
        Line::styled(
            format!(
                "Mouse wheel scrolls the transcript; {} frees the mouse to select text.",
                label(Action::ToggleMouse)
            ),
            theme::DIM,
        ),
    ];
    if let Some(watch) = watch {
        footer.push(Line::styled(
            "Let someone on this machine watch:",
            theme::HEADING,
        ));
        footer.push(Line::raw(format!("  {watch}")));
    }
    let in_help = |action| keymap::binding(Context::HelpOverlay, action).map_or("?", |b| b.label);
    let scroll = format!(
        " {} and {} scroll it.",
        in_help(Action::LineUp),
        in_help(Action::PageUp)
    );
    footer.push(Line::styled(
        keymap::help_closing_line() + &scroll,
        theme::DIM,
    ));
    footer
}
