//! Why `--prompt` cannot send, in words that say what to do: who owns the
//! session (the user's own other window, often), in which client and
//! since when, and how to get it.

use std::time::SystemTime;

use tether::protocol::{Grant, Mode, OwnerSlot, ParticipantInfo, Role, You};
use tether::tui::cells::sanitize_name;

/// What the host said about this connection and the others, up to
/// `caught_up`.
#[derive(Debug, Default)]
pub struct Standing {
    pub you: Option<You>,
    pub role: Option<Role>,
    pub reason: Option<String>,
    pub participants: Vec<ParticipantInfo>,
    pub owner_slot: Option<OwnerSlot>,
}

impl Standing {
    /// The line `--prompt` prints when this connection does not own.
    pub fn refusal(&self, now: SystemTime) -> String {
        let start = "tether: cannot send: ";
        let Some(you) = &self.you else {
            return format!("{start}this connection is a read-only follower");
        };
        if you.mode == Mode::View || !you.grants.contains(&Grant::Control) {
            return format!(
                "{start}this token may only watch (it has no control grant); \
                 use a token with control"
            );
        }
        let owner = self.participants.iter().find(|p| p.role == Role::Owner);
        if let Some(owner) = owner {
            let name = sanitize_name(&owner.identity);
            let client = owner
                .client
                .as_deref()
                .map(|c| format!("in {}, ", sanitize_name(c)))
                .unwrap_or_default();
            let since = since(&owner.connected_at, now);
            return if owner.identity == you.identity {
                format!(
                    "{start}{name} (you, {client}connected {since}) owns this session: \
                     quit that window or press F3 there to release it, then run this again"
                )
            } else {
                format!(
                    "{start}{name} ({client}connected {since}) owns this session: \
                     ask them to release it (F3) or to transfer it to you"
                )
            };
        }
        if let Some(slot) = &self.owner_slot {
            let secs = slot.expires_in_ms.div_ceil(1000);
            return format!(
                "{start}the owner slot is held for {} to reconnect ({secs} s more); \
                 run this again after that",
                sanitize_name(&slot.held_for)
            );
        }
        let why = self
            .reason
            .as_deref()
            .map(|r| format!(" ({})", tether::tui::sanitize::sanitize_plain(r)))
            .unwrap_or_default();
        format!("{start}this connection is a read-only follower{why}")
    }
}

/// "3m ago" since an RFC 3339 time; "just now" under a minute's worth of
/// seconds is still said in seconds.
fn since(connected_at: &str, now: SystemTime) -> String {
    let Ok(then) = humantime::parse_rfc3339_weak(connected_at) else {
        return "at an unknown time".to_owned();
    };
    let secs = now.duration_since(then).unwrap_or_default().as_secs();
    let ago = match secs {
        0..60 => format!("{secs}s"),
        60..3600 => format!("{}m", secs / 60),
        3600..86_400 => format!("{}h", secs / 3600),
        _ => format!("{}d", secs / 86_400),
    };
    format!("{ago} ago")
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn participant(id: &str, identity: &str, role: Role) -> ParticipantInfo {
        ParticipantInfo {
            id: id.into(),
            identity: identity.into(),
            role,
            grants: vec![Grant::Control],
            mode: Mode::Control,
            client: Some("tether/0.1.0".into()),
            connected_at: "2026-01-01T00:00:00.000Z".into(),
        }
    }

    fn standing(owner: &str) -> Standing {
        Standing {
            you: Some(You {
                participant: "p2".into(),
                identity: "alice".into(),
                grants: vec![Grant::Control],
                mode: Mode::Control,
            }),
            role: Some(Role::Follower),
            reason: Some(format!("{owner} owns the session")),
            participants: vec![
                participant("p1", owner, Role::Owner),
                participant("p2", "alice", Role::Follower),
            ],
            owner_slot: None,
        }
    }

    fn at(secs: u64) -> SystemTime {
        humantime::parse_rfc3339("2026-01-01T00:00:00Z").unwrap() + Duration::from_secs(secs)
    }

    #[test]
    fn your_own_other_window_is_named_as_yours_with_the_way_out() {
        assert_eq!(
            standing("alice").refusal(at(190)),
            "tether: cannot send: alice (you, in tether/0.1.0, connected 3m ago) owns this \
             session: quit that window or press F3 there to release it, then run this again"
        );
        assert_eq!(
            standing("bob").refusal(at(5)),
            "tether: cannot send: bob (in tether/0.1.0, connected 5s ago) owns this session: \
             ask them to release it (F3) or to transfer it to you"
        );
    }

    #[test]
    fn a_held_slot_and_a_watch_only_token_say_so() {
        let mut held = standing("alice");
        held.participants.remove(0);
        held.owner_slot = Some(OwnerSlot {
            held_for: "bob".into(),
            expires_in_ms: 7_500,
        });
        assert_eq!(
            held.refusal(at(0)),
            "tether: cannot send: the owner slot is held for bob to reconnect (8 s more); \
             run this again after that"
        );
        let mut viewer = standing("alice");
        viewer.you.as_mut().unwrap().grants = vec![Grant::View];
        assert!(
            viewer.refusal(at(0)).contains("no control grant"),
            "{}",
            viewer.refusal(at(0))
        );
    }
}
