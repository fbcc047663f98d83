//! The participants as the pane shows them: made once per list the host
//! sends, not every frame (a pane of a hundred viewers is drawn ten times
//! a second while output floods in).

use std::time::SystemTime;

use unicode_width::UnicodeWidthStr;

use crate::protocol::ParticipantInfo;
use crate::tui::sanitize::sanitize_plain;

/// One participant's text, sanitised.
#[derive(Debug, Clone, Default)]
pub struct ParticipantLabel {
    /// The identity, with " (you)" on this client's own entry.
    pub identity: String,
    pub client: String,
    pub connected: Option<SystemTime>,
}

/// The labels of a list, in its order, with the widest of each column.
#[derive(Debug, Clone, Default)]
pub struct ParticipantLabels {
    pub rows: Vec<ParticipantLabel>,
    pub identity_width: usize,
    pub client_width: usize,
}

impl ParticipantLabels {
    /// `me` is this client's participant id, when known.
    pub fn new(participants: &[ParticipantInfo], me: Option<&str>) -> Self {
        let rows: Vec<ParticipantLabel> = participants
            .iter()
            .map(|p| {
                let mut identity = sanitize_plain(&p.identity);
                if Some(p.id.as_str()) == me {
                    identity.push_str(" (you)");
                }
                ParticipantLabel {
                    identity,
                    client: p.client.as_deref().map(sanitize_plain).unwrap_or_default(),
                    connected: humantime::parse_rfc3339_weak(&p.connected_at).ok(),
                }
            })
            .collect();
        let widest = |cell: fn(&ParticipantLabel) -> &str| {
            rows.iter().map(|r| cell(r).width()).max().unwrap_or(0)
        };
        ParticipantLabels {
            identity_width: widest(|r| &r.identity),
            client_width: widest(|r| &r.client),
            rows,
        }
    }
}
