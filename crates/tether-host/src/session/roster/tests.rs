//! The roster's own tests; `person` is shared with the session's.

use super::*;

pub(in crate::session) fn person(identity: &str, grant: Grant, mode: Mode) -> Participant {
    Participant {
        identity: identity.into(),
        grants: vec![grant],
        mode,
        client: None,
        connected_at: String::new(),
        claims: true,
    }
}

fn alice() -> Participant {
    person("alice", Grant::Control, Mode::Control)
}

fn bob() -> Participant {
    person("bob", Grant::Control, Mode::Control)
}

const GRACE: Duration = Duration::from_secs(10);

#[test]
fn first_eligible_owns_and_views_never_do() {
    let t = Instant::now();
    let mut r = Roster::new(GRACE);
    let (v, role) = r.join(person("v", Grant::View, Mode::Control), t);
    assert_eq!(role.role, Role::Follower);
    let (w, role) = r.join(person("alice", Grant::Control, Mode::View), t);
    assert_eq!(role.role, Role::Follower);
    let (a, role) = r.join(alice(), t);
    assert_eq!(role.role, Role::Owner);
    let (_, role) = r.join(bob(), t);
    assert_eq!(role.role, Role::Follower);
    assert_eq!(r.owner(), Some(a));
    assert_eq!(r.claim(v, t).unwrap_err().code, ErrorCode::NotEligible);
    assert_eq!(r.claim(w, t).unwrap_err().code, ErrorCode::NotEligible);
}

#[test]
fn grace_reserves_the_slot_for_the_same_identity() {
    let t = Instant::now();
    let mut r = Roster::new(GRACE);
    let (a, _) = r.join(alice(), t);
    let (b, _) = r.join(bob(), t);
    assert_eq!(r.leave(a, t), None);
    // No auto-promotion, and bob cannot claim while the slot is held.
    assert_eq!(r.owner(), None);
    assert_eq!(r.claim(b, t).unwrap_err().code, ErrorCode::OwnerPresent);
    let (_, role) = r.join(bob(), t + Duration::from_secs(1));
    assert_eq!(role.role, Role::Follower);
    let (a2, role) = r.join(alice(), t + Duration::from_secs(9));
    assert_eq!(role.role, Role::Owner);
    assert_eq!(r.owner(), Some(a2));
}

#[test]
fn after_grace_the_next_new_connection_owns() {
    let t = Instant::now();
    let mut r = Roster::new(GRACE);
    let (a, _) = r.join(alice(), t);
    let (b, _) = r.join(bob(), t);
    r.leave(a, t);
    let later = t + GRACE;
    assert_eq!(r.role_of(b), Role::Follower, "existing followers stay");
    let (c, role) = r.join(person("carol", Grant::Control, Mode::Control), later);
    assert_eq!(role.role, Role::Owner);
    assert_eq!(r.owner(), Some(c));
}

#[test]
fn claim_release_transfer() {
    let t = Instant::now();
    let mut r = Roster::new(Duration::ZERO);
    let (a, _) = r.join(alice(), t);
    let (b, _) = r.join(bob(), t);
    let (v, _) = r.join(person("v", Grant::View, Mode::Control), t);
    assert_eq!(r.claim(b, t).unwrap_err().code, ErrorCode::OwnerPresent);
    assert_eq!(r.release(b).unwrap_err().code, ErrorCode::NotOwner);
    assert_eq!(
        r.transfer(a, &v.to_string()).unwrap_err().code,
        ErrorCode::NotEligible
    );
    assert_eq!(
        r.transfer(a, "p99").unwrap_err().code,
        ErrorCode::NotEligible
    );
    assert_eq!(
        r.transfer(a, "garbage").unwrap_err().code,
        ErrorCode::NotEligible
    );
    let changes = r.transfer(a, &b.to_string()).unwrap();
    assert_eq!(changes.len(), 2);
    assert_eq!(r.owner(), Some(b));
    r.release(b).unwrap();
    assert_eq!(r.owner(), None);
    assert_eq!(r.claim(a, t).unwrap()[0].role, Role::Owner);
    assert!(
        r.claim(a, t).unwrap().is_empty(),
        "claiming twice is a no-op"
    );
}

#[test]
fn a_reconnect_that_raced_ahead_inherits_the_slot() {
    let t = Instant::now();
    let mut r = Roster::new(GRACE);
    let (old, _) = r.join(alice(), t);
    let (bob_id, _) = r.join(bob(), t);
    // The new connection arrives before the old one is noticed gone.
    let (new, role) = r.join(alice(), t);
    assert_eq!(role.role, Role::Follower);
    let change = r.leave(old, t).expect("handed over");
    assert_eq!((change.who, change.role), (new, Role::Owner));
    assert_eq!(r.owner(), Some(new));
    // Another identity's follower is never promoted this way.
    assert_eq!(r.leave(new, t), None);
    assert_eq!(r.owner(), None);
    assert_eq!(r.role_of(bob_id), Role::Follower);
}

#[test]
fn the_held_slot_counts_down_and_expires() {
    let t = Instant::now();
    let mut r = Roster::new(GRACE);
    let (a, _) = r.join(alice(), t);
    assert_eq!(r.owner_slot(t), None, "an owner is here: nothing is held");
    r.leave(a, t);
    let slot = r.owner_slot(t + Duration::from_secs(4)).unwrap();
    assert_eq!(
        (slot.held_for.as_str(), slot.expires_in_ms),
        ("alice", 6000)
    );
    assert_eq!(r.reservation_deadline(), Some(t + GRACE));
    assert!(!r.expire_reservation(t + Duration::from_secs(9)));
    assert!(r.expire_reservation(t + GRACE));
    assert_eq!(r.owner_slot(t + GRACE), None);
    assert_eq!(r.reservation_deadline(), None);
}

#[test]
fn a_restored_slot_is_held_like_a_dropped_owners() {
    let t = Instant::now();
    let mut r = Roster::new(GRACE);
    r.reserve("alice".into(), t);
    assert_eq!(r.slot_holder(t), Some("alice"));
    let (b, role) = r.join(bob(), t);
    assert_eq!(role.role, Role::Follower, "bob came back first");
    assert_eq!(r.claim(b, t).unwrap_err().code, ErrorCode::OwnerPresent);
    let (a, role) = r.join(alice(), t + Duration::from_secs(1));
    assert_eq!(role.role, Role::Owner);
    assert_eq!(r.slot_holder(t), Some("alice"));
    r.release(a).unwrap();
    assert_eq!(r.slot_holder(t), None);
    // After the grace nothing is held any more.
    r.reserve("alice".into(), t);
    assert_eq!(r.slot_holder(t + GRACE), None);
}

#[test]
fn zero_grace_frees_the_slot_at_once() {
    let t = Instant::now();
    let mut r = Roster::new(Duration::ZERO);
    let (a, _) = r.join(alice(), t);
    let (b, _) = r.join(bob(), t);
    r.leave(a, t);
    assert_eq!(r.claim(b, t).unwrap()[0].role, Role::Owner);
}
