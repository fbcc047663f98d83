//! The host: runs sessions (each one agent) and serves them over WebSocket.
//!
//! `session` is the pure state machine; `runtime` drives one from a task;
//! `sessions` holds the running ones and the `lobby` sums them up;
//! `server` is the network edge (the accept loop, the HTTP routes, one
//! task per WebSocket connection); `agent` the process edge; `journal` and
//! `auth` the file edge.

// Paths written as `crate::host::...` and `crate::protocol::...` when
// these were modules of one crate.
use crate as host;
use tether_protocol as protocol;

pub mod agent;
pub mod attach_line;
pub mod auth;
mod config;
pub use config::HostConfig;
pub mod error;
pub use error::Error;
pub mod journal;
mod lobby;
pub mod notify;
mod owner_file;
mod participants;
pub mod preview;
pub mod private_files;
mod runtime;
/// How long a burst of joins is gathered into one participants list.
pub use runtime::participants_coalesce;
pub mod server;
pub mod session;
pub mod sessions;
mod token_expiry;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use error::{Result, invalid};
use tokio::sync::{oneshot, watch};
use tokio::task::JoinHandle;

use crate::protocol::{EventKind, Grant, close_code};
use attach_line::AttachLine;
use auth::AuthFile;
use runtime::Request;
pub use server::tls::first_certificate;
use server::{address, listener, slots};
use sessions::{HostedSession, Sessions};

/// A running host.
pub struct Host {
    addr: SocketAddr,
    /// `wss` with TLS of its own, else `ws`.
    scheme: &'static str,
    /// The first configured session, which `url` and the one-session
    /// helpers (`summary`, `inject`...) mean.
    first: Option<String>,
    auth_path: PathBuf,
    auth_created: bool,
    auth: Arc<RwLock<AuthFile>>,
    local_tokens: Vec<auth::TokenEntry>,
    sessions: Arc<Sessions>,
    /// Why recorded sessions did not start again.
    problems: Vec<String>,
    server: JoinHandle<()>,
    /// It does not listen: reached through its relay only.
    relay_only: bool,
    stop_accepting: Option<oneshot::Sender<()>>,
    closing: watch::Sender<bool>,
    /// Bumped after every reload of the auth file.
    auth_changed: watch::Sender<u64>,
    /// Held while the auth file is reloaded.
    reloading: tokio::sync::Mutex<()>,
    /// The notifier's and the deliveries' tasks.
    notifier: Vec<JoinHandle<()>>,
}

impl Host {
    /// Starts a host: loads (or creates) the auth file, starts the
    /// sessions (each restored from its journal) and listens. Returns
    /// once it accepts connections.
    pub async fn start(config: HostConfig) -> Result<Host> {
        ignore_file_size_signal();
        let (mut auth, auth_created) = auth::load_or_create(&config.auth_path)?;
        auth.add_tokens(config.local_tokens.iter().cloned());
        if auth.tokens.is_empty() {
            invalid!(
                "{} has no tokens: add one with `tether token add NAME --grant control`",
                config.auth_path.display()
            );
        }
        let tls_stamps = config.tls.as_ref().map(|(c, k)| server::tls::stamps(c, k));
        let tls = match &config.tls {
            Some((cert, key)) => Some(Arc::new(RwLock::new(server::tls::acceptor(cert, key)?))),
            None => None,
        };
        // Made before the sessions, which report to it; run once the
        // address their alerts name is known.
        let (sink, alerts) = notify::channel_for(config.notify.as_ref()).unzip();
        let (sessions, problems) = start_sessions(&config, sink)?;
        let sessions = Arc::new(sessions);
        let listener = bind(&config).await?;
        let addr = match &listener {
            Some(listener) => listener.local_addr()?,
            None => config.listen,
        };
        let auth = Arc::new(RwLock::new(auth));
        let (closing, closing_rx) = watch::channel(false);
        let (auth_changed, auth_changed_rx) = watch::channel(0);
        let state = server::AppState {
            sessions: sessions.clone(),
            auth: auth.clone(),
            auth_changed: auth_changed_rx,
            closing: closing_rx,
            keepalive: config.keepalive,
            pong_timeout: config.pong_timeout,
            queue_frames: config.queue_frames.max(16),
            slots: slots::Slots::new(slots::SlotLimits {
                total: config.max_connections,
                per_token: config.max_connections_per_token,
            }),
            failed_auth: Default::default(),
            create_rate: Default::default(),
        };
        let (stop_accepting, stop) = oneshot::channel::<()>();
        let limits = listener::SocketLimits {
            header_read: config.header_read_timeout,
            max_sockets: config
                .max_sockets
                .unwrap_or_else(|| listener::socket_budget(config.max_sessions)),
            tls: tls.clone(),
        };
        if let Some(relay) = config.relay.clone() {
            server::relay::start(relay, state.clone())
                .await
                .map_err(crate::host::error::Error::Invalid)?;
        }
        let server = tokio::spawn(serve(listener, server::router(state), limits, stop));
        let scheme = if tls.is_some() { "wss" } else { "ws" };
        let notifier = start_notifier(&config, alerts, scheme, addr);
        let tls = tls.zip(config.tls.clone()).zip(tls_stamps);
        background(tls, &auth, &sessions, &auth_changed, &closing);
        Ok(Host {
            addr,
            scheme,
            first: config.sessions.first().map(|s| s.id.clone()),
            auth_path: config.auth_path,
            auth_created,
            auth,
            local_tokens: config.local_tokens,
            sessions,
            problems,
            server,
            relay_only: config.listen_none,
            stop_accepting: Some(stop_accepting),
            closing,
            auth_changed,
            reloading: tokio::sync::Mutex::new(()),
            notifier,
        })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Whether it listens at all (`--listen none`: through its relay only).
    pub fn listens(&self) -> bool {
        !self.relay_only
    }

    /// `ws://ADDR/v1/sessions/ID` of the first session (the lobby,
    /// `ws://ADDR/v1/lobby`, when the host started with none), with an
    /// address other machines can reach when the host listens on every
    /// interface (`0.0.0.0`).
    pub fn url(&self) -> String {
        match &self.first {
            Some(id) => self.session_url(id),
            None => format!(
                "{}://{}/v1/lobby",
                self.scheme,
                address::reachable(self.addr)
            ),
        }
    }

    /// `ws://ADDR/v1/sessions/ID`.
    pub fn session_url(&self, id: &str) -> String {
        let addr = address::reachable(self.addr);
        format!("{}://{addr}/v1/sessions/{id}", self.scheme)
    }

    /// The ids of the running sessions.
    pub fn session_ids(&self) -> Vec<String> {
        self.sessions
            .all()
            .iter()
            .map(|s| s.id().to_owned())
            .collect()
    }

    /// The ids of the running sessions in list order (the config file's,
    /// then creation's), as the lobby lists them.
    pub fn session_ids_in_order(&self) -> Vec<String> {
        let mut ids = self.session_ids();
        let lobby = &self.sessions.lobby;
        ids.sort_by_key(|id| (lobby.place(id).unwrap_or(u64::MAX), id.clone()));
        ids
    }

    /// Why sessions recorded as created did not start again.
    pub fn problems(&self) -> &[String] {
        &self.problems
    }

    /// The first session; `Err(Stopped)` when it no longer runs.
    fn first(&self) -> Result<Arc<HostedSession>> {
        self.first
            .as_deref()
            .and_then(|id| self.sessions.get(id))
            .ok_or(Error::Stopped)
    }

    pub fn auth_path(&self) -> &std::path::Path {
        &self.auth_path
    }

    /// `tether attach ws://ADDR` (with `--auth FILE` when the auth file is
    /// not the default one): the command that shows every session.
    pub fn attach_command(&self) -> String {
        AttachLine::new(self.scheme, self.addr, &self.auth_path).host()
    }

    /// Whether `start` created the auth file.
    pub fn auth_created(&self) -> bool {
        self.auth_created
    }

    /// The first session's journal.
    pub fn journal_path(&self) -> Option<PathBuf> {
        self.first().ok()?.journal_path.clone()
    }

    fn token_with(&self, grant: Grant) -> Option<String> {
        let auth = self.auth.read().unwrap_or_else(|e| e.into_inner());
        auth.first_with(grant).map(|t| t.token.clone())
    }

    /// The first token of this process only (see
    /// [`HostConfig::local_tokens`]).
    pub fn local_token(&self) -> Option<String> {
        self.local_tokens.first().map(|t| t.token.clone())
    }

    /// A token that may own the session.
    pub fn control_token(&self) -> Option<String> {
        self.token_with(Grant::Control)
    }

    /// A token that may only watch.
    pub fn view_token(&self) -> Option<String> {
        self.token_with(Grant::View)
    }

    /// The first session's summary, as `GET /v1/sessions` lists it.
    pub async fn summary(&self) -> Result<crate::protocol::SessionSummary> {
        self.first()?.summary().await
    }

    /// What the first session's in-memory history holds now: its seqs,
    /// frames and bytes (older events are only in the journal).
    pub async fn history_window(&self) -> Result<session::HistoryWindow> {
        self.first()?.ask(|reply| Request::History { reply }).await
    }

    /// Adds an event to the first session as if the host raised it:
    /// journaled, numbered and broadcast like any other. Waits while the
    /// session's queue is full, so a fast caller goes at its pace.
    pub async fn inject(&self, event: EventKind) -> Result<()> {
        let session = self.first()?;
        Self::inject_to(&session, event).await
    }

    /// [`Host::inject`] into the session named `id`.
    pub async fn inject_into(&self, id: &str, event: EventKind) -> Result<()> {
        let session = self.sessions.get(id).ok_or(Error::Stopped)?;
        Self::inject_to(&session, event).await
    }

    async fn inject_to(session: &HostedSession, event: EventKind) -> Result<()> {
        session
            .requests
            .send(Request::Inject { event })
            .await
            .map_err(|_| Error::Stopped)
    }

    /// Re-reads the auth file (on SIGHUP, or when `tether serve` sees it
    /// change). Connections made with a token that is no longer in it are
    /// closed with 4003. On error the old tokens stay in force. Returns
    /// what changed, by name.
    pub async fn reload_auth(&self) -> Result<auth::AuthChanges> {
        // One reload at a time: two racing would diff against the same file
        // and the older could swap in last.
        let _reloading = self.reloading.lock().await;
        let path = self.auth_path.clone();
        let local = self.local_tokens.clone();
        let current = self.auth.clone();
        // Reading, checking and diffing a large file is work: off the async
        // workers, and with no lock that connections wait on.
        let (fresh, changes) = tokio::task::spawn_blocking(move || {
            let mut fresh = auth::load(&path)?;
            fresh.add_tokens(local);
            if fresh.tokens.is_empty() {
                invalid!(
                    "{} has no tokens: not reloaded, the tokens in force stay (it would lock everyone out)",
                    path.display()
                );
            }
            fresh.authenticate("");
            let now = current.read().unwrap_or_else(|e| e.into_inner());
            let changes = auth::AuthChanges::between(&now, &fresh);
            Ok((fresh, changes))
        })
        .await
        .map_err(|e| Error::Invalid(format!("reloading the auth file failed: {e}")))??;
        let old = {
            let mut current = self.auth.write().unwrap_or_else(|e| e.into_inner());
            std::mem::replace(&mut *current, fresh)
        };
        drop(old);
        // Lobby connections check their token again at once.
        self.auth_changed.send_modify(|generation| *generation += 1);
        for session in self.sessions.all() {
            for token in &changes.revoked_tokens {
                let _ = session
                    .requests
                    .send(Request::Disconnect {
                        token: token.clone(),
                        code: close_code::REVOKED,
                        reason: "token revoked".into(),
                    })
                    .await;
            }
        }
        Ok(changes)
    }

    /// Stops accepting, stops the agents, flushes the journals and
    /// closes every connection with 1001.
    pub async fn shutdown(mut self) -> Result<()> {
        if let Some(stop) = self.stop_accepting.take() {
            let _ = stop.send(());
        }
        let _ = self.closing.send(true);
        self.sessions.stop_all().await;
        for task in &self.notifier {
            task.abort();
        }
        let _ = tokio::time::timeout(Duration::from_secs(2), &mut self.server).await;
        self.server.abort();
        Ok(())
    }
}

/// Starts the configured sessions and those created before a restart;
/// returns them with what did not start. One damaged journal must not stop
/// the others: that session is listed as exited, saying why. When nothing
/// could start, the start fails with the first reason.
/// The host's own tasks: reloading the TLS files when they change,
/// closing the connections of tokens as they expire.
fn background(
    tls: Option<server::tls::Followed>,
    auth: &Arc<RwLock<AuthFile>>,
    sessions: &Arc<Sessions>,
    auth_changed: &watch::Sender<u64>,
    closing: &watch::Sender<bool>,
) {
    if let Some(((shared, files), seen)) = tls {
        tokio::spawn(server::tls::follow_files(
            shared,
            files,
            seen,
            closing.subscribe(),
        ));
    }
    tokio::spawn(token_expiry::run(
        auth.clone(),
        sessions.clone(),
        auth_changed.clone(),
        closing.subscribe(),
    ));
}

/// A file-size limit must make a journal write fail (and the journal fall
/// behind, see `journal::Health`), not kill the host.
fn ignore_file_size_signal() {
    // SAFETY: setting a signal's disposition to ignore.
    let _ = unsafe {
        nix::sys::signal::signal(
            nix::sys::signal::Signal::SIGXFSZ,
            nix::sys::signal::SigHandler::SigIgn,
        )
    };
}

/// Starts the notifier (when alerts go somewhere): its alerts open a
/// session with the address others can reach.
fn start_notifier(
    config: &HostConfig,
    inputs: Option<notify::Inputs>,
    scheme: &'static str,
    addr: SocketAddr,
) -> Vec<JoinHandle<()>> {
    let (Some(inputs), Some(notify)) = (inputs, &config.notify) else {
        return Vec::new();
    };
    let line = AttachLine::new(scheme, address::reachable(addr), &config.auth_path);
    let machine = attach_line::machine_name();
    notify::spawn(notify, inputs, move |id| line.opening(id, &machine))
}

fn start_sessions(
    config: &HostConfig,
    alerts: Option<notify::AlertSink>,
) -> Result<(Sessions, Vec<String>)> {
    let mut defaults = config.session_defaults();
    defaults.alerts = alerts;
    let sessions = Sessions::new(
        defaults,
        config.presets.clone(),
        &config.workspaces,
        config.max_sessions,
    )?;
    let mut problems = Vec::new();
    let mut first_failure = None;
    for spec in &config.sessions {
        if let Err(e) = sessions.start(spec.clone()) {
            let reason = format!("this session cannot start: {e}");
            problems.push(format!("session `{}`: {e}", spec.id));
            sessions.start_broken(spec.clone(), reason)?;
            first_failure.get_or_insert(e);
        }
    }
    if let Some(e) = first_failure
        && problems.len() == config.sessions.len()
    {
        return Err(e);
    }
    problems.extend(sessions.restart_created());
    Ok((sessions, problems))
}

/// Serves HTTP on `listener` until `stop` fires.
/// The listening socket; none for a host reached through its relay only
/// (`--listen none`).
async fn bind(config: &HostConfig) -> Result<Option<tokio::net::TcpListener>> {
    if config.listen_none {
        if config.relay.is_none() {
            invalid!("--listen none needs --relay: nothing else would reach the sessions");
        }
        return Ok(None);
    }
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .map_err(|cause| Error::Io {
            what: format!("cannot listen on {}", config.listen),
            cause,
        })?;
    Ok(Some(listener))
}

async fn serve(
    listener: Option<tokio::net::TcpListener>,
    app: axum::Router,
    limits: listener::SocketLimits,
    stop: oneshot::Receiver<()>,
) {
    let Some(listener) = listener else {
        let _ = stop.await;
        return;
    };
    // Dropped when this task ends: open HTTP exchanges then finish.
    let (_stop_all, stop_all) = watch::channel(false);
    tokio::select! {
        () = listener::serve(listener, app, limits, stop_all) => {}
        _ = stop => {}
    }
}
