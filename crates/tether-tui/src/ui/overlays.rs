//! Overlays: help, the deny reason prompt, the search prompt, the rules.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph};

use super::centered;
use crate::tui::app::{App, Overlay};
use crate::tui::cells::sanitize_name;
use crate::tui::keymap;
use crate::tui::theme;

pub fn draw(app: &mut App, frame: &mut Frame, main: Rect, input: Rect) {
    let watch = app.hints.watch_command.clone();
    let owner = app.is_owner();
    let rules = app.rules().to_vec();
    let mut help_scroll = app.help_scroll;
    let pending: Vec<(String, String)> = app
        .pending
        .iter()
        .map(|p| {
            let what = format!("{} {}", sanitize_name(&p.tool), p.summary);
            (p.request_id.clone(), what)
        })
        .collect();
    for overlay in &mut app.overlays {
        match overlay {
            Overlay::Help => help(frame, main, watch.as_deref(), &mut help_scroll),
            Overlay::Rules(view) => super::rules::draw(frame, main, &rules, view, owner),
            Overlay::DenyReason { request_id, reason } => {
                let what = pending
                    .iter()
                    .find(|(id, _)| id == request_id)
                    .map(|(_, s)| s.clone())
                    .unwrap_or_default();
                let area = Rect {
                    x: input.x,
                    y: input.y.saturating_sub(1),
                    width: input.width,
                    height: input.height.max(3) + 1,
                };
                frame.render_widget(Clear, area);
                let title: String = format!(" Deny {what} — reason (Enter sends, Esc: no reason) ")
                    .chars()
                    .take(area.width.saturating_sub(2) as usize)
                    .collect();
                let block = Block::default()
                    .borders(Borders::ALL)
                    .border_style(theme::WARN)
                    .title(title);
                reason.set_block(block);
                frame.render_widget(&*reason, area);
            }
            Overlay::Search { query } => {
                let area = Rect {
                    x: main.x + 1,
                    y: main.y + main.height.saturating_sub(2),
                    width: main.width.saturating_sub(2),
                    height: 1,
                };
                frame.render_widget(Clear, area);
                let prompt = Rect { width: 1, ..area };
                frame.render_widget(Paragraph::new(Span::styled("/", theme::INFO)), prompt);
                query.set_block(Block::default());
                frame.render_widget(
                    &*query,
                    Rect {
                        x: area.x + 1,
                        width: area.width.saturating_sub(1),
                        ..area
                    },
                );
            }
        }
    }
    // Scrolling past the end stops at the end.
    app.help_scroll = help_scroll;
}

/// The help: every key by pane, in one or two columns; the keys scroll
/// (the closing lines stay), so it fits a 80x24 terminal.
fn help(frame: &mut Frame, area: Rect, watch: Option<&str>, scroll: &mut u16) {
    let sections = keymap::help_sections();
    let footer = help_footer(watch);
    // Two columns when there is room.
    let two_columns = area.width >= 100;
    let (left, right) = if two_columns {
        // Everywhere and the decision view left, the panes right.
        (section_lines(&sections[..2]), section_lines(&sections[2..]))
    } else {
        (section_lines(&sections), Vec::new())
    };
    let body = left.len().max(right.len()) as u16;
    let width = if two_columns { area.width.min(130) } else { 76 };
    let inner_width = usize::from(width.min(area.width).saturating_sub(2)).max(1);
    // Wrapped rows of the closing lines.
    let footer_rows: u16 = footer
        .iter()
        .map(|line| line.width().max(1).div_ceil(inner_width) as u16)
        .sum();
    let popup = centered(area, width, body + footer_rows + 2);
    frame.render_widget(Clear, popup);
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(theme::FOCUS_BORDER)
        .title(" Help ");
    let inner = block.inner(popup);
    frame.render_widget(block, popup);
    let columns = Rect {
        height: body.min(inner.height.saturating_sub(footer_rows).max(1)),
        ..inner
    };
    *scroll = (*scroll).min(body.saturating_sub(columns.height));
    if two_columns {
        let half = Rect {
            width: inner.width / 2,
            ..columns
        };
        frame.render_widget(Paragraph::new(left).scroll((*scroll, 0)), half);
        frame.render_widget(
            Paragraph::new(right).scroll((*scroll, 0)),
            Rect {
                x: inner.x + inner.width / 2,
                ..half
            },
        );
    } else {
        frame.render_widget(Paragraph::new(left).scroll((*scroll, 0)), columns);
    }
    let rest = Rect {
        y: inner.y + columns.height,
        height: inner.height.saturating_sub(columns.height),
        ..inner
    };
    frame.render_widget(
        Paragraph::new(footer).wrap(ratatui::widgets::Wrap { trim: false }),
        rest,
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

/// The lines under the keys: the mouse, how to watch, how to close.
fn help_footer(watch: Option<&str>) -> Vec<Line<'static>> {
    let mut footer = vec![
        Line::raw(""),
        Line::styled(
            format!(
                "Mouse wheel scrolls the transcript; {} frees the mouse to select text.",
                keymap::bindings::TOGGLE_MOUSE.label
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
    let scroll = format!(
        " {} and {} scroll it.",
        keymap::bindings::HELP_LINE_UP.label,
        keymap::bindings::HELP_PAGE_UP.label
    );
    footer.push(Line::styled(
        keymap::help_closing_line() + &scroll,
        theme::DIM,
    ));
    footer
}
