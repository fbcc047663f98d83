//! `[keys]` in the settings file: the user's keys for named bindings,
//! checked before the UI starts so that a typo or a clash is a clear
//! error, never a key that silently does nothing.
//!
//! ```toml
//! [keys]
//! session_list = "Ctrl+L"
//! quit = ["Ctrl+Q", "F10"]
//! ```

use std::fmt;

use crossterm::event::{KeyCode, KeyModifiers};

use super::{Binding, Chord, Context, KEYMAP, chord_label, parse_chord, takes_global_keys};

/// Why the settings' keys cannot be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemapError(pub String);

impl fmt::Display for RemapError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "[keys]: {}", self.0)
    }
}

impl std::error::Error for RemapError {}

/// The default table with each `(name, keys)` applied, checked.
pub fn remapped(overrides: &[(String, Vec<String>)]) -> Result<Vec<Binding>, RemapError> {
    let mut table = KEYMAP.to_vec();
    let mut changed = vec![false; table.len()];
    for (name, keys) in overrides {
        let at = table
            .iter()
            .position(|b| b.config_name() == name.to_ascii_lowercase())
            .ok_or_else(|| RemapError(unknown_name(name)))?;
        if matches!(
            table[at].action,
            super::Action::NthSession | super::Action::ChooseNumbered
        ) {
            return Err(RemapError(format!(
                "{name} reads the digit pressed; it cannot be remapped"
            )));
        }
        let chords = parse_keys(name, keys)?;
        refuse_typing_keys(name, table[at].context, &chords)?;
        let label = chords
            .iter()
            .map(|c| chord_label(*c))
            .collect::<Vec<_>>()
            .join("/");
        // Read once at start and kept for the life of the process.
        table[at].keys = Vec::leak(chords);
        table[at].label = String::leak(label);
        table[at].short = None;
        changed[at] = true;
    }
    check_clashes(&table, &changed)?;
    Ok(table)
}

fn parse_keys(name: &str, keys: &[String]) -> Result<Vec<Chord>, RemapError> {
    if keys.is_empty() {
        return Err(RemapError(format!("{name} needs at least one key")));
    }
    keys.iter()
        .map(|k| parse_chord(k).map_err(|why| RemapError(format!("{name}: {why}"))))
        .collect()
}

/// Where text is typed, a plain character must stay text.
fn refuse_typing_keys(name: &str, context: Context, chords: &[Chord]) -> Result<(), RemapError> {
    let typed_there = matches!(
        context,
        Context::Global
            | Context::Sessions
            | Context::Input
            | Context::Completion
            | Context::DecisionText
            | Context::DenyReason
            | Context::SearchPrompt
            | Context::HistorySearch
            | Context::Picker
            | Context::NewSession
    );
    let plain = |(code, mods): &Chord| {
        matches!(code, KeyCode::Char(_))
            && !mods.intersects(KeyModifiers::CONTROL | KeyModifiers::ALT)
    };
    match chords.iter().find(|c| typed_there && plain(c)) {
        Some(chord) => Err(RemapError(format!(
            "{name}: `{}` is typed as text there; use Ctrl or Alt with it",
            chord_label(*chord)
        ))),
        None => Ok(()),
    }
}

/// Whether a key of `a` and one of `b` could both be asked for at the
/// same moment: then one would never be reached.
fn in_effect_together(a: Context, b: Context) -> bool {
    let app = |c: Context| {
        !matches!(
            c,
            Context::Sessions
                | Context::ReadOnly
                | Context::Picker
                | Context::Inbox
                | Context::NewSession
        )
    };
    let pair = |x: Context, y: Context| {
        (x == Context::Global && takes_global_keys(y))
            // The deck's chords come first over every session's keys.
            || (x == Context::Sessions && app(y))
            // The read-only chords come before a session's keys too.
            || (x == Context::ReadOnly && (app(y) || y == Context::Sessions))
            // The inbox's keys come before the request's decision view.
            || (x == Context::Inbox && matches!(y, Context::Decision | Context::DecisionText))
    };
    a == b || pair(a, b) || pair(b, a)
}

/// Two bindings in effect together that share a key, one of them changed
/// by the user (the defaults shadow on purpose: a pane's Esc over the
/// global one).
fn check_clashes(table: &[Binding], changed: &[bool]) -> Result<(), RemapError> {
    for (i, a) in table.iter().enumerate() {
        for (j, b) in table.iter().enumerate().skip(i + 1) {
            // Ctrl+Q quits from every modal too.
            let everywhere =
                |x: &Binding| x.context == Context::Global && x.action == super::Action::Quit;
            let together =
                in_effect_together(a.context, b.context) || everywhere(a) || everywhere(b);
            if !(changed[i] || changed[j]) || !together {
                continue;
            }
            if let Some(chord) = a.keys.iter().find(|k| b.keys.contains(k)) {
                return Err(RemapError(format!(
                    "{} is both {} and {}",
                    chord_label(*chord),
                    a.config_name(),
                    b.config_name()
                )));
            }
        }
    }
    Ok(())
}

/// "no binding named …", with the names that look like it.
fn unknown_name(name: &str) -> String {
    let wanted = name.to_ascii_lowercase();
    let words: Vec<&str> = wanted.split('_').filter(|w| w.len() > 2).collect();
    let like: Vec<String> = KEYMAP
        .iter()
        .map(Binding::config_name)
        .filter(|n| words.iter().any(|w| n.contains(w)))
        .collect();
    if like.is_empty() {
        format!("no binding named {name} (docs/keys.md lists them)")
    } else {
        format!("no binding named {name}; did you mean {}?", like.join(", "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tui::keymap::{Action, lookup};
    use crossterm::event::KeyEvent;

    fn keys(pairs: &[(&str, &[&str])]) -> Vec<(String, Vec<String>)> {
        pairs
            .iter()
            .map(|(n, k)| (n.to_string(), k.iter().map(|k| k.to_string()).collect()))
            .collect()
    }

    #[test]
    fn a_remapped_binding_takes_its_new_keys_and_label() {
        let table = remapped(&keys(&[("session_list", &["Ctrl+L"])])).unwrap();
        let list = table.iter().find(|b| b.name == "SESSION_LIST").unwrap();
        assert_eq!(list.label, "Ctrl+L");
        assert_eq!(list.keys, &[(KeyCode::Char('l'), KeyModifiers::CONTROL)]);
        assert!(remapped(&[]).is_ok());
    }

    #[test]
    fn unknown_names_bad_keys_clashes_and_typing_keys_are_refused() {
        let error = |pairs: &[(&str, &[&str])]| remapped(&keys(pairs)).unwrap_err().to_string();
        assert_eq!(
            error(&[("sesion_list", &["Ctrl+L"])]),
            "[keys]: no binding named sesion_list; did you mean session_list?"
        );
        assert!(error(&[("quit", &["Ctrl+Nope"])]).contains("`Nope` is not a key"));
        assert!(error(&[("quit", &[])]).contains("at least one key"));
        // Ctrl+F is the global search.
        assert_eq!(
            error(&[("quit", &["Ctrl+F"])]),
            "[keys]: Ctrl+F is both search_anywhere and quit"
        );
        // The deck's chords come before any session's keys.
        assert!(error(&[("open_inbox", &["Ctrl+C"])]).contains("cancel_or_quit"));
        // In the inbox, `y` answers the request.
        assert!(error(&[("inbox_open", &["y"])]).contains("decision_allow"));
        assert!(error(&[("quit", &["x"])]).contains("typed as text"));
        assert!(error(&[("nth_session", &["Ctrl+1"])]).contains("cannot be remapped"));
        // Quit works in every modal: Del there is the rules' remove.
        assert!(error(&[("quit", &["Del"])]).contains("remove_rule"));
        // Keys in contexts never in effect together may be the same.
        assert!(remapped(&keys(&[("allow", &["a"]), ("transfer", &["a"])])).is_ok());
    }

    #[test]
    fn the_defaults_never_bind_one_key_twice_in_one_context() {
        for (i, a) in KEYMAP.iter().enumerate() {
            for b in &KEYMAP[i + 1..] {
                let shared = a.keys.iter().any(|k| b.keys.contains(k));
                assert!(
                    a.context != b.context || !shared,
                    "{} and {} share a key",
                    a.name,
                    b.name
                );
            }
        }
        let names: std::collections::HashSet<_> = KEYMAP.iter().map(|b| b.name).collect();
        assert_eq!(names.len(), KEYMAP.len(), "names are unique");
        // And the table is what lookups read until one is installed.
        let ctrl_s = KeyEvent::new(KeyCode::Char('s'), KeyModifiers::CONTROL);
        assert_eq!(
            lookup(&ctrl_s, Context::Sessions),
            Some(Action::SessionList)
        );
    }
}
