//! The auth file: bearer tokens, their identities and grants.
//!
//! The file is JSON, mode 0600 (the host refuses to start when group or
//! others can read it). When it does not exist the host creates it with one
//! fresh `control` token and one fresh `view` token. `tether token` edits it
//! (see `edit`); a running host notices the change (see `FileStamp`) and
//! reloads it, reporting what changed (`AuthChanges`).

mod changes;
mod edit;

use std::collections::HashMap;
use std::fs;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use crate::host::error::{Error, IoContext, Result, invalid};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use subtle::ConstantTimeEq;

/// Whether two tokens are the same, in constant time.
pub fn same_token(a: &str, b: &str) -> bool {
    bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

use crate::protocol::Grant;

pub use changes::{AuthChanges, grant_list};
pub use edit::{add_token, revoke_token, save, valid_name};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenEntry {
    pub name: String,
    pub token: String,
    pub grants: Vec<Grant>,
    /// Session ids (or globs such as `web-*`) the token may see; empty
    /// means every session. Sessions outside it look like sessions that
    /// do not exist.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sessions: Vec<String>,
    /// When it stops working (RFC 3339, UTC); none: never. Its
    /// connections are closed with 4003 then (`tether token add
    /// --expires`, `tether invite`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires: Option<String>,
}

impl TokenEntry {
    /// The grants a connection carries on the wire: `view` and `control`
    /// only (`control` implying `view`), sorted, without repeats. `admin`
    /// implies neither and is never sent, so clients that know only `view`
    /// and `control` keep decoding.
    pub fn effective_grants(&self) -> Vec<Grant> {
        [Grant::View, Grant::Control]
            .into_iter()
            .filter(|g| self.has(*g))
            .collect()
    }

    /// When it stops working, if it does; an expiry that is not a time
    /// counts as passed (a token is never valid by mistake).
    pub fn expires_at(&self) -> Option<std::time::SystemTime> {
        let text = self.expires.as_deref()?;
        Some(humantime::parse_rfc3339_weak(text).unwrap_or(std::time::UNIX_EPOCH))
    }

    /// Whether it has stopped working at `now`.
    pub fn expired(&self, now: std::time::SystemTime) -> bool {
        self.expires_at().is_some_and(|at| at <= now)
    }

    /// Whether the token may see session `id`.
    pub fn may_see(&self, id: &str) -> bool {
        self.sessions.is_empty() || self.sessions.iter().any(|p| glob_matches(p, id))
    }

    /// Whether the entry holds `grant` (`control` implies `view`; `admin`
    /// implies nothing and nothing implies it).
    pub fn has(&self, grant: Grant) -> bool {
        self.grants.contains(&grant)
            || (grant == Grant::View && self.grants.contains(&Grant::Control))
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct AuthFile {
    pub tokens: Vec<TokenEntry>,
    /// The tokens by their SHA-256, made on first use (a file of 100,000
    /// tokens is looked up at once, not scanned on every connection).
    #[serde(skip)]
    index: OnceLock<HashMap<Digest, usize>>,
}

type Digest = [u8; 32];

fn digest_of(token: &str) -> Digest {
    let mut digest = [0u8; 32];
    digest.copy_from_slice(ring::digest::digest(&ring::digest::SHA256, token.as_bytes()).as_ref());
    digest
}

impl PartialEq for AuthFile {
    fn eq(&self, other: &Self) -> bool {
        self.tokens == other.tokens
    }
}

impl Eq for AuthFile {}

impl AuthFile {
    pub fn new(tokens: Vec<TokenEntry>) -> Self {
        AuthFile {
            tokens,
            index: OnceLock::new(),
        }
    }

    /// Adds tokens that are not in the file (the embedded UI's own).
    pub fn add_tokens(&mut self, more: impl IntoIterator<Item = TokenEntry>) {
        self.tokens.extend(more);
        self.index = OnceLock::new();
    }

    /// Finds the entry whose token matches. Looked up by the token's
    /// SHA-256 (timing can tell only about digests, which say nothing of
    /// the token), then compared in constant time, so timing reveals
    /// neither which token nor how much of one matched.
    pub fn authenticate(&self, presented: &str) -> Option<&TokenEntry> {
        let index = self.index.get_or_init(|| {
            self.tokens
                .iter()
                .enumerate()
                .map(|(at, entry)| (digest_of(&entry.token), at))
                .collect()
        });
        let entry = &self.tokens[*index.get(&digest_of(presented))?];
        bool::from(entry.token.as_bytes().ct_eq(presented.as_bytes())).then_some(entry)
    }

    /// The first token with this grant (`control` for owners, `view` for
    /// watchers): what the embedded UI and the help text point to.
    pub fn first_with(&self, grant: Grant) -> Option<&TokenEntry> {
        self.tokens.iter().find(|t| match grant {
            Grant::Control => t.has(Grant::Control),
            Grant::View => t.has(Grant::View) && !t.has(Grant::Control),
            Grant::Admin => t.has(Grant::Admin),
        })
    }

    fn validate(&self, path: &Path) -> Result<()> {
        let mut seen = std::collections::HashSet::with_capacity(self.tokens.len());
        for (n, entry) in self.tokens.iter().enumerate() {
            if entry.name.trim().is_empty() {
                invalid!("{}: token #{} has an empty name", path.display(), n + 1);
            }
            if entry.token.len() < 16 {
                invalid!(
                    "{}: the token of `{}` is shorter than 16 characters",
                    path.display(),
                    entry.name
                );
            }
            if entry.grants.is_empty() {
                invalid!("{}: `{}` has no grants", path.display(), entry.name);
            }
            if entry.sessions.iter().any(|s| s.trim().is_empty()) {
                invalid!(
                    "{}: `{}` lists an empty session",
                    path.display(),
                    entry.name
                );
            }
            if !seen.insert(entry.token.as_str()) {
                invalid!("{}: `{}` repeats another token", path.display(), entry.name);
            }
        }
        Ok(())
    }
}

/// Whether `name` matches `pattern`, where `*` stands for any run of
/// characters (none included) and everything else for itself.
pub fn glob_matches(pattern: &str, name: &str) -> bool {
    let mut parts = pattern.split('*');
    let first = parts.next().unwrap_or("");
    let Some(mut rest) = name.strip_prefix(first) else {
        return false;
    };
    let parts: Vec<&str> = parts.collect();
    let Some((last, middle)) = parts.split_last() else {
        return rest.is_empty();
    };
    for part in middle {
        match rest.find(part) {
            Some(at) => rest = &rest[at + part.len()..],
            None => return false,
        }
    }
    rest.len() >= last.len() && rest.ends_with(last)
}

/// A fresh token: `tt_` and 160 random bits in hex.
pub fn fresh_token() -> String {
    let mut bytes = [0u8; 20];
    rand::rng().fill_bytes(&mut bytes);
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!("tt_{hex}")
}

/// The default auth file: `<config dir>/tether/auth.json`.
pub fn default_auth_path() -> PathBuf {
    dirs::config_dir()
        .unwrap_or_else(|| PathBuf::from("."))
        .join("tether")
        .join("auth.json")
}

/// Reads the auth file, refusing one that group or others can read.
pub fn load(path: &Path) -> Result<AuthFile> {
    let meta = fs::metadata(path).or_io(|| format!("cannot read {}", path.display()))?;
    let mode = meta.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        invalid!(
            "{} is readable by group or others (mode {mode:o}); it holds secrets: run `chmod 600 {}`",
            path.display(),
            path.display()
        );
    }
    let text = fs::read_to_string(path).or_io(|| format!("cannot read {}", path.display()))?;
    let file: AuthFile = serde_json::from_str(&text)
        .map_err(|e| Error::Invalid(format!("{} is not a valid auth file: {e}", path.display())))?;
    file.validate(path)?;
    Ok(file)
}

/// The identity of the control token a fresh auth file gets: the login
/// name (`$USER`) when it is a plain name, else `user`. Never `owner`:
/// that is a role, and `owner (follower)` in a participants list confuses.
pub fn default_identity(user: Option<String>) -> String {
    user.filter(|u| valid_name(u))
        .unwrap_or_else(|| "user".into())
}

/// What identifies one version of the auth file on disk. A running host
/// polls it and reloads when it changes: `tether token` replaces the file
/// (a new inode), editors rewrite it (a new length or mtime).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileStamp {
    dev: u64,
    inode: u64,
    len: u64,
    mtime: (i64, i64),
    ctime: (i64, i64),
}

impl FileStamp {
    /// The stamp of the file at `path`; `None` when it cannot be read.
    pub fn of(path: &Path) -> Option<FileStamp> {
        let meta = fs::metadata(path).ok()?;
        Some(FileStamp {
            dev: meta.dev(),
            inode: meta.ino(),
            len: meta.len(),
            mtime: (meta.mtime(), meta.mtime_nsec()),
            ctime: (meta.ctime(), meta.ctime_nsec()),
        })
    }
}

/// Loads the auth file, creating it (0600, with fresh `control` and `view`
/// tokens) when it does not exist. Returns whether it was created.
pub fn load_or_create(path: &Path) -> Result<(AuthFile, bool)> {
    if path.exists() {
        return Ok((load(path)?, false));
    }
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .or_io(|| format!("cannot create {}", dir.display()))?;
    }
    let file = AuthFile::new(vec![
        TokenEntry {
            name: default_identity(std::env::var("USER").ok()),
            token: fresh_token(),
            grants: vec![Grant::Control],
            sessions: Vec::new(),
            expires: None,
        },
        TokenEntry {
            name: "viewer".into(),
            token: fresh_token(),
            grants: vec![Grant::View],
            sessions: Vec::new(),
            expires: None,
        },
    ]);
    // Created new (never over a file that appeared meanwhile), 0600.
    edit::write_private(path, &file)?;
    Ok((file, true))
}

#[cfg(test)]
mod tests;
