//! What the deck knows of each host: how to reach it, its lobby's state,
//! and the newest summary of each of its sessions.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

use url::Url;

use crate::client::lobby::LobbyEvent;
use crate::protocol::{AgentState, LobbyMessage, LobbyYou, SessionSummary, UnavailablePreset};

#[derive(Debug, Clone, PartialEq)]
pub enum LobbyState {
    Connecting,
    Live,
    Down {
        reason: String,
    },
    /// The host has no lobby for this token: only the sessions opened by
    /// URL are shown.
    Unavailable {
        reason: String,
    },
}

/// Something in a session worth telling the user about.
#[derive(Debug, Clone, PartialEq)]
pub enum News {
    /// A permission request was raised.
    Request {
        session: String,
        tool: String,
        title: Option<String>,
    },
    /// A turn ended (the agent went from busy to idle) or the agent exited.
    TurnEnded { session: String, exited: bool },
}

#[derive(Debug)]
pub struct HostView {
    /// What the list calls it (`HOST:PORT`, or a configured name).
    pub name: String,
    /// Any URL of the host (a session's): where the lobby and sessions are.
    pub url: Url,
    pub token: String,
    pub lobby: LobbyState,
    pub sessions: BTreeMap<String, SessionSummary>,
    /// What an admin may create sessions from, and where (empty for
    /// other tokens).
    pub presets: Vec<String>,
    /// The host's presets that cannot start there now, with why (shown in
    /// the form, never offered).
    pub unavailable: Vec<UnavailablePreset>,
    pub workspaces: Vec<String>,
    /// Who this client is to the host (from the lobby; older hosts do
    /// not say).
    pub you: Option<LobbyYou>,
    /// The host's clock at the last lobby message, and ours then: ages are
    /// counted on the host's clock.
    clock: Option<(SystemTime, SystemTime)>,
    /// When each session was first listed (a host too old to send
    /// `order` is listed in that order: new sessions come last).
    seen: BTreeMap<String, u64>,
}

impl HostView {
    pub fn new(name: String, url: Url, token: String) -> Self {
        HostView {
            name,
            url,
            token,
            lobby: LobbyState::Connecting,
            sessions: BTreeMap::new(),
            presets: Vec::new(),
            unavailable: Vec::new(),
            workspaces: Vec::new(),
            you: None,
            clock: None,
            seen: BTreeMap::new(),
        }
    }

    /// Where session `id` goes in the list: the host's order (the config
    /// file's, then creation's), else the order it was first listed in;
    /// sessions the lobby does not list go last.
    pub fn place(&self, id: &str) -> (u64, u64) {
        let order = self.sessions.get(id).and_then(|s| s.order);
        let seen = self.seen.get(id).copied();
        (order.unwrap_or(u64::MAX), seen.unwrap_or(u64::MAX))
    }

    fn note_seen<'a>(&mut self, ids: impl IntoIterator<Item = &'a str>) {
        for id in ids {
            let next = self.seen.len() as u64;
            self.seen.entry(id.to_owned()).or_insert(next);
        }
    }

    /// Takes a lobby event; returns what is news (for notifications).
    pub fn apply(&mut self, event: LobbyEvent, wall: SystemTime) -> Vec<News> {
        match event {
            LobbyEvent::Connected => {
                self.lobby = LobbyState::Live;
                Vec::new()
            }
            LobbyEvent::Lost { reason, .. } => {
                self.lobby = LobbyState::Down { reason };
                Vec::new()
            }
            LobbyEvent::Unavailable(why) => {
                self.lobby = LobbyState::Unavailable {
                    reason: why.to_string(),
                };
                Vec::new()
            }
            LobbyEvent::Message(message) => self.apply_message(message, wall),
        }
    }

    fn apply_message(&mut self, message: LobbyMessage, wall: SystemTime) -> Vec<News> {
        match message {
            LobbyMessage::Sessions {
                now,
                sessions,
                presets,
                unavailable,
                workspaces,
                you,
            } => {
                self.you = you;
                self.presets = presets;
                self.unavailable = unavailable;
                self.workspaces = workspaces;
                self.note_clock(&now, wall);
                self.note_seen(sessions.iter().map(|s| s.id.as_str()));
                // A snapshot after a gap: what changed meanwhile is news.
                let mut news = Vec::new();
                let fresh: BTreeMap<String, SessionSummary> =
                    sessions.into_iter().map(|s| (s.id.clone(), s)).collect();
                for summary in fresh.values() {
                    if let Some(old) = self.sessions.get(&summary.id) {
                        news.extend(news_between(old, summary));
                    }
                }
                self.sessions = fresh;
                news
            }
            LobbyMessage::Session { now, session } => {
                self.note_clock(&now, wall);
                self.note_seen([session.id.as_str()]);
                let news = match self.sessions.get(&session.id) {
                    Some(old) => news_between(old, &session),
                    None => news_between(&empty_like(&session), &session),
                };
                self.sessions.insert(session.id.clone(), *session);
                news
            }
            LobbyMessage::SessionRemoved { id } => {
                self.sessions.remove(&id);
                Vec::new()
            }
            LobbyMessage::Created { .. }
            | LobbyMessage::Done { .. }
            | LobbyMessage::Refused { .. }
            | LobbyMessage::Unknown => Vec::new(),
        }
    }

    fn note_clock(&mut self, now: &str, wall: SystemTime) {
        if let Ok(host_now) = humantime::parse_rfc3339_weak(now) {
            self.clock = Some((host_now, wall));
        }
    }

    /// How long ago `at` (the host's RFC 3339 time) was, at `wall`.
    pub fn age(&self, at: &str, wall: SystemTime) -> Option<Duration> {
        let at = humantime::parse_rfc3339_weak(at).ok()?;
        let host_now = match self.clock {
            Some((host, ours)) => host + wall.duration_since(ours).unwrap_or_default(),
            None => wall,
        };
        Some(host_now.duration_since(at).unwrap_or_default())
    }
}

/// A summary of the same session with nothing pending and nothing running.
fn empty_like(summary: &SessionSummary) -> SessionSummary {
    SessionSummary {
        pending: 0,
        pending_permissions: 0,
        pending_requests: Vec::new(),
        state: AgentState::Idle,
        ..summary.clone()
    }
}

/// What happened between two summaries of one session.
fn news_between(old: &SessionSummary, new: &SessionSummary) -> Vec<News> {
    let mut news: Vec<News> = new
        .pending_requests
        .iter()
        .filter(|r| {
            !old.pending_requests
                .iter()
                .any(|o| o.request_id == r.request_id)
        })
        .map(|r| News::Request {
            session: new.id.clone(),
            tool: r.tool.clone(),
            title: r.title.clone(),
        })
        .collect();
    let busy = |s: &SessionSummary| {
        matches!(
            s.state,
            AgentState::Running | AgentState::AwaitingPermission
        )
    };
    if busy(old) && !busy(new) && new.state != AgentState::Starting {
        news.push(News::TurnEnded {
            session: new.id.clone(),
            exited: new.state == AgentState::Exited,
        });
    }
    news
}
