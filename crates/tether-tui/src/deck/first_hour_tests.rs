//! Issue 22, "the first hour": the inbox counts what is the user's to
//! answer and lists the rest apart, confirms an answer and closes when
//! nothing is left; Ctrl+K (or `:` where typing goes nowhere) jumps to a
//! session by name, Ctrl+^ (or Alt+Tab) back to the one before.

use crossterm::event::{KeyCode, KeyModifiers};

use super::tests::{changed, deck, drawn, key, lobby, resize, summary};
use super::watch_tests::{claims, type_char, watching};
use super::*;
use crate::protocol::{
    AgentState, ClientMessage, Decision, Grant, LobbyMessage, LobbyYou, PermissionDecision,
    SessionSummary,
};

const WAITING: AgentState = AgentState::AwaitingPermission;

/// A session with one request, raised at second `at`, owned by `owner`.
fn asking(id: &str, request: &str, at: u8, owner: Option<&str>) -> SessionSummary {
    let raised = format!("2026-11-21T10:00:{at:02}.000Z");
    SessionSummary {
        owner: owner.map(str::to_owned),
        ..summary(id, WAITING, &[(request, &raised)])
    }
}

/// The lobby's first snapshot, to a token named `identity`.
fn snapshot_to(identity: &str, grants: &[Grant], sessions: Vec<SessionSummary>) -> LobbyMessage {
    LobbyMessage::Sessions {
        now: "2026-11-21T10:00:10.000Z".into(),
        sessions,
        presets: Vec::new(),
        unavailable: Vec::new(),
        workspaces: Vec::new(),
        you: Some(LobbyYou {
            identity: identity.into(),
            grants: grants.to_vec(),
        }),
    }
}

/// alice's deck: `api` free, `web` bob's (its request the oldest), `ops`
/// alice's own.
fn three_sessions(deck: &mut Deck) -> Vec<DeckEffect> {
    let sessions = vec![
        asking("api", "r-api", 5, None),
        asking("web", "r-web", 1, Some("bob")),
        asking("ops", "r-ops", 3, Some("alice")),
    ];
    let control = [Grant::View, Grant::Control];
    lobby(deck, 0, snapshot_to("alice", &control, sessions))
}

#[test]
fn the_inbox_counts_what_is_yours_and_lists_the_rest_apart() {
    let mut deck = deck(1);
    let effects = three_sessions(&mut deck);
    assert!(
        effects.contains(&DeckEffect::Title("tether · 2 requests waiting".into())),
        "bob's request is not counted: {effects:?}"
    );
    assert_eq!(deck.pending_yours(), 2);
    let order: Vec<(String, bool)> = deck
        .inbox()
        .into_iter()
        .map(|e| (e.request_id, e.yours))
        .collect();
    assert_eq!(
        order,
        [
            ("r-ops".into(), true),
            ("r-api".into(), true),
            ("r-web".into(), false)
        ],
        "yours oldest first, then the others'"
    );
    let screen = drawn(&mut deck, 120, 20);
    assert!(screen.contains("Sessions · ⚠ 2"), "{screen}");
    let web = screen
        .lines()
        .find(|l| l.contains("│ web"))
        .unwrap_or_default();
    assert!(web.contains("(1)") && !web.contains('⚠'), "bob's: {screen}");
    key(&mut deck, KeyCode::Char('g'), KeyModifiers::CONTROL);
    let screen = drawn(&mut deck, 120, 30);
    assert!(
        screen.contains("Inbox · 2 waiting for you · 1 for others"),
        "{screen}"
    );
    assert!(screen.contains("theirs to answer"), "{screen}");
    assert!(screen.contains("web  run r-web  (bob)"), "{screen}");
}

#[test]
fn a_token_without_control_or_a_read_only_deck_has_nothing_to_answer() {
    let mut deck = deck(1);
    let sessions = vec![asking("api", "r1", 1, None)];
    lobby(&mut deck, 0, snapshot_to("carol", &[Grant::View], sessions));
    assert_eq!(deck.pending_yours(), 0);
    let mut deck = super::tests::deck(1);
    deck.view_mode = true;
    three_sessions(&mut deck);
    assert_eq!(deck.pending_yours(), 0);
}

/// What the session's app sends for `y` on request `request_id`.
fn allowed(request_id: &str) -> DeckEffect {
    DeckEffect::Tab {
        tab: 0,
        effect: Effect::Send(ClientMessage::PermissionDecision(PermissionDecision {
            id: "c-1".into(),
            request_id: request_id.into(),
            decision: Decision::Allow,
            message: None,
            updated_input: None,
            option: None,
        })),
    }
}

#[test]
fn an_answer_in_the_inbox_is_confirmed_and_the_inbox_closes_when_nothing_is_left() {
    let mut deck = deck(1);
    three_sessions(&mut deck);
    key(&mut deck, KeyCode::Char('g'), KeyModifiers::CONTROL);
    deck.confirm(&[allowed("r-ops")]);
    let said = deck.inbox_said.clone().unwrap_or_default();
    assert!(said.contains("✓ allowed in ops: run r-ops"), "{said}");
    let screen = drawn(&mut deck, 120, 30);
    assert!(screen.contains("✓ allowed in ops"), "{screen}");
    // The host takes it; api's is still the user's to answer.
    let ops_done = SessionSummary {
        owner: Some("alice".into()),
        ..summary("ops", AgentState::Running, &[])
    };
    lobby(&mut deck, 0, changed(ops_done));
    assert!(
        matches!(deck.panel, Some(Panel::Inbox { .. })),
        "api's left"
    );
    deck.confirm(&[allowed("r-api")]);
    lobby(
        &mut deck,
        0,
        changed(summary("api", AgentState::Running, &[])),
    );
    assert_eq!(deck.panel, None, "only bob's is left: closed");
    let status = deck.tabs[deck.active].app.status.clone().map(|s| s.text);
    assert_eq!(status.as_deref(), Some("✓ allowed in api: run r-api"));
}

#[test]
fn an_empty_inbox_does_not_open() {
    let mut deck = deck(1);
    lobby(&mut deck, 0, changed(summary("api", AgentState::Idle, &[])));
    key(&mut deck, KeyCode::Char('g'), KeyModifiers::CONTROL);
    assert_eq!(deck.panel, None);
    let status = deck.tabs[deck.active].app.status.clone().map(|s| s.text);
    assert!(status.unwrap_or_default().contains("inbox is empty"));
}

fn on_screen(deck: &Deck) -> &str {
    &deck.tabs[deck.active].key.id
}

#[test]
fn ctrl_k_jumps_to_a_session_by_name_and_ctrl_caret_goes_back() {
    let mut deck = deck(1);
    resize(&mut deck, 160, 40);
    let idle = AgentState::Idle;
    let sessions = ["api", "web", "ops"].map(|id| summary(id, idle, &[]));
    lobby(&mut deck, 0, super::tests::snapshot(sessions.to_vec()));
    assert_eq!(on_screen(&deck), "api");
    // Wide screens too: Ctrl+K is the picker, not the sidebar.
    key(&mut deck, KeyCode::Char('k'), KeyModifiers::CONTROL);
    assert!(matches!(deck.panel, Some(Panel::Picker { .. })));
    for c in "op".chars() {
        key(&mut deck, KeyCode::Char(c), KeyModifiers::NONE);
    }
    key(&mut deck, KeyCode::Enter, KeyModifiers::NONE);
    assert_eq!(on_screen(&deck), "ops");
    // Ctrl+^ arrives as Ctrl+6.
    key(&mut deck, KeyCode::Char('6'), KeyModifiers::CONTROL);
    assert_eq!(on_screen(&deck), "api", "back");
    key(&mut deck, KeyCode::Tab, KeyModifiers::ALT);
    assert_eq!(on_screen(&deck), "ops", "and forth");
    key(&mut deck, KeyCode::Char('2'), KeyModifiers::ALT);
    assert_eq!(on_screen(&deck), "web");
    key(&mut deck, KeyCode::Char('^'), KeyModifiers::CONTROL);
    assert_eq!(on_screen(&deck), "ops");
}

#[test]
fn colon_jumps_only_where_typing_goes_nowhere() {
    // A session the user may write in: `:` is text (a draft: no claim).
    let mut deck = watching();
    assert_eq!(claims(&type_char(&mut deck, ':')), 0);
    assert_eq!(deck.panel, None);
    assert_eq!(deck.tabs[0].app.input.lines(), [":"]);
    // Read-only: `:` is the picker.
    let mut deck = watching();
    deck.view_mode = true;
    deck.tabs[0].app.view_mode = true;
    type_char(&mut deck, ':');
    assert!(
        matches!(deck.panel, Some(Panel::Picker { .. })),
        "{:?}",
        deck.panel
    );
}

#[test]
fn the_form_opens_on_its_first_field_names_missing_agents_and_offers_to_make_a_missing_directory() {
    use crate::protocol::LobbyRequest;
    let mut deck = deck(1);
    let mut listing = snapshot_to("root", &[Grant::Control], Vec::new());
    if let LobbyMessage::Sessions {
        presets,
        unavailable,
        ..
    } = &mut listing
    {
        *presets = vec!["shell".into()];
        *unavailable = vec![crate::protocol::UnavailablePreset {
            name: "gemini".into(),
            why: "`gemini` is not on PATH".into(),
            install: Some("npm install -g @google/gemini-cli".into()),
        }];
    }
    lobby(&mut deck, 0, listing);
    key(&mut deck, KeyCode::Char('n'), KeyModifiers::CONTROL);
    let screen = drawn(&mut deck, 100, 24);
    assert!(
        screen.contains("not installed on this host:")
            && screen.contains("gemini  npm install -g @google/gemini-cli"),
        "what is missing is named with its package: {screen}"
    );
    key(&mut deck, KeyCode::Tab, KeyModifiers::NONE);
    key(&mut deck, KeyCode::Right, KeyModifiers::NONE);
    let screen = drawn(&mut deck, 100, 24);
    assert!(screen.contains("◂ shell ▸"), "never offered: {screen}");
    key(&mut deck, KeyCode::BackTab, KeyModifiers::NONE);
    let screen = drawn(&mut deck, 100, 24);
    let first = screen
        .lines()
        .find(|l| l.contains("directory") || l.contains("agent"))
        .unwrap_or_default();
    assert!(
        first.contains("directory") && first.contains('▏'),
        "{screen}"
    );
    let ask = |deck: &mut Deck| {
        let effects = key(deck, KeyCode::Enter, KeyModifiers::NONE);
        match effects.as_slice() {
            [DeckEffect::Lobby { request, .. }] => request.clone(),
            other => panic!("one request: {other:?}"),
        }
    };
    key(&mut deck, KeyCode::Char('x'), KeyModifiers::NONE);
    let LobbyRequest::CreateSession { id, create_dir, .. } = ask(&mut deck) else {
        panic!("a create request");
    };
    assert!(!create_dir);
    let refused = LobbyMessage::Refused {
        id,
        code: 400,
        message: "directory x does not exist".into(),
        missing_dir: true,
    };
    lobby(&mut deck, 0, refused);
    let screen = drawn(&mut deck, 100, 24);
    assert!(
        screen.contains("does not exist: Enter makes it"),
        "{screen}"
    );
    let LobbyRequest::CreateSession { create_dir, .. } = ask(&mut deck) else {
        panic!("a create request");
    };
    assert!(create_dir, "the second Enter makes it");
}
