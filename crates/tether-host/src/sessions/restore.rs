//! Rebuilding a session from its journal at start.

use std::path::Path;
use std::time::SystemTime;

use super::{SessionDefaults, SessionSpec};
use crate::host::error::{Result, invalid};
use crate::host::journal::{Claim, Journal, JournalHeader};
use crate::host::session::{At, HistoryBudget, Output, Session, SessionConfig};
use crate::protocol::{EventKind, NoticeLevel, SessionDescription, rfc3339};

/// The session as the journal left it, ready to run.
pub struct Restored {
    pub session: Session,
    pub journal: Option<Journal>,
    /// The events of the restart (cancelled requests, notices), to journal.
    pub startup: Vec<Output>,
    /// The agent's own session id, as last reported before the restart.
    pub agent_session: Option<String>,
}

/// The one rule for session ids (they name journal files and URL paths):
/// 1 to 64 ASCII letters, digits, `-`, `_` or `.`, the first a letter, a
/// digit or `_` (so never `.`, `..`, a hidden file or an option).
pub fn check_session_id(id: &str) -> Result<()> {
    let valid = (1..=MAX_SESSION_ID).contains(&id.len())
        && id.starts_with(|c: char| c.is_ascii_alphanumeric() || c == '_')
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c));
    if !valid {
        let shown: String = id.chars().filter(|c| !c.is_control()).take(80).collect();
        invalid!(
            "session id `{shown}` must be 1 to {MAX_SESSION_ID} letters, digits, `-`, `_` or `.`, starting with a letter, a digit or `_`"
        );
    }
    Ok(())
}

/// The longest session id, in bytes.
pub const MAX_SESSION_ID: usize = 64;

/// Opens the journal (if any) and rebuilds the session from it: the
/// journal is read as a stream, so memory holds the newest frames within
/// the history budget and the state the older events left, not the file.
pub fn restore(
    spec: &SessionSpec,
    defaults: &SessionDefaults,
    cwd: &Path,
    now: At,
) -> Result<Restored> {
    let dir = defaults.journal_dir.as_deref();
    // Locked before anything about the history is decided.
    let claim = dir.map(|dir| Journal::claim(dir, &spec.id)).transpose()?;
    let mut recorded = claim.as_ref().and_then(|claim| claim.header());
    let mut notices = Vec::new();
    if let (Some(dir), Some(claim), Some(header)) = (dir, &claim, recorded.as_mut()) {
        notices.extend(renew_if_lost(dir, claim, &spec.id, header)?);
    }
    let header = recorded.unwrap_or_else(|| JournalHeader {
        journal: 1,
        session: spec.id.clone(),
        epoch: fresh_epoch(),
        started_at: rfc3339(now.wall),
    });
    let history = HistoryBudget {
        bytes: defaults.history_bytes,
        frames: defaults.retain,
    };
    let mut session = Session::new(SessionConfig {
        description: SessionDescription {
            id: spec.id.clone(),
            epoch: header.epoch.clone(),
            title: spec
                .title
                .clone()
                .unwrap_or_else(|| spec.agent.default_title()),
            agent: spec.agent.kind().into(),
            cwd: cwd.display().to_string(),
            started_at: header.started_at.clone(),
            rules: Vec::new(),
            takes_updated_input: spec.agent.traits().takes_updated_input,
        },
        owner_grace: defaults.owner_grace,
        history,
        journal: dir.is_some(),
        agent: spec.agent.traits(),
    });
    let mut owner = None;
    let journal = match (dir, claim) {
        (Some(dir), Some(claim)) => {
            let (journal, loaded) = Journal::open_claimed(claim, dir, &spec.id, &header, history)?;
            if loaded.header.is_some() {
                notices.push(format!(
                    "the host restarted; history continues from the journal ({} events)",
                    loaded.history.last_seq()
                ));
            }
            if let Some(seq) = loaded.checkpoint {
                tracing::info!(
                    "session {}: restored from its checkpoint (seq {seq}) and the journal after it",
                    spec.id
                );
            }
            notices.extend(loaded.notices);
            owner = loaded.owner;
            session.restore_from(loaded.state);
            session.restore_history(loaded.history);
            Some(journal)
        }
        _ => None,
    };
    let agent_session = session.state().agent_session().map(str::to_owned);
    let mut startup = session.finish_restore(owner, now);
    for text in notices {
        startup.extend(session.host_event(EventKind::notice(NoticeLevel::Info, text), now));
    }
    Ok(Restored {
        session,
        journal,
        startup,
        agent_session,
    })
}

/// When the last run broadcast events its journal never got, clients hold
/// seqs the journal will number again: the history gets a new epoch (so
/// every client starts over), and the notice saying so is returned.
fn renew_if_lost(
    dir: &Path,
    claim: &Claim,
    id: &str,
    header: &mut JournalHeader,
) -> Result<Option<String>> {
    let Some(from) = Journal::lost_from(dir, id, header) else {
        return Ok(None);
    };
    header.epoch = fresh_epoch();
    claim.renew_epoch(dir, id, header)?;
    Ok(Some(format!(
        "the disk refused the journal before the host stopped: events from seq {from} on were lost, so this is a new history (every client starts over)"
    )))
}

/// A random id naming one history.
fn fresh_epoch() -> String {
    let nanos = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap_or_default()
        .as_nanos() as u64;
    format!(
        "{:016x}{:08x}",
        rand::random::<u64>() ^ nanos,
        rand::random::<u32>()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_rule_for_session_ids() {
        for good in ["main", "a", "web-front", "_x", "v1.2", &"x".repeat(64)] {
            assert!(check_session_id(good).is_ok(), "{good}");
        }
        for bad in [
            "",
            ".",
            "..",
            ".hidden",
            "-flag",
            "a/b",
            "a b",
            "é",
            &"x".repeat(65),
        ] {
            let refused = check_session_id(bad).unwrap_err().to_string();
            assert!(refused.contains("1 to 64"), "{bad}: {refused}");
        }
    }
}
