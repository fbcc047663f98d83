//! Rendering: a pure function of the application state.

mod completion;
pub mod decision;
pub mod deck;
pub mod fit;
mod footer;
pub mod help;
pub mod layout;
mod modals;
mod pane_frame;
mod panes;
mod people;
mod rules;
mod status_bar;

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::Line;
use ratatui::widgets::{Block, Borders, Paragraph};

use super::app::{App, Focus};
use super::theme;

/// Draws one session alone on the whole frame (tests, benches): the
/// frame's size is its area, as a resize message would make it. The
/// program draws through the deck, which sends those messages.
pub fn draw(app: &mut App, frame: &mut Frame) {
    if app.area != frame.area() {
        app.resize(frame.area());
    }
    draw_in(app, frame);
}

/// Draws `app` in its area of the frame (the deck keeps the rest), as
/// its layout places it.
pub fn draw_in(app: &mut App, frame: &mut Frame) {
    let layout = app.layout();
    status_bar::draw(app, frame, layout.status);
    panes::transcript(app, frame, layout.transcript, layout.transcript_rows);
    if let Some(area) = layout.permissions {
        panes::permissions(app, frame, area);
    }
    if let Some(area) = layout.participants {
        panes::participants(app, frame, area);
    }
    match &layout.decision {
        Some(areas) => decision::draw(app, frame, areas),
        None => {
            draw_input(app, frame, layout.bottom);
            completion::draw(app, frame, layout.bottom);
        }
    }
    let bottom = layout.decision.map_or(layout.bottom, |d| d.frame);
    footer::draw_status(app, frame, bottom);
    footer::draw(app, frame, layout.footer);
    modals::draw(app, frame, &layout);
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
    let focused = has_focus(app, Focus::Input) && app.modals.is_empty();
    let (title, style) = if !app.may_write() {
        (" read-only ".to_owned(), theme::DIM)
    } else if app.sending() {
        (" sending… ".to_owned(), theme::DIM)
    } else if !app.is_owner() {
        // A watched session: sending claims it.
        (
            " Message · sending claims the session ".to_owned(),
            Style::default(),
        )
    } else {
        (" Message ".to_owned(), Style::default())
    };
    let mut block = pane_block(Line::from(title), focused);
    if let Some(working) = working(app) {
        block = block.title_top(Line::styled(working, theme::INFO).right_aligned());
    }
    if !app.may_write() {
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

/// While a turn runs, where the user looks: a spinner, its clock and
/// (for the owner) the key that interrupts it.
fn working(app: &App) -> Option<String> {
    const FRAMES: [char; 10] = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];
    if app.agent_state != crate::protocol::AgentState::Running {
        return None;
    }
    let elapsed = app.turn_elapsed().unwrap_or_default();
    let frame = FRAMES[(elapsed.as_secs() % FRAMES.len() as u64) as usize];
    let clock = fit::clock(elapsed);
    let interrupt = super::keymap::binding(
        super::keymap::Context::Global,
        super::keymap::Action::Interrupt,
    )
    .filter(|_| app.is_owner())
    .map(|b| format!(" · {} to interrupt", b.label))
    .unwrap_or_default();
    Some(format!(" {frame} working {clock}{interrupt} "))
}

/// What the empty input box says: the shell agent runs what is typed as a
/// command (after asking), other agents take a message.
fn placeholder(app: &App) -> String {
    let enter = super::keymap::binding(super::keymap::Context::Input, super::keymap::Action::Send)
        .map_or(super::keymap::bindings::SEND.label, |b| b.label);
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
    app.focus == pane && !app.decision.is_open()
}

#[cfg(test)]
mod tests;
