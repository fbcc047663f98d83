//! What `tether serve` can be told: the host's configuration.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use crate::agent::{self, AgentSpec};
use crate::server::{self, slots};
use crate::session::HistoryBudget;
use crate::sessions::{SessionDefaults, SessionSpec};
use crate::{auth, notify};

/// Everything `tether serve` can be told.
#[derive(Debug, Clone)]
pub struct HostConfig {
    pub listen: SocketAddr,
    /// TLS of its own: the certificate chain and the private key, PEM
    /// files (`wss://`); none: plain `ws://`.
    pub tls: Option<(PathBuf, PathBuf)>,
    /// The sessions started with the host (the first is the one `url`
    /// names).
    pub sessions: Vec<SessionSpec>,
    /// The agents clients with the `admin` grant may start sessions of.
    pub presets: BTreeMap<String, agent::Preset>,
    /// A NATS broker to serve the sessions through as well (dialled out).
    pub relay: Option<server::relay::RelayConfig>,
    /// No listening socket: the sessions are reached through the relay
    /// only (`--listen none`).
    pub listen_none: bool,
    /// Directories under which created sessions may run (the first is
    /// where a session without a `cwd` runs); none: no session can be
    /// created.
    pub workspaces: Vec<PathBuf>,
    pub auth_path: PathBuf,
    /// Tokens of this process only (the embedded UI's), added to the auth
    /// file's in memory, never written.
    pub local_tokens: Vec<auth::TokenEntry>,
    pub owner_grace: Duration,
    /// Where journals live; `None` keeps history in memory only.
    pub journal_dir: Option<PathBuf>,
    /// Bytes of event frames kept in memory for replays (older ones are
    /// read from the journal, or reported gone without one).
    pub history_bytes: usize,
    /// Events kept in memory for replays at most, whatever their size (a
    /// cap on per-event bookkeeping).
    pub retain: usize,
    /// Interval of WebSocket pings.
    pub keepalive: Duration,
    /// A connection that sends nothing at all (no frame, no pong) for this
    /// long after a ping is closed with 1008 and frees its slot.
    pub pong_timeout: Duration,
    /// Frames a connection may fall behind the broadcast before it is
    /// closed with 1008.
    pub queue_frames: usize,
    /// Where sessions created over HTTP keep their journals and the record
    /// that brings them back after a restart; `None`: the journal
    /// directory.
    pub created_dir: Option<PathBuf>,
    /// WebSocket connections served at once; more get HTTP 503.
    pub max_connections: usize,
    /// WebSocket connections at once with one token (503 beyond); a
    /// sixteenth of `max_connections` is kept for connections that may
    /// own the session.
    pub max_connections_per_token: usize,
    /// Time a client has to send a request head (and how long an idle
    /// keep-alive HTTP connection is kept).
    pub header_read_timeout: Duration,
    /// TCP connections open at once, upgraded or not; `None`: as many as
    /// the open-file limit allows (raised to its hard limit at start),
    /// less what the sessions may need.
    pub max_sockets: Option<usize>,
    /// Sessions the host runs at most, configured and created; creating
    /// more gets 503.
    pub max_sessions: usize,
    /// How long an interrupted agent has to end its turn before the host
    /// stops it (its whole process tree) and starts it again.
    pub interrupt_grace: Duration,
    /// Where alerts go (`[notify]`, `--notify-*`); none: nowhere.
    pub notify: Option<notify::NotifyConfig>,
}

impl HostConfig {
    /// Raises the connection limits so that `viewers` view-only connections
    /// with one token fit (for load tests).
    pub fn make_room_for_viewers(&mut self, viewers: usize) {
        let room = slots::SlotLimits {
            total: self.max_connections,
            per_token: self.max_connections_per_token,
        }
        .with_room_for(viewers);
        self.max_connections = room.total;
        self.max_connections_per_token = room.per_token;
    }

    /// A host of one session, `main`, running `agent` in `.`.
    pub fn new(agent: AgentSpec) -> Self {
        HostConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 7878)),
            tls: None,
            sessions: vec![SessionSpec::new("main", agent)],
            presets: BTreeMap::new(),
            relay: None,
            listen_none: false,
            workspaces: Vec::new(),
            auth_path: auth::default_auth_path(),
            local_tokens: Vec::new(),
            owner_grace: Duration::from_secs(10),
            journal_dir: None,
            history_bytes: HistoryBudget::DEFAULT_BYTES,
            retain: HistoryBudget::DEFAULT_FRAMES,
            keepalive: Duration::from_secs(15),
            pong_timeout: Duration::from_secs(30),
            queue_frames: 8192,
            created_dir: None,
            max_connections: 1024,
            max_connections_per_token: 256,
            header_read_timeout: Duration::from_secs(10),
            max_sockets: None,
            max_sessions: 256,
            interrupt_grace: Duration::from_secs(10),
            notify: None,
        }
    }

    /// The first session (a one-session host's only one).
    ///
    /// # Panics
    /// When the config has no session.
    pub fn session(&mut self) -> &mut SessionSpec {
        self.sessions
            .first_mut()
            .expect("a host config with a session")
    }

    pub(crate) fn session_defaults(&self) -> SessionDefaults {
        SessionDefaults {
            owner_grace: self.owner_grace,
            journal_dir: self.journal_dir.clone(),
            history_bytes: self.history_bytes,
            retain: self.retain,
            queue_frames: self.queue_frames,
            created_dir: self.created_dir.clone(),
            interrupt_grace: self.interrupt_grace,
            alerts: None,
        }
    }
}
