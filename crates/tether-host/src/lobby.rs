//! The lobby: the newest summary of every session, and a feed of changes
//! for the lobby WebSockets. Session tasks publish (see
//! `runtime::LobbyFeed` for the pace); each change is serialised once and
//! shared by every subscriber, which filters by its token's scope.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use tokio::sync::broadcast;
use tokio_tungstenite::tungstenite::Utf8Bytes;

use crate::protocol::{LobbyMessage, SessionSummary, rfc3339};

/// Changes a lobby connection may fall behind before it is sent a fresh
/// snapshot instead.
const FEED_CAPACITY: usize = 4096;

/// One change, ready to send.
#[derive(Clone, Debug)]
pub struct LobbyChange {
    /// The session it is about (for scope filtering).
    pub session: Arc<str>,
    pub frame: Utf8Bytes,
}

#[derive(Debug)]
pub struct Lobby {
    latest: Mutex<BTreeMap<String, SessionSummary>>,
    feed: broadcast::Sender<LobbyChange>,
    /// Each session's place in the list, given when it starts: the config
    /// file's order, then creation order. Never reassigned while it runs,
    /// so the numbers clients give sessions (Alt+3) never move.
    places: Mutex<Places>,
}

#[derive(Debug, Default)]
struct Places {
    of: BTreeMap<String, u64>,
    next: u64,
}

impl Default for Lobby {
    fn default() -> Self {
        Lobby {
            latest: Mutex::new(BTreeMap::new()),
            feed: broadcast::channel(FEED_CAPACITY).0,
            places: Mutex::new(Places::default()),
        }
    }
}

impl Lobby {
    /// Gives a starting session the next place in the list (a session
    /// that has one keeps it).
    pub fn enrol(&self, id: &str) {
        let mut places = self.places.lock().unwrap_or_else(|e| e.into_inner());
        if !places.of.contains_key(id) {
            let next = places.next;
            places.next += 1;
            places.of.insert(id.to_owned(), next);
        }
    }

    /// The place of session `id` in the list, if it was given one.
    pub fn place(&self, id: &str) -> Option<u64> {
        let places = self.places.lock().unwrap_or_else(|e| e.into_inner());
        places.of.get(id).copied()
    }

    /// Records a session's newest summary and tells the subscribers.
    pub fn publish(&self, mut summary: SessionSummary) {
        summary.order = self.place(&summary.id);
        let session: Arc<str> = summary.id.as_str().into();
        let message = LobbyMessage::Session {
            now: rfc3339(std::time::SystemTime::now()),
            session: Box::new(summary),
        };
        let frame = Utf8Bytes::from(message.to_json());
        let LobbyMessage::Session {
            session: summary, ..
        } = message
        else {
            unreachable!("built above");
        };
        self.latest_mut().insert(summary.id.clone(), *summary);
        let _ = self.feed.send(LobbyChange { session, frame });
    }

    /// Forgets a stopped session and tells the subscribers.
    pub fn remove(&self, id: &str) {
        self.latest_mut().remove(id);
        let mut places = self.places.lock().unwrap_or_else(|e| e.into_inner());
        places.of.remove(id);
        drop(places);
        let message = LobbyMessage::SessionRemoved { id: id.to_owned() };
        let _ = self.feed.send(LobbyChange {
            session: id.into(),
            frame: Utf8Bytes::from(message.to_json()),
        });
    }

    /// The newest summaries of the sessions `visible` admits, in list
    /// order.
    pub fn snapshot(&self, visible: impl Fn(&str) -> bool) -> Vec<SessionSummary> {
        let mut all: Vec<SessionSummary> = self
            .latest_mut()
            .values()
            .filter(|s| visible(&s.id))
            .cloned()
            .collect();
        sort_in_list_order(&mut all);
        all
    }

    /// The changes from now on (subscribe before taking the snapshot: a
    /// change seen twice is harmless, one missed is not).
    pub fn subscribe(&self) -> broadcast::Receiver<LobbyChange> {
        self.feed.subscribe()
    }

    fn latest_mut(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, SessionSummary>> {
        self.latest.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Sessions as lists show them: by place, then (sessions without one) by id.
pub fn sort_in_list_order(summaries: &mut [SessionSummary]) {
    summaries.sort_by(|a, b| {
        let place = |s: &SessionSummary| s.order.unwrap_or(u64::MAX);
        place(a).cmp(&place(b)).then_with(|| a.id.cmp(&b.id))
    });
}
