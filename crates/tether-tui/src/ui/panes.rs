//! The transcript, permissions and participants panes.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::{has_focus, pane_frame, people};
use crate::tui::app::apply::waited;
use crate::tui::app::{App, Focus};
use crate::tui::cells::sanitize_name;
use crate::tui::theme;

/// The transcript pane in `area`, its text `rows` high (the layout's).
pub fn transcript(app: &mut App, frame: &mut Frame, area: Rect, rows: u16) {
    let mut title = vec![Span::raw(" Transcript ")];
    if !app.transcript.following() {
        title.push(Span::styled("(scrolled: End follows) ", theme::WARN));
    }
    if let Some(status) = app.transcript.match_status() {
        title.push(Span::styled(format!("{status} "), theme::INFO));
    }
    let focused = has_focus(app, Focus::Transcript);
    let inner = pane_frame::draw(frame.buffer_mut(), area, Line::from(title), focused);
    let height = rows.min(inner.height);
    let lines = app.transcript.visible_lines(inner.width, height);
    if lines.is_empty() && app.transcript.is_empty() {
        frame.render_widget(
            Paragraph::new(Line::styled("(nothing yet)", theme::DIM)),
            inner,
        );
        return;
    }
    let area = Rect { height, ..inner };
    let aligned = lines.iter().any(|l| {
        l.alignment
            .is_some_and(|a| a != ratatui::layout::HorizontalAlignment::Left)
    });
    if aligned {
        frame.render_widget(Paragraph::new(lines), area);
    } else {
        put_lines(frame.buffer_mut(), area, &lines);
    }
}

/// Draws lines already wrapped to `area`'s width, left-aligned, as a
/// `Paragraph` would, but ASCII spans cell by cell: no grapheme search
/// and no width lookup for the text most transcripts are made of (every
/// frame of a streaming agent redraws the whole pane).
fn put_lines(buf: &mut ratatui::buffer::Buffer, area: Rect, lines: &[Line]) {
    let right = area.right();
    for (row, line) in lines.iter().take(usize::from(area.height)).enumerate() {
        let y = area.y + row as u16;
        let mut x = area.x;
        for span in &line.spans {
            if x >= right {
                break;
            }
            let style = line.style.patch(span.style);
            let text = span.content.as_ref();
            if text.bytes().all(|b| b.is_ascii() && !b.is_ascii_control()) {
                let take = text.len().min(usize::from(right - x));
                let start = buf.index_of(x, y);
                let cells = &mut buf.content[start..start + take];
                for (cell, byte) in cells.iter_mut().zip(text.bytes()) {
                    cell.set_char(char::from(byte)).set_style(style);
                }
                x += take as u16;
            } else {
                x = buf.set_stringn(x, y, text, usize::from(right - x), style).0;
            }
        }
    }
}

pub fn permissions(app: &App, frame: &mut Frame, area: Rect) {
    let focused = has_focus(app, Focus::Permissions);
    let title = format!(" Permissions ({}) ", app.pending.len());
    let inner = pane_frame::draw(frame.buffer_mut(), area, Line::from(title), focused);
    if app.pending.is_empty() {
        frame.render_widget(
            Paragraph::new(Line::styled("no pending requests", theme::DIM)),
            inner,
        );
        return;
    }
    let width = inner.width as usize;
    let lines: Vec<Line> = app
        .pending
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let wait = waited(app.wall, p.raised);
            let marker = if i == app.selected_request {
                "▸ "
            } else {
                "  "
            };
            let tool = sanitize_name(&p.tool);
            let room = width.saturating_sub(marker.len() + tool.chars().count() + wait.len() + 3);
            let summary = super::fit::summary(&p.summary, room);
            let style = if focused && i == app.selected_request {
                theme::SELECTED
            } else {
                ratatui::style::Style::default()
            };
            Line::from(vec![
                Span::styled(marker, style),
                Span::styled(tool, style.patch(theme::TOOL)),
                Span::styled(format!(" {summary} "), style),
                Span::styled(wait, style.patch(theme::DIM)),
            ])
        })
        .collect();
    let scroll = (app.selected_request as u16).saturating_sub(inner.height.saturating_sub(1));
    frame.render_widget(Paragraph::new(lines).scroll((scroll, 0)), inner);
}

pub fn participants(app: &App, frame: &mut Frame, area: Rect) {
    let focused = has_focus(app, Focus::Participants);
    let unlisted = app.unlisted_participants;
    let title = format!(
        " Participants ({}) ",
        app.participants.len() as u64 + unlisted
    );
    let inner = pane_frame::draw(frame.buffer_mut(), area, Line::from(title), focused);
    if inner.height == 0 {
        return;
    }
    let columns = people::Columns::fit(inner.width as usize, &app.participant_labels);
    // Under the rows: how many the host did not list, and who may own.
    let more = (unlisted > 0).then(|| {
        let text = format!("… and {unlisted} more watching");
        (text, theme::DIM)
    });
    let notes: Vec<(String, ratatui::style::Style)> = more
        .into_iter()
        .chain(super::status_bar::ownership_label(app))
        .collect();
    // Every row is one line already cut to the width: written straight
    // into the buffer (a Paragraph would measure each again, every frame).
    // Only the rows in view are made: the pane is drawn every frame. When
    // the rows do not all fit, the notes keep the pane's last lines.
    let body = inner.height as usize - 1;
    let count = app.participants.len();
    let list_rows = match count + notes.len() <= body {
        true => body,
        false => body.saturating_sub(notes.len()).max(1),
    };
    let scroll = app
        .selected_participant
        .saturating_sub(list_rows.saturating_sub(1));
    let rows = (scroll..count.min(scroll + list_rows)).map(|i| {
        columns.line(
            &people::row(app, i),
            focused && i == app.selected_participant,
        )
    });
    let notes = notes.iter().map(|(text, style)| {
        Line::styled(
            crate::tui::ui::fit::truncate(text, inner.width as usize),
            *style,
        )
    });
    let shown = rows.chain(notes).take(body);
    let lines: Vec<Line> = std::iter::once(columns.header()).chain(shown).collect();
    put_lines(frame.buffer_mut(), inner, &lines);
}
