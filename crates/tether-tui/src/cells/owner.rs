//! `⇄ alice owns the session (claimed)`: the line an `owner_changed`
//! event reads as, in the full-screen transcript and the plain output.

use crate::protocol::{OwnerConnection, OwnerReason};
use crate::tui::text::StyledText;
use crate::tui::theme;

use super::sanitize_name;

/// An `owner_changed` event's fields.
#[derive(Debug, Clone, Copy)]
pub struct OwnerChange<'a> {
    pub owner: Option<&'a OwnerConnection>,
    pub previous: Option<&'a OwnerConnection>,
    pub reason: OwnerReason,
    pub held_ms: Option<u64>,
}

/// The line for `change`. `me`: the reader's own connection (participant
/// id and `connected_at`), when it has one (the full-screen transcript):
/// it is then called "this window", so a reader with two windows of one
/// identity sees which of them owns.
pub fn owner_changed(change: OwnerChange<'_>, me: Option<(&str, &str)>) -> StyledText {
    let name = |c: Option<&OwnerConnection>| {
        c.map_or_else(|| "someone".to_owned(), |c| sanitize_name(&c.identity))
    };
    let mine = |c: &OwnerConnection| {
        me.is_some_and(|(participant, connected_at)| {
            c.participant.as_deref() == Some(participant)
                && c.connected_at.as_deref() == Some(connected_at)
        })
    };
    let previous = name(change.previous);
    let line = match change.owner {
        Some(owner) => {
            let here = if mine(owner) { " in this window" } else { "" };
            let why = match change.reason {
                OwnerReason::Joined => "connected while nobody owned it".to_owned(),
                OwnerReason::Reconnected => "reconnected".to_owned(),
                OwnerReason::Claimed => "claimed".to_owned(),
                OwnerReason::Transferred => format!("{previous} handed it over"),
                OwnerReason::Inherited => {
                    format!("the connection of {previous} that owned it closed; another took over")
                }
                _ => "for a reason this version does not know".to_owned(),
            };
            format!("{} owns the session{here} ({why})", name(Some(owner)))
        }
        None => {
            let held = change.held_ms.map(|ms| {
                let secs = ms.div_ceil(1000);
                format!("; held {secs} s for {previous} to reconnect")
            });
            let held = held.unwrap_or_default();
            let why = match change.reason {
                OwnerReason::Released if change.previous.is_some_and(mine) => {
                    format!("{previous} released it in this window")
                }
                OwnerReason::Released => format!("{previous} released it"),
                OwnerReason::Left => format!("the connection of {previous} closed{held}"),
                OwnerReason::Restarted => format!("the host restarted{held}"),
                _ => format!("{previous} no longer owns it{held}"),
            };
            format!("nobody owns the session ({why})")
        }
    };
    StyledText::plain(format!("⇄ {line}"), theme::INFO)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn conn(identity: &str, participant: &str) -> OwnerConnection {
        OwnerConnection {
            identity: identity.into(),
            participant: Some(participant.into()),
            client: Some("tether/0.1.0".into()),
            connected_at: Some("2026-01-01T00:00:00.000Z".into()),
        }
    }

    fn line(
        owner: Option<&OwnerConnection>,
        previous: Option<&OwnerConnection>,
        reason: OwnerReason,
        held_ms: Option<u64>,
    ) -> String {
        let change = OwnerChange {
            owner,
            previous,
            reason,
            held_ms,
        };
        owner_changed(change, Some(("p1", "2026-01-01T00:00:00.000Z"))).text
    }

    #[test]
    fn each_change_says_who_owns_and_why() {
        let (alice1, alice2, bob) = (conn("alice", "p1"), conn("alice", "p2"), conn("bob", "p3"));
        use OwnerReason::*;
        let cases = [
            (
                line(Some(&alice2), None, Claimed, None),
                "⇄ alice owns the session (claimed)",
            ),
            (
                line(Some(&alice1), None, Joined, None),
                "⇄ alice owns the session in this window (connected while nobody owned it)",
            ),
            (
                line(None, Some(&alice1), Released, None),
                "⇄ nobody owns the session (alice released it in this window)",
            ),
            (
                line(None, Some(&alice2), Released, None),
                "⇄ nobody owns the session (alice released it)",
            ),
            (
                line(Some(&bob), Some(&alice1), Transferred, None),
                "⇄ bob owns the session (alice handed it over)",
            ),
            (
                line(Some(&alice1), Some(&alice2), Inherited, None),
                "⇄ alice owns the session in this window (the connection of alice \
                 that owned it closed; another took over)",
            ),
            (
                line(None, Some(&bob), Left, Some(9_999)),
                "⇄ nobody owns the session (the connection of bob closed; \
                 held 10 s for bob to reconnect)",
            ),
            (
                line(None, Some(&bob), Left, None),
                "⇄ nobody owns the session (the connection of bob closed)",
            ),
            (
                line(None, Some(&alice1), Restarted, Some(10_000)),
                "⇄ nobody owns the session (the host restarted; held 10 s for alice to reconnect)",
            ),
            (
                line(Some(&bob), None, Reconnected, None),
                "⇄ bob owns the session (reconnected)",
            ),
        ];
        for (got, want) in cases {
            assert_eq!(got, want);
        }
    }

    #[test]
    fn this_window_is_the_same_connection_not_the_same_number() {
        let mut before_restart = conn("alice", "p1");
        before_restart.connected_at = Some("2025-12-31T00:00:00.000Z".into());
        assert_eq!(
            line(Some(&before_restart), None, OwnerReason::Claimed, None),
            "⇄ alice owns the session (claimed)"
        );
    }

    #[test]
    fn names_are_sanitised() {
        let evil = conn("mal\u{1b}]0;x\u{7}\nlory", "p9");
        let text = line(Some(&evil), None, OwnerReason::Claimed, None);
        assert!(!text.contains('\u{1b}') && !text.contains('\n'), "{text:?}");
    }
}
