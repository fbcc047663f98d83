//! Where a created session runs: a directory under the host's
//! workspaces, made when asked, and unmade when the session is refused.

use std::path::{Path, PathBuf};

use super::{SessionRefusal, Sessions, expand_home};

impl Sessions {
    /// The directory a new session may run in: `asked` (relative to the
    /// first workspace) when it lies under a workspace, else the first
    /// workspace itself. A missing one is made when `create` says so.
    pub(super) fn workspace_dir(
        &self,
        asked: Option<&Path>,
        create: bool,
    ) -> Result<(PathBuf, Option<MadeDirs>), SessionRefusal> {
        let Some(first) = self.workspaces.first() else {
            return Err(SessionRefusal::Forbidden(
                "this host has no workspaces configured: it creates no sessions".into(),
            ));
        };
        let Some(asked) = asked else {
            return Ok((first.clone(), None));
        };
        let asked = expand_home(asked);
        let full = first.join(&asked);
        let made = if full.exists() {
            None
        } else {
            Some(self.make_missing(&full, &asked, create)?)
        };
        let dir = std::fs::canonicalize(&full)
            .map_err(|e| SessionRefusal::Invalid(format!("cwd {}: {e}", asked.display())))?;
        if !dir.is_dir() {
            return Err(SessionRefusal::Invalid(format!(
                "cwd {} is not a directory",
                asked.display()
            )));
        }
        if !self.workspaces.iter().any(|w| dir.starts_with(w)) {
            return Err(SessionRefusal::Forbidden(format!(
                "cwd {} is outside this host's workspaces",
                dir.display()
            )));
        }
        Ok((dir, made))
    }

    /// Makes `full` (`asked`, resolved) when `create` says so and its
    /// nearest existing ancestor lies under a workspace; else says why not.
    fn make_missing(
        &self,
        full: &Path,
        asked: &Path,
        create: bool,
    ) -> Result<MadeDirs, SessionRefusal> {
        let shown = asked.display();
        let climbs = full
            .components()
            .any(|c| c == std::path::Component::ParentDir);
        let base = full
            .ancestors()
            .find(|a| a.exists())
            .and_then(|a| std::fs::canonicalize(a).ok());
        let inside = base.is_some_and(|b| self.workspaces.iter().any(|w| b.starts_with(w)));
        if climbs || !inside {
            return Err(SessionRefusal::Forbidden(format!(
                "cwd {shown} is outside this host's workspaces"
            )));
        }
        if !create {
            return Err(SessionRefusal::MissingDir(format!(
                "directory {shown} does not exist"
            )));
        }
        let made = MadeDirs::of(full);
        std::fs::create_dir_all(full)
            .map_err(|e| SessionRefusal::Invalid(format!("cannot make {shown}: {e}")))?;
        Ok(made)
    }
}

/// Directories made for a session being created: removed again (those
/// still empty, innermost first) unless the session started in them, so
/// a refused request leaves nothing behind.
pub(super) struct MadeDirs {
    /// Each directory made, innermost first.
    dirs: Vec<PathBuf>,
}

impl MadeDirs {
    /// The directories `create_dir_all(full)` is about to make.
    fn of(full: &Path) -> MadeDirs {
        let dirs = full
            .ancestors()
            .take_while(|a| !a.exists())
            .map(Path::to_path_buf)
            .collect();
        MadeDirs { dirs }
    }

    /// The session started: they stay.
    pub(super) fn keep(mut self) {
        self.dirs.clear();
    }
}

impl Drop for MadeDirs {
    fn drop(&mut self) {
        for dir in &self.dirs {
            // Only an empty one goes: anything written there meanwhile stays.
            if std::fs::remove_dir(dir).is_err() {
                return;
            }
        }
    }
}
