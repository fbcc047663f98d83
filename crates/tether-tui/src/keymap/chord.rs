//! Keys written as people write them ("Ctrl+S", "Alt+Enter", "F4", "y"),
//! read from the settings file and written back in hints and help.

use crossterm::event::{KeyCode, KeyModifiers};

use super::Chord;

/// Reads a key as written in `[keys]`: modifiers joined by `+` (`Ctrl`,
/// `Alt`, `Shift`), then a key name or one character.
pub fn parse_chord(text: &str) -> Result<Chord, String> {
    let text = text.trim();
    // "Ctrl++" is Ctrl and the plus key.
    let (mods, key) = match text.strip_suffix("++") {
        Some(rest) => (rest, "+"),
        None => text.rsplit_once('+').unwrap_or(("", text)),
    };
    let mut modifiers = KeyModifiers::NONE;
    for part in mods.split('+').filter(|p| !p.is_empty()) {
        modifiers |= match part.to_ascii_lowercase().as_str() {
            "ctrl" | "control" => KeyModifiers::CONTROL,
            "alt" | "meta" | "option" => KeyModifiers::ALT,
            "shift" => KeyModifiers::SHIFT,
            _ => return Err(format!("`{part}` is not a modifier (Ctrl, Alt, Shift)")),
        };
    }
    let code = key_code(key).ok_or_else(|| {
        format!("`{key}` is not a key (a character, or Enter, Esc, Tab, F1…F12, PgUp, ↑, …)")
    })?;
    let shifted_ctrl = modifiers.contains(KeyModifiers::CONTROL | KeyModifiers::SHIFT)
        && matches!(code, KeyCode::Char(c) if c.is_ascii_alphabetic());
    if shifted_ctrl {
        return Err(format!(
            "`{text}` reaches tether as Ctrl+{}: terminals send no Shift with Ctrl",
            key.to_ascii_uppercase()
        ));
    }
    let chord = normalise((code, modifiers));
    if let Some(sent) = arrives_as(chord) {
        return Err(format!(
            "`{text}` reaches tether as {sent}: bind {sent} instead"
        ));
    }
    Ok(chord)
}

/// What a terminal sends for a chord that it cannot tell apart from
/// another key (in the legacy keyboard mode tether uses).
fn arrives_as((code, modifiers): Chord) -> Option<&'static str> {
    if !modifiers.contains(KeyModifiers::CONTROL) {
        return None;
    }
    match code {
        KeyCode::Char('i') => Some("Tab"),
        KeyCode::Char('m') | KeyCode::Char('j') => Some("Enter"),
        KeyCode::Char('[') => Some("Esc"),
        KeyCode::Char('h') => Some("Backspace"),
        KeyCode::Char(c) if c.is_ascii_digit() => Some("the digit alone, or nothing"),
        _ => None,
    }
}

fn key_code(name: &str) -> Option<KeyCode> {
    let mut chars = name.chars();
    if let (Some(c), None) = (chars.next(), chars.next()) {
        return Some(match c {
            '↑' => KeyCode::Up,
            '↓' => KeyCode::Down,
            '←' => KeyCode::Left,
            '→' => KeyCode::Right,
            c => KeyCode::Char(c),
        });
    }
    let lower = name.to_ascii_lowercase();
    if let Some(n) = lower.strip_prefix('f').and_then(|n| n.parse::<u8>().ok()) {
        return (1..=24).contains(&n).then_some(KeyCode::F(n));
    }
    Some(match lower.as_str() {
        "enter" | "return" => KeyCode::Enter,
        "esc" | "escape" => KeyCode::Esc,
        "tab" => KeyCode::Tab,
        "backtab" => KeyCode::BackTab,
        "backspace" => KeyCode::Backspace,
        "del" | "delete" => KeyCode::Delete,
        "ins" | "insert" => KeyCode::Insert,
        "home" => KeyCode::Home,
        "end" => KeyCode::End,
        "pgup" | "pageup" => KeyCode::PageUp,
        "pgdn" | "pagedown" => KeyCode::PageDown,
        "up" => KeyCode::Up,
        "down" => KeyCode::Down,
        "left" => KeyCode::Left,
        "right" => KeyCode::Right,
        "space" => KeyCode::Char(' '),
        _ => return None,
    })
}

/// One way to write each chord: Shift+Tab is BackTab, Shift+a is `A`, a
/// control character is its lower-case letter.
fn normalise((code, modifiers): Chord) -> Chord {
    match code {
        KeyCode::Tab if modifiers.contains(KeyModifiers::SHIFT) => {
            (KeyCode::BackTab, modifiers - KeyModifiers::SHIFT)
        }
        KeyCode::BackTab => (code, modifiers - KeyModifiers::SHIFT),
        KeyCode::Char(c) if modifiers.contains(KeyModifiers::CONTROL) => (
            KeyCode::Char(c.to_ascii_lowercase()),
            modifiers - KeyModifiers::SHIFT,
        ),
        KeyCode::Char(c) if modifiers.contains(KeyModifiers::SHIFT) => (
            KeyCode::Char(c.to_ascii_uppercase()),
            modifiers - KeyModifiers::SHIFT,
        ),
        _ => (code, modifiers),
    }
}

/// How a chord is written in hints and help ("Ctrl+S", "Shift+↑", "y").
pub fn chord_label((code, modifiers): Chord) -> String {
    let mut label = String::new();
    for (flag, name) in [
        (KeyModifiers::CONTROL, "Ctrl+"),
        (KeyModifiers::ALT, "Alt+"),
        (KeyModifiers::SHIFT, "Shift+"),
    ] {
        if modifiers.contains(flag) {
            label.push_str(name);
        }
    }
    let key = match code {
        KeyCode::Char(' ') => "Space".to_owned(),
        // Ctrl+S, as people write it (the terminal sends no case with Ctrl).
        KeyCode::Char(c) if modifiers.contains(KeyModifiers::CONTROL) => {
            c.to_ascii_uppercase().to_string()
        }
        KeyCode::Char(c) => c.to_string(),
        KeyCode::F(n) => format!("F{n}"),
        KeyCode::Enter => "Enter".into(),
        KeyCode::Esc => "Esc".into(),
        KeyCode::Tab => "Tab".into(),
        KeyCode::BackTab => "Shift+Tab".into(),
        KeyCode::Backspace => "Backspace".into(),
        KeyCode::Delete => "Del".into(),
        KeyCode::Insert => "Ins".into(),
        KeyCode::Home => "Home".into(),
        KeyCode::End => "End".into(),
        KeyCode::PageUp => "PgUp".into(),
        KeyCode::PageDown => "PgDn".into(),
        KeyCode::Up => "↑".into(),
        KeyCode::Down => "↓".into(),
        KeyCode::Left => "←".into(),
        KeyCode::Right => "→".into(),
        other => format!("{other:?}"),
    };
    label + &key
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_read_as_written_and_write_back() {
        for (text, label) in [
            ("Ctrl+S", "Ctrl+S"),
            ("Alt+Enter", "Alt+Enter"),
            ("Shift+Tab", "Shift+Tab"),
            ("F4", "F4"),
            ("pgdn", "PgDn"),
            ("Shift+↑", "Shift+↑"),
            ("y", "y"),
            ("Shift+n", "N"),
            ("?", "?"),
            ("Ctrl++", "Ctrl++"),
            ("Space", "Space"),
        ] {
            let chord = parse_chord(text).unwrap_or_else(|e| panic!("{text}: {e}"));
            assert_eq!(chord_label(chord), label, "{text}");
            assert_eq!(parse_chord(&chord_label(chord)), Ok(chord), "{text}");
        }
        assert!(parse_chord("Hyper+x").unwrap_err().contains("Hyper"));
        assert!(parse_chord("Ctrl+Foo").unwrap_err().contains("Foo"));
        assert!(parse_chord("F99").is_err());
        // Chords a terminal cannot send apart from another key.
        for never in [
            "Ctrl+I",
            "Ctrl+M",
            "Ctrl+[",
            "Ctrl+1",
            "Ctrl+Shift+K",
            "Ctrl+H",
        ] {
            assert!(parse_chord(never).is_err(), "{never}");
        }
        assert!(parse_chord("").is_err());
    }
}
