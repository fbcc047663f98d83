//! Whose the owner slot is, kept beside the journal so that a restart
//! holds the slot for the same identity (protocol.md section 8, Journal).
//!
//! A small file of its own, `<session>.owner.json`, rather than lines in
//! the journal: the journal stays pure event frames (replayable as a
//! recording, readable by older builds), and ownership, which is not part
//! of the session's history, never gets a seq.

use std::fs;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use crate::host::error::{IoContext, Result};
use serde::{Deserialize, Serialize};

/// The file's content.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct OwnerRecord {
    /// The history it belongs to: a record left from another history
    /// (the journal was moved away) is ignored.
    epoch: String,
    /// The owner's identity, or the one the slot is held for; `None` when
    /// the slot is free.
    owner: Option<String>,
}

#[derive(Debug)]
pub struct OwnerFile {
    path: PathBuf,
    epoch: String,
}

pub fn owner_path(dir: &Path, session: &str) -> PathBuf {
    dir.join(format!("{session}.owner.json"))
}

impl OwnerFile {
    /// The owner file of `session`'s history `epoch` in `dir`, and the
    /// identity it records. A missing, unreadable or foreign file records
    /// nobody: it is a hint, never a reason to refuse to start.
    pub fn open(dir: &Path, session: &str, epoch: &str) -> (OwnerFile, Option<String>) {
        let path = owner_path(dir, session);
        let owner = fs::read(&path)
            .ok()
            .and_then(|bytes| serde_json::from_slice::<OwnerRecord>(&bytes).ok())
            .filter(|record| record.epoch == epoch)
            .and_then(|record| record.owner);
        let file = OwnerFile {
            path,
            epoch: epoch.to_owned(),
        };
        (file, owner)
    }

    /// Removes the record of `session` (its history ended).
    pub fn forget(dir: &Path, session: &str) {
        let _ = fs::remove_file(owner_path(dir, session));
    }

    /// Records whose the slot is now, replacing the file atomically.
    pub fn record(&self, owner: Option<&str>) -> Result<()> {
        let record = OwnerRecord {
            epoch: self.epoch.clone(),
            owner: owner.map(str::to_owned),
        };
        replace_private(&self.path, &serde_json::to_vec(&record)?)
    }
}

/// Replaces the file at `path` with `bytes` atomically (written beside it,
/// then renamed), private (0600) like the journal.
pub fn replace_private(path: &Path, bytes: &[u8]) -> Result<()> {
    let staging = path.with_extension("new");
    let _ = fs::remove_file(&staging);
    fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&staging)
        .and_then(|mut file| file.write_all(bytes))
        .or_io(|| format!("cannot write {}", staging.display()))?;
    fs::rename(&staging, path).or_io(|| format!("cannot replace {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_newest_record_of_the_same_history_is_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let (file, owner) = OwnerFile::open(dir.path(), "main", "e1");
        assert_eq!(owner, None, "no file yet");
        file.record(Some("alice")).unwrap();
        use std::os::unix::fs::PermissionsExt;
        let mode = fs::metadata(owner_path(dir.path(), "main"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "private like the journal");
        assert_eq!(
            OwnerFile::open(dir.path(), "main", "e1").1.as_deref(),
            Some("alice")
        );
        assert_eq!(
            OwnerFile::open(dir.path(), "main", "e2").1,
            None,
            "another history"
        );
        file.record(None).unwrap();
        assert_eq!(OwnerFile::open(dir.path(), "main", "e1").1, None);
        fs::write(owner_path(dir.path(), "main"), "garbage").unwrap();
        assert_eq!(OwnerFile::open(dir.path(), "main", "e1").1, None);
    }
}
