//! Permission requests: those still open, and the ids already settled.

use std::collections::{BTreeMap, HashSet};

use serde::{Deserialize, Serialize};

use crate::protocol::{EventKind, EventRecord, RuleSpec};

/// Why a decision cannot be applied to a request id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotOpen {
    /// It was resolved or cancelled before.
    Settled,
    /// No request ever had this id.
    Unknown,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PendingRequests {
    /// Unresolved requests by id, with the event that raised them.
    open: BTreeMap<String, EventRecord>,
    /// Request ids that were resolved or cancelled.
    settled: HashSet<String>,
}

impl PendingRequests {
    /// Notes what an event does to the requests (raised or settled).
    pub fn apply(&mut self, record: &EventRecord) {
        match &record.event {
            EventKind::PermissionRequest { request_id, .. } => {
                self.open.insert(request_id.clone(), record.clone());
            }
            EventKind::PermissionResolved { request_id, .. }
            | EventKind::PermissionCancelled { request_id, .. } => {
                self.open.remove(request_id);
                self.settled.insert(request_id.clone());
            }
            _ => {}
        }
    }

    /// How many requests are open.
    pub fn len(&self) -> usize {
        self.open.len()
    }

    pub fn is_open(&self, request_id: &str) -> bool {
        self.open.contains_key(request_id)
    }

    /// Whether a decision may be applied to `request_id`, and why not.
    pub fn check_open(&self, request_id: &str) -> Result<(), NotOpen> {
        if self.is_open(request_id) {
            Ok(())
        } else if self.settled.contains(request_id) {
            Err(NotOpen::Settled)
        } else {
            Err(NotOpen::Unknown)
        }
    }

    /// The option an answer to open request `request_id` applies: the one
    /// it names, checked against what the request offers, or for a plain
    /// decision the request's once-option of that kind (never a broader
    /// one). `Err` says why the answer is refused; the request stays open.
    pub fn chosen_option(
        &self,
        request_id: &str,
        option: Option<&str>,
        decision: crate::protocol::Decision,
    ) -> Result<Option<String>, String> {
        let Some(record) = self.open.get(request_id) else {
            return Err(format!("`{request_id}` is not open"));
        };
        match option {
            Some(named) => match record.event.option_mismatch(named, decision) {
                None => Ok(Some(named.to_owned())),
                Some(why) => Err(why),
            },
            None => Ok(record.event.once_option(decision)?.map(str::to_owned)),
        }
    }

    /// The rule an `option` of open request `request_id` asks the host to
    /// keep, if any.
    pub fn rule_to_remember(&self, request_id: &str, option: &str) -> Option<RuleSpec> {
        let EventKind::PermissionRequest { options, .. } = &self.open.get(request_id)?.event else {
            return None;
        };
        let chosen = options.iter().find(|o| o.id == option)?;
        chosen.remember.clone()
    }

    pub fn ids(&self) -> impl Iterator<Item = &str> {
        self.open.keys().map(String::as_str)
    }

    /// The events of the open requests, oldest first.
    pub fn by_seq(&self) -> Vec<EventRecord> {
        self.refs_by_seq().into_iter().cloned().collect()
    }

    /// The same, borrowed (for what reads a few fields of each).
    pub fn refs_by_seq(&self) -> Vec<&EventRecord> {
        let mut pending: Vec<&EventRecord> = self.open.values().collect();
        pending.sort_by_key(|r| r.seq);
        pending
    }
}
