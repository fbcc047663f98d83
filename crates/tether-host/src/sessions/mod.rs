//! The sessions of a host: which run, how they are created from the
//! configured presets, stopped and restarted, and the lobby that sums
//! them up. Sessions created over HTTP are recorded beside the journals
//! (`created`), so a host restart brings them back.

mod created;
mod hosted;
mod restore;
mod workspace;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use serde::Deserialize;

use crate::host::agent::{AgentSpec, Preset};
use crate::host::error::Result;
use crate::host::lobby::Lobby;
use crate::host::runtime::Request;
use crate::protocol::SessionSummary;
use crate::protocol::UnavailablePreset;
pub use created::CreatedSession;
pub use hosted::HostedSession;
pub use restore::check_session_id;

/// One session a host runs.
#[derive(Debug, Clone, PartialEq)]
pub struct SessionSpec {
    pub id: String,
    pub agent: AgentSpec,
    /// The configured preset it comes from, if any.
    pub preset: Option<String>,
    pub cwd: PathBuf,
    pub title: Option<String>,
}

impl SessionSpec {
    pub fn new(id: impl Into<String>, agent: AgentSpec) -> Self {
        SessionSpec {
            id: id.into(),
            agent,
            preset: None,
            cwd: PathBuf::from("."),
            title: None,
        }
    }
}

/// What every session of a host shares.
#[derive(Debug, Clone)]
pub struct SessionDefaults {
    pub owner_grace: Duration,
    /// Where journals live; `None` keeps history in memory only.
    pub journal_dir: Option<PathBuf>,
    pub history_bytes: usize,
    pub retain: usize,
    pub queue_frames: usize,
    /// Where sessions created over HTTP keep their journals and the
    /// record of them (`created-sessions.json`); `None`: the journal
    /// directory (nowhere without one).
    pub created_dir: Option<PathBuf>,
    /// How long an interrupted agent has to end its turn before the host
    /// stops it and starts it again.
    pub interrupt_grace: Duration,
    /// Where sessions report what alerts tell of (none: no alerts).
    pub alerts: Option<crate::host::notify::AlertSink>,
}

/// What a client asks for in `POST /v1/sessions`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateSession {
    #[serde(default)]
    pub id: Option<String>,
    pub agent: String,
    #[serde(default)]
    pub cwd: Option<PathBuf>,
    #[serde(default)]
    pub title: Option<String>,
    /// Make `cwd` (under a workspace) when it does not exist.
    #[serde(default)]
    pub create_dir: bool,
}

/// Why a session was not created (or stopped, or restarted).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SessionRefusal {
    /// 404: no such session (or not one the caller may see).
    NotFound,
    /// 409: the id is taken, or the agent still runs.
    Conflict(String),
    /// 400: the request names something the host cannot use.
    Invalid(String),
    /// 403: the request is understood and not allowed.
    Forbidden(String),
    /// 503: the host runs as many sessions as it may (or is near its
    /// open-file limit).
    Full(String),
    /// 429: this token creates sessions faster than the host allows.
    TooFast(String),
    /// 400: the directory asked for does not exist; asked again with
    /// `create_dir`, the host makes it.
    MissingDir(String),
}

impl SessionRefusal {
    /// What to tell the client.
    pub fn message(&self) -> String {
        match self {
            SessionRefusal::NotFound => "no such session".into(),
            SessionRefusal::Conflict(why)
            | SessionRefusal::Invalid(why)
            | SessionRefusal::Forbidden(why)
            | SessionRefusal::Full(why)
            | SessionRefusal::TooFast(why)
            | SessionRefusal::MissingDir(why) => why.clone(),
        }
    }
}

pub struct Sessions {
    running: RwLock<BTreeMap<String, Arc<HostedSession>>>,
    /// Ids of deleted sessions whose stop has not finished: reserved, so a
    /// new session cannot take the id (and its journal) meanwhile.
    stopping: std::sync::Mutex<std::collections::BTreeSet<String>>,
    pub lobby: Arc<Lobby>,
    defaults: SessionDefaults,
    /// The same for created sessions (their journals may live elsewhere).
    created_defaults: SessionDefaults,
    /// The agents clients may start, by name.
    presets: BTreeMap<String, Preset>,
    /// Directories (canonical) under which clients may start sessions.
    workspaces: Vec<PathBuf>,
    /// The record of sessions created over HTTP.
    created: Option<created::CreatedFile>,
    /// Sessions the host runs at most (configured ones included).
    max_sessions: usize,
}

/// Open files a session may hold (journal, marker, lock, an agent's pipes
/// and its supervisor's): the headroom a new one needs.
const FDS_PER_SESSION: usize = 12;

impl Sessions {
    pub fn new(
        defaults: SessionDefaults,
        presets: BTreeMap<String, Preset>,
        workspaces: &[PathBuf],
        max_sessions: usize,
    ) -> Result<Sessions> {
        let workspaces = workspaces
            .iter()
            .map(|w| {
                use crate::host::error::IoContext;
                std::fs::canonicalize(w).or_io(|| format!("workspace {}", w.display()))
            })
            .collect::<Result<_>>()?;
        let mut created_defaults = defaults.clone();
        if let Some(dir) = &defaults.created_dir {
            created_defaults.journal_dir = Some(dir.clone());
        }
        let created = created_defaults
            .journal_dir
            .as_deref()
            .map(|dir| created::CreatedFile::at(dir.join("created-sessions.json")));
        Ok(Sessions {
            running: RwLock::new(BTreeMap::new()),
            stopping: std::sync::Mutex::new(std::collections::BTreeSet::new()),
            lobby: Arc::new(Lobby::default()),
            defaults,
            created_defaults,
            presets,
            workspaces,
            created,
            max_sessions,
        })
    }

    /// Starts a configured session.
    pub fn start(&self, spec: SessionSpec) -> Result<Arc<HostedSession>> {
        self.start_with(spec, &self.defaults)
    }

    /// Lists a configured session that cannot start, `exited` with
    /// `reason` (see [`HostedSession::start_broken`]).
    pub fn start_broken(&self, spec: SessionSpec, reason: String) -> Result<()> {
        let mut running = self.running.write().unwrap_or_else(|e| e.into_inner());
        self.lobby.enrol(&spec.id);
        let session =
            HostedSession::start_broken(spec, &self.defaults, self.lobby.clone(), reason)?;
        running.insert(session.id().to_owned(), session);
        Ok(())
    }

    fn start_with(
        &self,
        spec: SessionSpec,
        defaults: &SessionDefaults,
    ) -> Result<Arc<HostedSession>> {
        let mut running = self.running.write().unwrap_or_else(|e| e.into_inner());
        if running.contains_key(&spec.id) {
            crate::host::error::invalid!("two sessions are named `{}`", spec.id);
        }
        self.lobby.enrol(&spec.id);
        let session = HostedSession::start(spec, defaults, self.lobby.clone())?;
        running.insert(session.id().to_owned(), session.clone());
        Ok(session)
    }

    /// Starts again the sessions created over HTTP before the host
    /// stopped (those whose preset is still configured).
    pub fn restart_created(&self) -> Vec<String> {
        let Some(file) = &self.created else {
            return Vec::new();
        };
        let mut problems = Vec::new();
        for entry in file.load() {
            let Some(agent) = self.presets.get(&entry.preset) else {
                problems.push(format!(
                    "session `{}`: preset `{}` is no longer configured; not started",
                    entry.id, entry.preset
                ));
                continue;
            };
            let spec = entry.spec(agent.agent.clone());
            if let Err(e) = self.start_with(spec, &self.created_defaults) {
                problems.push(format!("session `{}`: {e}", entry.id));
            }
        }
        problems
    }

    /// The presets sessions can be created from now, by name, and those
    /// that cannot start (their program is missing) with why.
    pub fn presets(&self) -> (Vec<String>, Vec<UnavailablePreset>) {
        let path = std::env::var("PATH").ok();
        let mut offered = Vec::new();
        let mut missing = Vec::new();
        for (name, preset) in &self.presets {
            match preset.missing(path.as_deref()) {
                None => offered.push(name.clone()),
                Some(why) => missing.push(UnavailablePreset {
                    name: name.clone(),
                    why,
                    install: preset.install.clone(),
                }),
            }
        }
        (offered, missing)
    }

    /// The directories created sessions may run under.
    pub fn workspaces(&self) -> Vec<String> {
        self.workspaces
            .iter()
            .map(|w| w.display().to_string())
            .collect()
    }

    pub fn get(&self, id: &str) -> Option<Arc<HostedSession>> {
        let running = self.running.read().unwrap_or_else(|e| e.into_inner());
        running.get(id).cloned()
    }

    /// Every running session, by id.
    pub fn all(&self) -> Vec<Arc<HostedSession>> {
        let running = self.running.read().unwrap_or_else(|e| e.into_inner());
        running.values().cloned().collect()
    }

    /// The exact summaries of the sessions `visible` admits.
    pub async fn summaries(&self, visible: impl Fn(&str) -> bool) -> Vec<SessionSummary> {
        let mut out = Vec::new();
        for session in self.all().into_iter().filter(|s| visible(s.id())) {
            if let Ok(summary) = session.summary().await {
                out.push(summary);
            }
        }
        crate::host::lobby::sort_in_list_order(&mut out);
        out
    }

    /// Creates and starts a session from a configured preset.
    pub async fn create(&self, ask: CreateSession) -> Result<SessionSummary, SessionRefusal> {
        let Some(preset) = self.presets.get(&ask.agent) else {
            let known: Vec<&str> = self.presets.keys().map(String::as_str).collect();
            return Err(SessionRefusal::Invalid(format!(
                "no agent preset `{}` (this host has: {})",
                ask.agent,
                known.join(", ")
            )));
        };
        // Checked before anything is made: a session that cannot start is
        // refused with what to install, and no directory is left behind.
        if let Some(why) = preset.missing(std::env::var("PATH").ok().as_deref()) {
            return Err(SessionRefusal::Invalid(format!(
                "agent `{}` cannot start on this host: {why}",
                ask.agent
            )));
        }
        let agent = preset.agent.clone();
        let (cwd, made) = self.workspace_dir(ask.cwd.as_deref(), ask.create_dir)?;
        let session = {
            let mut running = self.running.write().unwrap_or_else(|e| e.into_inner());
            let stopping = self.stopping.lock().unwrap_or_else(|e| e.into_inner());
            let id = match ask.id {
                Some(id) => id,
                None => free_id(
                    |id| running.contains_key(id) || stopping.contains(id),
                    &cwd,
                    &ask.agent,
                ),
            };
            check_session_id(&id).map_err(|e| SessionRefusal::Invalid(e.to_string()))?;
            if running.contains_key(&id) {
                return Err(SessionRefusal::Conflict(format!("a session `{id}` exists")));
            }
            if stopping.contains(&id) {
                return Err(SessionRefusal::Conflict(format!(
                    "session `{id}` is still stopping: try again in a moment"
                )));
            }
            if running.len() + stopping.len() >= self.max_sessions {
                return Err(SessionRefusal::Full(format!(
                    "this host runs {} sessions, its limit (--max-sessions): delete one first",
                    self.max_sessions
                )));
            }
            if let Some(left) = open_files_left()
                && left < FDS_PER_SESSION * 4
            {
                return Err(SessionRefusal::Full(format!(
                    "this host is near its open-file limit ({left} left): no new session"
                )));
            }
            drop(stopping);
            self.lobby.enrol(&id);
            let spec = SessionSpec {
                id: id.clone(),
                agent,
                preset: Some(ask.agent),
                cwd,
                title: ask.title.filter(|t| !t.trim().is_empty()),
            };
            let session = HostedSession::start(spec, &self.created_defaults, self.lobby.clone())
                .map_err(|e| SessionRefusal::Invalid(e.to_string()))?;
            running.insert(id, session.clone());
            if let Some(made) = made {
                made.keep();
            }
            session
        };
        if let Some(file) = &self.created
            && let Err(e) = file.add(CreatedSession::of(&session.spec))
        {
            tracing::error!("cannot record the created session: {e}");
        }
        session
            .summary()
            .await
            .map_err(|e| SessionRefusal::Invalid(e.to_string()))
    }

    /// Stops a session and ends its history: its journal moves to
    /// `deleted/` beside the others, so a new session of the same id starts
    /// afresh (no history, no rules). The id stays reserved until then.
    pub async fn delete(self: &Arc<Self>, id: &str) -> Result<(), SessionRefusal> {
        let session = {
            let mut running = self.running.write().unwrap_or_else(|e| e.into_inner());
            let session = running.remove(id).ok_or(SessionRefusal::NotFound)?;
            let mut stopping = self.stopping.lock().unwrap_or_else(|e| e.into_inner());
            stopping.insert(id.to_owned());
            session
        };
        // Finished even if the caller goes away (an HTTP client that hangs
        // up): the id must not stay reserved, the history not stay open.
        let sessions = Arc::clone(self);
        let id = id.to_owned();
        let finishing = tokio::spawn(async move { sessions.finish_delete(&session, &id).await });
        let _ = finishing.await;
        Ok(())
    }

    async fn finish_delete(&self, session: &HostedSession, id: &str) {
        session.stop().await;
        self.lobby.remove(id);
        if let Some(dir) = session.journal_dir.as_deref()
            && let Err(e) = crate::host::journal::Journal::retire(dir, id)
        {
            tracing::error!("cannot retire the journal of `{id}`: {e}");
        }
        if let Some(file) = &self.created
            && let Err(e) = file.remove(id)
        {
            tracing::error!("cannot update the record of created sessions: {e}");
        }
        let mut stopping = self.stopping.lock().unwrap_or_else(|e| e.into_inner());
        stopping.remove(id);
    }

    /// Starts a session's agent again after it exited.
    pub async fn restart(&self, id: &str, by: &str) -> Result<SessionSummary, SessionRefusal> {
        let session = self.get(id).ok_or(SessionRefusal::NotFound)?;
        let by = by.to_owned();
        let outcome = session
            .ask(|reply| Request::Restart { by, reply })
            .await
            .map_err(|_| SessionRefusal::NotFound)?;
        outcome.map_err(SessionRefusal::Conflict)?;
        session
            .summary()
            .await
            .map_err(|_| SessionRefusal::NotFound)
    }

    /// Stops every session.
    pub async fn stop_all(&self) {
        let all = std::mem::take(&mut *self.running.write().unwrap_or_else(|e| e.into_inner()));
        let stops = all.values().map(|s| s.stop());
        futures_util::future::join_all(stops).await;
    }
}

/// How many more files this process may open, if that can be told.
fn open_files_left() -> Option<usize> {
    let (soft, _) =
        nix::sys::resource::getrlimit(nix::sys::resource::Resource::RLIMIT_NOFILE).ok()?;
    let open = std::fs::read_dir("/proc/self/fd").ok()?.count();
    usize::try_from(soft)
        .ok()
        .map(|limit| limit.saturating_sub(open))
}

/// `~/x` as a path under the home directory.
pub fn expand_home(path: &Path) -> PathBuf {
    match (path.strip_prefix("~"), dirs::home_dir()) {
        (Ok(rest), Some(home)) => home.join(rest),
        _ => path.to_owned(),
    }
}

/// An unused id for a new session: the directory's name (or the preset's),
/// with `-2`, `-3`... when taken.
fn free_id(taken: impl Fn(&str) -> bool, cwd: &Path, preset: &str) -> String {
    let base: String = cwd
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "-_".contains(c) {
                c
            } else {
                '-'
            }
        })
        .take(48)
        .collect();
    // A session id starts with a letter, a digit or `_`.
    let base = base.trim_start_matches('-');
    let base = if base.trim_matches('-').is_empty() {
        preset.to_owned()
    } else {
        base.to_owned()
    };
    (1..)
        .map(|n| {
            if n == 1 {
                base.clone()
            } else {
                format!("{base}-{n}")
            }
        })
        .find(|id| !taken(id))
        .expect("some id is free")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_free_id_is_always_a_valid_one() {
        for (dir, want) in [
            ("/x/api", "api"),
            ("/x/.config", "config"),
            ("/x/日本proj", "proj"),
            ("/x/---", "shell"),
            ("/", "shell"),
        ] {
            let id = free_id(|_| false, Path::new(dir), "shell");
            assert_eq!(id, want, "{dir}");
            check_session_id(&id).unwrap();
        }
        assert_eq!(
            free_id(|id| id == "api", Path::new("/x/api"), "shell"),
            "api-2"
        );
    }
}
