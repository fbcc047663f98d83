//! The session host: runs one agent and serves it over WebSocket.
//!
//! `session` is the pure state machine; `runtime` drives it from one task;
//! `server` and `connection` are the network edge; `agent` the process edge;
//! `journal` and `auth` the file edge.

mod address;
pub mod agent;
pub mod auth;
mod connection;
pub mod error;
pub use error::Error;
mod failed_auth;
pub mod journal;
mod listener;
mod owner_file;
mod participants;
pub mod preview;
mod query;
mod rate;
mod runtime;
mod server;
pub mod session;
mod slots;
mod upgrade;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::{Duration, SystemTime};

use error::{IoContext, Result, invalid};
use tokio::sync::{broadcast, mpsc, oneshot, watch};
use tokio::task::JoinHandle;

use crate::protocol::{EventKind, Grant, NoticeLevel, SessionDescription, close_code, rfc3339};
use agent::AgentSpec;
use auth::AuthFile;
use journal::{Journal, JournalHeader};
use runtime::{Request, Runtime};
use session::{At, HistoryBudget, Output, Session, SessionConfig};

/// Everything `tether serve` can be told.
#[derive(Debug, Clone)]
pub struct HostConfig {
    pub listen: SocketAddr,
    pub session_id: String,
    pub auth_path: PathBuf,
    pub owner_grace: Duration,
    /// Where journals live; `None` keeps history in memory only.
    pub journal_dir: Option<PathBuf>,
    pub cwd: PathBuf,
    pub agent: AgentSpec,
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
    /// the open-file limit allows (raised to its hard limit at start).
    pub max_sockets: Option<usize>,
}

impl HostConfig {
    pub fn new(agent: AgentSpec) -> Self {
        HostConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 7878)),
            session_id: "main".into(),
            auth_path: auth::default_auth_path(),
            owner_grace: Duration::from_secs(10),
            journal_dir: None,
            cwd: PathBuf::from("."),
            agent,
            history_bytes: HistoryBudget::DEFAULT_BYTES,
            retain: HistoryBudget::DEFAULT_FRAMES,
            keepalive: Duration::from_secs(15),
            pong_timeout: Duration::from_secs(30),
            queue_frames: 8192,
            max_connections: 1024,
            max_connections_per_token: 256,
            header_read_timeout: Duration::from_secs(10),
            max_sockets: None,
        }
    }
}

/// A running host.
pub struct Host {
    addr: SocketAddr,
    session_id: String,
    auth_path: PathBuf,
    auth_created: bool,
    auth: Arc<RwLock<AuthFile>>,
    journal_path: Option<PathBuf>,
    requests: mpsc::Sender<Request>,
    server: JoinHandle<()>,
    runtime: JoinHandle<()>,
    stop_accepting: Option<oneshot::Sender<()>>,
}

impl Host {
    /// Starts a host: loads (or creates) the auth file, opens the journal,
    /// starts the agent and listens. Returns once it accepts connections.
    pub async fn start(config: HostConfig) -> Result<Host> {
        check_session_id(&config.session_id)?;
        let (auth, auth_created) = auth::load_or_create(&config.auth_path)?;
        let cwd = std::fs::canonicalize(&config.cwd)
            .or_io(|| format!("working directory {}", config.cwd.display()))?;
        let Restored {
            session,
            journal,
            startup,
            agent_session,
        } = restore(&config, &cwd, At::now())?;

        let listener = tokio::net::TcpListener::bind(config.listen)
            .await
            .or_io(|| format!("cannot listen on {}", config.listen))?;
        let addr = listener.local_addr()?;

        let (agent_tx, agent_events) = mpsc::channel(1024);
        let agent = agent::spawn(&config.agent, cwd, agent_session, agent_tx)?;
        let (requests_tx, requests) = mpsc::channel(4096);
        let (broadcast, _) = broadcast::channel(config.queue_frames.max(16));
        let (closing, closing_rx) = watch::channel(false);
        let auth = Arc::new(RwLock::new(auth));
        let journal_path = journal.as_ref().map(|j| j.path().to_owned());
        let runtime = Runtime::new(
            session,
            journal,
            (agent, agent_events),
            requests,
            broadcast,
            closing,
            &startup,
        );
        let runtime = tokio::spawn(runtime.run());

        let state = server::AppState {
            session_id: config.session_id.clone().into(),
            auth: auth.clone(),
            requests: requests_tx.clone(),
            closing: closing_rx,
            keepalive: config.keepalive,
            pong_timeout: config.pong_timeout,
            queue_frames: config.queue_frames.max(16),
            slots: slots::Slots::new(slots::SlotLimits {
                total: config.max_connections,
                per_token: config.max_connections_per_token,
            }),
            failed_auth: Default::default(),
        };
        let (stop_accepting, stop) = oneshot::channel::<()>();
        let limits = listener::SocketLimits {
            header_read: config.header_read_timeout,
            max_sockets: config.max_sockets.unwrap_or_else(listener::socket_budget),
        };
        let server = tokio::spawn(serve(listener, server::router(state), limits, stop));
        Ok(Host {
            addr,
            session_id: config.session_id,
            auth_path: config.auth_path,
            auth_created,
            auth,
            journal_path,
            requests: requests_tx,
            server,
            runtime,
            stop_accepting: Some(stop_accepting),
        })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `ws://ADDR/v1/sessions/ID`, with an address other machines can
    /// reach when the host listens on every interface (`0.0.0.0`).
    pub fn url(&self) -> String {
        let addr = address::reachable(self.addr);
        format!("ws://{addr}/v1/sessions/{}", self.session_id)
    }

    pub fn auth_path(&self) -> &std::path::Path {
        &self.auth_path
    }

    /// Whether `start` created the auth file.
    pub fn auth_created(&self) -> bool {
        self.auth_created
    }

    pub fn journal_path(&self) -> Option<&std::path::Path> {
        self.journal_path.as_deref()
    }

    fn token_with(&self, grant: Grant) -> Option<String> {
        let auth = self.auth.read().unwrap_or_else(|e| e.into_inner());
        auth.first_with(grant).map(|t| t.token.clone())
    }

    /// A token that may own the session.
    pub fn control_token(&self) -> Option<String> {
        self.token_with(Grant::Control)
    }

    /// A token that may only watch.
    pub fn view_token(&self) -> Option<String> {
        self.token_with(Grant::View)
    }

    /// The session's summary, as `GET /v1/sessions` lists it.
    pub async fn summary(&self) -> Result<crate::protocol::SessionSummary> {
        let (reply, answer) = oneshot::channel();
        self.requests
            .send(Request::Summary { reply })
            .await
            .map_err(|_| Error::Stopped)?;
        answer.await.map_err(|_| Error::Stopped)
    }

    /// What the in-memory history holds now: its seqs, frames and bytes
    /// (older events are only in the journal).
    pub async fn history_window(&self) -> Result<session::HistoryWindow> {
        let (reply, answer) = oneshot::channel();
        self.requests
            .send(Request::History { reply })
            .await
            .map_err(|_| Error::Stopped)?;
        answer.await.map_err(|_| Error::Stopped)
    }

    /// Adds an event to the session as if the host raised it: journaled,
    /// numbered and broadcast like any other. Waits while the session's
    /// queue is full, so a fast caller goes at the session's pace.
    pub async fn inject(&self, event: EventKind) -> Result<()> {
        self.requests
            .send(Request::Inject { event })
            .await
            .map_err(|_| Error::Stopped)
    }

    /// Re-reads the auth file (on SIGHUP, or when `tether serve` sees it
    /// change). Connections made with a token that is no longer in it are
    /// closed with 4003. On error the old tokens stay in force. Returns
    /// what changed, by name.
    pub async fn reload_auth(&self) -> Result<auth::AuthChanges> {
        let fresh = auth::load(&self.auth_path)?;
        let changes = {
            let mut current = self.auth.write().unwrap_or_else(|e| e.into_inner());
            let changes = auth::AuthChanges::between(&current, &fresh);
            *current = fresh;
            changes
        };
        for token in &changes.revoked_tokens {
            let _ = self
                .requests
                .send(Request::Disconnect {
                    token: token.clone(),
                    code: close_code::REVOKED,
                    reason: "token revoked".into(),
                })
                .await;
        }
        Ok(changes)
    }

    /// Stops accepting, stops the agent, flushes the journal and closes
    /// every connection with 1001.
    pub async fn shutdown(mut self) -> Result<()> {
        if let Some(stop) = self.stop_accepting.take() {
            let _ = stop.send(());
        }
        let (done, finished) = oneshot::channel();
        if self.requests.send(Request::Shutdown { done }).await.is_ok() {
            let _ = finished.await;
        }
        let _ = (&mut self.runtime).await;
        let _ = tokio::time::timeout(Duration::from_secs(2), &mut self.server).await;
        self.server.abort();
        Ok(())
    }
}

fn check_session_id(id: &str) -> Result<()> {
    if id.is_empty()
        || !id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
    {
        invalid!("session id `{id}` must be letters, digits, `-`, `_` or `.`");
    }
    Ok(())
}

/// The session as the journal left it, ready to run.
struct Restored {
    session: Session,
    journal: Option<Journal>,
    /// The events of the restart (cancelled requests, notices), to journal.
    startup: Vec<Output>,
    /// The agent's own session id, as last reported before the restart.
    agent_session: Option<String>,
}

/// Opens the journal (if any) and rebuilds the session from it: the
/// journal is read as a stream, so memory holds the newest frames within
/// the history budget and the state the older events left, not the file.
fn restore(config: &HostConfig, cwd: &Path, now: At) -> Result<Restored> {
    let dir = config.journal_dir.as_deref();
    let recorded = dir.and_then(|dir| Journal::recorded_header(dir, &config.session_id));
    let header = recorded.unwrap_or_else(|| JournalHeader {
        journal: 1,
        session: config.session_id.clone(),
        epoch: fresh_epoch(),
        started_at: rfc3339(now.wall),
    });
    let history = HistoryBudget {
        bytes: config.history_bytes,
        frames: config.retain,
    };
    let mut session = Session::new(SessionConfig {
        description: SessionDescription {
            id: config.session_id.clone(),
            epoch: header.epoch.clone(),
            title: config.agent.default_title(),
            agent: config.agent.kind().into(),
            cwd: cwd.display().to_string(),
            started_at: header.started_at.clone(),
            rules: Vec::new(),
        },
        owner_grace: config.owner_grace,
        history,
        journal: dir.is_some(),
        agent: config.agent.traits(),
    });
    let mut notices = Vec::new();
    let mut owner = None;
    // The agent's own session id, as last reported: a new agent resumes it.
    let mut agent_session = None;
    let journal = match dir {
        Some(dir) => {
            let (journal, loaded) =
                Journal::open(dir, &config.session_id, &header, history, |record| {
                    if let EventKind::Metadata {
                        agent_session_id: Some(id),
                        ..
                    } = &record.event
                    {
                        agent_session = Some(id.clone());
                    }
                    session.restore_state(record);
                })?;
            if loaded.header.is_some() {
                notices.push(format!(
                    "the host restarted; history continues from the journal ({} events)",
                    loaded.history.last_seq()
                ));
            }
            notices.extend(loaded.notices);
            owner = loaded.owner;
            session.restore_history(loaded.history);
            Some(journal)
        }
        None => None,
    };
    let mut startup = session.finish_restore(owner, now);
    for text in notices {
        startup.extend(session.host_event(EventKind::notice(NoticeLevel::Info, text), now));
    }
    Ok(Restored {
        session,
        journal,
        startup,
        agent_session,
    })
}

/// Serves HTTP on `listener` until `stop` fires.
async fn serve(
    listener: tokio::net::TcpListener,
    app: axum::Router,
    limits: listener::SocketLimits,
    stop: oneshot::Receiver<()>,
) {
    // Dropped when this task ends: open HTTP exchanges then finish.
    let (_stop_all, stop_all) = watch::channel(false);
    tokio::select! {
        () = listener::serve(listener, app, limits, stop_all) => {}
        _ = stop => {}
    }
}

/// A random id naming one history.
fn fresh_epoch() -> String {
    let nanos = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap_or_default()
        .as_nanos() as u64;
    format!(
        "{:016x}{:08x}",
        rand::random::<u64>() ^ nanos,
        rand::random::<u32>()
    )
}
