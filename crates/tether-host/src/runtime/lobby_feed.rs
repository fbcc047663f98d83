//! How a session tells the lobby about itself: a new permission request
//! goes out at once (at most one per [`REQUEST_GAP`]); what else a
//! dashboard must see soon (a request answered, a state change, who owns
//! it) within [`MAJOR_GAP`]; the rest (new events moving `last_seq`) at
//! most once per [`MINOR_PACE`]. However busy a session is, it sends a
//! handful of messages per second, and more only while its agent raises
//! requests that fast.

use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;

use crate::host::lobby::Lobby;
use crate::host::session::Session;

/// Least time between two summaries that show a new request.
const REQUEST_GAP: Duration = Duration::from_millis(20);
/// Least time between two summaries with other urgent changes.
const MAJOR_GAP: Duration = Duration::from_millis(150);
/// Most time a minor change waits.
const MINOR_PACE: Duration = Duration::from_secs(1);

pub struct LobbyFeed {
    lobby: Arc<Lobby>,
    /// The configured preset the session runs (shown in the summary).
    preset: Option<String>,
    published_generation: Option<u64>,
    published_requests: u64,
    published_seq: u64,
    last_publish: Option<Instant>,
    /// When a major change was last sent: majors are paced among
    /// themselves only, so a minor summary just before never delays one.
    last_major: Option<Instant>,
    /// Someone joined or left, or the owner changed.
    people_changed: bool,
    due: Option<Instant>,
}

impl LobbyFeed {
    pub fn new(lobby: Arc<Lobby>, preset: Option<String>) -> Self {
        LobbyFeed {
            lobby,
            preset,
            published_generation: None,
            published_requests: 0,
            published_seq: 0,
            last_publish: None,
            last_major: None,
            people_changed: false,
            due: None,
        }
    }

    pub fn people_changed(&mut self) {
        self.people_changed = true;
    }

    /// Publishes now, or schedules, whatever changed since the last time.
    pub fn after_input(&mut self, session: &Session) {
        let major = self.major_change(session);
        let minor = session.last_seq() != self.published_seq;
        let now = Instant::now();
        let new_request = session.requests_raised() != self.published_requests;
        let gap = if new_request { REQUEST_GAP } else { MAJOR_GAP };
        let at = match (major, minor) {
            (false, false) => return,
            (true, _) => self.last_major.map_or(now, |last| last + gap),
            (false, true) => self.last_publish.map_or(now, |last| last + MINOR_PACE),
        };
        if at <= now {
            self.publish(session);
        } else {
            self.due = Some(self.due.map_or(at, |due| due.min(at)));
        }
    }

    /// Whether something a dashboard must see soon changed since the last
    /// summary (see the module's note).
    fn major_change(&self, session: &Session) -> bool {
        self.people_changed || self.published_generation != Some(session.lobby_generation())
    }

    /// When the next scheduled summary is due.
    pub fn due(&self) -> Option<Instant> {
        self.due
    }

    /// The session's summary as the lobby shows it.
    pub fn summary(&self, session: &Session) -> crate::protocol::SessionSummary {
        let mut summary = session.summary(std::time::Instant::now());
        summary.preset.clone_from(&self.preset);
        summary.order = self.lobby.place(&summary.id);
        summary
    }

    pub fn publish(&mut self, session: &Session) {
        let summary = self.summary(session);
        if self.major_change(session) {
            self.last_major = Some(Instant::now());
        }
        self.published_generation = Some(session.lobby_generation());
        self.published_requests = session.requests_raised();
        self.published_seq = summary.last_seq;
        self.people_changed = false;
        self.due = None;
        self.last_publish = Some(Instant::now());
        self.lobby.publish(summary);
    }
}
