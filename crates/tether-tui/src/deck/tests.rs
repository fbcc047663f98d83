//! The deck as a state machine: lobbies in, tabs, notifications and the
//! title out; keys that switch sessions and keep each one's draft.

use std::time::{Instant, SystemTime};

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::hosts::HostView;
use super::notify::NotifyMode;
use super::*;
use crate::client::lobby::LobbyEvent;
use crate::protocol::{AgentState, LobbyMessage, PendingSummary, SessionSummary};

pub(super) fn summary(id: &str, state: AgentState, pending: &[(&str, &str)]) -> SessionSummary {
    let pending_requests: Vec<PendingSummary> = pending
        .iter()
        .map(|(request, at)| PendingSummary {
            request_id: (*request).into(),
            tool: "shell".into(),
            title: Some(format!("run {request}")),
            subject: None,
            requested_at: (*at).into(),
        })
        .collect();
    SessionSummary {
        id: id.into(),
        title: id.into(),
        order: None,
        agent: "shell".into(),
        preset: None,
        cwd: "/w".into(),
        state,
        detail: None,
        owner: None,
        participants: 0,
        pending: pending_requests.len(),
        pending_permissions: pending_requests.len(),
        pending_requests,
        last_activity: String::new(),
        epoch: "e".into(),
        last_seq: 1,
    }
}

pub(super) fn deck(hosts: usize) -> Deck {
    let views = (0..hosts)
        .map(|n| {
            let url = url::Url::parse(&format!("ws://127.0.0.{}:7878/", n + 1)).unwrap();
            HostView::new(format!("host{n}"), url, "t".into())
        })
        .collect();
    Deck::new(views, false)
}

pub(super) fn lobby(deck: &mut Deck, host: usize, message: LobbyMessage) -> Vec<DeckEffect> {
    let event = LobbyEvent::Message(message);
    deck.update(
        DeckMsg::Lobby { host, event },
        Instant::now(),
        SystemTime::now(),
    )
}

pub(super) fn snapshot(sessions: Vec<SessionSummary>) -> LobbyMessage {
    LobbyMessage::Sessions {
        now: "2026-11-21T10:00:00.000Z".into(),
        sessions,
        presets: Vec::new(),
        unavailable: Vec::new(),
        workspaces: Vec::new(),
        you: None,
    }
}

pub(super) fn changed(session: SessionSummary) -> LobbyMessage {
    LobbyMessage::Session {
        now: "2026-11-21T10:00:05.000Z".into(),
        session: Box::new(session),
    }
}

pub(super) fn key(deck: &mut Deck, code: KeyCode, modifiers: KeyModifiers) -> Vec<DeckEffect> {
    let key = KeyEvent::new(code, modifiers);
    deck.update(
        DeckMsg::Ui(Msg::Key(key)),
        Instant::now(),
        SystemTime::now(),
    )
}

fn notes(effects: &[DeckEffect]) -> Vec<String> {
    effects
        .iter()
        .filter_map(|e| match e {
            DeckEffect::Notify(n) => Some(format!("{} | {}", n.title, n.body)),
            _ => None,
        })
        .collect()
}

#[test]
fn a_host_alone_shows_its_first_session_once_the_lobby_lists_it() {
    let mut deck = deck(1);
    let idle = AgentState::Idle;
    let effects = lobby(
        &mut deck,
        0,
        snapshot(vec![summary("web", idle, &[]), summary("api", idle, &[])]),
    );
    assert!(
        effects.contains(&DeckEffect::Open { tab: 0 }),
        "{effects:?}"
    );
    assert_eq!(deck.tabs[0].key.id, "web", "the host's order is kept");
    let listed: Vec<String> = deck.listed().into_iter().map(|k| k.id).collect();
    assert_eq!(listed, ["web", "api"]);
}

fn placed(id: &str, order: u64) -> SessionSummary {
    SessionSummary {
        order: Some(order),
        title: format!("{id} title"),
        ..summary(id, AgentState::Idle, &[])
    }
}

fn listed(deck: &Deck) -> Vec<String> {
    deck.listed().into_iter().map(|k| k.id).collect()
}

#[test]
fn a_created_session_comes_last_and_numbers_never_move() {
    let mut deck = deck(1);
    lobby(
        &mut deck,
        0,
        snapshot(vec![placed("web", 1), placed("api", 0), placed("ops", 2)]),
    );
    assert_eq!(listed(&deck), ["api", "web", "ops"], "the config's order");
    lobby(&mut deck, 0, changed(placed("fresh", 3)));
    assert_eq!(listed(&deck), ["api", "web", "ops", "fresh"]);
    key(&mut deck, KeyCode::Char('2'), KeyModifiers::ALT);
    assert_eq!(deck.tabs[deck.active].key.id, "web", "Alt+2 is still web");
    // A snapshot after a gap keeps the places too.
    lobby(
        &mut deck,
        0,
        snapshot(vec![placed("fresh", 3), placed("web", 1), placed("api", 0)]),
    );
    assert_eq!(listed(&deck), ["api", "web", "fresh"]);
}

#[test]
fn an_older_host_lists_new_sessions_last_too() {
    let mut deck = deck(1);
    let idle = AgentState::Idle;
    lobby(
        &mut deck,
        0,
        snapshot(vec![summary("api", idle, &[]), summary("web", idle, &[])]),
    );
    lobby(&mut deck, 0, changed(summary("aaa", idle, &[])));
    assert_eq!(listed(&deck), ["api", "web", "aaa"]);
}

#[test]
fn a_request_elsewhere_notifies_and_the_title_counts_it() {
    let mut deck = deck(2);
    let idle = AgentState::Idle;
    lobby(&mut deck, 0, snapshot(vec![summary("api", idle, &[])]));
    lobby(&mut deck, 1, snapshot(vec![summary("ops", idle, &[])]));
    assert_eq!(deck.tabs[deck.active].key.id, "api");

    let waiting = AgentState::AwaitingPermission;
    let effects = lobby(
        &mut deck,
        1,
        changed(summary(
            "ops",
            waiting,
            &[("r1", "2026-11-21T10:00:04.000Z")],
        )),
    );
    assert_eq!(
        notes(&effects),
        ["tether: host1/ops | asks permission: run r1"]
    );
    assert!(effects.contains(&DeckEffect::Title("tether · 1 request waiting".into())));

    // The same request again is not news; the session on screen never is.
    let again = lobby(
        &mut deck,
        1,
        changed(summary(
            "ops",
            waiting,
            &[("r1", "2026-11-21T10:00:04.000Z")],
        )),
    );
    assert!(notes(&again).is_empty());
    let on_screen = lobby(
        &mut deck,
        0,
        changed(summary(
            "api",
            waiting,
            &[("r2", "2026-11-21T10:00:05.000Z")],
        )),
    );
    assert!(notes(&on_screen).is_empty(), "{on_screen:?}");
    // Unless the terminal has lost focus.
    deck.update(DeckMsg::Focus(false), Instant::now(), SystemTime::now());
    let unfocused = lobby(
        &mut deck,
        0,
        changed(summary(
            "api",
            waiting,
            &[
                ("r2", "2026-11-21T10:00:05.000Z"),
                ("r3", "2026-11-21T10:00:06.000Z"),
            ],
        )),
    );
    assert_eq!(notes(&unfocused).len(), 1);

    let done = lobby(&mut deck, 1, changed(summary("ops", idle, &[])));
    assert_eq!(notes(&done), ["tether: host1/ops | turn ended"]);
    deck.notify = NotifyMode::Off;
    let quiet = lobby(
        &mut deck,
        1,
        changed(summary(
            "ops",
            waiting,
            &[("r9", "2026-11-21T10:00:09.000Z")],
        )),
    );
    assert!(notes(&quiet).is_empty());
}

#[test]
fn switching_sessions_keeps_each_draft() {
    let mut deck = deck(1);
    let idle = AgentState::Idle;
    lobby(
        &mut deck,
        0,
        snapshot(vec![summary("a", idle, &[]), summary("b", idle, &[])]),
    );
    deck.active_app().input.insert_str("draft for a");
    let effects = key(&mut deck, KeyCode::Down, KeyModifiers::ALT);
    assert!(
        effects.contains(&DeckEffect::Open { tab: 1 }),
        "b connects when first shown"
    );
    assert_eq!(deck.tabs[deck.active].key.id, "b");
    assert_eq!(deck.active_app().input.lines(), [""]);
    let effects = key(&mut deck, KeyCode::Up, KeyModifiers::ALT);
    assert!(
        effects
            .iter()
            .all(|e| !matches!(e, DeckEffect::Open { .. })),
        "a is open"
    );
    assert_eq!(deck.active_app().input.lines(), ["draft for a"]);
}

#[test]
fn the_picker_filters_fuzzily_and_switches() {
    let mut deck = deck(1);
    resize(&mut deck, 80, 24);
    let idle = AgentState::Idle;
    lobby(
        &mut deck,
        0,
        snapshot(vec![
            summary("api", idle, &[]),
            summary("web-front", idle, &[]),
        ]),
    );
    key(&mut deck, KeyCode::Char('s'), KeyModifiers::CONTROL);
    assert!(
        matches!(deck.panel, Some(Panel::Picker { .. })),
        "narrow: the picker"
    );
    for c in "wft".chars() {
        key(&mut deck, KeyCode::Char(c), KeyModifiers::NONE);
    }
    let picked: Vec<String> = deck.picked("wft").into_iter().map(|k| k.id).collect();
    assert_eq!(picked, ["web-front"]);
    key(&mut deck, KeyCode::Enter, KeyModifiers::NONE);
    assert_eq!(deck.panel, None);
    assert_eq!(deck.tabs[deck.active].key.id, "web-front");

    resize(&mut deck, 160, 40);
    key(&mut deck, KeyCode::Char('s'), KeyModifiers::CONTROL);
    assert_eq!(deck.panel, None, "wide: a sidebar, toggled");
    assert!(
        !deck.sidebar_shown(),
        "shown by default with two sessions, now hidden"
    );
}

#[test]
fn the_inbox_lists_every_request_oldest_first_and_connects_their_sessions() {
    let mut deck = deck(2);
    let waiting = AgentState::AwaitingPermission;
    lobby(
        &mut deck,
        0,
        snapshot(vec![summary(
            "api",
            waiting,
            &[("late", "2026-11-21T10:00:09.000Z")],
        )]),
    );
    lobby(
        &mut deck,
        1,
        snapshot(vec![summary(
            "ops",
            waiting,
            &[("early", "2026-11-21T10:00:01.000Z")],
        )]),
    );
    let effects = key(&mut deck, KeyCode::Char('g'), KeyModifiers::CONTROL);
    let order: Vec<String> = deck.inbox().into_iter().map(|e| e.request_id).collect();
    assert_eq!(order, ["early", "late"]);
    let ops = deck.tabs.iter().position(|t| t.key.id == "ops").unwrap();
    assert!(
        effects.contains(&DeckEffect::Open { tab: ops }),
        "{effects:?}"
    );
    key(&mut deck, KeyCode::Esc, KeyModifiers::NONE);
    assert_eq!(deck.panel, None);
}

#[test]
fn fuzzy_matching_takes_characters_in_order() {
    use super::keys::fuzzy_matches;
    assert!(fuzzy_matches("", "anything"));
    assert!(fuzzy_matches("wf", "web-front"));
    assert!(fuzzy_matches("WEB", "web-front"));
    assert!(!fuzzy_matches("fw", "web-front"));
}

#[test]
fn a_new_session_is_asked_of_the_lobby_and_shown_once_made() {
    let mut deck = deck(1);
    let idle = AgentState::Idle;
    let mut listing = snapshot(vec![summary("api", idle, &[])]);
    if let LobbyMessage::Sessions { presets, .. } = &mut listing {
        *presets = vec!["claude".into(), "shell".into()];
    }
    lobby(&mut deck, 0, listing);
    key(&mut deck, KeyCode::Char('n'), KeyModifiers::CONTROL);
    assert!(matches!(deck.panel, Some(Panel::NewSession(_))));
    for c in "sub".chars() {
        key(&mut deck, KeyCode::Char(c), KeyModifiers::NONE);
    }
    let effects = key(&mut deck, KeyCode::Enter, KeyModifiers::NONE);
    let [DeckEffect::Lobby { host: 0, request }] = effects.as_slice() else {
        panic!("one lobby request: {effects:?}");
    };
    let crate::protocol::LobbyRequest::CreateSession { id, agent, cwd, .. } = request.clone()
    else {
        panic!("a create request: {request:?}");
    };
    assert_eq!((agent.as_str(), cwd.as_deref()), ("shell", Some("sub")));
    let made = LobbyMessage::Created {
        id,
        session: Box::new(summary("sub", idle, &[])),
    };
    let effects = lobby(&mut deck, 0, made);
    assert_eq!(deck.panel, None);
    assert_eq!(deck.tabs[deck.active].key.id, "sub");
    assert!(effects.iter().any(|e| matches!(e, DeckEffect::Open { .. })));
}

#[test]
fn a_read_only_dashboard_makes_no_sessions() {
    let mut deck = deck(1);
    deck.view_mode = true;
    let mut listing = snapshot(vec![summary("api", AgentState::Idle, &[])]);
    if let LobbyMessage::Sessions { presets, .. } = &mut listing {
        *presets = vec!["shell".into()];
    }
    lobby(&mut deck, 0, listing);
    key(&mut deck, KeyCode::Char('n'), KeyModifiers::CONTROL);
    assert_eq!(deck.panel, None);
}

#[test]
fn a_click_on_the_sidebar_switches_to_that_session() {
    use crossterm::event::{MouseButton, MouseEvent, MouseEventKind};
    let mut deck = deck(1);
    let idle = AgentState::Idle;
    lobby(
        &mut deck,
        0,
        snapshot(vec![summary("api", idle, &[]), summary("web", idle, &[])]),
    );
    // Nothing drawn: where the sessions are comes from the layout.
    resize(&mut deck, 140, 30);
    // Rows: border, api, its detail, web, its detail.
    let click = |row| MouseEvent {
        kind: MouseEventKind::Down(MouseButton::Left),
        column: 5,
        row,
        modifiers: KeyModifiers::NONE,
    };
    let effects = deck.update(
        DeckMsg::Ui(Msg::Mouse(click(4))),
        Instant::now(),
        SystemTime::now(),
    );
    assert_eq!(deck.tabs[deck.active].key.id, "web");
    assert!(effects.iter().any(|e| matches!(e, DeckEffect::Open { .. })));
    deck.update(
        DeckMsg::Ui(Msg::Mouse(click(1))),
        Instant::now(),
        SystemTime::now(),
    );
    assert_eq!(deck.tabs[deck.active].key.id, "api");
}

#[test]
fn the_mouse_setting_is_one_for_the_whole_screen() {
    let mut deck = deck(1);
    deck.mouse_capture = false;
    let idle = AgentState::Idle;
    lobby(
        &mut deck,
        0,
        snapshot(vec![summary("a", idle, &[]), summary("b", idle, &[])]),
    );
    key(&mut deck, KeyCode::Down, KeyModifiers::ALT);
    assert!(
        deck.tabs.iter().all(|t| !t.app.mouse_capture),
        "sessions shown later start with the screen's setting"
    );
    let effects = key(&mut deck, KeyCode::F(6), KeyModifiers::NONE);
    assert!(effects.iter().any(|e| matches!(
        e,
        DeckEffect::Tab {
            effect: Effect::MouseCapture(true),
            ..
        }
    )));
    assert!(deck.mouse_capture);
    assert!(
        deck.tabs.iter().all(|t| t.app.mouse_capture),
        "F6 in one is F6 in all"
    );
}

pub(super) fn resize(deck: &mut Deck, width: u16, height: u16) {
    deck.update(
        DeckMsg::Resize { width, height },
        Instant::now(),
        SystemTime::now(),
    );
}

/// Without the session list on screen (narrow, or hidden), the session's
/// status bar counts the requests waiting in the others.
#[test]
fn requests_elsewhere_are_counted_when_the_list_is_not_shown() {
    let mut deck = deck(1);
    resize(&mut deck, 80, 24);
    let waiting = AgentState::AwaitingPermission;
    lobby(
        &mut deck,
        0,
        snapshot(vec![
            summary("api", AgentState::Idle, &[]),
            summary(
                "web",
                waiting,
                &[
                    ("r1", "2026-11-21T09:59:00.000Z"),
                    ("r2", "2026-11-21T09:59:30.000Z"),
                ],
            ),
        ]),
    );
    key(&mut deck, KeyCode::Char('1'), KeyModifiers::ALT);
    assert_eq!(deck.tabs[deck.active].key.id, "api");
    assert_eq!(deck.tabs[deck.active].app.waiting_elsewhere, 2);
    // Wide, the list shows them itself.
    resize(&mut deck, 160, 40);
    assert_eq!(deck.tabs[deck.active].app.waiting_elsewhere, 0);
}

/// The screen as text, drawn `width` by `height`.
pub(super) fn drawn(deck: &mut Deck, width: u16, height: u16) -> String {
    use ratatui::{Terminal, backend::TestBackend};
    resize(deck, width, height);
    let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
    terminal
        .draw(|frame| crate::tui::ui::deck::draw(deck, frame))
        .unwrap();
    let buffer = terminal.backend().buffer();
    (0..height)
        .map(|y| {
            (0..width)
                .map(|x| buffer[(x, y)].symbol().to_owned())
                .collect::<String>()
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn the_list_and_the_picker_show_each_session_title() {
    let mut deck = deck(1);
    let api = SessionSummary {
        title: "API server".into(),
        ..placed("api", 0)
    };
    let bare = SessionSummary {
        title: "ops".into(),
        ..placed("ops", 1)
    };
    lobby(&mut deck, 0, snapshot(vec![api, bare]));
    let screen = drawn(&mut deck, 120, 20);
    assert!(screen.contains("api API server"), "{screen}");
    assert!(
        !screen.contains("ops ops"),
        "a title that is the id: {screen}"
    );
    let screen = drawn(&mut deck, 80, 20);
    key(&mut deck, KeyCode::Char('s'), KeyModifiers::CONTROL);
    let screen_picker = drawn(&mut deck, 80, 20);
    assert!(
        screen_picker.contains("api  API server"),
        "{screen}\n{screen_picker}"
    );
}

/// A paste while a panel is open goes to the panel (the picker's
/// filter), never to the session underneath.
#[test]
fn a_paste_goes_to_the_open_panel_not_the_session_behind_it() {
    let mut deck = deck(1);
    resize(&mut deck, 80, 24);
    let idle = AgentState::Idle;
    lobby(
        &mut deck,
        0,
        snapshot(vec![summary("api", idle, &[]), summary("web", idle, &[])]),
    );
    key(&mut deck, KeyCode::Char('s'), KeyModifiers::CONTROL);
    deck.update(
        DeckMsg::Ui(Msg::Paste("we\n".into())),
        Instant::now(),
        SystemTime::now(),
    );
    assert!(
        matches!(&deck.panel, Some(Panel::Picker { filter, .. }) if filter == "we "),
        "{:?}",
        deck.panel
    );
    assert!(deck.tabs.iter().all(|t| t.app.input.is_empty()));
}
