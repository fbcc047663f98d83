//! Where everything goes, computed in one place from the state and the
//! area it is given (the deck's screen, a session's part of it). Drawing
//! uses it, and so do the keys and clicks that depend on it: a page of a
//! request's preview, the help's last row, a click on the session list.
//! Nothing here is learnt from a frame that was drawn.

use ratatui::layout::{Constraint, Direction, Layout, Rect};

use super::{decision, help};
use crate::tui::app::{App, Focus, Modal};
use crate::tui::deck::{Deck, Panel, SessionKey};

/// Terminals narrower than this get one column (no side panes): at 80
/// columns side panes would leave the transcript half the screen.
const WIDE: u16 = 100;
/// While a decision shows, the side panes need this much room too (the
/// decision lists the requests itself; squeezed panes only cost width).
const WIDE_WHILE_DECIDING: u16 = 100;
const TALL_WHILE_DECIDING: u16 = 10;
/// Columns of the session list beside the session.
pub const SIDEBAR: u16 = 30;

/// One session's screen.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AppLayout {
    pub status: Rect,
    /// Everything between the status bar and the bottom pane.
    pub main: Rect,
    /// The input box, or the decision view while a request is shown.
    pub bottom: Rect,
    pub footer: Rect,
    pub transcript: Rect,
    /// Rows of the transcript pane's text (a search prompt takes one).
    pub transcript_rows: u16,
    pub permissions: Option<Rect>,
    pub participants: Option<Rect>,
    pub decision: Option<decision::Areas>,
    pub help: Option<help::Areas>,
}

impl AppLayout {
    /// Whether the decision view has the bottom.
    pub fn deciding(&self) -> bool {
        self.decision.is_some()
    }
}

/// The layout of `app` in its area. The decision view's wrapped lines
/// must be ready ([`App::layout`] sees to it).
pub fn app_layout(app: &App) -> AppLayout {
    let area = app.area;
    let deciding = app.decision_shown();
    let bottom_height = if deciding {
        decision::height(app, area.height)
    } else {
        (app.input.lines().len() as u16 + 2).clamp(3, 8)
    };
    let [status, main, bottom, footer] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Min(3),
        Constraint::Length(bottom_height),
        Constraint::Length(1),
    ])
    .areas(area);
    let mut layout = AppLayout {
        status,
        main,
        bottom,
        footer,
        ..AppLayout::default()
    };
    panes(app, &mut layout, deciding);
    let searching = app.modals.iter().any(|m| matches!(m, Modal::Search { .. }));
    let inner_rows = layout.transcript.height.saturating_sub(2);
    layout.transcript_rows = inner_rows.saturating_sub(u16::from(searching));
    if deciding {
        // On its own (the inbox), the view takes the rows it needs too.
        let area = match app.decision_area {
            Some(area) => Rect {
                height: area.height.min(decision::height(app, area.height + 6)),
                ..area
            },
            None => bottom,
        };
        layout.decision = Some(decision::areas(app, area));
    }
    if app.modals.iter().any(|m| matches!(m, Modal::Help { .. })) {
        layout.help = Some(help::areas(main, app.hints.watch_command.as_deref()));
    }
    layout
}

/// The transcript and the side panes in `layout.main`.
fn panes(app: &App, layout: &mut AppLayout, deciding: bool) {
    let (area, main) = (app.area, layout.main);
    let roomy = area.width >= WIDE_WHILE_DECIDING && main.height >= TALL_WHILE_DECIDING;
    if area.width >= WIDE && (!deciding || roomy) {
        let side = (area.width * 35 / 100).clamp(30, 60);
        let [left, right] =
            Layout::horizontal([Constraint::Min(20), Constraint::Length(side)]).areas(main);
        let perm_height =
            (app.pending.len() as u16 + 2).clamp(4, right.height.saturating_sub(5).max(4));
        let [top, bottom] =
            Layout::vertical([Constraint::Length(perm_height), Constraint::Min(3)]).areas(right);
        layout.transcript = left;
        layout.permissions = Some(top);
        layout.participants = Some(bottom);
        return;
    }
    // Narrow (or deciding in little room): the transcript takes the
    // width; pending requests show above the input only when there are
    // any (or the pane has focus), not while the decision view shows
    // them in full below.
    let focused = |pane| app.focus == pane && !app.decision.is_open();
    let show_perms = (!app.pending.is_empty() && !deciding) || focused(Focus::Permissions);
    let perm_height = if show_perms {
        (app.pending.len() as u16 + 2).clamp(3, 6)
    } else {
        0
    };
    let show_people = focused(Focus::Participants);
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
    layout.transcript = left;
    layout.permissions = show_perms.then_some(perms);
    layout.participants = show_people.then_some(people);
}

/// The deck's screen.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeckLayout {
    /// The session list beside the session (its rows: [`sidebar_clicks`]).
    pub sidebar: Option<Rect>,
    /// The session on screen (and the inbox and new-session panels).
    pub session: Rect,
    /// The inbox: its list, and the highlighted request's decision view.
    pub inbox: Option<(Rect, Rect)>,
}

/// Lines of the session list, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SidebarRow {
    /// A host's name (when there are several).
    Host(usize),
    /// A host whose lobby is not live says so.
    HostState(usize),
    /// A session: two lines.
    Session(SessionKey),
}

/// The session list's rows: every host's line when there are several
/// (one that is down says so), then its sessions.
pub fn sidebar_rows(deck: &Deck) -> Vec<SidebarRow> {
    use crate::tui::deck::hosts::LobbyState;
    let several_hosts = deck.hosts.len() > 1;
    let listed = deck.listed();
    let mut rows = Vec::new();
    for (n, host) in deck.hosts.iter().enumerate() {
        if several_hosts {
            rows.push(SidebarRow::Host(n));
            if !matches!(host.lobby, LobbyState::Live) {
                rows.push(SidebarRow::HostState(n));
            }
        }
        for key in listed.iter().filter(|k| k.host == n) {
            rows.push(SidebarRow::Session(key.clone()));
        }
    }
    rows
}

pub fn deck_layout(deck: &Deck) -> DeckLayout {
    let area = deck.screen;
    let picker = matches!(deck.panel, Some(Panel::Picker { .. }));
    if picker || !deck.sidebar_shown() {
        return DeckLayout {
            sidebar: None,
            session: area,
            inbox: inbox_areas(deck, area),
        };
    }
    let [side, session] =
        Layout::horizontal([Constraint::Length(SIDEBAR), Constraint::Min(40)]).areas(area);
    DeckLayout {
        sidebar: Some(side),
        session,
        inbox: inbox_areas(deck, session),
    }
}

/// The screen row of each session's two lines in the session list at
/// `side` (a click there switches to it). Made for a click only: the
/// layout itself is computed on every message.
pub fn sidebar_clicks(deck: &Deck, side: Rect) -> Vec<(u16, SessionKey)> {
    let mut clickable = Vec::new();
    let mut line = 0;
    for row in sidebar_rows(deck) {
        let y = side.y + 1 + line;
        match row {
            SidebarRow::Session(key) => {
                clickable.push((y, key.clone()));
                clickable.push((y + 1, key));
                line += 2;
            }
            SidebarRow::Host(_) | SidebarRow::HostState(_) => line += 1,
        }
    }
    clickable
}

/// The inbox's list (as tall as its entries, up to a third) and the
/// decision view under it.
fn inbox_areas(deck: &Deck, area: Rect) -> Option<(Rect, Rect)> {
    if !matches!(deck.panel, Some(Panel::Inbox { .. })) {
        return None;
    }
    let rows = deck.inbox_rows() as u16;
    let list_height = (rows + 2).clamp(3, (area.height / 3).max(3));
    let [list, detail] =
        Layout::vertical([Constraint::Length(list_height), Constraint::Min(3)]).areas(area);
    Some((list, detail))
}
