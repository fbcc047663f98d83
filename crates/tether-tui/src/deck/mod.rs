//! The deck: every session the UI shows, on one host or several. Each
//! session has its own [`App`] (transcript, scroll, input draft, focus),
//! so switching is instant and loses nothing; each host has a lobby
//! connection whose summaries feed the session list, the inbox and the
//! notifications. Like `App`, the deck is a pure state machine: the event
//! loop feeds it [`DeckMsg`]s and carries out its [`DeckEffect`]s
//! (opening a session's connection, sending, notifying).

pub mod create;
pub mod hosts;
pub mod inbox;
pub mod keys;
pub mod manage;
pub mod notify;
pub mod sample;

use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::time::{Instant, SystemTime};

use crate::client::ConnEvent;
use crate::client::lobby::LobbyEvent;
use hosts::{HostView, News};
use notify::{Notification, NotifyMode};

use super::app::{App, Effect, Hints, Msg};

/// One session on one host.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SessionKey {
    pub host: usize,
    pub id: String,
}

pub struct Tab {
    pub key: SessionKey,
    pub app: App,
    /// The seq its connection resumes after (shared with that task).
    pub last_applied: Arc<AtomicU64>,
    /// Its connection was asked for (it is opened when first shown).
    pub opened: bool,
}

/// A full-screen panel over the sessions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Panel {
    /// The session picker: a filter and the highlighted match.
    Picker { filter: String, selected: usize },
    /// Every request waiting, across sessions and hosts.
    Inbox { selected: usize },
    /// Making a session (admins).
    NewSession(create::NewSession),
    /// Deleting or restarting one: the y/n question, then the answer.
    Manage(manage::Manage),
}

/// Everything the deck reacts to.
#[derive(Debug)]
pub enum DeckMsg {
    /// A key, paste, mouse event or tick: for the deck or the session on
    /// screen.
    Ui(Msg),
    Conn {
        tab: usize,
        event: ConnEvent,
    },
    Lobby {
        host: usize,
        event: LobbyEvent,
    },
    /// The terminal gained (true) or lost focus.
    Focus(bool),
    /// The terminal's size (at start, and each time it changes).
    Resize {
        width: u16,
        height: u16,
    },
    /// A session's history from earlier runs (read when it is opened).
    History {
        tab: usize,
        entries: Vec<String>,
    },
    /// A session's message as the editor left it.
    Edited {
        tab: usize,
        text: Option<String>,
    },
}

/// What the event loop must do.
#[derive(Debug, Clone, PartialEq)]
pub enum DeckEffect {
    /// An effect of one session's app.
    Tab {
        tab: usize,
        effect: Effect,
    },
    /// Open the connection of a session (first time it is needed).
    Open {
        tab: usize,
    },
    Notify(Notification),
    /// Set the terminal's title.
    Title(String),
    /// Send a request on a host's lobby.
    Lobby {
        host: usize,
        request: crate::protocol::LobbyRequest,
    },
}

pub struct Deck {
    pub hosts: Vec<HostView>,
    pub tabs: Vec<Tab>,
    pub active: usize,
    /// The session shown before the one on screen (Ctrl+^ goes back).
    pub previous: Option<SessionKey>,
    pub panel: Option<Panel>,
    /// The session list beside the session: `None` until the user chooses
    /// (then it shows on wide screens when there are several sessions).
    pub sidebar: Option<bool>,
    /// The terminal's screen (the list is a sidebar when wide, the
    /// picker when narrow): what the layout is computed for.
    pub screen: ratatui::layout::Rect,
    pub view_mode: bool,
    pub hints: Hints,
    pub notify: NotifyMode,
    pub terminal_focused: bool,
    /// Whether the terminal captures the mouse: one setting for the whole
    /// screen, whichever session toggles it (F6).
    pub mouse_capture: bool,
    /// Where the input boxes' histories are kept between runs (none: not
    /// kept).
    pub history_dir: Option<std::path::PathBuf>,
    /// Bytes of transcript the session on screen keeps; the others keep
    /// an eighth (their older part is fetched again when read).
    pub window_bytes: usize,
    title: String,
    /// The inbox's last word: what the user decided there, or why a key
    /// did nothing (shown under its list; the status bar's once it closes).
    pub inbox_said: Option<String>,
    /// An answer was given in the inbox since it opened.
    inbox_decided: bool,
    /// Lobby requests made (their ids).
    requests: u64,
    /// Quit was pressed over a panel (no session's keys then).
    quit: bool,
}

/// Screens at least this wide show the session list as a sidebar.
pub const SIDEBAR_MIN_WIDTH: u16 = 100;

impl Deck {
    pub fn new(hosts: Vec<HostView>, view_mode: bool) -> Self {
        Deck {
            hosts,
            tabs: Vec::new(),
            active: 0,
            previous: None,
            panel: None,
            sidebar: None,
            screen: ratatui::layout::Rect::default(),
            view_mode,
            hints: Hints::default(),
            notify: NotifyMode::default(),
            terminal_focused: true,
            mouse_capture: true,
            history_dir: None,
            window_bytes: crate::tui::app::paging::DEFAULT_WINDOW_BYTES,
            title: String::new(),
            inbox_said: None,
            inbox_decided: false,
            requests: 0,
            quit: false,
        }
    }

    /// A host that came after the start (to a broker watched): listed
    /// last, its lobby followed by the caller. Returns its index.
    pub fn add_host(&mut self, name: String, url: url::Url, token: String) -> usize {
        self.hosts.push(HostView::new(name, url, token));
        self.hosts.len() - 1
    }

    /// The tab of `key`, made (not yet connected) if new.
    pub fn tab_for(&mut self, key: SessionKey) -> usize {
        if let Some(at) = self.tabs.iter().position(|t| t.key == key) {
            return at;
        }
        let last_applied = Arc::new(AtomicU64::new(0));
        let mut app = App::new(self.view_mode, last_applied.clone());
        app.hints = self.hints.clone();
        app.mouse_capture = self.mouse_capture;
        app.set_window_bytes(self.window_bytes / 8);
        // Shown from the host's list, a session is watched (`claim=no`)
        // until the user sends in it or presses F2; one named by its URL
        // is not (the caller says so).
        app.claim_on_send = true;
        // Through a broker, the way is shown with the connection.
        if let Some(url) = self.hosts.get(key.host).map(|h| &h.url)
            && matches!(url.scheme(), "nats" | "tls")
        {
            let port = url.port().unwrap_or(4222);
            let host = url.host_str().unwrap_or("?");
            app.hints.via = Some(format!("{}://{host}:{port}", url.scheme()));
        }
        self.tabs.push(Tab {
            key,
            app,
            last_applied,
            opened: false,
        });
        self.tabs.len() - 1
    }

    pub fn active_app(&mut self) -> &mut App {
        &mut self.tabs[self.active].app
    }

    pub fn should_quit(&self) -> bool {
        self.quit
            || self
                .tabs
                .get(self.active)
                .is_some_and(|t| t.app.should_quit())
    }

    pub fn needs_tick(&self) -> bool {
        self.tabs
            .get(self.active)
            .is_some_and(|t| t.app.needs_tick())
            || matches!(self.panel, Some(Panel::Inbox { .. }))
    }

    /// Whether the session list shows beside the session.
    pub fn sidebar_shown(&self) -> bool {
        self.screen.width >= SIDEBAR_MIN_WIDTH
            && self.sidebar.unwrap_or_else(|| self.listed().len() > 1)
    }

    /// Every session, as the list shows them: by host, then in the host's
    /// order (its config file's, then creation's: a new session comes last
    /// and Alt+N keeps meaning the same session), then by id. Sessions the
    /// lobby lists and sessions opened by URL alike.
    pub fn listed(&self) -> Vec<SessionKey> {
        let mut keys: Vec<SessionKey> = self.tabs.iter().map(|t| t.key.clone()).collect();
        for (host, view) in self.hosts.iter().enumerate() {
            for id in view.sessions.keys() {
                let key = SessionKey {
                    host,
                    id: id.clone(),
                };
                if !keys.contains(&key) {
                    keys.push(key);
                }
            }
        }
        keys.sort_by_cached_key(|key| {
            let place = self.hosts.get(key.host).map(|h| h.place(&key.id));
            (key.host, place, key.id.clone())
        });
        keys
    }

    /// The session a left click on the sidebar lands on.
    fn clicked_session(&self, mouse: &crossterm::event::MouseEvent) -> Option<SessionKey> {
        use crossterm::event::{MouseButton, MouseEventKind};
        let area = crate::tui::ui::layout::deck_layout(self).sidebar?;
        let inside = mouse.column >= area.x && mouse.column < area.right();
        if mouse.kind != MouseEventKind::Down(MouseButton::Left) || !inside {
            return None;
        }
        crate::tui::ui::layout::sidebar_clicks(self, area)
            .into_iter()
            .find(|(row, _)| *row == mouse.row)
            .map(|(_, key)| key)
    }

    /// Shows session `key` (opening its connection the first time).
    pub fn switch_to(&mut self, key: SessionKey) -> Vec<DeckEffect> {
        let shown = self.tabs.get(self.active).map(|t| t.key.clone());
        if shown.as_ref() != Some(&key) {
            self.previous = shown;
        }
        let at = self.tab_for(key);
        if let Some(was) = self.tabs.get_mut(self.active)
            && self.active != at
        {
            was.app.set_window_bytes(self.window_bytes / 8);
        }
        self.active = at;
        self.tabs[at].app.set_window_bytes(self.window_bytes);
        self.open(at)
    }

    /// Asks for `tab`'s connection if it has none yet.
    fn open(&mut self, tab: usize) -> Vec<DeckEffect> {
        if self.tabs[tab].opened {
            return Vec::new();
        }
        self.tabs[tab].opened = true;
        vec![DeckEffect::Open { tab }]
    }

    pub fn update(&mut self, msg: DeckMsg, now: Instant, wall: SystemTime) -> Vec<DeckEffect> {
        let effects = self.on_msg(msg, now, wall);
        self.confirm(&effects);
        self.close_finished_inbox();
        self.give_area();
        effects
    }

    /// A paste while a panel is open goes to it: the picker's filter, the
    /// new-session form's field, the inbox's open text area; never to the
    /// session underneath.
    fn paste_to_panel(&mut self, text: String, now: Instant, wall: SystemTime) -> Vec<DeckEffect> {
        let line = text.replace(['\r', '\n'], " ");
        match &mut self.panel {
            Some(Panel::Picker { filter, selected }) => {
                filter.push_str(&line);
                *selected = 0;
            }
            Some(Panel::NewSession(form)) => form.paste(&line),
            Some(Panel::Inbox { .. }) => {
                let shown = self.tabs.iter().position(|t| {
                    t.app.decision_area.is_some() && t.app.decision.editor().is_some()
                });
                if let Some(tab) = shown {
                    return self.pass_to_tab(tab, Msg::Paste(text), now, wall);
                }
            }
            Some(Panel::Manage(_)) | None => {}
        }
        Vec::new()
    }

    /// The session on screen is told its part of the screen: the sidebar,
    /// a switch or a resize may have changed it.
    /// The inbox shows its highlighted request's decision view (opened on
    /// that request) in its lower part; every other session's is its own.
    fn give_area(&mut self) {
        let layout = crate::tui::ui::layout::deck_layout(self);
        // Without the session list on screen, the status bar says how
        // many requests wait in the other sessions.
        let elsewhere = match (&layout.sidebar, self.tabs.get(self.active)) {
            (None, Some(tab)) => {
                let here = self.pending_in(&tab.key).0;
                self.pending_yours().saturating_sub(here)
            }
            _ => 0,
        };
        if let Some(tab) = self.tabs.get_mut(self.active) {
            tab.app.waiting_elsewhere = elsewhere;
            if tab.app.area != layout.session {
                tab.app.resize(layout.session);
            }
        }
        let shown = match (&self.panel, layout.inbox) {
            (Some(Panel::Inbox { selected }), Some((_, detail))) => {
                let entries = self.inbox();
                let at = (*selected).min(entries.len().saturating_sub(1));
                entries.get(at).cloned().map(|entry| (entry, detail))
            }
            _ => None,
        };
        let shown_tab = shown
            .as_ref()
            .and_then(|(entry, _)| self.tabs.iter().position(|t| t.key == entry.key));
        for (n, tab) in self.tabs.iter_mut().enumerate() {
            tab.app.decision_area = None;
            if Some(n) == shown_tab
                && let Some((entry, detail)) = &shown
                && tab.app.focus_request(&entry.request_id)
            {
                tab.app.decision_area = Some(*detail);
                // The inbox answers its request: nothing of that session
                // left open underneath may take the keys meant for it.
                tab.app.modals.clear();
            }
        }
    }

    fn on_msg(&mut self, msg: DeckMsg, now: Instant, wall: SystemTime) -> Vec<DeckEffect> {
        match msg {
            DeckMsg::Ui(Msg::Key(key)) => self.on_key(key, now, wall),
            DeckMsg::Ui(Msg::Mouse(mouse)) if self.panel.is_none() => {
                match self.clicked_session(&mouse) {
                    Some(key) => self.switch_to(key),
                    None => self.pass_to_active(Msg::Mouse(mouse), now, wall),
                }
            }
            DeckMsg::Ui(Msg::Paste(text)) if self.panel.is_some() => {
                self.paste_to_panel(text, now, wall)
            }
            DeckMsg::Ui(msg) => self.pass_to_active(msg, now, wall),
            DeckMsg::Conn { tab, event } => self.pass_to_tab(tab, Msg::Conn(event), now, wall),
            DeckMsg::Lobby { host, event } => {
                // The title counts the lobbies' requests: only they change it.
                let mut effects = self.on_lobby(host, event, wall);
                effects.extend(self.retitle());
                effects
            }
            DeckMsg::Focus(focused) => {
                self.terminal_focused = focused;
                Vec::new()
            }
            DeckMsg::History { tab, entries } => {
                self.pass_to_tab(tab, Msg::History(entries), now, wall)
            }
            DeckMsg::Edited { tab, text } => self.pass_to_tab(tab, Msg::Edited(text), now, wall),
            DeckMsg::Resize { width, height } => {
                self.screen = ratatui::layout::Rect::new(0, 0, width, height);
                Vec::new()
            }
        }
    }

    /// A message for the session on screen.
    fn pass_to_active(&mut self, msg: Msg, now: Instant, wall: SystemTime) -> Vec<DeckEffect> {
        self.pass_to_tab(self.active, msg, now, wall)
    }

    fn pass_to_tab(
        &mut self,
        tab: usize,
        msg: Msg,
        now: Instant,
        wall: SystemTime,
    ) -> Vec<DeckEffect> {
        let Some(target) = self.tabs.get_mut(tab) else {
            return Vec::new();
        };
        let effects = target.app.update(msg, now, wall);
        for effect in &effects {
            if let Effect::MouseCapture(on) = effect {
                self.mouse_capture = *on;
                for other in &mut self.tabs {
                    other.app.mouse_capture = *on;
                }
            }
        }
        effects
            .into_iter()
            .map(|effect| DeckEffect::Tab { tab, effect })
            .collect()
    }

    fn on_lobby(&mut self, host: usize, event: LobbyEvent, wall: SystemTime) -> Vec<DeckEffect> {
        if let LobbyEvent::Message(message) = &event {
            let answered = self.on_answer(host, message);
            if !answered.is_empty() {
                return answered;
            }
            if self.on_manage_answer(host, message) {
                return Vec::new();
            }
        }
        let Some(view) = self.hosts.get_mut(host) else {
            return Vec::new();
        };
        let news = view.apply(event, wall);
        let several_hosts = self.hosts.len() > 1;
        let mut effects = Vec::new();
        // With nothing on screen yet (attached to a host, not a session),
        // the first listed session is shown.
        if self.tabs.is_empty()
            && let Some(first) = self.listed().into_iter().next()
        {
            effects.extend(self.switch_to(first));
        }
        for item in news {
            let session = match &item {
                News::Request { session, .. } | News::TurnEnded { session, .. } => session,
            };
            let key = SessionKey {
                host,
                id: session.clone(),
            };
            let on_screen = self.terminal_focused
                && self.panel.is_none()
                && self.tabs.get(self.active).is_some_and(|t| t.key == key);
            if on_screen || self.notify == NotifyMode::Off {
                continue;
            }
            let name = if several_hosts {
                format!("{}/{}", self.hosts[host].name, session)
            } else {
                session.clone()
            };
            let body = match item {
                News::Request { tool, title, .. } => {
                    format!("asks permission: {}", title.unwrap_or(tool))
                }
                News::TurnEnded { exited: true, .. } => "the agent exited".into(),
                News::TurnEnded { .. } => "turn ended".into(),
            };
            effects.push(DeckEffect::Notify(Notification {
                title: format!("tether: {name}"),
                body,
            }));
        }
        effects
    }

    fn retitle(&mut self) -> Option<DeckEffect> {
        let title = notify::title(self.pending_yours());
        (title != self.title).then(|| {
            self.title.clone_from(&title);
            DeckEffect::Title(title)
        })
    }
}

#[cfg(test)]
mod first_hour_tests;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod watch_tests;
