//! The one keymap table: key handling, the hint line and the help overlay
//! are all generated from it.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    FocusNext,
    FocusPrev,
    Send,
    Newline,
    Allow,
    Deny,
    SelectUp,
    SelectDown,
    Escape,
    CtrlC,
    Quit,
    Help,
    PageUp,
    PageDown,
    Top,
    Bottom,
    LineUp,
    LineDown,
    Search,
    NextMatch,
    PrevMatch,
    ToggleThinking,
    Claim,
    Release,
    Transfer,
}

/// Where a binding applies; `Global` applies everywhere unless a more
/// specific binding of the focused pane takes the key first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Context {
    Global,
    Input,
    Permissions,
    Transcript,
    Participants,
}

pub struct Binding {
    pub context: Context,
    pub keys: &'static [(KeyCode, KeyModifiers)],
    /// How the keys are written in hints and help.
    pub label: &'static str,
    pub action: Action,
    pub help: &'static str,
    /// Shown in the hint line when its context is focused.
    pub hint: bool,
}

const NONE: KeyModifiers = KeyModifiers::NONE;
const CTRL: KeyModifiers = KeyModifiers::CONTROL;
const ALT: KeyModifiers = KeyModifiers::ALT;
const SHIFT: KeyModifiers = KeyModifiers::SHIFT;

macro_rules! bind {
    ($ctx:ident, [$(($code:expr, $mods:expr)),+], $label:literal, $action:ident, $help:literal, $hint:literal) => {
        Binding {
            context: Context::$ctx,
            keys: &[$(($code, $mods)),+],
            label: $label,
            action: Action::$action,
            help: $help,
            hint: $hint,
        }
    };
}

pub const KEYMAP: &[Binding] = &[
    bind!(
        Input,
        [(KeyCode::Enter, NONE)],
        "Enter",
        Send,
        "send the message",
        true
    ),
    bind!(
        Input,
        [(KeyCode::Enter, ALT), (KeyCode::Enter, SHIFT)],
        "Alt+Enter",
        Newline,
        "insert a newline",
        true
    ),
    bind!(
        Permissions,
        [(KeyCode::Char('y'), NONE)],
        "y",
        Allow,
        "allow the selected request",
        true
    ),
    bind!(
        Permissions,
        [(KeyCode::Char('n'), NONE)],
        "n",
        Deny,
        "deny (type a reason, Enter; Esc: none)",
        true
    ),
    bind!(
        Permissions,
        [(KeyCode::Up, NONE)],
        "↑/↓",
        SelectUp,
        "select a request",
        false
    ),
    bind!(
        Permissions,
        [(KeyCode::Down, NONE)],
        "↓",
        SelectDown,
        "select the next request",
        false
    ),
    bind!(
        Participants,
        [(KeyCode::Up, NONE)],
        "↑/↓",
        SelectUp,
        "select a participant",
        false
    ),
    bind!(
        Participants,
        [(KeyCode::Down, NONE)],
        "↓",
        SelectDown,
        "select the next participant",
        false
    ),
    bind!(
        Participants,
        [(KeyCode::Char('t'), NONE)],
        "t",
        Transfer,
        "transfer ownership to the selected one",
        true
    ),
    bind!(
        Transcript,
        [(KeyCode::Up, NONE)],
        "↑/↓",
        LineUp,
        "scroll one line",
        true
    ),
    bind!(
        Transcript,
        [(KeyCode::Down, NONE)],
        "↓",
        LineDown,
        "scroll one line down",
        false
    ),
    bind!(
        Transcript,
        [(KeyCode::Char('/'), NONE)],
        "/",
        Search,
        "search the transcript",
        true
    ),
    bind!(
        Transcript,
        [(KeyCode::Char('n'), NONE)],
        "n/N",
        NextMatch,
        "next / previous match",
        true
    ),
    bind!(
        Transcript,
        [(KeyCode::Char('N'), NONE), (KeyCode::Char('N'), SHIFT)],
        "N",
        PrevMatch,
        "previous match",
        false
    ),
    bind!(
        Transcript,
        [(KeyCode::Char('t'), NONE)],
        "t",
        ToggleThinking,
        "expand or collapse thinking",
        true
    ),
    bind!(
        Transcript,
        [(KeyCode::Char('?'), NONE), (KeyCode::Char('?'), SHIFT)],
        "?",
        Help,
        "help",
        false
    ),
    bind!(
        Permissions,
        [(KeyCode::Char('?'), NONE), (KeyCode::Char('?'), SHIFT)],
        "?",
        Help,
        "help",
        false
    ),
    bind!(
        Participants,
        [(KeyCode::Char('?'), NONE), (KeyCode::Char('?'), SHIFT)],
        "?",
        Help,
        "help",
        false
    ),
    bind!(
        Global,
        [(KeyCode::Tab, NONE)],
        "Tab",
        FocusNext,
        "next pane",
        true
    ),
    bind!(
        Global,
        [(KeyCode::BackTab, NONE), (KeyCode::BackTab, SHIFT)],
        "Shift+Tab",
        FocusPrev,
        "previous pane",
        false
    ),
    bind!(
        Global,
        [(KeyCode::PageUp, NONE)],
        "PgUp/PgDn",
        PageUp,
        "scroll the transcript a page",
        true
    ),
    bind!(
        Global,
        [(KeyCode::PageDown, NONE)],
        "PgDn",
        PageDown,
        "scroll the transcript a page down",
        false
    ),
    bind!(
        Global,
        [(KeyCode::Home, CTRL)],
        "Ctrl+Home",
        Top,
        "transcript start",
        false
    ),
    bind!(
        Transcript,
        [(KeyCode::Home, NONE)],
        "Home/End",
        Top,
        "transcript start / end (follow)",
        false
    ),
    bind!(
        Global,
        [(KeyCode::End, CTRL)],
        "Ctrl+End",
        Bottom,
        "transcript end, follow new output",
        false
    ),
    bind!(
        Transcript,
        [(KeyCode::End, NONE)],
        "End",
        Bottom,
        "transcript end, follow new output",
        false
    ),
    bind!(
        Global,
        [(KeyCode::Esc, NONE)],
        "Esc",
        Escape,
        "close an overlay, else interrupt (owner)",
        true
    ),
    bind!(
        Global,
        [(KeyCode::Char('c'), CTRL)],
        "Ctrl+C",
        CtrlC,
        "interrupt; or clear input; twice: quit",
        true
    ),
    bind!(
        Global,
        [(KeyCode::F(2), NONE)],
        "F2",
        Claim,
        "claim ownership when nobody owns",
        false
    ),
    bind!(
        Global,
        [(KeyCode::F(3), NONE)],
        "F3",
        Release,
        "release ownership",
        false
    ),
    bind!(Global, [(KeyCode::F(1), NONE)], "F1/?", Help, "help", true),
    bind!(
        Global,
        [(KeyCode::Char('q'), CTRL)],
        "Ctrl+Q",
        Quit,
        "quit",
        true
    ),
];

fn matches(binding: &Binding, key: &KeyEvent) -> bool {
    binding.keys.iter().any(|(code, mods)| {
        // Terminals differ in whether they add SHIFT to a shifted character.
        let key_mods = match key.code {
            KeyCode::Char(_) | KeyCode::BackTab => key.modifiers - KeyModifiers::SHIFT,
            _ => key.modifiers,
        };
        let want = match code {
            KeyCode::Char(_) | KeyCode::BackTab => *mods - KeyModifiers::SHIFT,
            _ => *mods,
        };
        *code == key.code && key_mods == want
    })
}

/// The action bound to `key` where `context` has the focus.
pub fn lookup(key: &KeyEvent, context: Context) -> Option<Action> {
    KEYMAP
        .iter()
        .filter(|b| b.context == context)
        .chain(KEYMAP.iter().filter(|b| b.context == Context::Global))
        .find(|b| matches(b, key))
        .map(|b| b.action)
}

/// "key action" pairs for the hint line of a context.
pub fn hints(context: Context) -> Vec<(&'static str, &'static str)> {
    KEYMAP
        .iter()
        .filter(|b| b.hint && (b.context == context || b.context == Context::Global))
        .map(|b| (b.label, short(b.action)))
        .collect()
}

fn short(action: Action) -> &'static str {
    match action {
        Action::FocusNext => "pane",
        Action::Send => "send",
        Action::Newline => "newline",
        Action::Allow => "allow",
        Action::Deny => "deny",
        Action::Escape => "interrupt",
        Action::CtrlC => "interrupt/quit",
        Action::Quit => "quit",
        Action::Help => "help",
        Action::PageUp => "scroll",
        Action::LineUp => "scroll",
        Action::Search => "search",
        Action::NextMatch => "match",
        Action::ToggleThinking => "thinking",
        Action::Transfer => "transfer",
        _ => "",
    }
}

/// Sections for the help overlay: (heading, [(keys, help)]).
pub fn help_sections() -> Vec<(&'static str, Vec<(&'static str, &'static str)>)> {
    // A binding whose label is part of an earlier one's label in the same
    // context ("PgDn" after "PgUp/PgDn") is the second half of a pair and
    // is already described there.
    let section = |context| {
        let mut rows: Vec<(&'static str, &'static str)> = Vec::new();
        for b in KEYMAP.iter().filter(|b| b.context == context) {
            if context != Context::Global && b.action == Action::Help {
                continue;
            }
            if rows
                .iter()
                .any(|(label, _)| label.split('/').any(|part| part == b.label))
            {
                continue;
            }
            rows.push((b.label, b.help));
        }
        rows
    };
    vec![
        ("Everywhere", section(Context::Global)),
        ("Input box", section(Context::Input)),
        ("Permissions pane", section(Context::Permissions)),
        ("Transcript pane", section(Context::Transcript)),
        ("Participants pane", section(Context::Participants)),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(code: KeyCode, modifiers: KeyModifiers) -> KeyEvent {
        KeyEvent::new(code, modifiers)
    }

    #[test]
    fn approval_keys_exist_only_in_the_permissions_pane() {
        let y = key(KeyCode::Char('y'), NONE);
        assert_eq!(lookup(&y, Context::Permissions), Some(Action::Allow));
        for context in [
            Context::Input,
            Context::Transcript,
            Context::Participants,
            Context::Global,
        ] {
            assert_eq!(lookup(&y, context), None, "{context:?}");
        }
    }

    #[test]
    fn pane_bindings_win_over_global_ones() {
        assert_eq!(
            lookup(&key(KeyCode::Enter, NONE), Context::Input),
            Some(Action::Send)
        );
        assert_eq!(
            lookup(&key(KeyCode::Enter, ALT), Context::Input),
            Some(Action::Newline)
        );
        assert_eq!(
            lookup(&key(KeyCode::BackTab, SHIFT), Context::Input),
            Some(Action::FocusPrev)
        );
        assert_eq!(
            lookup(&key(KeyCode::Char('N'), SHIFT), Context::Transcript),
            Some(Action::PrevMatch)
        );
        assert_eq!(
            lookup(&key(KeyCode::Char('c'), CTRL), Context::Input),
            Some(Action::CtrlC)
        );
    }

    #[test]
    fn every_binding_has_help_text() {
        assert!(
            KEYMAP
                .iter()
                .all(|b| !b.help.is_empty() && !b.label.is_empty())
        );
        assert!(help_sections().iter().all(|(_, rows)| !rows.is_empty()));
    }
}
