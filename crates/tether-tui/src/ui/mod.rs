//! Rendering: a pure function of the application state.

mod completion;
pub mod decision;
pub mod deck;
pub mod fit;
mod footer;
mod overlays;
mod pane_frame;
mod panes;
mod people;
mod rules;
mod status_bar;

use ratatui::Frame;
use ratatui::layout::{Constraint, Direction, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::Line;
use ratatui::widgets::{Block, Borders, Paragraph};

use super::app::{App, Focus, Overlay};
use super::theme;

/// Terminals narrower than this get one column (no side panes).
const WIDE: u16 = 80;
/// While a decision shows, the side panes need this much room too (the
/// decision lists the requests itself; squeezed panes only cost width).
const WIDE_WHILE_DECIDING: u16 = 100;
const TALL_WHILE_DECIDING: u16 = 10;

pub fn draw(app: &mut App, frame: &mut Frame) {
    draw_in(app, frame, frame.area());
}

/// Draws `app` in `area` of the frame (the deck keeps the rest).
pub fn draw_in(app: &mut App, frame: &mut Frame, area: Rect) {
    // A pending request takes the bottom, in place of the input box.
    let deciding = app.decision_shown();
    let input_height = if deciding {
        decision::prepare(app, area.width);
        decision::height(app, area.height)
    } else {
        (app.input.lines().len() as u16 + 2).clamp(3, 8)
    };
    let [status, main, input, hints] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Min(3),
        Constraint::Length(input_height),
        Constraint::Length(1),
    ])
    .areas(area);
    status_bar::draw(app, frame, status);
    let roomy = area.width >= WIDE_WHILE_DECIDING && main.height >= TALL_WHILE_DECIDING;
    if area.width >= WIDE && (!deciding || roomy) {
        let side = (area.width * 35 / 100).clamp(30, 60);
        let [left, right] =
            Layout::horizontal([Constraint::Min(20), Constraint::Length(side)]).areas(main);
        panes::transcript(app, frame, left);
        let perm_height =
            (app.pending.len() as u16 + 2).clamp(4, right.height.saturating_sub(5).max(4));
        let [top, bottom] =
            Layout::vertical([Constraint::Length(perm_height), Constraint::Min(3)]).areas(right);
        panes::permissions(app, frame, top);
        panes::participants(app, frame, bottom);
    } else {
        // Narrow (or deciding in little room): the transcript takes the
        // width; pending requests show
        // above the input only when there are any (or the pane has focus).
        // (Not while the decision view shows them in full below.)
        let show_perms =
            (!app.pending.is_empty() && !deciding) || has_focus(app, Focus::Permissions);
        let perm_height = if show_perms {
            (app.pending.len() as u16 + 2).clamp(3, 6)
        } else {
            0
        };
        let show_people = has_focus(app, Focus::Participants);
        let people_height = if show_people {
            (app.participants.len() as u16 + 2).clamp(3, 6)
        } else {
            0
        };
        let [left, perms, people] = Layout::default()
            .direction(Direction::Vertical)
            .constraints([
                Constraint::Min(3),
                Constraint::Length(perm_height),
                Constraint::Length(people_height),
            ])
            .areas(main);
        panes::transcript(app, frame, left);
        if show_perms {
            panes::permissions(app, frame, perms);
        }
        if show_people {
            panes::participants(app, frame, people);
        }
    }
    if deciding {
        decision::draw(app, frame, input);
    } else {
        draw_input(app, frame, input);
        completion::draw(app, frame, input);
    }
    footer::draw(app, frame, hints);
    overlays::draw(app, frame, main, input);
}

fn pane_block(title: impl Into<Line<'static>>, focused: bool) -> Block<'static> {
    Block::default()
        .borders(Borders::ALL)
        .border_style(border_style(focused))
        .title(title)
}

/// A pane's border: highlighted while the pane has the focus.
fn border_style(focused: bool) -> Style {
    if focused {
        theme::FOCUS_BORDER
    } else {
        theme::BORDER
    }
}

fn draw_input(app: &mut App, frame: &mut Frame, area: Rect) {
    let focused = has_focus(app, Focus::Input) && app.overlays.is_empty();
    let (title, style) = if !app.is_owner() {
        (" read-only ".to_owned(), theme::DIM)
    } else if app.sending() {
        (" sending… ".to_owned(), theme::DIM)
    } else {
        (" Message ".to_owned(), Style::default())
    };
    let block = pane_block(Line::from(title), focused);
    if !app.is_owner() {
        let why = if app.view_mode {
            "read-only: viewer (watching only)"
        } else {
            "read-only: you are a follower (F2 claims the session when nobody owns it)"
        };
        let text = Paragraph::new(Line::styled(why, theme::DIM)).block(block);
        frame.render_widget(text, area);
        return;
    }
    let placeholder = placeholder(app);
    if app.input.placeholder_text() != placeholder {
        app.input.set_placeholder_text(placeholder);
    }
    app.input.set_block(block);
    app.input.set_style(style);
    let cursor = if focused {
        theme::SELECTED
    } else {
        Style::default()
    };
    app.input.set_cursor_style(cursor);
    frame.render_widget(&app.input, area);
}

/// What the empty input box says: the shell agent runs what is typed as a
/// command (after asking), other agents take a message.
fn placeholder(app: &App) -> String {
    let enter = super::keymap::bindings::SEND.label;
    match app.session.as_ref().map(|s| s.agent.as_str()) {
        Some("shell") => format!("Type a shell command; {enter} asks to run it"),
        _ => format!("Type a message; {enter} sends"),
    }
}

/// A rectangle of `width` x `height` centred in `area`.
pub(super) fn centered(area: Rect, width: u16, height: u16) -> Rect {
    let width = width.min(area.width);
    let height = height.min(area.height);
    Rect {
        x: area.x + (area.width - width) / 2,
        y: area.y + (area.height - height) / 2,
        width,
        height,
    }
}

/// Whether a pane has the keys (the decision view takes them over it).
fn has_focus(app: &App, pane: Focus) -> bool {
    app.focus == pane && !app.decision.open
}

/// Whether an overlay of this kind is open.
fn has_overlay(app: &App, pick: impl Fn(&Overlay) -> bool) -> bool {
    app.overlays.iter().any(pick)
}

#[cfg(test)]
mod tests;
