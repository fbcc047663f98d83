//! The top bar: session, agent state and turn clock, connection, who I
//! am, pending requests, who owns the session, directory and model. Whole
//! segments are dropped from the right when the terminal is narrow.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::fit::{clock, short_path, truncate, width};
use crate::protocol::Usage;
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
        // A segment that does not fit is shortened if it has a short
        // form, else left out; a later, shorter one may still fit.
        let fits = |text: &str| used + sep + width(text) <= area.width as usize;
        let text = if fits(&text) {
            text
        } else {
            match short_form(app, &text) {
                Some(short) if fits(&short) => short,
                _ => continue,
            }
        };
        if i > 0 {
            spans.push(Span::styled(SEPARATOR, bar));
        }
        used += sep + width(&text);
        spans.push(Span::styled(text, bar.patch(style)));
    }
    frame.render_widget(Paragraph::new(Line::from(spans)).style(bar), area);
}

/// Columns a session's id may take in the bar.
const SESSION_MAX: usize = 20;

/// The bar's segments, most important first.
fn segments(app: &App) -> Vec<(String, Style)> {
    // Long ids (a directory's name and hash) must leave room for who you
    // are; the session list has the whole name.
    let (session, agent) = match &app.session {
        Some(s) => (truncate(&s.id, SESSION_MAX), s.agent.clone()),
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
    let who = (
        format!("{identity} ({})", app.role_label()),
        Style::default(),
    );
    let mut segments = vec![
        (" tether ".to_owned(), theme::BOLD),
        (state, Style::default()),
    ];
    // Who you are matters more than a healthy connection's round trip;
    // a connection in trouble matters more than anything after the state.
    if matches!(app.conn, ConnState::Connected { .. }) {
        segments.extend([who, connection_label(app)]);
    } else {
        segments.extend([connection_label(app), who]);
    }
    if !app.pending.is_empty() {
        segments.push((format!("⚠ {} pending", app.pending.len()), theme::WARN));
    }
    if app.waiting_elsewhere > 0 {
        let inbox = crate::tui::keymap::binding(
            crate::tui::keymap::Context::Sessions,
            crate::tui::keymap::Action::OpenInbox,
        )
        .map_or("", |b| b.label);
        let text = format!("⚠ {} elsewhere ({inbox})", app.waiting_elsewhere);
        segments.push((text, theme::WARN));
    }
    if let Some(owner) = ownership_label(app) {
        segments.push(owner);
    }
    if let Some(mode) = app.agent.mode_name() {
        let mode = crate::tui::cells::sanitize_name(mode);
        segments.push((format!("mode: {mode}"), theme::BOLD));
    }
    if let Some(usage) = &app.agent.usage {
        segments.push((usage_label(usage), Style::default()));
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
                crate::tui::keymap::binding(
                    crate::tui::keymap::Context::Global,
                    crate::tui::keymap::Action::ClaimOwnership
                )
                .map_or("F2", |b| b.label)
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

/// `12.3k/200k tok · $0.42`: the context's fill and the cost so far.
pub fn usage_label(usage: &Usage) -> String {
    let mut label = format!("{}/{} tok", tokens(usage.used), tokens(usage.size));
    if let Some(cost) = usage.cost {
        match usage.currency.as_deref() {
            None | Some("USD") => label.push_str(&format!(" · ${cost:.2}")),
            Some(other) => {
                let other = crate::tui::cells::sanitize_name(other);
                label.push_str(&format!(" · {cost:.2} {other}"));
            }
        }
    }
    label
}

/// 950, 12.3k, 200k, 1.5M.
fn tokens(n: u64) -> String {
    let scaled = |n: u64, unit: u64, suffix: &str| {
        let value = n as f64 / unit as f64;
        if value < 100.0 && !n.is_multiple_of(unit) {
            format!("{value:.1}{suffix}")
        } else {
            format!("{}{suffix}", value.round() as u64)
        }
    };
    match n {
        0..1_000 => n.to_string(),
        1_000..1_000_000 => scaled(n, 1_000, "k"),
        _ => scaled(n, 1_000_000, "M"),
    }
}

/// What a segment says when its whole text does not fit: the connection
/// through a broker keeps the way (`via nats://…`) and drops the round
/// trip, since the way is what tells a relayed session from a direct one.
fn short_form(app: &App, text: &str) -> Option<String> {
    let via = app.hints.via.as_deref()?;
    let connected = matches!(app.conn, ConnState::Connected { .. });
    (connected && text.starts_with("connected") && text.ends_with(via))
        .then(|| format!("via {via}"))
}

fn connection_label(app: &App) -> (String, Style) {
    // Through a broker the way is part of the connection: `via nats://…`.
    let via = app
        .hints
        .via
        .as_deref()
        .map(|via| format!(" via {via}"))
        .unwrap_or_default();
    match &app.conn {
        ConnState::Connecting => (format!("connecting{via}"), theme::WARN),
        ConnState::Connected { rtt: Some(rtt) } => {
            (format!("connected {} ms{via}", rtt.as_millis()), theme::OK)
        }
        ConnState::Connected { rtt: None } => (format!("connected{via}"), theme::OK),
        ConnState::Reconnecting { at, .. } => {
            let secs = at.saturating_duration_since(app.now).as_secs_f64().ceil() as u64;
            (format!("reconnecting in {secs}s"), theme::WARN)
        }
        ConnState::Disconnected { reason } => (format!("disconnected: {reason}"), theme::ERROR),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The top row of the whole screen, `width` columns wide.
    fn bar(rig: &mut crate::tui::app::tests::Rig, width: u16) -> String {
        use ratatui::Terminal;
        use ratatui::backend::TestBackend;
        let mut terminal = Terminal::new(TestBackend::new(width, 12)).unwrap();
        terminal
            .draw(|frame| crate::tui::ui::draw(&mut rig.app, frame))
            .unwrap();
        let screen = terminal.backend().to_string();
        screen.lines().next().unwrap_or_default().to_owned()
    }

    #[test]
    fn the_mode_and_usage_show_and_the_usage_goes_first_when_narrow() {
        use crate::protocol::{AgentMode, EventKind, Role};
        use crate::tui::app::tests::{Rig, record};
        let mut rig = Rig::new(Role::Owner, false);
        assert!(!bar(&mut rig, 120).contains("mode:"));
        let code = AgentMode {
            id: "code".into(),
            name: "Code".into(),
            description: None,
        };
        let mode = EventKind::Mode {
            mode: "code".into(),
            modes: Some(vec![code]),
            by: Some("alice".into()),
        };
        rig.event(record(1, mode));
        let usage = EventKind::Usage {
            usage: Usage {
                used: 12_300,
                size: 200_000,
                cost: Some(0.42),
                currency: None,
            },
        };
        rig.event(record(2, usage));
        let wide = bar(&mut rig, 120);
        assert!(
            wide.contains("mode: Code │ 12.3k/200k tok · $0.42"),
            "{wide}"
        );
        let narrow = bar(&mut rig, 80);
        assert!(narrow.contains("mode: Code"), "{narrow}");
        assert!(!narrow.contains("tok"), "whole segments drop: {narrow}");
    }

    #[test]
    fn a_watcher_keeps_who_it_is_when_the_state_is_long() {
        use crate::protocol::{AgentState, EventKind, Role};
        use crate::tui::app::tests::{Rig, record};
        let mut rig = Rig::new(Role::Follower, true);
        if let Some(session) = &mut rig.app.session {
            session.id = "a-rather-long-session-name-4f2a91c0".into();
        }
        rig.event(record(1, EventKind::status(AgentState::AwaitingPermission)));
        let narrow = bar(&mut rig, 80);
        assert!(narrow.contains("alice (viewer)"), "{narrow}");
        assert!(
            !narrow.contains("connected"),
            "the round trip goes first: {narrow}"
        );
    }

    #[test]
    fn a_relayed_session_says_so_even_when_narrow() {
        use crate::protocol::Role;
        use crate::tui::app::tests::Rig;
        let mut rig = Rig::new(Role::Owner, false);
        rig.app.hints.via = Some("nats://127.0.0.1:14333".into());
        rig.app.conn = ConnState::Connected {
            rtt: Some(std::time::Duration::from_millis(3)),
        };
        let wide = bar(&mut rig, 160);
        assert!(
            wide.contains("connected 3 ms via nats://127.0.0.1:14333"),
            "{wide}"
        );
        let narrow = bar(&mut rig, 80);
        assert!(narrow.contains("via nats://127.0.0.1:14333"), "{narrow}");
        assert!(!narrow.contains("3 ms"), "the round trip goes: {narrow}");
    }

    #[test]
    fn usage_reads_short() {
        let usage = |used, size, cost, currency: Option<&str>| Usage {
            used,
            size,
            cost,
            currency: currency.map(str::to_owned),
        };
        assert_eq!(
            usage_label(&usage(12_300, 200_000, Some(0.42), None)),
            "12.3k/200k tok · $0.42"
        );
        assert_eq!(
            usage_label(&usage(950, 1_500_000, None, None)),
            "950/1.5M tok"
        );
        assert_eq!(
            usage_label(&usage(123_456, 1_000_000, Some(3.0), Some("EUR"))),
            "123k/1M tok · 3.00 EUR"
        );
    }
}
