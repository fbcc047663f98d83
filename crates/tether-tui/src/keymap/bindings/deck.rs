//! The deck's bindings: the chords that work over every session (before
//! the session on screen sees a key), and the keys of its full-screen
//! panels (the session picker, the inbox, the new-session form). Part of
//! the one table in `bindings` (`KEYMAP` lists them all).

use crossterm::event::KeyCode;

use super::super::Context::{Inbox, NewSession, Picker, ReadOnly, Sessions};
use super::super::{Action, Binding, words};
use super::{ALT, CTRL, NONE, SHIFT};

// Over every session.
pub const SESSION_LIST: Binding = Binding::new(
    Sessions,
    "Ctrl+S",
    Action::SessionList,
    &[(KeyCode::Char('s'), CTRL)],
)
.help("session list (sidebar, or picker)");
pub const OPEN_INBOX: Binding = Binding::new(
    Sessions,
    "Ctrl+G",
    Action::OpenInbox,
    &[(KeyCode::Char('g'), CTRL)],
)
.help("inbox: every request waiting");
pub const NEW_SESSION: Binding = Binding::new(
    Sessions,
    "Ctrl+N",
    Action::NewSession,
    &[(KeyCode::Char('n'), CTRL)],
)
.help("new session from a preset (admin)");
pub const PREV_SESSION: Binding = Binding::new(
    Sessions,
    "Alt+↑/↓",
    Action::PrevSession,
    &[(KeyCode::Up, ALT)],
)
.help("previous / next session");
/// Described with `PREV_SESSION`.
pub const NEXT_SESSION: Binding = Binding::new(
    Sessions,
    "Alt+↓",
    Action::NextSession,
    &[(KeyCode::Down, ALT)],
);
/// Reads the digit pressed, so it cannot be remapped.
pub const NTH_SESSION: Binding = Binding::new(
    Sessions,
    "Alt+1…9",
    Action::NthSession,
    &[
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
)
.help("first … ninth session of the list");
/// Over the input box too (where a textarea's Ctrl+K would cut the line's
/// end): a jump is wanted from anywhere; `:` is the same where typing goes
/// nowhere (`JUMP_WHILE_READING`).
pub const JUMP_TO_SESSION: Binding = Binding::new(
    Sessions,
    "Ctrl+K",
    Action::JumpToSession,
    &[(KeyCode::Char('k'), CTRL)],
)
.help("jump to a session (`:` when read-only)");
/// Ctrl+^ reaches the application as Ctrl+6 from most terminals.
pub const LAST_SESSION: Binding = Binding::new(
    Sessions,
    "Ctrl+^",
    Action::LastSession,
    &[
        (KeyCode::Char('6'), CTRL),
        (KeyCode::Char('^'), CTRL),
        (KeyCode::Tab, ALT),
    ],
)
.help("the session before (Alt+Tab too)");

// Where a typed character goes nowhere: the session on screen is
// read-only to this client (--view, owned by someone else) or there is none.
/// Described with `JUMP_TO_SESSION`.
pub const JUMP_WHILE_READING: Binding = Binding::new(
    ReadOnly,
    ":",
    Action::JumpToSession,
    &[(KeyCode::Char(':'), NONE), (KeyCode::Char(':'), SHIFT)],
);

// The session picker (typing filters it).
pub const PICKER_UP: Binding =
    Binding::new(Picker, "↑/↓", Action::SelectUp, &[(KeyCode::Up, NONE)])
        .help("highlight a session")
        .hint(words::SELECT);
/// Described with `PICKER_UP`.
pub const PICKER_DOWN: Binding =
    Binding::new(Picker, "↓", Action::SelectDown, &[(KeyCode::Down, NONE)]);
pub const PICKER_SWITCH: Binding = Binding::new(
    Picker,
    "Enter",
    Action::OpenSession,
    &[(KeyCode::Enter, NONE)],
)
.help("switch to it")
.hint(words::SWITCH);
pub const PICKER_DELETE: Binding = Binding::new(
    Picker,
    "Ctrl+D",
    Action::DeleteSession,
    &[(KeyCode::Char('d'), CTRL)],
)
.help("delete the highlighted session (admins; asks first)")
.hint(words::DELETE);
pub const PICKER_RESTART: Binding = Binding::new(
    Picker,
    "Ctrl+R",
    Action::RestartSession,
    &[(KeyCode::Char('r'), CTRL)],
)
.help("restart its agent (admins, or who may own it; asks first)");
pub const PICKER_CLOSE: Binding = Binding::new(
    Picker,
    "Esc",
    Action::ClosePanel,
    &[
        (KeyCode::Esc, NONE),
        (KeyCode::Char('s'), CTRL),
        (KeyCode::Char('k'), CTRL),
    ],
)
.help("close the picker (also Ctrl+S, Ctrl+K)")
.hint(words::CLOSE);

// The inbox (other keys answer the highlighted request, as its decision
// view does).
pub const INBOX_UP: Binding = Binding::new(Inbox, "↑/↓", Action::SelectUp, &[(KeyCode::Up, NONE)])
    .help("highlight a request")
    .hint(words::REQUEST);
/// Described with `INBOX_UP`.
pub const INBOX_DOWN: Binding =
    Binding::new(Inbox, "↓", Action::SelectDown, &[(KeyCode::Down, NONE)]);
pub const INBOX_OPEN: Binding = Binding::new(
    Inbox,
    "Tab/g",
    Action::OpenSession,
    &[(KeyCode::Tab, NONE), (KeyCode::Char('g'), NONE)],
)
.help("open the request's session")
.hint(words::OPEN_SESSION);
pub const INBOX_CLOSE: Binding = Binding::new(
    Inbox,
    "Esc",
    Action::ClosePanel,
    &[(KeyCode::Esc, NONE), (KeyCode::Char('g'), CTRL)],
)
.help("close the inbox (also Ctrl+G)")
.hint(words::CLOSE);

// The new-session form.
pub const FORM_NEXT_FIELD: Binding = Binding::new(
    NewSession,
    "Tab/↓",
    Action::FocusNext,
    &[(KeyCode::Tab, NONE), (KeyCode::Down, NONE)],
)
.help("next / previous field (Shift+Tab, ↑)")
.hint(words::FIELD);
/// Described with `FORM_NEXT_FIELD`.
pub const FORM_PREV_FIELD: Binding = Binding::new(
    NewSession,
    "Shift+Tab/↑",
    Action::FocusPrev,
    &[
        (KeyCode::BackTab, NONE),
        (KeyCode::BackTab, SHIFT),
        (KeyCode::Up, NONE),
    ],
);
pub const FORM_PREV_PRESET: Binding = Binding::new(
    NewSession,
    "←/→",
    Action::PrevPreset,
    &[(KeyCode::Left, NONE)],
)
.help("the preset before / after (also Space)");
/// Described with `FORM_PREV_PRESET`.
pub const FORM_NEXT_PRESET: Binding = Binding::new(
    NewSession,
    "→",
    Action::NextPreset,
    &[(KeyCode::Right, NONE), (KeyCode::Char(' '), NONE)],
);
pub const FORM_CREATE: Binding = Binding::new(
    NewSession,
    "Enter",
    Action::CreateSession,
    &[(KeyCode::Enter, NONE)],
)
.help("create the session")
.hint(words::CREATE);
pub const FORM_CANCEL: Binding = Binding::new(
    NewSession,
    "Esc",
    Action::ClosePanel,
    &[(KeyCode::Esc, NONE)],
)
.help("cancel")
.hint(words::CANCEL);
