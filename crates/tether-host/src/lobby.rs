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
}

impl Default for Lobby {
    fn default() -> Self {
        Lobby {
            latest: Mutex::new(BTreeMap::new()),
            feed: broadcast::channel(FEED_CAPACITY).0,
        }
    }
}

impl Lobby {
    /// Records a session's newest summary and tells the subscribers.
    pub fn publish(&self, summary: SessionSummary) {
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
        let message = LobbyMessage::SessionRemoved { id: id.to_owned() };
        let _ = self.feed.send(LobbyChange {
            session: id.into(),
            frame: Utf8Bytes::from(message.to_json()),
        });
    }

    /// The newest summaries of the sessions `visible` admits, by id.
    pub fn snapshot(&self, visible: impl Fn(&str) -> bool) -> Vec<SessionSummary> {
        self.latest_mut()
            .values()
            .filter(|s| visible(&s.id))
            .cloned()
            .collect()
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
