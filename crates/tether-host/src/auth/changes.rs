//! What a reload of the auth file changed, told by name (never by token).

use std::collections::{HashMap, HashSet};
use std::fmt;

use super::{AuthFile, TokenEntry};
use crate::protocol::Grant;

/// The difference between two versions of the auth file. Tokens are
/// matched by value: a token that is gone is revoked even when its name
/// stays (a renewed token).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuthChanges {
    /// `bob (control)` for each new token.
    pub added: Vec<String>,
    /// The names of the tokens that are gone.
    pub removed: Vec<String>,
    /// `alice (view → control)` for each token whose grants or sessions
    /// changed, `al (renamed alice)` for each renamed one; it applies to
    /// the token's next connections.
    pub changed: Vec<String>,
    /// The revoked tokens themselves, for closing their connections.
    /// Never displayed.
    pub revoked_tokens: Vec<String>,
}

/// `control`, `admin,view`, … as the auth file spells them.
pub fn grant_list(grants: &[Grant]) -> String {
    let names: Vec<&str> = grants
        .iter()
        .map(|g| match g {
            Grant::View => "view",
            Grant::Control => "control",
            Grant::Admin => "admin",
        })
        .collect();
    names.join(",")
}

/// The grants and, when limited, the sessions of an entry: `control` or
/// `view; sessions main,dev-*`.
fn describe(entry: &TokenEntry) -> String {
    let mut text = grant_list(&entry.grants);
    if !entry.sessions.is_empty() {
        text.push_str("; sessions ");
        text.push_str(&entry.sessions.join(","));
    }
    text
}

impl AuthChanges {
    /// Linear in the number of tokens (a file of 100,000 is diffed in
    /// milliseconds).
    pub fn between(old: &AuthFile, new: &AuthFile) -> AuthChanges {
        let mut changes = AuthChanges::default();
        let before: HashMap<&str, &TokenEntry> =
            old.tokens.iter().map(|t| (t.token.as_str(), t)).collect();
        let after: HashSet<&str> = new.tokens.iter().map(|t| t.token.as_str()).collect();
        for entry in &new.tokens {
            match before.get(entry.token.as_str()) {
                None => changes
                    .added
                    .push(format!("{} ({})", entry.name, describe(entry))),
                Some(before) => {
                    if before.name != entry.name {
                        changes
                            .changed
                            .push(format!("{} (renamed {})", before.name, entry.name));
                    }
                    if describe(before) != describe(entry) {
                        changes.changed.push(format!(
                            "{} ({} → {})",
                            entry.name,
                            describe(before),
                            describe(entry)
                        ));
                    }
                }
            }
        }
        for entry in &old.tokens {
            if !after.contains(entry.token.as_str()) {
                changes.removed.push(entry.name.clone());
                changes.revoked_tokens.push(entry.token.clone());
            }
        }
        changes
    }

    pub fn is_empty(&self) -> bool {
        self.added.is_empty() && self.removed.is_empty() && self.changed.is_empty()
    }
}

/// `added bob (control), removed carol, changed alice (view → control)`,
/// or `no token changed`.
impl fmt::Display for AuthChanges {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_empty() {
            return write!(f, "no token changed");
        }
        let mut parts = Vec::new();
        if !self.added.is_empty() {
            parts.push(format!("added {}", self.added.join(", ")));
        }
        if !self.removed.is_empty() {
            parts.push(format!(
                "removed {} (their connections are closed with 4003)",
                self.removed.join(", ")
            ));
        }
        if !self.changed.is_empty() {
            parts.push(format!(
                "changed {} (for new connections)",
                self.changed.join(", ")
            ));
        }
        write!(f, "{}", parts.join(", "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(name: &str, token: &str, grants: Vec<Grant>) -> TokenEntry {
        TokenEntry {
            name: name.into(),
            token: token.into(),
            grants,
            sessions: Vec::new(),
            expires: None,
        }
    }

    #[test]
    fn names_what_changed_and_never_a_token() {
        let old = AuthFile::new(vec![
            entry("alice", "tt_alice_000000000000", vec![Grant::View]),
            entry("carol", "tt_carol_000000000000", vec![Grant::Control]),
            entry("dan", "tt_dana_0000000000000", vec![Grant::View]),
        ]);
        let mut bob = entry("bob", "tt_bob_00000000000000", vec![Grant::Control]);
        bob.sessions = vec!["dev-*".into()];
        let new = AuthFile::new(vec![
            entry("alice", "tt_alice_000000000000", vec![Grant::Control]),
            bob,
            entry("dana", "tt_dana_0000000000000", vec![Grant::View]),
        ]);
        let changes = AuthChanges::between(&old, &new);
        let text = changes.to_string();
        assert_eq!(
            text,
            "added bob (control; sessions dev-*), removed carol (their connections are \
             closed with 4003), changed alice (view → control), dan (renamed dana) (for new \
             connections)"
        );
        assert!(!text.contains("tt_"));
        assert_eq!(changes.revoked_tokens, ["tt_carol_000000000000"]);
        assert_eq!(
            AuthChanges::between(&new, &new).to_string(),
            "no token changed"
        );
    }
}
