//! Tokens that expire (`tether token add --expires`, `tether invite`):
//! refused from their expiry on (the server checks at every connection),
//! and their open connections closed with 4003 then, by one task that
//! sleeps until the next expiry (or until the tokens change).

use std::collections::HashSet;
use std::sync::{Arc, RwLock};
use std::time::{Duration, SystemTime};

use tokio::sync::watch;

use crate::auth::AuthFile;
use crate::protocol::close_code;
use crate::runtime::Request;
use crate::sessions::Sessions;

/// What `closed` remembers of a token closed at its expiry `at`.
pub fn closed_key(token: &str, at: SystemTime) -> String {
    let secs = at
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    format!("{token}@{secs}")
}

/// The longest sleep: a clock that jumps is caught up with by then.
const LONGEST_WAIT: Duration = Duration::from_secs(60);

/// The tokens that expired by `now`, not yet closed, and when the next
/// one expires.
pub fn due(
    auth: &AuthFile,
    now: SystemTime,
    closed: &HashSet<String>,
) -> (Vec<String>, Option<SystemTime>) {
    let mut due = Vec::new();
    let mut next: Option<SystemTime> = None;
    for entry in &auth.tokens {
        match entry.expires_at() {
            // Keyed by the expiry too: a token given a later expiry that
            // passes in turn is closed again.
            Some(at) if at <= now && !closed.contains(&closed_key(&entry.token, at)) => {
                due.push(entry.token.clone());
            }
            Some(at) if at <= now => {}
            Some(at) => next = Some(next.map_or(at, |n| n.min(at))),
            None => {}
        }
    }
    (due, next)
}

/// Runs until the host closes: at each expiry, the token's connections
/// are closed and the lobbies told (they check their token again).
pub async fn run(
    auth: Arc<RwLock<AuthFile>>,
    sessions: Arc<Sessions>,
    changed: watch::Sender<u64>,
    mut closing: watch::Receiver<bool>,
) {
    let mut reloaded = changed.subscribe();
    let mut closed: HashSet<String> = HashSet::new();
    loop {
        let now = SystemTime::now();
        let (expired, next, keys, all_expired) = {
            let auth = auth.read().unwrap_or_else(|e| e.into_inner());
            let (expired, next) = due(&auth, now, &closed);
            let keys: Vec<String> = auth
                .tokens
                .iter()
                .filter(|t| expired.contains(&t.token))
                .filter_map(|t| Some(closed_key(&t.token, t.expires_at()?)))
                .collect();
            let all: Vec<String> = auth
                .tokens
                .iter()
                .filter(|t| t.expired(now))
                .map(|t| t.token.clone())
                .collect();
            (expired, next, keys, all)
        };
        // Every expired token's connections are closed at each wake, not
        // only at its expiry: one that joined as it expired (checked at
        // the upgrade, in the session a moment later) goes within a
        // minute. Closing is idempotent.
        if !all_expired.is_empty() {
            for session in sessions.all() {
                for token in &all_expired {
                    let request = Request::Disconnect {
                        token: token.clone(),
                        code: close_code::REVOKED,
                        reason: "token expired".into(),
                    };
                    let _ = session.requests.send(request).await;
                }
            }
        }
        // The lobbies are told once per expiry (they check their token).
        if !expired.is_empty() {
            closed.extend(keys);
            changed.send_modify(|generation| *generation += 1);
        }
        let wait = next
            .and_then(|at| at.duration_since(now).ok())
            .unwrap_or(LONGEST_WAIT)
            .min(LONGEST_WAIT);
        tokio::select! {
            () = tokio::time::sleep(wait) => {}
            // A reload may bring tokens with other expiries.
            Ok(()) = reloaded.changed() => {}
            _ = closing.changed() => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::TokenEntry;
    use crate::protocol::Grant;

    fn token(name: &str, expires: Option<&str>) -> TokenEntry {
        TokenEntry {
            name: name.into(),
            token: format!("tt_{name}_0000000000000000"),
            grants: vec![Grant::View],
            sessions: Vec::new(),
            expires: expires.map(str::to_owned),
        }
    }

    #[test]
    fn expired_tokens_are_due_once_and_the_next_expiry_is_known() {
        let auth = AuthFile::new(vec![
            token("old", Some("2026-01-01T00:00:00Z")),
            token("soon", Some("2026-06-01T00:00:00Z")),
            token("later", Some("2027-01-01T00:00:00Z")),
            token("never", None),
            token("garbled", Some("next tuesday")),
        ]);
        let now = humantime::parse_rfc3339("2026-03-01T00:00:00Z").unwrap();
        let (due_now, next) = due(&auth, now, &HashSet::new());
        assert_eq!(
            due_now,
            ["tt_old_0000000000000000", "tt_garbled_0000000000000000"]
        );
        assert_eq!(
            next,
            Some(humantime::parse_rfc3339("2026-06-01T00:00:00Z").unwrap())
        );
        let closed: HashSet<String> = auth
            .tokens
            .iter()
            .filter(|t| due_now.contains(&t.token))
            .map(|t| closed_key(&t.token, t.expires_at().unwrap()))
            .collect();
        assert!(due(&auth, now, &closed).0.is_empty(), "closed once");
        assert!(
            auth.tokens[4].expired(now),
            "an expiry that is not a time has passed"
        );
        assert!(!auth.tokens[3].expired(now));
    }
}
