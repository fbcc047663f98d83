//! Every change of owner is an `owner_changed` event (issue 22, item 3):
//! a window that released, a `--prompt` of the same identity, the window
//! owning again, each in the history with who and why.

use super::*;
use crate::protocol::{OwnerConnection, OwnerReason};

/// One owner change: (owner, previous, reason, held_ms), connections as
/// `identity@participant`.
type Change = (Option<String>, Option<String>, OwnerReason, Option<u64>);

/// The owner changes among `out`'s events.
fn changes(out: &[Output]) -> Vec<Change> {
    let name = |c: Option<OwnerConnection>| {
        c.map(|c| format!("{}@{}", c.identity, c.participant.unwrap_or_default()))
    };
    events(out)
        .into_iter()
        .filter_map(|event| match event {
            EventKind::OwnerChanged {
                owner,
                previous,
                reason,
                held_ms,
            } => Some((name(owner), name(previous), reason, held_ms)),
            _ => None,
        })
        .collect()
}

fn change(
    owner: Option<&str>,
    previous: Option<&str>,
    reason: OwnerReason,
    held_ms: Option<u64>,
) -> Change {
    (
        owner.map(str::to_owned),
        previous.map(str::to_owned),
        reason,
        held_ms,
    )
}

fn release() -> ClientMessage {
    ClientMessage::Release(Release { id: "r".into() })
}

#[test]
fn the_first_owner_gets_no_event_and_every_later_change_does() {
    let mut h = Harness::new(SHELL);
    let (first, out) = h.join_as("alice", Grant::Control, Mode::Control);
    assert_eq!(changes(&out), [], "nothing changed hands yet");
    let window = first.to;
    // F3 in the window.
    let out = h.send(window, release());
    assert_eq!(
        changes(&out),
        [change(None, Some("alice@p1"), OwnerReason::Released, None)]
    );
    // `--prompt` with the same token takes the free slot.
    let (prompt, out) = h.join_as("alice", Grant::Control, Mode::Control);
    assert_eq!(
        changes(&out),
        [change(Some("alice@p2"), None, OwnerReason::Joined, None)]
    );
    // Its greeting already counts the event: it is in the replay.
    let ServerMessage::Ready { last_seq, .. } = &prompt.messages[0] else {
        panic!("ready first");
    };
    assert_eq!(*last_seq, h.session.last_seq());
    // It closes without releasing: the window takes over, and says so.
    let at = h.at(2);
    let out = h.session.leave(prompt.to, at);
    assert_eq!(
        changes(&out),
        [change(
            Some("alice@p1"),
            Some("alice@p2"),
            OwnerReason::Inherited,
            None
        )]
    );
    assert_eq!(h.session.roster().owner(), Some(window));
}

#[test]
fn claim_transfer_and_a_closed_connection_each_say_why() {
    let mut h = Harness::new(SHELL);
    let alice = h.owner("alice");
    let bob = h.follower("bob");
    let to_bob = ClientMessage::Transfer(Transfer {
        id: "t".into(),
        to: bob.to_string(),
    });
    assert_eq!(
        changes(&h.send(alice, to_bob)),
        [change(
            Some("bob@p2"),
            Some("alice@p1"),
            OwnerReason::Transferred,
            None
        )]
    );
    // A refused claim changes nothing and records nothing.
    let claim = ClientMessage::Claim(Claim { id: "c".into() });
    assert_eq!(changes(&h.send(alice, claim.clone())), []);
    // Bob's connection drops: the slot is held for him for the grace.
    let at = h.at(1);
    assert_eq!(
        changes(&h.session.leave(bob, at)),
        [change(
            None,
            Some("bob@p2"),
            OwnerReason::Left,
            Some(10_000)
        )]
    );
    let (back, out) = h.join_as("bob", Grant::Control, Mode::Control);
    assert_eq!(
        changes(&out),
        [change(Some("bob@p3"), None, OwnerReason::Reconnected, None)]
    );
    h.send(back.to, release());
    assert_eq!(
        changes(&h.send(alice, claim)),
        [change(Some("alice@p1"), None, OwnerReason::Claimed, None)]
    );
    // A follower leaving changes no owner.
    let carol = h.follower("carol");
    let at = h.at(3);
    assert_eq!(changes(&h.session.leave(carol, at)), []);
}

#[test]
fn a_restart_says_the_slot_is_held_for_the_owner_before_it() {
    let mut session = Session::new(config(SHELL));
    let out = session.finish_restore(Some("alice".into()), At::now());
    let EventKind::OwnerChanged {
        owner: None,
        previous: Some(previous),
        reason: OwnerReason::Restarted,
        held_ms: Some(10_000),
    } = &events(&out)[0]
    else {
        panic!("{out:?}");
    };
    assert_eq!(previous.identity, "alice");
    // Nobody owned before the restart: nothing to say.
    let mut session = Session::new(config(SHELL));
    assert!(events(&session.finish_restore(None, At::now())).is_empty());
}

#[test]
fn a_restored_history_with_an_owner_makes_the_next_join_a_change() {
    let mut session = Session::new(config(SHELL));
    let earlier = EventKind::OwnerChanged {
        owner: None,
        previous: None,
        reason: OwnerReason::Released,
        held_ms: None,
    };
    session.restore_state(&EventRecord {
        seq: 1,
        ts: "t".into(),
        event: earlier,
    });
    let join = Join {
        identity: "bob".into(),
        grants: vec![Grant::Control],
        mode: Mode::Control,
        client: None,
        since: Since::Live,
        claims: true,
    };
    let (_, out) = session.join(join, At::now());
    assert_eq!(
        changes(&out),
        [change(Some("bob@p1"), None, OwnerReason::Joined, None)]
    );
}
