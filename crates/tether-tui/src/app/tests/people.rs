//! Ownership as this client sees it (the owner slot, transfers, the
//! release on quit), the turn clock and the mouse toggle.

use std::time::Duration;

use crossterm::event::{KeyCode, KeyModifiers};

use super::{Rig, record, sent};
use crate::protocol::{
    AgentState, ClientMessage, EventKind, Grant, Mode, OwnerSlot, ParticipantInfo, Release, Role,
    ServerMessage, Transfer,
};
use crate::tui::app::ownership::Ownership;
use crate::tui::app::{Effect, Focus};

pub fn person(id: &str, identity: &str, role: Role) -> ParticipantInfo {
    ParticipantInfo {
        id: id.into(),
        identity: identity.into(),
        role,
        grants: vec![Grant::View, Grant::Control],
        mode: Mode::Control,
        client: Some("tether/0.1.0".into()),
        connected_at: "2026-01-01T00:00:00Z".into(),
    }
}

pub fn roster(people: Vec<ParticipantInfo>, slot: Option<(&str, u64)>) -> ServerMessage {
    ServerMessage::Participants {
        unlisted: 0,
        participants: people,
        owner_slot: slot.map(|(held_for, ms)| OwnerSlot {
            held_for: held_for.into(),
            expires_in_ms: ms,
        }),
    }
}

fn last_line(rig: &Rig) -> String {
    let blocks = rig.app.transcript.blocks();
    blocks
        .last()
        .map(|b| b.text().text.clone())
        .unwrap_or_default()
}

#[test]
fn a_held_owner_slot_counts_down_then_the_session_is_free() {
    let mut rig = Rig::new(Role::Follower, false);
    rig.server(roster(
        vec![person("p1", "bob", Role::Follower)],
        Some(("alice", 7_000)),
    ));
    assert_eq!(
        rig.app.ownership(),
        Ownership::Held {
            identity: "alice".into(),
            left: Duration::from_secs(7)
        }
    );
    assert!(rig.app.needs_tick(), "the countdown ticks");
    rig.now += Duration::from_millis(7_001);
    rig.update(crate::tui::app::Msg::Tick);
    assert_eq!(rig.app.ownership(), Ownership::Free { claimable: true });
    // The host's next list says so too; a viewer may not claim.
    rig.server(roster(vec![person("p1", "bob", Role::Follower)], None));
    assert_eq!(rig.app.ownership(), Ownership::Free { claimable: true });
    assert!(!rig.app.needs_tick(), "nothing counts while idle and free");
    let mut viewer = Rig::new(Role::Follower, true);
    viewer.server(roster(vec![person("p1", "bob", Role::Follower)], None));
    assert_eq!(viewer.app.ownership(), Ownership::Free { claimable: false });
    viewer.server(roster(vec![person("p2", "carol", Role::Owner)], None));
    assert_eq!(viewer.app.ownership(), Ownership::Owned);
}

#[test]
fn a_transfer_asks_first_and_names_people_not_ids() {
    let mut rig = Rig::new(Role::Owner, false);
    rig.server(roster(
        vec![
            person("p1", "alice", Role::Owner),
            person("p4", "bob", Role::Follower),
        ],
        None,
    ));
    rig.focus(Focus::Participants);
    rig.key(KeyCode::Down);
    assert!(rig.key(KeyCode::Char('t')).is_empty(), "nothing sent yet");
    let Some(crate::tui::app::Question::Transfer(ask)) = rig.app.question() else {
        panic!("a question is asked");
    };
    assert_eq!(ask.identity, "bob");
    // n declines; nothing is sent.
    assert!(rig.key(KeyCode::Char('n')).is_empty());
    assert!(rig.app.question().is_none());
    rig.key(KeyCode::Char('t'));
    let effects = rig.key(KeyCode::Char('y'));
    assert!(
        matches!(&sent(&effects)[..], [ClientMessage::Transfer(Transfer { to, .. })] if to == "p4"),
        "{effects:?}"
    );
    let status = rig.app.status.clone().unwrap().text;
    assert!(status.contains("bob") && !status.contains("p4"), "{status}");
    // The host's role change leaves a line in the transcript.
    rig.server(ServerMessage::Role {
        role: Role::Follower,
        reason: Some("transferred to bob".into()),
    });
    assert_eq!(last_line(&rig), "⇄ you transferred ownership to bob");
}

#[test]
fn the_receiving_side_records_the_transfer_too() {
    let mut rig = Rig::new(Role::Follower, false);
    rig.server(ServerMessage::Role {
        role: Role::Owner,
        reason: Some("transferred by alice".into()),
    });
    assert_eq!(last_line(&rig), "⇄ alice transferred ownership to you");
    // Other role changes are no transfer.
    rig.server(ServerMessage::Role {
        role: Role::Follower,
        reason: Some("released".into()),
    });
    assert_eq!(last_line(&rig), "⇄ alice transferred ownership to you");
}

#[test]
fn a_deliberate_quit_releases_only_an_owned_connected_session() {
    let mut rig = Rig::new(Role::Owner, false);
    assert!(matches!(
        rig.app.release_on_quit(),
        Some((id, ClientMessage::Release(Release { id: same }))) if id == same
    ));
    let mut follower = Rig::new(Role::Follower, false);
    assert!(follower.app.release_on_quit().is_none());
    let mut lost = Rig::new(Role::Owner, false);
    lost.conn(crate::client::ConnEvent::Lost {
        reason: "gone".into(),
        retry_in: Duration::from_secs(1),
    });
    assert!(lost.app.release_on_quit().is_none(), "nothing to send on");
}

#[test]
fn the_turn_clock_runs_only_while_the_agent_is_busy() {
    let mut rig = Rig::new(Role::Owner, false);
    assert!(!rig.app.needs_tick(), "idle: no clock, no tick");
    // The running status came 5 s before the client's wall clock.
    rig.event(crate::protocol::EventRecord {
        ts: "2025-12-31T23:59:55Z".into(),
        ..record(1, EventKind::status(AgentState::Running))
    });
    assert_eq!(rig.app.turn_elapsed(), Some(Duration::from_secs(5)));
    assert!(rig.app.needs_tick());
    rig.event(record(2, EventKind::status(AgentState::AwaitingPermission)));
    assert_eq!(rig.app.turn_elapsed(), Some(Duration::from_secs(5)));
    rig.event(record(3, EventKind::status(AgentState::Idle)));
    assert_eq!(rig.app.turn_elapsed(), None);
    assert!(!rig.app.needs_tick());
}

#[test]
fn f6_toggles_mouse_capture_and_says_so() {
    let mut rig = Rig::new(Role::Follower, true);
    assert!(rig.app.mouse_capture);
    assert_eq!(rig.key(KeyCode::F(6)), [Effect::MouseCapture(false)]);
    let status = rig.app.status.clone().unwrap().text;
    assert!(status.contains("select text"), "{status}");
    assert_eq!(
        rig.key_mod(KeyCode::F(6), KeyModifiers::NONE),
        [Effect::MouseCapture(true)]
    );
}

#[test]
fn a_refused_transfer_names_the_person_not_the_participant_id() {
    let mut rig = Rig::new(Role::Owner, false);
    let mut watcher = person("p4", "bob", Role::Follower);
    watcher.mode = Mode::View;
    rig.server(roster(
        vec![person("p1", "alice", Role::Owner), watcher],
        None,
    ));
    rig.focus(Focus::Participants);
    rig.key(KeyCode::Down);
    rig.key(KeyCode::Char('t'));
    let effects = rig.key(KeyCode::Char('y'));
    let [ClientMessage::Transfer(Transfer { id, .. })] = &sent(&effects)[..] else {
        panic!("{effects:?}")
    };
    rig.server(ServerMessage::error(
        Some(id.clone()),
        crate::protocol::ErrorCode::NotEligible,
        "bob (p4) may not own the session",
    ));
    let status = rig.app.status.clone().unwrap().text;
    assert_eq!(
        status,
        "refused: bob may not own the session (watching only)"
    );
}
