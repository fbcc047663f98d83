//! The record of sessions created over HTTP (`created-sessions.json`
//! beside the journals): what a restarted host starts again besides the
//! configured ones. A preset name is recorded, never a command line.

use std::path::PathBuf;
use std::sync::Mutex;

use serde::{Deserialize, Serialize};

use super::SessionSpec;
use crate::host::agent::AgentSpec;
use crate::host::error::Result;
use crate::host::owner_file::replace_private;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CreatedSession {
    pub id: String,
    pub preset: String,
    pub cwd: PathBuf,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
}

impl CreatedSession {
    pub fn of(spec: &SessionSpec) -> Self {
        CreatedSession {
            id: spec.id.clone(),
            preset: spec.preset.clone().unwrap_or_default(),
            cwd: spec.cwd.clone(),
            title: spec.title.clone(),
        }
    }

    pub fn spec(&self, agent: AgentSpec) -> SessionSpec {
        SessionSpec {
            id: self.id.clone(),
            agent,
            preset: Some(self.preset.clone()),
            cwd: self.cwd.clone(),
            title: self.title.clone(),
        }
    }
}

pub struct CreatedFile {
    path: PathBuf,
    /// Held while the file is read and rewritten.
    lock: Mutex<()>,
}

impl CreatedFile {
    pub fn at(path: PathBuf) -> Self {
        CreatedFile {
            path,
            lock: Mutex::new(()),
        }
    }

    /// The recorded sessions; a missing or unreadable file records none.
    pub fn load(&self) -> Vec<CreatedSession> {
        let bytes = match std::fs::read(&self.path) {
            Ok(bytes) => bytes,
            Err(_) => return Vec::new(),
        };
        serde_json::from_slice(&bytes).unwrap_or_else(|e| {
            tracing::error!("{} is not readable: {e}", self.path.display());
            Vec::new()
        })
    }

    pub fn add(&self, entry: CreatedSession) -> Result<()> {
        let _held = self.lock.lock().unwrap_or_else(|e| e.into_inner());
        let mut all = self.load();
        all.retain(|e| e.id != entry.id);
        all.push(entry);
        self.save(&all)
    }

    pub fn remove(&self, id: &str) -> Result<()> {
        let _held = self.lock.lock().unwrap_or_else(|e| e.into_inner());
        let mut all = self.load();
        let before = all.len();
        all.retain(|e| e.id != id);
        if all.len() == before {
            return Ok(());
        }
        self.save(&all)
    }

    fn save(&self, all: &[CreatedSession]) -> Result<()> {
        if let Some(dir) = self.path.parent() {
            use crate::host::error::IoContext;
            std::fs::create_dir_all(dir).or_io(|| format!("cannot create {}", dir.display()))?;
        }
        replace_private(&self.path, &serde_json::to_vec_pretty(all)?)
    }
}
