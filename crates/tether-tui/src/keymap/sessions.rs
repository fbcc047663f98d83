//! The keys of the deck (many sessions in one screen): they work over
//! every session, before the session on screen sees a key. A table of
//! their own, read by the deck and by the help overlay.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::Chord;

const CTRL: KeyModifiers = KeyModifiers::CONTROL;
const ALT: KeyModifiers = KeyModifiers::ALT;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionAction {
    /// The session list: a sidebar on wide screens, the picker on narrow.
    List,
    /// Every request waiting, in every session.
    Inbox,
    /// A new session (admins).
    New,
    Previous,
    Next,
    /// The nth session of the list (Alt+1 is the first).
    Nth,
}

pub struct SessionBinding {
    pub label: &'static str,
    pub help: &'static str,
    pub keys: &'static [Chord],
    pub action: SessionAction,
}

pub const SESSION_KEYS: &[SessionBinding] = &[
    SessionBinding {
        label: "Ctrl+S",
        help: "session list (sidebar, or picker)",
        keys: &[(KeyCode::Char('s'), CTRL)],
        action: SessionAction::List,
    },
    SessionBinding {
        label: "Ctrl+G",
        help: "inbox: every request waiting",
        keys: &[(KeyCode::Char('g'), CTRL)],
        action: SessionAction::Inbox,
    },
    SessionBinding {
        label: "Ctrl+N",
        help: "new session from a preset (admin)",
        keys: &[(KeyCode::Char('n'), CTRL)],
        action: SessionAction::New,
    },
    SessionBinding {
        label: "Alt+↑/↓",
        help: "previous / next session",
        keys: &[(KeyCode::Up, ALT)],
        action: SessionAction::Previous,
    },
    SessionBinding {
        label: "Alt+↓",
        help: "",
        keys: &[(KeyCode::Down, ALT)],
        action: SessionAction::Next,
    },
    SessionBinding {
        label: "Alt+1…9",
        help: "first … ninth session of the list",
        keys: &[
            (KeyCode::Char('1'), ALT),
            (KeyCode::Char('2'), ALT),
            (KeyCode::Char('3'), ALT),
            (KeyCode::Char('4'), ALT),
            (KeyCode::Char('5'), ALT),
            (KeyCode::Char('6'), ALT),
            (KeyCode::Char('7'), ALT),
            (KeyCode::Char('8'), ALT),
            (KeyCode::Char('9'), ALT),
        ],
        action: SessionAction::Nth,
    },
];

/// The deck's action for `key`, if it has one.
pub fn session_action(key: &KeyEvent) -> Option<SessionAction> {
    SESSION_KEYS
        .iter()
        .find(|b| b.keys.contains(&(key.code, key.modifiers)))
        .map(|b| b.action)
}

/// The help overlay's rows for these keys.
pub fn session_help() -> Vec<(&'static str, &'static str)> {
    SESSION_KEYS
        .iter()
        .filter(|b| !b.help.is_empty())
        .map(|b| (b.label, b.help))
        .collect()
}
