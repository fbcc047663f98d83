//! The top bar: session, agent state and turn clock, connection, who I
//! am, pending requests, who owns the session, directory and model. Whole
//! segments are dropped from the right when the terminal is narrow.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::fit::{clock, short_path, width};
use crate::tui::app::ownership::Ownership;
use crate::tui::app::{App, ConnState};
use crate::tui::cells::state_word;
use crate::tui::theme;

/// The widest the directory gets in the bar.
const CWD_MAX: usize = 32;
const SEPARATOR: &str = " │ ";

pub fn draw(app: &App, frame: &mut Frame, area: Rect) {
    let bar = theme::STATUS_BAR;
    let mut spans = Vec::new();
    let mut used = 0;
    for (i, (text, style)) in segments(app).into_iter().enumerate() {
        let sep = if i == 0 { 0 } else { width(SEPARATOR) };
        if used + sep + width(&text) > area.width as usize {
            break;
        }
        if i > 0 {
            spans.push(Span::styled(SEPARATOR, bar));
        }
        used += sep + width(&text);
        spans.push(Span::styled(text, bar.patch(style)));
    }
    frame.render_widget(Paragraph::new(Line::from(spans)).style(bar), area);
}

/// The bar's segments, most important first.
fn segments(app: &App) -> Vec<(String, Style)> {
    let (session, agent) = match &app.session {
        Some(s) => (s.id.clone(), s.agent.clone()),
        None => ("…".into(), "…".into()),
    };
    let mut state = format!("{session} · {agent} · {}", state_word(app.agent_state));
    if let Some(elapsed) = app.turn_elapsed() {
        state.push_str(&format!(" {}", clock(elapsed)));
    }
    let identity = app
        .me
        .as_ref()
        .map(|m| m.identity.clone())
        .unwrap_or_else(|| "?".into());
    let mut segments = vec![
        (" tether ".to_owned(), theme::BOLD),
        (state, Style::default()),
        connection_label(app),
        (
            format!("{identity} ({})", app.role_label()),
            Style::default(),
        ),
    ];
    if !app.pending.is_empty() {
        segments.push((format!("⚠ {} pending", app.pending.len()), theme::WARN));
    }
    if let Some(owner) = ownership_label(app) {
        segments.push(owner);
    }
    if let Some(session) = &app.session {
        let home = std::env::var("HOME").ok();
        segments.push((
            short_path(&session.cwd, home.as_deref(), CWD_MAX),
            Style::default(),
        ));
    }
    if let Some(model) = &app.model {
        segments.push((model.clone(), Style::default()));
    }
    segments
}

/// "no owner (F2 claims it)" or "owner slot held for alice · 7s"; None
/// while someone owns the session.
pub fn ownership_label(app: &App) -> Option<(String, Style)> {
    match app.ownership() {
        Ownership::Owned => None,
        Ownership::Free { claimable: true } => Some((
            format!(
                "no owner ({} claims it)",
                crate::tui::keymap::bindings::CLAIM.label
            ),
            theme::WARN,
        )),
        Ownership::Free { claimable: false } => Some(("no owner".into(), theme::WARN)),
        Ownership::Held { identity, left } => {
            let secs = left.as_secs_f64().ceil() as u64;
            Some((
                format!("owner slot held for {identity} · {secs}s"),
                theme::WARN,
            ))
        }
    }
}

fn connection_label(app: &App) -> (String, Style) {
    match &app.conn {
        ConnState::Connecting => ("connecting".into(), theme::WARN),
        ConnState::Connected { rtt: Some(rtt) } => {
            (format!("connected {} ms", rtt.as_millis()), theme::OK)
        }
        ConnState::Connected { rtt: None } => ("connected".into(), theme::OK),
        ConnState::Reconnecting { at, .. } => {
            let secs = at.saturating_duration_since(app.now).as_secs_f64().ceil() as u64;
            (format!("reconnecting in {secs}s"), theme::WARN)
        }
        ConnState::Disconnected { reason } => (format!("disconnected: {reason}"), theme::ERROR),
    }
}
