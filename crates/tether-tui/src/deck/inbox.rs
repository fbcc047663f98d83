//! The inbox: every permission request waiting, in every session on every
//! host, oldest first, from the lobbies' summaries.

use super::{Deck, SessionKey};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InboxEntry {
    pub key: SessionKey,
    pub request_id: String,
    pub tool: String,
    pub title: Option<String>,
    /// The command, or the file an edit changes.
    pub subject: Option<String>,
    /// When it was raised (the host's RFC 3339 time).
    pub requested_at: String,
    /// Who owns the session (and so answers), if anyone.
    pub owner: Option<String>,
}

impl Deck {
    /// Every request waiting, oldest first.
    pub fn inbox(&self) -> Vec<InboxEntry> {
        let mut entries = Vec::new();
        for (host, view) in self.hosts.iter().enumerate() {
            for summary in view.sessions.values() {
                for request in &summary.pending_requests {
                    entries.push(InboxEntry {
                        key: SessionKey {
                            host,
                            id: summary.id.clone(),
                        },
                        request_id: request.request_id.clone(),
                        tool: request.tool.clone(),
                        title: request.title.clone(),
                        subject: request.subject.clone(),
                        requested_at: request.requested_at.clone(),
                        owner: summary.owner.clone(),
                    });
                }
            }
        }
        // Hosts without a lobby: what the open sessions know.
        for tab in &self.tabs {
            let lobby_lists = self.hosts[tab.key.host].sessions.contains_key(&tab.key.id);
            if lobby_lists {
                continue;
            }
            for pending in &tab.app.pending {
                entries.push(InboxEntry {
                    key: tab.key.clone(),
                    request_id: pending.request_id.clone(),
                    tool: pending.tool.clone(),
                    title: pending.title.clone(),
                    subject: Some(pending.summary.clone()).filter(|s| !s.is_empty()),
                    requested_at: pending
                        .raised
                        .map(crate::protocol::rfc3339)
                        .unwrap_or_default(),
                    owner: None,
                });
            }
        }
        entries.sort_by(|a, b| a.requested_at.cmp(&b.requested_at));
        entries
    }
}
