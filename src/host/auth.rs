//! The auth file: bearer tokens, their identities and grants.
//!
//! The file is JSON, mode 0600 (the host refuses to start when group or
//! others can read it). When it does not exist the host creates it with one
//! fresh `control` token and one fresh `view` token.

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use color_eyre::eyre::{Context, Result, bail, eyre};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use subtle::ConstantTimeEq;

use crate::protocol::Grant;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenEntry {
    pub name: String,
    pub token: String,
    pub grants: Vec<Grant>,
}

impl TokenEntry {
    /// Grants with `control` implying `view`, sorted, without repeats.
    pub fn effective_grants(&self) -> Vec<Grant> {
        let mut grants = self.grants.clone();
        if grants.contains(&Grant::Control) {
            grants.push(Grant::View);
        }
        grants.sort_by_key(|g| match g {
            Grant::View => 0,
            Grant::Control => 1,
        });
        grants.dedup();
        grants
    }

    pub fn has(&self, grant: Grant) -> bool {
        self.effective_grants().contains(&grant)
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuthFile {
    pub tokens: Vec<TokenEntry>,
}

impl AuthFile {
    /// Finds the entry whose token matches, comparing every token in
    /// constant time so timing reveals neither which nor how much matched.
    pub fn authenticate(&self, presented: &str) -> Option<&TokenEntry> {
        let mut found = None;
        for entry in &self.tokens {
            if bool::from(entry.token.as_bytes().ct_eq(presented.as_bytes())) {
                found = Some(entry);
            }
        }
        found
    }

    /// The first token with this grant (`control` for owners, `view` for
    /// watchers): what the embedded UI and the help text point to.
    pub fn first_with(&self, grant: Grant) -> Option<&TokenEntry> {
        self.tokens.iter().find(|t| match grant {
            Grant::Control => t.has(Grant::Control),
            Grant::View => t.has(Grant::View) && !t.has(Grant::Control),
        })
    }

    fn validate(&self, path: &Path) -> Result<()> {
        for (n, entry) in self.tokens.iter().enumerate() {
            if entry.name.trim().is_empty() {
                bail!("{}: token #{} has an empty name", path.display(), n + 1);
            }
            if entry.token.len() < 16 {
                bail!(
                    "{}: the token of `{}` is shorter than 16 characters",
                    path.display(),
                    entry.name
                );
            }
            if entry.grants.is_empty() {
                bail!("{}: `{}` has no grants", path.display(), entry.name);
            }
            if self.tokens[..n].iter().any(|t| t.token == entry.token) {
                bail!("{}: `{}` repeats another token", path.display(), entry.name);
            }
        }
        Ok(())
    }
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
    let meta = fs::metadata(path).with_context(|| format!("cannot read {}", path.display()))?;
    let mode = meta.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        bail!(
            "{} is readable by group or others (mode {mode:o}); it holds secrets: run `chmod 600 {}`",
            path.display(),
            path.display()
        );
    }
    let text =
        fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let file: AuthFile = serde_json::from_str(&text)
        .map_err(|e| eyre!("{} is not a valid auth file: {e}", path.display()))?;
    file.validate(path)?;
    Ok(file)
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
            .with_context(|| format!("cannot create {}", dir.display()))?;
    }
    let owner = std::env::var("USER")
        .ok()
        .filter(|u| {
            !u.is_empty()
                && u.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
        })
        .unwrap_or_else(|| "owner".into());
    let file = AuthFile {
        tokens: vec![
            TokenEntry {
                name: owner,
                token: fresh_token(),
                grants: vec![Grant::Control],
            },
            TokenEntry {
                name: "viewer".into(),
                token: fresh_token(),
                grants: vec![Grant::View],
            },
        ],
    };
    let mut out = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("cannot create {}", path.display()))?;
    let mut text = serde_json::to_string_pretty(&file)?;
    text.push('\n');
    out.write_all(text.as_bytes())
        .with_context(|| format!("cannot write {}", path.display()))?;
    Ok((file, true))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn creates_a_private_file_with_two_fresh_tokens() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nested/auth.json");
        let (file, created) = load_or_create(&path).unwrap();
        assert!(created);
        let mode = fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        assert!(file.first_with(Grant::Control).is_some());
        assert!(file.first_with(Grant::View).is_some());
        let token = &file.tokens[0].token;
        assert!(token.starts_with("tt_") && token.len() == 43);
        assert_ne!(file.tokens[0].token, file.tokens[1].token);
        let (again, created) = load_or_create(&path).unwrap();
        assert!(!created);
        assert_eq!(again, file);
    }

    #[test]
    fn refuses_a_file_others_can_read() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("auth.json");
        load_or_create(&path).unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
        let err = load(&path).unwrap_err().to_string();
        assert!(err.contains("chmod 600"), "{err}");
    }

    #[test]
    fn authenticates_exact_tokens_only() {
        let file = AuthFile {
            tokens: vec![
                TokenEntry {
                    name: "a".into(),
                    token: "tt_aaaaaaaaaaaaaaaa".into(),
                    grants: vec![Grant::Control],
                },
                TokenEntry {
                    name: "v".into(),
                    token: "tt_vvvvvvvvvvvvvvvv".into(),
                    grants: vec![Grant::View],
                },
            ],
        };
        assert_eq!(file.authenticate("tt_vvvvvvvvvvvvvvvv").unwrap().name, "v");
        assert!(file.authenticate("tt_vvvvvvvvvvvvvvv").is_none());
        assert!(file.authenticate("").is_none());
        assert_eq!(
            file.tokens[0].effective_grants(),
            [Grant::View, Grant::Control]
        );
    }

    #[test]
    fn rejects_malformed_files_with_a_clear_message() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("auth.json");
        let write = |text: &str| {
            fs::write(&path, text).unwrap();
            fs::set_permissions(&path, fs::Permissions::from_mode(0o600)).unwrap();
        };
        write(r#"{"tokens":[{"name":"a","token":"tt_aaaaaaaaaaaaaaaa","grants":["root"]}]}"#);
        assert!(
            load(&path)
                .unwrap_err()
                .to_string()
                .contains("not a valid auth file")
        );
        write(r#"{"tokens":[{"name":"a","token":"short","grants":["view"]}]}"#);
        assert!(load(&path).unwrap_err().to_string().contains("shorter"));
    }
}
