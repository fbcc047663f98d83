//! One running session: its task, and how the network edge reaches it.

use std::sync::{Arc, Mutex};

use tokio::sync::{broadcast, mpsc, oneshot, watch};
use tokio::task::JoinHandle;

use super::restore::{Restored, restore};
use super::{SessionDefaults, SessionSpec};
use crate::host::error::{Error, IoContext, Result};
use crate::host::lobby::Lobby;
use crate::host::runtime::{AgentLauncher, Request, Runtime, RuntimeParts};
use crate::host::session::At;
use crate::protocol::SessionSummary;

/// The longest session title kept, in characters.
const MAX_TITLE_CHARS: usize = 120;

/// Requests queued for a session task.
const REQUEST_QUEUE: usize = 4096;

pub struct HostedSession {
    /// As started: `cwd` is canonical.
    pub spec: SessionSpec,
    pub requests: mpsc::Sender<Request>,
    /// Turns true when the session stops: its connections close with 1001.
    pub closing: watch::Receiver<bool>,
    pub journal_path: Option<std::path::PathBuf>,
    /// Where its journal lives (or would: a session whose journal could
    /// not be opened has none open, but a file there all the same).
    pub journal_dir: Option<std::path::PathBuf>,
    task: Mutex<Option<JoinHandle<()>>>,
}

impl HostedSession {
    /// Restores the session from its journal and starts its task (and so
    /// its agent; one that cannot start leaves the session `exited`).
    pub fn start(
        mut spec: SessionSpec,
        defaults: &SessionDefaults,
        lobby: Arc<Lobby>,
    ) -> Result<Arc<HostedSession>> {
        super::restore::check_session_id(&spec.id)?;
        // Titles reach every client's screen and the lobby.
        spec.title = spec
            .title
            .map(|t| crate::host::server::query::displayable_up_to(&t, MAX_TITLE_CHARS))
            .filter(|t| !t.trim().is_empty());
        spec.cwd = std::fs::canonicalize(&spec.cwd)
            .or_io(|| format!("working directory {}", spec.cwd.display()))?;
        let restored = restore(&spec, defaults, &spec.cwd, At::now())?;
        let session = Self::run(spec, restored, defaults, lobby, None);
        Ok(Self::with_journal_dir(session, defaults))
    }

    fn with_journal_dir(
        mut session: HostedSession,
        defaults: &SessionDefaults,
    ) -> Arc<HostedSession> {
        session.journal_dir.clone_from(&defaults.journal_dir);
        Arc::new(session)
    }

    /// Starts the session's task on what its journal left.
    fn run(
        spec: SessionSpec,
        restored: Restored,
        defaults: &SessionDefaults,
        lobby: Arc<Lobby>,
        broken: Option<String>,
    ) -> HostedSession {
        let Restored {
            session,
            journal,
            startup,
            agent_session,
        } = restored;
        let (requests_tx, requests) = mpsc::channel(REQUEST_QUEUE);
        let (broadcast, _) = broadcast::channel(defaults.queue_frames.max(16));
        let (closing, closing_rx) = watch::channel(false);
        let journal_path = journal.as_ref().map(|j| j.path().to_owned());
        let parts = RuntimeParts {
            session,
            journal,
            agent: AgentLauncher {
                spec: spec.agent.clone(),
                cwd: spec.cwd.clone(),
                resume: agent_session,
            },
            requests,
            broadcast,
            closing,
            lobby,
            preset: spec.preset.clone(),
            broken,
            interrupt_grace: defaults.interrupt_grace,
            alerts: defaults.alerts.clone(),
        };
        let task = tokio::spawn(Runtime::new(parts, &startup).run());
        HostedSession {
            spec,
            requests: requests_tx,
            closing: closing_rx,
            journal_path,
            journal_dir: None,
            task: Mutex::new(Some(task)),
        }
    }

    /// A configured session that cannot start (its journal is damaged or
    /// held by another host): listed, `exited` with `reason`, its agent not
    /// started and not restartable, its journal left as it is, so the
    /// host's other sessions run.
    pub fn start_broken(
        mut spec: SessionSpec,
        defaults: &SessionDefaults,
        lobby: Arc<Lobby>,
        reason: String,
    ) -> Result<Arc<HostedSession>> {
        let mut memory_only = defaults.clone();
        memory_only.journal_dir = None;
        spec.cwd = std::fs::canonicalize(&spec.cwd).unwrap_or(spec.cwd);
        let restored = restore(&spec, &memory_only, &spec.cwd, At::now())?;
        let session = Self::run(spec, restored, &memory_only, lobby, Some(reason));
        Ok(Self::with_journal_dir(session, defaults))
    }

    pub fn id(&self) -> &str {
        &self.spec.id
    }

    /// Sends a request and waits for its answer.
    pub async fn ask<T>(&self, request: impl FnOnce(oneshot::Sender<T>) -> Request) -> Result<T> {
        let (reply, answer) = oneshot::channel();
        self.requests
            .send(request(reply))
            .await
            .map_err(|_| Error::Stopped)?;
        answer.await.map_err(|_| Error::Stopped)
    }

    pub async fn summary(&self) -> Result<SessionSummary> {
        self.ask(|reply| Request::Summary { reply }).await
    }

    /// Stops the agent, flushes the journal, closes the connections with
    /// 1001, and waits for the task to end.
    pub async fn stop(&self) {
        let (done, finished) = oneshot::channel();
        if self.requests.send(Request::Shutdown { done }).await.is_ok() {
            let _ = finished.await;
        }
        let task = self.task.lock().unwrap_or_else(|e| e.into_inner()).take();
        if let Some(task) = task {
            let _ = task.await;
        }
    }
}
