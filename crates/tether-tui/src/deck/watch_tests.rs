//! A session the deck shows from a host's list is watched, not taken:
//! writing in it claims it, and what was typed reaches it once it owns.

use std::time::{Instant, SystemTime};

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::hosts::HostView;
use super::*;
use crate::client::ConnEvent;
use crate::protocol::{
    AgentState, ClientMessage, Grant, Mode, ParticipantInfo, Role, ServerMessage,
    SessionDescription, You,
};

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
        ServerMessage::Ready {
            protocol: 1,
            session: SessionDescription {
                id: "api".into(),
                epoch: "e".into(),
                title: "API".into(),
                agent: "shell".into(),
                cwd: "/w".into(),
                started_at: "2026-01-01T00:00:00Z".into(),
                rules: Vec::new(),
                takes_updated_input: true,
            },
            you: You {
                participant: "p1".into(),
                identity: "alice".into(),
                grants: vec![Grant::View, Grant::Control],
                mode: Mode::Control,
            },
            last_seq: 0,
            state: AgentState::Idle,
            pending: Vec::new(),
            agent: None,
        },
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

#[test]
fn a_listed_session_is_watched_and_writing_in_it_claims_it() {
    let mut deck = watching();
    assert!(deck.tabs[0].watching, "shown from the list: claim=no");
    assert!(!deck.tabs[0].app.is_owner());
    assert_eq!(
        claims(&type_char(&mut deck, 'l')),
        1,
        "the first key claims"
    );
    assert_eq!(claims(&type_char(&mut deck, 's')), 0, "once");
    let status = deck.tabs[0].app.status.as_ref().map(|s| s.text.clone());
    assert!(
        status
            .as_deref()
            .unwrap_or("")
            .contains("claiming the session"),
        "it says so: {status:?}"
    );
    conn(
        &mut deck,
        ServerMessage::Role {
            role: Role::Owner,
            reason: Some("claimed".into()),
        },
    );
    assert_eq!(
        deck.tabs[0].app.input.lines(),
        ["ls"],
        "nothing typed is lost"
    );
}

#[test]
fn a_refused_claim_drops_what_was_held() {
    let mut deck = watching();
    let effects = type_char(&mut deck, 'x');
    let Some(id) = effects.iter().find_map(|e| match e {
        DeckEffect::Tab {
            effect: Effect::Send(ClientMessage::Claim(c)),
            ..
        } => Some(c.id.clone()),
        _ => None,
    }) else {
        panic!("a claim: {effects:?}");
    };
    conn(
        &mut deck,
        ServerMessage::Error {
            id: Some(id),
            code: crate::protocol::ErrorCode::OwnerPresent,
            message: "bob owns the session".into(),
            oldest: None,
        },
    );
    assert!(deck.tabs[0].held.is_empty());
    assert_eq!(deck.tabs[0].app.input.lines(), [""]);
}

/// Backspace typed while the claim is on its way edits the held text in
/// order; it is not lost on a box that is not yet ours.
#[test]
fn a_backspace_typed_during_the_claim_waits_with_the_text() {
    let mut deck = watching();
    for c in "helo".chars() {
        type_char(&mut deck, c);
    }
    let backspace = crossterm::event::KeyEvent::new(
        crossterm::event::KeyCode::Backspace,
        crossterm::event::KeyModifiers::NONE,
    );
    deck.update(
        DeckMsg::Ui(Msg::Key(backspace)),
        Instant::now(),
        SystemTime::now(),
    );
    type_char(&mut deck, 'l');
    type_char(&mut deck, 'o');
    conn(
        &mut deck,
        ServerMessage::Role {
            role: Role::Owner,
            reason: Some("claimed".into()),
        },
    );
    assert_eq!(deck.tabs[0].app.input.lines(), ["hello"]);
}
