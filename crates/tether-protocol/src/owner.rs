//! What an `owner_changed` event says: who owns the session now, who did
//! before, and why (docs/protocol.md section 6).

use serde::{Deserialize, Serialize};

/// One connection that owns, or owned, the session.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OwnerConnection {
    /// The identity (the token's name), as everywhere else.
    pub identity: String,
    /// The connection's participant id (`p<n>`, as in `participants`):
    /// tells two connections of one identity apart. Absent when the
    /// connection is gone from the host's memory (a restart).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub participant: Option<String>,
    /// The connection's `client` (`NAME/VERSION`), when it gave one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client: Option<String>,
    /// When it connected (RFC 3339, as `participants.connected_at`):
    /// with `participant`, names one connection across host restarts,
    /// which number participants afresh.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connected_at: Option<String>,
}

/// Why the owner changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OwnerReason {
    /// A connection took the free slot on joining (the first eligible one).
    Joined,
    /// A connection of the identity the slot was held for came back.
    Reconnected,
    /// A follower sent `claim`.
    Claimed,
    /// The owner sent `release` (a client quitting on purpose does).
    Released,
    /// The owner handed the session to another participant (`transfer`).
    Transferred,
    /// The owner's connection closed and another connection of the same
    /// identity took over at once.
    Inherited,
    /// The owner's connection closed; nobody owns (the slot may be held
    /// for its identity: `held_ms`).
    Left,
    /// The host restarted: nobody owns; the slot is held for the previous
    /// owner's identity (`held_ms`).
    Restarted,
    /// A reason this build does not know (sent by a newer host).
    #[serde(other)]
    Unknown,
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use crate::EventKind;

    #[test]
    fn owner_changed_on_the_wire() {
        let wire = json!({"kind": "owner_changed",
            "owner": {"identity": "alice", "participant": "p2", "client": "tether/0.1.0",
                "connected_at": "2026-01-01T00:00:00.000Z"},
            "previous": {"identity": "alice", "participant": "p1"},
            "reason": "inherited"});
        let event: EventKind = serde_json::from_value(wire.clone()).unwrap();
        assert_eq!(serde_json::to_value(&event).unwrap(), wire);
        // A reason from a newer host still reads; nobody owning is `null`.
        let newer: EventKind = serde_json::from_value(json!({"kind": "owner_changed",
            "owner": null, "reason": "voted_out", "held_ms": 5}))
        .unwrap();
        let EventKind::OwnerChanged {
            owner: None,
            previous: None,
            reason: super::OwnerReason::Unknown,
            held_ms: Some(5),
        } = newer
        else {
            panic!("{newer:?}");
        };
    }
}
