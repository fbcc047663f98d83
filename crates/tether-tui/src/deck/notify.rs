//! Telling the user that a session not on screen needs them: the terminal
//! bell, and a desktop notification through OSC 9 or OSC 777 where the
//! terminal shows them. Session names and tool titles come from hosts and
//! agents: everything that goes into an escape sequence is stripped of
//! control characters first.

use serde::Deserialize;

/// How notifications are given (`notify` in the TUI config file).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum NotifyMode {
    /// The bell only.
    Bell,
    /// A desktop notification and the bell.
    #[default]
    Desktop,
    Off,
}

/// Which desktop-notification sequence the terminal understands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Osc {
    /// `OSC 9 ; text` (iTerm2, WezTerm, Windows Terminal, Ghostty, kitty).
    Nine,
    /// `OSC 777 ; notify ; title ; body` (foot, urxvt, Ghostty, WezTerm).
    SevenSevenSeven,
}

impl Osc {
    /// The sequence this terminal is likely to show, from `$TERM` and
    /// `$TERM_PROGRAM`.
    pub fn for_terminal(term: &str, program: &str) -> Osc {
        if term.contains("foot") || term.contains("rxvt") {
            Osc::SevenSevenSeven
        } else {
            let _ = program;
            Osc::Nine
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notification {
    pub title: String,
    pub body: String,
}

/// Text safe inside an OSC string: no control characters (C0, DEL, C1),
/// no `;` (the field separator of OSC 777), at most 160 characters.
pub fn osc_safe(text: &str) -> String {
    text.chars()
        .filter(|c| !c.is_control() && *c != ';' && !crate::tui::sanitize::is_bidi_or_separator(*c))
        .take(160)
        .collect()
}

/// The bytes to write for `note`.
pub fn sequence(mode: NotifyMode, osc: Osc, note: &Notification) -> String {
    let title = osc_safe(&note.title);
    let body = osc_safe(&note.body);
    match mode {
        NotifyMode::Off => String::new(),
        NotifyMode::Bell => "\x07".into(),
        NotifyMode::Desktop => match osc {
            Osc::Nine => format!("\x1b]9;{title}: {body}\x1b\\\x07"),
            Osc::SevenSevenSeven => format!("\x1b]777;notify;{title};{body}\x1b\\\x07"),
        },
    }
}

/// The terminal title: the count of requests waiting, so a tab or window
/// list shows where tether is needed.
pub fn title(pending: usize) -> String {
    match pending {
        0 => "tether".into(),
        1 => "tether · 1 request waiting".into(),
        n => format!("tether · {n} requests waiting"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn agent_text_cannot_escape_the_notification() {
        let note = Notification {
            title: "api\x1b]0;pwned\x07".into(),
            body: "Bash; rm\u{9b}31m\u{202e}x".into(),
        };
        let desktop = sequence(NotifyMode::Desktop, Osc::SevenSevenSeven, &note);
        assert_eq!(desktop, "\x1b]777;notify;api]0pwned;Bash rm31mx\x1b\\\x07");
        assert_eq!(sequence(NotifyMode::Bell, Osc::Nine, &note), "\x07");
        assert_eq!(sequence(NotifyMode::Off, Osc::Nine, &note), "");
        let nine = sequence(NotifyMode::Desktop, Osc::Nine, &note);
        assert!(nine.starts_with("\x1b]9;api]0pwned: "), "{nine:?}");
    }
}
