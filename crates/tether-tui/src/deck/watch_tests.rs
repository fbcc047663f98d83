//! A session the deck shows from a host's list is watched, not taken:
//! the user may write in its box while nobody owns it, and sending claims
//! it; the message goes out once the claim lands.

use std::time::{Instant, SystemTime};

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::hosts::HostView;
use super::*;
use crate::client::ConnEvent;
use crate::protocol::{ClientMessage, Grant, Mode, ParticipantInfo, Role, ServerMessage, You};

pub(super) fn conn(deck: &mut Deck, message: ServerMessage) -> Vec<DeckEffect> {
    let event = ConnEvent::Message(message);
    deck.update(
        DeckMsg::Conn { tab: 0, event },
        Instant::now(),
        SystemTime::now(),
    )
}

fn participants(role: Role) -> ServerMessage {
    ServerMessage::Participants {
        unlisted: 0,
        participants: vec![ParticipantInfo {
            id: "p1".into(),
            identity: "alice".into(),
            role,
            grants: vec![Grant::View, Grant::Control],
            mode: Mode::Control,
            client: None,
            connected_at: "2026-01-01T00:00:00Z".into(),
        }],
        owner_slot: None,
    }
}

/// A deck showing `api`, connected as a follower of a free session.
pub(super) fn watching() -> Deck {
    let url = url::Url::parse("ws://127.0.0.1:7878/").unwrap();
    let host = HostView::new("h".into(), url, "t".into());
    let mut deck = Deck::new(vec![host], false);
    deck.switch_to(SessionKey {
        host: 0,
        id: "api".into(),
    });
    let connected = ConnEvent::Connected;
    let (now, wall) = (Instant::now(), SystemTime::now());
    deck.update(
        DeckMsg::Conn {
            tab: 0,
            event: connected,
        },
        now,
        wall,
    );
    conn(
        &mut deck,
        super::sample::ready(
            "api",
            "API",
            You {
                participant: "p1".into(),
                identity: "alice".into(),
                grants: vec![Grant::View, Grant::Control],
                mode: Mode::Control,
            },
            Vec::new(),
        ),
    );
    let reason = Some("connected with claim=no: watching until it claims".into());
    conn(
        &mut deck,
        ServerMessage::Role {
            role: Role::Follower,
            reason,
        },
    );
    conn(&mut deck, participants(Role::Follower));
    conn(&mut deck, ServerMessage::CaughtUp { seq: 0 });
    deck
}

pub(super) fn type_char(deck: &mut Deck, c: char) -> Vec<DeckEffect> {
    let key = KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE);
    deck.update(
        DeckMsg::Ui(Msg::Key(key)),
        Instant::now(),
        SystemTime::now(),
    )
}

pub(super) fn claims(effects: &[DeckEffect]) -> usize {
    effects
        .iter()
        .filter(|e| {
            matches!(
                e,
                DeckEffect::Tab {
                    effect: Effect::Send(ClientMessage::Claim(_)),
                    ..
                }
            )
        })
        .count()
}

fn press(deck: &mut Deck, code: KeyCode) -> Vec<DeckEffect> {
    let key = KeyEvent::new(code, KeyModifiers::NONE);
    deck.update(
        DeckMsg::Ui(Msg::Key(key)),
        Instant::now(),
        SystemTime::now(),
    )
}

fn claim_id(effects: &[DeckEffect]) -> String {
    effects
        .iter()
        .find_map(|e| match e {
            DeckEffect::Tab {
                effect: Effect::Send(ClientMessage::Claim(c)),
                ..
            } => Some(c.id.clone()),
            _ => None,
        })
        .unwrap_or_else(|| panic!("a claim: {effects:?}"))
}

fn sent_texts(effects: &[DeckEffect]) -> Vec<String> {
    effects
        .iter()
        .filter_map(|e| match e {
            DeckEffect::Tab {
                effect: Effect::Send(ClientMessage::UserMessage(m)),
                ..
            } => Some(m.text.clone()),
            _ => None,
        })
        .collect()
}

fn status(deck: &Deck) -> String {
    let status = deck.tabs[0].app.status.as_ref();
    status.map(|s| s.text.clone()).unwrap_or_default()
}

#[test]
fn typing_in_a_watched_session_takes_nothing_and_sending_claims_it() {
    let mut deck = watching();
    assert!(
        deck.tabs[0].app.claim_on_send,
        "shown from the list: claim=no"
    );
    assert!(!deck.tabs[0].app.is_owner());
    for c in "lsx".chars() {
        assert_eq!(claims(&type_char(&mut deck, c)), 0, "typing only drafts");
    }
    press(&mut deck, KeyCode::Backspace);
    assert_eq!(
        deck.tabs[0].app.input.lines(),
        ["ls"],
        "the box is editable"
    );
    assert!(!deck.tabs[0].app.is_owner(), "still only watching");
    let effects = press(&mut deck, KeyCode::Enter);
    assert_eq!(claims(&effects), 1, "Enter claims");
    assert!(sent_texts(&effects).is_empty(), "not sent before it owns");
    assert!(status(&deck).contains("claiming the session"), "it says so");
    assert!(deck.tabs[0].app.sending(), "the box is locked meanwhile");
    assert_eq!(claims(&press(&mut deck, KeyCode::Enter)), 0, "once");
    let effects = conn(
        &mut deck,
        ServerMessage::Role {
            role: Role::Owner,
            reason: Some("claimed".into()),
        },
    );
    assert_eq!(sent_texts(&effects), ["ls"], "sent once it owns");
}

#[test]
fn a_refused_claim_keeps_the_message_in_the_box() {
    let mut deck = watching();
    type_char(&mut deck, 'x');
    let id = claim_id(&press(&mut deck, KeyCode::Enter));
    let effects = conn(
        &mut deck,
        ServerMessage::Error {
            id: Some(id),
            code: crate::protocol::ErrorCode::OwnerPresent,
            message: "bob owns the session".into(),
            oldest: None,
        },
    );
    assert!(sent_texts(&effects).is_empty());
    assert_eq!(
        deck.tabs[0].app.input.lines(),
        ["x"],
        "nothing typed is lost"
    );
    assert!(!deck.tabs[0].app.sending(), "the box unlocks");
}

#[test]
fn a_session_owned_by_someone_else_stays_read_only() {
    let mut deck = watching();
    let mut bob = participants(Role::Follower);
    if let ServerMessage::Participants { participants, .. } = &mut bob {
        let mut owner = participants[0].clone();
        owner.id = "p2".into();
        owner.identity = "bob".into();
        owner.role = Role::Owner;
        participants.push(owner);
    }
    conn(&mut deck, bob);
    type_char(&mut deck, 'x');
    assert_eq!(deck.tabs[0].app.input.lines(), [""]);
    assert!(status(&deck).contains("read-only"));
}
