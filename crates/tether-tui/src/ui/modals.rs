//! The modals drawn over the panes, innermost last: the help, the deny
//! reason prompt, the search prompt, the rules (a question is asked in
//! the footer).

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::Span;
use ratatui::widgets::{Block, Borders, Clear, Paragraph};

use super::layout::AppLayout;
use crate::tui::app::{App, Modal};
use crate::tui::cells::sanitize_name;
use crate::tui::theme;

pub fn draw(app: &mut App, frame: &mut Frame, layout: &AppLayout) {
    let (main, input) = (layout.main, layout.bottom);
    let watch = app.hints.watch_command.clone();
    let owner = app.is_owner();
    let rules = app.rules().to_vec();
    let pending: Vec<(String, String)> = app
        .pending
        .iter()
        .map(|p| {
            let what = format!("{} {}", sanitize_name(&p.tool), p.summary);
            (p.request_id.clone(), what)
        })
        .collect();
    let history_match = app.history_match().map(str::to_owned);
    for overlay in &mut app.modals {
        match overlay {
            Modal::Help { scroll } => {
                if let Some(areas) = &layout.help {
                    super::help::draw(frame, areas, watch.as_deref(), *scroll);
                }
            }
            // Asked in the footer.
            Modal::Question(_) => {}
            Modal::HistorySearch { query, .. } => {
                history_search(frame, input, query, history_match.as_deref());
            }
            Modal::Rules(view) => super::rules::draw(frame, main, &rules, view, owner),
            Modal::DenyReason { request_id, reason } => {
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
            Modal::Search { query } => {
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
}

/// Ctrl+R over the input box: what is typed, and the sent message it
/// finds (sanitised: it may have come from a file).
fn history_search(
    frame: &mut Frame,
    input: Rect,
    query: &mut ratatui_textarea::TextArea<'static>,
    found: Option<&str>,
) {
    let area = Rect {
        x: input.x,
        y: input.y.saturating_sub(1),
        width: input.width,
        height: input.height.max(3) + 1,
    };
    frame.render_widget(Clear, area);
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(theme::FOCUS_BORDER)
        .title(" Search what you sent ");
    let inner = block.inner(area);
    frame.render_widget(block, area);
    query.set_block(Block::default());
    frame.render_widget(&*query, Rect { height: 1, ..inner });
    let shown = match found {
        Some(text) => {
            let one_line = crate::tui::sanitize::sanitize_plain(&text.replace('\n', " ⏎ "));
            Span::styled(format!("→ {one_line}"), theme::BOLD)
        }
        None => Span::styled("no message matches", theme::DIM),
    };
    if inner.height > 1 {
        let row = Rect {
            y: inner.y + 1,
            height: 1,
            ..inner
        };
        frame.render_widget(Paragraph::new(shown), row);
    }
}
