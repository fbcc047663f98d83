//! Changing the auth file safely (`tether token`): the whole new file is
//! written to a private temporary file next to it and renamed over it, so
//! a running host (or a crash) never sees half a file, and the mode stays
//! 0600.

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use crate::host::error::{Error, IoContext, Result, invalid};
use nix::fcntl::{Flock, FlockArg};

use super::{AuthFile, TokenEntry, fresh_token, load, load_or_create};
use crate::protocol::Grant;

/// Whether `name` may name a token: 1 to 64 letters, digits, `-`, `_`, `.`
/// or `@` (it is shown to everyone as an identity).
pub fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.@".contains(c))
}

/// Adds a fresh token named `name` to the auth file (creating the file,
/// with its usual two tokens, when it does not exist). Returns the new
/// entry and whether the file was created.
pub fn add_token(
    path: &Path,
    name: &str,
    grants: Vec<Grant>,
    sessions: Vec<String>,
    expires: Option<std::time::SystemTime>,
) -> Result<(TokenEntry, bool)> {
    if !valid_name(name) {
        invalid!("`{name}` is not a valid name: use 1 to 64 letters, digits, `-`, `_`, `.` or `@`");
    }
    if grants.is_empty() {
        invalid!("a token needs at least one grant: control, view or admin");
    }
    if let Some(bad) = sessions.iter().find(|s| !valid_session_pattern(s)) {
        invalid!(
            "`{bad}` is not a session id or glob: use letters, digits, `-`, `_`, `.`, `*`, `?`"
        );
    }
    let _lock = lock_for_edit(path)?;
    let (mut file, created) = load_or_create(path)?;
    if file.tokens.iter().any(|t| t.name == name) {
        invalid!(
            "{} already has a token named `{name}`: revoke it first or pick another name",
            path.display()
        );
    }
    let entry = TokenEntry {
        name: name.to_owned(),
        token: fresh_token(),
        grants,
        sessions,
        expires: expires.map(|at| humantime::format_rfc3339_seconds(at).to_string()),
    };
    file.tokens.push(entry.clone());
    save(path, &file)?;
    Ok((entry, created))
}

/// Removes every token named `name`; returns how many there were.
pub fn revoke_token(path: &Path, name: &str) -> Result<usize> {
    let _lock = lock_for_edit(path)?;
    let mut file = load(path)?;
    let before = file.tokens.len();
    file.tokens.retain(|t| t.name != name);
    let removed = before - file.tokens.len();
    if removed == 0 {
        invalid!("{} has no token named `{name}`", path.display());
    }
    save(path, &file)?;
    Ok(removed)
}

/// Serialises edits: two `tether token` runs at once would otherwise each
/// read the file and the second rename would drop the first one's change.
/// The lock is a private file next to the auth file, held until dropped.
fn lock_for_edit(path: &Path) -> Result<Flock<File>> {
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .or_io(|| format!("cannot create {}", dir.display()))?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "auth.json".into());
    let lock_path = dir.join(format!(".{name}.lock"));
    let file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .mode(0o600)
        .open(&lock_path)
        .or_io(|| format!("cannot create {}", lock_path.display()))?;
    Flock::lock(file, FlockArg::LockExclusive).map_err(|(_, e)| Error::Io {
        what: format!("cannot lock {}", lock_path.display()),
        cause: e.into(),
    })
}

fn valid_session_pattern(pattern: &str) -> bool {
    !pattern.is_empty()
        && pattern
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.*?".contains(c))
}

/// Replaces the auth file with `file`: written to a 0600 temporary file in
/// the same directory, synced, then renamed over the old one.
pub fn save(path: &Path, file: &AuthFile) -> Result<()> {
    // Through a symlink, replace the file it points to, not the link.
    let target = fs::canonicalize(path).unwrap_or_else(|_| path.to_owned());
    let temporary = temporary_path(&target);
    let written = write_private(&temporary, file).and_then(|()| {
        fs::rename(&temporary, &target).or_io(|| format!("cannot replace {}", target.display()))
    });
    if written.is_err() {
        let _ = fs::remove_file(&temporary);
    }
    written
}

fn temporary_path(target: &Path) -> PathBuf {
    let name = target
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "auth.json".into());
    target.with_file_name(format!(
        ".{name}.{}.{:08x}.tmp",
        std::process::id(),
        rand::random::<u32>()
    ))
}

pub(super) fn write_private(path: &Path, file: &AuthFile) -> Result<()> {
    let mut out = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .or_io(|| format!("cannot create {}", path.display()))?;
    let mut text = serde_json::to_string_pretty(file)?;
    text.push('\n');
    out.write_all(text.as_bytes())
        .and_then(|()| out.sync_all())
        .or_io(|| format!("cannot write {}", path.display()))
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    fn mode(path: &Path) -> u32 {
        fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn adds_and_revokes_keeping_the_file_private() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("auth.json");
        let (bob, created) =
            add_token(&path, "bob", vec![Grant::Admin], vec!["dev-*".into()], None).unwrap();
        assert!(created);
        assert_eq!(mode(&path), 0o600);
        let file = load(&path).unwrap();
        assert_eq!(file.tokens.len(), 3, "the usual two and bob");
        assert_eq!(file.authenticate(&bob.token).unwrap().sessions, ["dev-*"]);
        let err = add_token(&path, "bob", vec![Grant::View], vec![], None).unwrap_err();
        assert!(err.to_string().contains("already has a token named `bob`"));
        assert_eq!(revoke_token(&path, "bob").unwrap(), 1);
        assert_eq!(mode(&path), 0o600);
        assert!(load(&path).unwrap().authenticate(&bob.token).is_none());
        let err = revoke_token(&path, "bob").unwrap_err();
        assert!(err.to_string().contains("no token named `bob`"));
        let leftovers: Vec<_> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .filter(|n| n.ends_with(".tmp"))
            .collect();
        assert!(leftovers.is_empty(), "temporary files left: {leftovers:?}");
    }

    #[test]
    fn concurrent_adds_all_land() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("auth.json");
        let adders: Vec<_> = (0..8)
            .map(|n| {
                let path = path.clone();
                std::thread::spawn(move || {
                    add_token(&path, &format!("p{n}"), vec![Grant::View], vec![], None).unwrap()
                })
            })
            .collect();
        for adder in adders {
            adder.join().unwrap();
        }
        assert_eq!(load(&path).unwrap().tokens.len(), 2 + 8);
    }

    #[test]
    fn refuses_bad_names_and_readable_files() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("auth.json");
        assert!(add_token(&path, "a b", vec![Grant::View], vec![], None).is_err());
        assert!(add_token(&path, "ok", vec![], vec![], None).is_err());
        assert!(add_token(&path, "ok", vec![Grant::View], vec!["a/b".into()], None).is_err());
        add_token(&path, "ok", vec![Grant::View], vec![], None).unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
        let err = add_token(&path, "other", vec![Grant::View], vec![], None).unwrap_err();
        assert!(err.to_string().contains("chmod 600"), "{err}");
        assert!(revoke_token(&path, "ok").is_err());
    }
}
