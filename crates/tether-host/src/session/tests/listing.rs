//! The `participants` message lists at most `LISTED_MAX` viewers: every
//! viewer receives it on every change, so 10,000 of them listed in full
//! would cost the square of their number. The owner and everyone who may
//! own are always listed.

use std::time::{Duration, Instant};

use crate::host::session::roster::tests::person;
use crate::host::session::roster::{LISTED_MAX, Roster};
use crate::protocol::{Grant, Mode, ParticipantInfo, Role};

fn listed(roster: &mut Roster) -> (Vec<ParticipantInfo>, u64) {
    let listing = roster.entries();
    let infos = listing
        .entries
        .iter()
        .map(|entry| serde_json::from_str(entry).expect("an entry is a participant"))
        .collect();
    (infos, listing.unlisted)
}

#[test]
fn a_small_session_lists_everyone_in_join_order() {
    let t = Instant::now();
    let mut roster = Roster::new(Duration::from_secs(10));
    for n in 0..LISTED_MAX {
        roster.join(person(&format!("v{n}"), Grant::View, Mode::View), t);
    }
    let (infos, unlisted) = listed(&mut roster);
    assert_eq!(unlisted, 0);
    let names: Vec<String> = infos.into_iter().map(|p| p.identity).collect();
    let joined: Vec<String> = (0..LISTED_MAX).map(|n| format!("v{n}")).collect();
    assert_eq!(names, joined);
}

#[test]
fn past_the_limit_viewers_are_counted_and_controllers_still_listed() {
    let t = Instant::now();
    let mut roster = Roster::new(Duration::from_secs(10));
    for n in 0..150 {
        roster.join(person(&format!("v{n}"), Grant::View, Mode::View), t);
    }
    // Joined last, past the limit: the owner and a second controller.
    roster.join(person("alice", Grant::Control, Mode::Control), t);
    roster.join(person("bob", Grant::Control, Mode::Control), t);
    let (infos, unlisted) = listed(&mut roster);
    assert_eq!(infos.len(), LISTED_MAX);
    assert_eq!(unlisted, 152 - LISTED_MAX as u64);
    let owner = infos.iter().find(|p| p.role == Role::Owner);
    assert_eq!(owner.map(|p| p.identity.as_str()), Some("alice"));
    assert!(infos.iter().any(|p| p.identity == "bob"));
    // The viewers listed are the first to have joined, in order.
    assert_eq!(infos[0].identity, "v0");
    assert_eq!(
        infos[LISTED_MAX - 3].identity,
        format!("v{}", LISTED_MAX - 3)
    );
}
