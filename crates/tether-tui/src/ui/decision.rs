//! The decision view at the bottom of the screen: the request in full (its
//! preview scrollable: a diff with old/new line numbers, the whole command,
//! or the input as JSON), then the numbered choices or the open text area.
//! Every string from the agent goes through the sanitiser.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph};

use crate::tui::app::decision::{Choice, EditorKind, Wrapped, choices, first_always};
use crate::tui::app::{App, Pending};
use crate::tui::cells::preview::preview_texts;
use crate::tui::cells::sanitize_name;
use crate::tui::sanitize::{sanitize, sanitize_into};
use crate::tui::text::StyledText;
use crate::tui::theme;
use crate::tui::wrap::wrap_line;

/// Rows kept for the panes above, however long the request.
const MIN_ABOVE: u16 = 4;
/// The tallest text area.
const MAX_EDITOR: u16 = 8;

/// Wraps the shown request's header and preview for a view `width`
/// wide (borders included), unless that is already done.
pub fn prepare(app: &mut App, width: u16) {
    let inner = width.saturating_sub(2);
    let Some((_, request)) = app.decision_request() else {
        return;
    };
    let key = (request.request_id.clone(), inner);
    if app.decision.wrapped().made_for.as_ref() == Some(&key) {
        return;
    }
    app.decision.set_wrapped(Wrapped {
        header: header(request, inner),
        preview: preview(request, inner),
        made_for: Some(key),
    });
}

/// How tall the view wants to be on a screen `screen` rows high (borders
/// included), once [`prepare`]d.
pub fn height(app: &App, screen: u16) -> u16 {
    let Some((_, request)) = app.decision_request() else {
        return 0;
    };
    let wrapped = app.decision.wrapped();
    let wanted = 2 + wrapped.header.len() + wrapped.preview.len() + 1;
    let wanted = wanted + usize::from(bottom_height(app, request));
    // The status bar and the footer stay, and a few rows above.
    let most = screen.saturating_sub(2 + MIN_ABOVE).max(6);
    u16::try_from(wanted).unwrap_or(u16::MAX).min(most)
}

fn bottom_height(app: &App, request: &Pending) -> u16 {
    match app.decision.editor() {
        Some(editor) if app.decision.is_open() => {
            let lines = editor.text.lines().len() as u16 + 2;
            lines.clamp(3, MAX_EDITOR) + u16::from(editor.problem.is_some())
        }
        _ => {
            let note = !app.is_owner() || app.decision.holding(app.now);
            choices(request).len() as u16 + u16::from(note)
        }
    }
}

/// The decision view's parts in the bottom area.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Areas {
    pub frame: Rect,
    pub head: Rect,
    /// The preview: its height is a page (PgUp/PgDn).
    pub body: Rect,
    pub gap: Rect,
    pub foot: Rect,
    /// Rows of preview in all.
    pub rows: usize,
}

impl Areas {
    /// Rows a page of preview moves.
    pub fn page(&self) -> usize {
        usize::from(self.body.height).max(1)
    }

    /// The most the preview scrolls: its last row at the bottom.
    pub fn most_scroll(&self) -> usize {
        self.rows.saturating_sub(usize::from(self.body.height))
    }
}

/// The view's parts in `area`, once [`prepare`]d.
pub fn areas(app: &App, area: Rect) -> Areas {
    let inner = Block::default().borders(Borders::ALL).inner(area);
    let bottom = app
        .decision_request()
        .map_or(0, |(_, request)| bottom_height(app, request))
        .min(inner.height.saturating_sub(1));
    let wrapped = app.decision.wrapped();
    let [head, body, gap, foot] = Layout::vertical([
        Constraint::Length(wrapped.header.len() as u16),
        Constraint::Min(0),
        Constraint::Length(1),
        Constraint::Length(bottom),
    ])
    .areas(inner);
    Areas {
        frame: area,
        head,
        body,
        gap,
        foot,
        rows: wrapped.preview.len(),
    }
}

pub fn draw(app: &mut App, frame: &mut Frame, areas: &Areas) {
    let Some((at, _)) = app.decision_request() else {
        return;
    };
    let focused = app.decision.is_open();
    let count = app.pending.len();
    let mut title = vec![Span::styled(
        format!(" Permission request {} of {count} ", at + 1),
        theme::WARN.patch(theme::BOLD),
    )];
    if count > 1 {
        title.push(Span::styled("[/] switch ", theme::DIM));
    }
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(if focused { theme::WARN } else { theme::BORDER })
        .title(Line::from(title));
    frame.render_widget(block, areas.frame);
    let wrapped = app.decision.wrapped();
    frame.render_widget(Paragraph::new(wrapped.header.clone()), areas.head);
    let rows = wrapped.preview.len();
    let page = usize::from(areas.body.height);
    let scroll = app.decision.scroll().min(areas.most_scroll());
    // Only the rows on screen are copied out.
    let visible = wrapped.preview[scroll..(scroll + page).min(rows)].to_vec();
    frame.render_widget(Paragraph::new(visible), areas.body);
    if areas.most_scroll() > 0 {
        let shown = (scroll + page).min(rows);
        let note = format!("rows {}-{shown} of {rows} · PgUp/PgDn scroll ", scroll + 1);
        frame.render_widget(
            Paragraph::new(Line::styled(note, theme::DIM)).right_aligned(),
            areas.gap,
        );
    }
    draw_bottom(app, frame, areas.foot);
}

fn draw_bottom(app: &mut App, frame: &mut Frame, area: Rect) {
    let owner = app.is_owner();
    let open = app.decision.is_open();
    let highlight = app.decision.highlight();
    let waiting = app.waiting_for();
    let holding = app.decision.holding(app.now);
    let Some((_, request)) = app.decision_request() else {
        return;
    };
    let choices = choices(request);
    if let Some(editor) = app.decision.editor_mut() {
        let what = match editor.kind {
            EditorKind::Command => " Edit the command · Enter allows it · Esc back ",
            EditorKind::Json => " Edit the input (JSON) · Enter allows it · Esc back ",
            EditorKind::Message => " Message to the agent · Enter denies · Esc back ",
        };
        let problem = editor.problem.clone();
        let text_height = area.height.saturating_sub(u16::from(problem.is_some()));
        editor.text.set_block(
            Block::default()
                .borders(Borders::ALL)
                .border_style(theme::FOCUS_BORDER)
                .title(what),
        );
        editor.text.set_cursor_style(theme::SELECTED);
        let text_area = Rect {
            height: text_height,
            ..area
        };
        frame.render_widget(&editor.text, text_area);
        if let Some(problem) = problem {
            let row = Rect {
                y: area.y + text_height,
                height: 1,
                ..area
            };
            frame.render_widget(Paragraph::new(Line::styled(problem, theme::ERROR)), row);
        }
        return;
    }
    let always = first_always(&choices);
    let mut lines: Vec<Line> = choices
        .iter()
        .enumerate()
        .map(|(i, choice)| {
            let selected = owner && open && i == highlight;
            let marker = if selected { "▸ " } else { "  " };
            let style = match (owner, selected) {
                (false, _) => theme::DIM,
                (true, true) => theme::SELECTED,
                (true, false) => Style::default(),
            };
            let key = match choice {
                Choice::Allow { .. } if i == 0 => "  (y)",
                Choice::Allow { .. } if Some(i) == always => "  (a)",
                Choice::EditAndAllow => "  (e)",
                Choice::Deny { .. } => "  (n: deny with no message)",
                Choice::Allow { .. } => "",
            };
            Line::from(vec![
                Span::raw(marker),
                Span::styled(format!("{}. {}", i + 1, choice.label()), style),
                Span::styled(if owner { key } else { "" }, theme::DIM),
            ])
        })
        .collect();
    if !owner {
        lines.push(Line::styled(format!("  read-only: {waiting}"), theme::WARN));
    } else if holding {
        let note = "  you were typing: keys are ignored for a moment, read the request first";
        lines.push(Line::styled(note, theme::WARN));
    }
    frame.render_widget(Paragraph::new(lines), area);
}

/// The tool and the agent's title (each when it adds something, as the
/// description), wrapped.
fn header(request: &Pending, width: u16) -> Vec<Line<'static>> {
    let mut first = StyledText::default();
    first.push(
        &sanitize_name(&request.tool),
        theme::TOOL.patch(theme::BOLD),
    );
    // Claude titles some requests with the tool's name alone.
    if let Some(title) = request.title.as_ref().filter(|t| **t != request.tool) {
        first.push(" · ", theme::DIM);
        sanitize_into(&mut first, &one_line(title), theme::BOLD);
    }
    let mut lines = wrapped(&first, width);
    // A command preview shows the command and its description itself.
    let repeated = request.command().is_some();
    if let Some(description) = request.description.as_ref().filter(|_| !repeated) {
        for line in description.lines() {
            lines.extend(wrapped(&sanitize(line, theme::DIM), width));
        }
    }
    lines
}

fn one_line(text: &str) -> String {
    text.replace(['\r', '\n'], " ")
}

/// The preview, wrapped to `width`: what the view scrolls.
pub fn preview(request: &Pending, width: u16) -> Vec<Line<'static>> {
    preview_texts(request.preview.as_deref(), &request.input)
        .iter()
        .flat_map(|t| wrapped(t, width))
        .collect()
}

fn wrapped(text: &StyledText, width: u16) -> Vec<Line<'static>> {
    if text.text.is_empty() {
        return vec![Line::raw("")];
    }
    wrap_line(text, 0, text.text.len(), width.max(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_title_that_only_repeats_the_tool_is_not_shown_twice() {
        let mut request = Pending {
            request_id: "r1".into(),
            tool: "Edit".into(),
            summary: String::new(),
            input: serde_json::Value::Null,
            raised: None,
            title: Some("Edit".into()),
            description: None,
            preview: None,
            options: Vec::new(),
            editable: true,
        };
        let first = |r: &Pending| header(r, 80)[0].to_string();
        assert_eq!(first(&request), "Edit");
        request.title = Some("Edit notes.txt".into());
        assert_eq!(first(&request), "Edit · Edit notes.txt");
    }
}
