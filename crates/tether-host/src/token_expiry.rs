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
            Some(at) if at <= now && !closed.contains(&entry.token) => {
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
    let mut closed = HashSet::new();
    loop {
        let now = SystemTime::now();
        let (expired, next) = {
            let auth = auth.read().unwrap_or_else(|e| e.into_inner());
            due(&auth, now, &closed)
        };
        if !expired.is_empty() {
            for session in sessions.all() {
                for token in &expired {
                    let request = Request::Disconnect {
                        token: token.clone(),
                        code: close_code::REVOKED,
                        reason: "token expired".into(),
                    };
                    let _ = session.requests.send(request).await;
                }
            }
            closed.extend(expired);
            changed.send_modify(|generation| *generation += 1);
            reloaded.mark_unchanged();
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
        let closed: HashSet<String> = due_now.into_iter().collect();
        assert!(due(&auth, now, &closed).0.is_empty(), "closed once");
        assert!(
            auth.tokens[4].expired(now),
            "an expiry that is not a time has passed"
        );
        assert!(!auth.tokens[3].expired(now));
    }
}
