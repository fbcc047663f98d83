//! The deck on screen: the session on screen, the session list (a sidebar
//! on wide screens, a full-screen picker with a filter on narrow ones) and
//! the inbox of every waiting request, answered in place with the
//! request's own decision view.

use crate::tui::keymap::{self, Action, Context, words};
use std::time::{Duration, SystemTime};

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph};

use super::fit::{truncate as fit_text, width as display_width};
use super::layout::{SidebarRow, deck_layout, sidebar_rows};
use super::{decision, draw_in};
use crate::protocol::{AgentState, SessionSummary};
use crate::tui::cells::state_word;
use crate::tui::deck::create::{Field, NewSession};
use crate::tui::deck::hosts::{HostView, LobbyState};
use crate::tui::deck::inbox::InboxEntry;
use crate::tui::deck::manage::{Manage, ManageState, SessionOp};
use crate::tui::deck::{Deck, Panel, SessionKey};
use crate::tui::sanitize::sanitize_plain;
use crate::tui::theme;

pub fn draw(deck: &mut Deck, frame: &mut Frame) {
    let layout = deck_layout(deck);
    if let Some(Panel::Picker { filter, selected }) = deck.panel.clone() {
        picker(deck, frame, layout.session, &filter, selected);
        return;
    }
    if let Some(Panel::Manage(manage)) = deck.panel.clone() {
        picker(deck, frame, layout.session, &manage.filter, manage.selected);
        manage_popup(deck, frame, layout.session, &manage);
        return;
    }
    if let Some(area) = &layout.sidebar {
        sidebar(deck, frame, *area);
    }
    match deck.tabs.get_mut(deck.active) {
        Some(tab) if tab.app.decision_area.is_none() => draw_in(&mut tab.app, frame),
        // Its decision view is the inbox's: the session is under the panel.
        Some(_) => {}
        None => waiting(deck, frame, layout.session),
    }
    match deck.panel.clone() {
        Some(Panel::Inbox { selected }) => {
            if let Some((list, detail)) = layout.inbox {
                inbox(deck, frame, (list, detail), selected);
            }
        }
        Some(Panel::NewSession(form)) => new_session(deck, frame, layout.session, &form),
        _ => {}
    }
}

fn new_session(deck: &Deck, frame: &mut Frame, area: Rect, form: &NewSession) {
    let host = &deck.hosts[form.host];
    let width = area.width.min(76);
    let missing = host.unavailable.len() as u16;
    let popup = super::centered(area, width, 11 + missing + u16::from(missing > 0));
    frame.render_widget(Clear, popup);
    let field = |f: Field, label: &str, value: String, hint: &str| {
        let focused = form.field == f;
        let mut spans = vec![
            Span::styled(format!("{label:>10}  "), theme::DIM),
            Span::styled(
                value,
                if focused {
                    theme::BOLD
                } else {
                    Style::default()
                },
            ),
        ];
        if focused {
            spans.push(Span::styled("▏", theme::FOCUS_BORDER));
        }
        spans.push(Span::styled(format!("  {hint}"), theme::DIM));
        Line::from(spans)
    };
    let preset = host.presets.get(form.preset).cloned().unwrap_or_default();
    let base = host.workspaces.first().cloned().unwrap_or_default();
    let mut lines = vec![
        field(Field::Dir, "directory", sanitize_plain(&form.dir), ""),
        Line::styled(
            fit_text(
                &format!("            relative to {}", sanitize_plain(&base)),
                usize::from(width) - 2,
            ),
            theme::DIM,
        ),
        field(Field::Preset, "agent", format!("◂ {preset} ▸"), "←/→"),
        field(
            Field::Name,
            "name",
            sanitize_plain(&form.name),
            "(empty: the directory's)",
        ),
        Line::raw(""),
    ];
    if !host.unavailable.is_empty() {
        lines.push(Line::styled("not installed on this host:", theme::DIM));
    }
    for preset in &host.unavailable {
        let how = preset.install.as_deref().unwrap_or(&preset.why);
        let line = format!("{:>10}  {}", preset.name, how);
        lines.push(Line::styled(
            fit_text(&sanitize_plain(&line), usize::from(width) - 2),
            theme::DIM,
        ));
    }
    if form.asked.is_some() {
        lines.push(Line::styled("creating…", theme::DIM));
    }
    if let Some(error) = &form.error {
        lines.push(Line::styled(
            fit_text(&sanitize_plain(error), usize::from(width) - 2),
            theme::ERROR,
        ));
    }
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(theme::FOCUS_BORDER)
        .title(format!(" New session on {} ", sanitize_plain(&host.name)))
        .title_bottom(Line::styled(
            keymap::panel_hints(Context::NewSession, None),
            theme::DIM,
        ));
    frame.render_widget(Paragraph::new(lines).block(block), popup);
}

/// The y/n question over the picker, then the host's answer.
fn manage_popup(deck: &Deck, frame: &mut Frame, area: Rect, manage: &Manage) {
    let width = area.width.min(72);
    let text_width = usize::from(width.saturating_sub(2));
    let popup = super::centered(area, width, 7);
    frame.render_widget(Clear, popup);
    let host = deck.hosts.get(manage.key.host).map(|h| h.name.as_str());
    let session = sanitize_plain(&manage.key.id);
    let verb = manage.op.verb();
    let (line, style, hints) = match &manage.state {
        ManageState::Asking => (
            manage.op.consequence().to_owned(),
            theme::DIM,
            keymap::panel_hints(Context::Question, None),
        ),
        ManageState::Sent(_) => (
            format!("{verb}: waiting for the host…"),
            theme::DIM,
            String::new(),
        ),
        ManageState::Done => (
            match manage.op {
                SessionOp::Delete => format!("deleted {session}"),
                SessionOp::Restart => format!("restarted {session}"),
            },
            theme::INFO,
            "any key: back".to_owned(),
        ),
        ManageState::Refused(why) => (
            format!("not done: {}", sanitize_plain(why)),
            theme::ERROR,
            "any key: back".to_owned(),
        ),
    };
    // Wrapped: a refusal's reason is the point of it.
    let lines = vec![Line::raw(""), Line::styled(line, style)];
    let title = format!(
        " {} {session} on {}? ",
        capitalised(verb),
        sanitize_plain(host.unwrap_or("?"))
    );
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(theme::FOCUS_BORDER)
        .title(fit_text(&title, text_width))
        .title_bottom(Line::styled(hints, theme::DIM));
    let text = Paragraph::new(lines)
        .block(block)
        .wrap(ratatui::widgets::Wrap { trim: true });
    frame.render_widget(text, popup);
}

fn capitalised(word: &str) -> String {
    let mut chars = word.chars();
    chars
        .next()
        .map(|first| first.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

/// Nothing on screen yet: attached to a host whose lobby has not answered.
fn waiting(deck: &Deck, frame: &mut Frame, area: Rect) {
    let lines: Vec<Line> = deck
        .hosts
        .iter()
        .map(|h| Line::styled(format!("{}: {}", h.name, lobby_word(h)), theme::DIM))
        .collect();
    let block = Block::default().borders(Borders::ALL).title(" tether ");
    frame.render_widget(Paragraph::new(lines).block(block), area);
}

fn lobby_word(host: &HostView) -> String {
    match &host.lobby {
        LobbyState::Connecting => "connecting…".into(),
        LobbyState::Live if host.sessions.is_empty() => "no sessions".into(),
        LobbyState::Live if host.sessions.len() == 1 => "1 session".into(),
        LobbyState::Live => format!("{} sessions", host.sessions.len()),
        LobbyState::Down { reason } => format!("down: {}", sanitize_plain(reason)),
        LobbyState::Unavailable { reason } => {
            format!("no session list: {}", sanitize_plain(reason))
        }
    }
}

/// A host's lobby in a few words, for the sidebar: the end of a failure's
/// reason says the most (`down: connection refused`).
fn short_state(host: &HostView) -> String {
    let tail = |reason: &str| {
        let reason = sanitize_plain(reason);
        reason.rsplit(": ").next().unwrap_or_default().to_owned()
    };
    match &host.lobby {
        LobbyState::Connecting => "connecting…".into(),
        LobbyState::Live => String::new(),
        LobbyState::Down { reason } => format!("down: {}", tail(reason)),
        LobbyState::Unavailable { reason } => format!("no list: {}", tail(reason)),
    }
}

fn state_style(state: AgentState) -> Style {
    match state {
        AgentState::Running => theme::OK,
        AgentState::AwaitingPermission => theme::WARN,
        AgentState::Exited => theme::ERROR,
        AgentState::Starting | AgentState::Idle | AgentState::Unknown => theme::DIM,
    }
}

/// A short age: `now`, `42s`, `5m`, `3h`, `2d`.
pub fn short_age(age: Duration) -> String {
    let secs = age.as_secs();
    match secs {
        0..=4 => "now".into(),
        5..=59 => format!("{secs}s"),
        60..=3599 => format!("{}m", secs / 60),
        3600..=86_399 => format!("{}h", secs / 3600),
        _ => format!("{}d", secs / 86_400),
    }
}

/// What the list knows of a session: the lobby's summary, else what its
/// open connection says.
fn summary_of<'a>(deck: &'a Deck, key: &SessionKey) -> Option<&'a SessionSummary> {
    deck.hosts.get(key.host)?.sessions.get(&key.id)
}

fn sidebar(deck: &Deck, frame: &mut Frame, area: Rect) {
    let wall = SystemTime::now();
    let active = deck.tabs.get(deck.active).map(|t| t.key.clone());
    let width = usize::from(area.width.saturating_sub(2));
    let mut lines = Vec::new();
    // The rows the layout made clickable, in the same order.
    for row in sidebar_rows(deck) {
        match row {
            SidebarRow::Host(n) => lines.push(Line::styled(
                fit_text(&sanitize_plain(&deck.hosts[n].name), width),
                theme::HEADING,
            )),
            SidebarRow::HostState(n) => {
                let state = format!("  {}", short_state(&deck.hosts[n]));
                lines.push(Line::styled(fit_text(&state, width), theme::WARN));
            }
            SidebarRow::Session(key) => {
                let is_active = active.as_ref() == Some(&key);
                lines.push(session_line(deck, &key, is_active, width));
                lines.push(detail_line(deck, &key, wall, width));
            }
        }
    }
    let pending = deck.pending_yours();
    let title = if pending > 0 {
        format!(" Sessions · ⚠ {pending} ")
    } else {
        " Sessions ".to_owned()
    };
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(theme::BORDER)
        .title(title)
        .title_bottom(Line::styled(sidebar_hints(), theme::DIM));
    frame.render_widget(Paragraph::new(lines).block(block), area);
}

fn session_line(deck: &Deck, key: &SessionKey, active: bool, width: usize) -> Line<'static> {
    let summary = summary_of(deck, key);
    // Requests for this client to answer, else others' (their owner's).
    let (pending, others) = deck.pending_in(key);
    let badge = match (pending, others) {
        (0, 0) => String::new(),
        (0, others) => format!(" ({others})"),
        (pending, _) => format!(" ⚠{pending}"),
    };
    let marker = if active { "▌" } else { " " };
    let room = width.saturating_sub(1 + display_width(&badge));
    let name = fit_text(&sanitize_plain(&key.id), room);
    let title = summary.and_then(shown_title).map_or_else(String::new, |t| {
        fit_text(&format!(" {t}"), room.saturating_sub(display_width(&name)))
    });
    let pad = room.saturating_sub(display_width(&name) + display_width(&title));
    let style = if active {
        theme::BOLD
    } else {
        Style::default()
    };
    let state = summary.map_or(AgentState::Unknown, |s| s.state);
    Line::from(vec![
        Span::styled(marker, theme::FOCUS_BORDER),
        Span::styled(name, style),
        Span::styled(title, theme::DIM),
        Span::raw(" ".repeat(pad)),
        Span::styled(
            badge,
            match (pending, others) {
                (0, 0) => state_style(state),
                (0, _) => theme::DIM,
                _ => theme::WARN,
            },
        ),
    ])
}

/// A session's title as the list shows it: not when it only repeats the
/// id or the agent (a session nobody titled is called after its agent).
fn shown_title(summary: &SessionSummary) -> Option<String> {
    let title = sanitize_plain(summary.title.trim());
    let repeats = title == summary.id
        || title == summary.agent
        || summary.preset.as_deref() == Some(title.as_str());
    (!title.is_empty() && !repeats).then_some(title)
}

fn detail_line(deck: &Deck, key: &SessionKey, wall: SystemTime, width: usize) -> Line<'static> {
    let Some(summary) = summary_of(deck, key) else {
        // Opened by URL on a host without a list, or gone from its list.
        let why = match deck.hosts[key.host].lobby {
            LobbyState::Live => "  stopped, or not on this host",
            _ => "  (opened by URL)",
        };
        return Line::styled(fit_text(why, width), theme::DIM);
    };
    let host = &deck.hosts[key.host];
    let mut parts = vec![
        summary
            .preset
            .clone()
            .unwrap_or_else(|| summary.agent.clone()),
    ];
    parts.push(state_word(summary.state).to_owned());
    if let Some(owner) = &summary.owner {
        parts.push(sanitize_plain(owner));
    }
    if let Some(age) = host.age(&summary.last_activity, wall) {
        parts.push(short_age(age));
    }
    Line::from(vec![
        Span::raw("  "),
        Span::styled(
            fit_text(&sanitize_plain(&parts.join(" · ")), width.saturating_sub(2)),
            state_style(summary.state).patch(theme::DIM),
        ),
    ])
}

fn picker(deck: &Deck, frame: &mut Frame, area: Rect, filter: &str, selected: usize) {
    frame.render_widget(Clear, area);
    let wall = SystemTime::now();
    let width = usize::from(area.width.saturating_sub(2));
    let matches = deck.picked(filter);
    let mut lines = vec![
        Line::from(vec![
            Span::styled("filter: ", theme::DIM),
            Span::raw(sanitize_plain(filter)),
            Span::styled("▏", theme::FOCUS_BORDER),
        ]),
        Line::raw(""),
    ];
    for (n, key) in matches.iter().enumerate() {
        let host = &deck.hosts[key.host];
        let mut text = if deck.hosts.len() > 1 {
            format!("{}/{}", host.name, key.id)
        } else {
            key.id.clone()
        };
        if let Some(summary) = summary_of(deck, key) {
            if let Some(title) = shown_title(summary) {
                text.push_str(&format!("  {title}"));
            }
            text.push_str(&format!("  {}", state_word(summary.state)));
            match deck.pending_in(key) {
                (0, 0) => {}
                (0, others) => text.push_str(&format!("  {others} waiting for its owner")),
                (pending, _) => text.push_str(&format!("  ⚠ {pending} waiting")),
            }
            if let Some(owner) = &summary.owner {
                text.push_str(&format!("  {owner}"));
            }
            if let Some(age) = host.age(&summary.last_activity, wall) {
                text.push_str(&format!("  {}", short_age(age)));
            }
        }
        let style = if n == selected {
            theme::SELECTED
        } else {
            Style::default()
        };
        lines.push(Line::styled(fit_text(&sanitize_plain(&text), width), style));
    }
    if matches.is_empty() {
        lines.push(Line::styled("no session matches", theme::DIM));
    }
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(theme::FOCUS_BORDER)
        .title(" Sessions ")
        .title_bottom(Line::styled(
            keymap::panel_hints(Context::Picker, Some("type to filter")),
            theme::DIM,
        ));
    frame.render_widget(Paragraph::new(lines).block(block), area);
}

fn inbox(deck: &mut Deck, frame: &mut Frame, (list, detail): (Rect, Rect), selected: usize) {
    frame.render_widget(Clear, list.union(detail));
    let entries = deck.inbox();
    let selected = selected.min(entries.len().saturating_sub(1));
    let width = usize::from(list.width.saturating_sub(2));
    let mut lines = Vec::new();
    for (n, entry) in entries.iter().enumerate() {
        let first_of_others = !entry.yours && (n == 0 || entries[n - 1].yours);
        if first_of_others {
            let heading = "owned by someone else: theirs to answer";
            lines.push(Line::styled(fit_text(heading, width), theme::HEADING));
        }
        let style = match (n == selected, entry.yours) {
            (true, _) => theme::SELECTED,
            (false, true) => Style::default(),
            (false, false) => theme::DIM,
        };
        let text = inbox_line(deck, entry);
        lines.push(Line::styled(fit_text(&text, width), style));
    }
    if let Some(said) = &deck.inbox_said {
        lines.push(Line::styled(fit_text(said, width), theme::OK));
    }
    let yours = entries.iter().filter(|e| e.yours).count();
    let others = entries.len() - yours;
    let title = match others {
        0 => format!(" Inbox · {yours} waiting "),
        _ => format!(" Inbox · {yours} waiting for you · {others} for others "),
    };
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(theme::FOCUS_BORDER)
        .title(title)
        .title_bottom(Line::styled(inbox_hints(), theme::DIM));
    frame.render_widget(Paragraph::new(lines).block(block), list);
    let Some(entry) = entries.get(selected) else {
        return;
    };
    let Some(tab) = deck.tabs.iter_mut().find(|t| t.key == entry.key) else {
        return;
    };
    let app = &mut tab.app;
    // The deck opened it on this request, once the session had it.
    let layout = app.layout();
    match layout.decision.filter(|_| app.decision_area.is_some()) {
        Some(areas) => decision::draw(app, frame, &areas),
        None => {
            let note = Paragraph::new(Line::styled("connecting to the session…", theme::DIM))
                .block(Block::default().borders(Borders::ALL));
            frame.render_widget(note, detail);
        }
    }
}

/// One request of the inbox: its age, session, what it asks and, when
/// someone else answers it, who.
fn inbox_line(deck: &Deck, entry: &InboxEntry) -> String {
    let host = &deck.hosts[entry.key.host];
    let session = if deck.hosts.len() > 1 {
        format!("{}/{}", host.name, entry.key.id)
    } else {
        entry.key.id.clone()
    };
    let age = host
        .age(&entry.requested_at, SystemTime::now())
        .map(short_age)
        .unwrap_or_default();
    let mut text = format!("{age:>4}  {session}  {}", entry.what());
    if let (false, Some(owner)) = (entry.yours, &entry.owner) {
        text.push_str(&format!("  ({owner})"));
    }
    sanitize_plain(&text)
}

/// The inbox's keys, led by the answers its request's decision view takes.
fn inbox_hints() -> String {
    let answer = [Action::ChooseNumbered, Action::Allow, Action::Deny]
        .into_iter()
        .filter_map(|action| keymap::binding(Context::Decision, action))
        .map(|b| b.hint_label())
        .collect::<Vec<_>>()
        .join("/");
    keymap::panel_hints(Context::Inbox, Some(&format!("{answer} {}", words::ANSWER)))
}

/// The session list's keys: a click, the session keys, the list's own.
fn sidebar_hints() -> String {
    let label = |action| keymap::binding(Context::Sessions, action).map_or("", |b| b.label);
    format!(
        " click, {} · {} ",
        label(Action::PrevSession),
        label(Action::SessionList)
    )
}
