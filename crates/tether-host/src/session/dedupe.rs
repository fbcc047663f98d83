//! Idempotency: the last message ids that had an effect, per identity.

use std::collections::{HashMap, HashSet, VecDeque};

use serde::{Deserialize, Serialize};

/// How many ids are remembered per identity (docs/protocol.md section 4).
pub const REMEMBERED_IDS: usize = 1024;

/// Kept (in a journal checkpoint) as each identity's ids, oldest first.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(from = "HashMap<String, VecDeque<String>>")]
#[serde(into = "HashMap<String, VecDeque<String>>")]
pub struct RecentIds {
    by_identity: HashMap<String, Window>,
}

#[derive(Debug, Clone, Default, PartialEq)]
struct Window {
    set: HashSet<String>,
    order: VecDeque<String>,
}

impl From<HashMap<String, VecDeque<String>>> for RecentIds {
    fn from(kept: HashMap<String, VecDeque<String>>) -> Self {
        let mut ids = RecentIds::default();
        for (identity, order) in kept {
            for id in order {
                ids.remember(&identity, &id);
            }
        }
        ids
    }
}

impl From<RecentIds> for HashMap<String, VecDeque<String>> {
    fn from(ids: RecentIds) -> Self {
        ids.by_identity
            .into_iter()
            .map(|(identity, window)| (identity, window.order))
            .collect()
    }
}

impl RecentIds {
    pub fn contains(&self, identity: &str, id: &str) -> bool {
        self.by_identity
            .get(identity)
            .is_some_and(|w| w.set.contains(id))
    }

    pub fn remember(&mut self, identity: &str, id: &str) {
        let window = self.by_identity.entry(identity.to_owned()).or_default();
        if window.set.insert(id.to_owned()) {
            window.order.push_back(id.to_owned());
            if window.order.len() > REMEMBERED_IDS
                && let Some(old) = window.order.pop_front()
            {
                window.set.remove(&old);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forgets_the_oldest_beyond_the_window() {
        let mut ids = RecentIds::default();
        for n in 0..=REMEMBERED_IDS {
            ids.remember("alice", &n.to_string());
        }
        assert!(!ids.contains("alice", "0"));
        assert!(ids.contains("alice", "1"));
        assert!(ids.contains("alice", &REMEMBERED_IDS.to_string()));
        assert!(!ids.contains("bob", "1"), "windows are per identity");
    }
}
