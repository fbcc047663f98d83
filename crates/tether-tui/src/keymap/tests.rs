use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::*;

const NONE: KeyModifiers = KeyModifiers::NONE;
const CTRL: KeyModifiers = KeyModifiers::CONTROL;
const ALT: KeyModifiers = KeyModifiers::ALT;
const SHIFT: KeyModifiers = KeyModifiers::SHIFT;

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
        Some(Action::NewLine)
    );
    assert_eq!(
        lookup(&key(KeyCode::BackTab, SHIFT), Context::Input),
        Some(Action::CycleMode)
    );
    assert_eq!(
        lookup(&key(KeyCode::BackTab, SHIFT), Context::Transcript),
        Some(Action::FocusPrev)
    );
    assert_eq!(
        lookup(&key(KeyCode::Char('N'), SHIFT), Context::Transcript),
        Some(Action::PrevMatch)
    );
    assert_eq!(
        lookup(&key(KeyCode::Char('c'), CTRL), Context::Input),
        Some(Action::CancelOrQuit)
    );
}

#[test]
fn the_help_overlay_takes_only_its_own_keys() {
    for code in [KeyCode::Esc, KeyCode::Char('?'), KeyCode::F(1)] {
        assert_eq!(
            lookup(&key(code, NONE), Context::HelpOverlay),
            Some(Action::CloseHelp)
        );
    }
    assert_eq!(lookup(&key(KeyCode::Tab, NONE), Context::HelpOverlay), None);
    assert_eq!(help_closing_line(), "Esc, ? or F1 closes this help.");
}

#[test]
fn every_binding_has_a_label_and_every_action_a_help_line() {
    assert!(KEYMAP.iter().all(|b| !b.label.is_empty()));
    assert!(help_sections().iter().all(|(_, rows)| !rows.is_empty()));
    // A binding without a help line of its own must be the second half of
    // a pair described by the binding before it, or a repeat of a key
    // described elsewhere.
    for (i, b) in KEYMAP.iter().enumerate() {
        if b.help.is_some() {
            continue;
        }
        let paired = i > 0 && KEYMAP[i - 1].help.is_some() && KEYMAP[i - 1].context == b.context;
        let described_elsewhere = KEYMAP
            .iter()
            .any(|other| other.action == b.action && other.help.is_some());
        assert!(paired || described_elsewhere, "{} has no help", b.label);
    }
}

#[test]
fn hint_words_come_from_the_bindings() {
    let words: Vec<_> = hints(Context::Input).map(|b| b.hint.unwrap()).collect();
    assert_eq!(
        words,
        [
            "send",
            "newline",
            "mode",
            "pane",
            "rules",
            "search",
            "scroll",
            "interrupt",
            "interrupt/quit",
            "help",
            "quit"
        ]
    );
}

#[test]
fn the_decision_view_takes_its_keys_and_esc_closes_instead_of_interrupting() {
    for digit in '1'..='9' {
        assert_eq!(
            lookup(&key(KeyCode::Char(digit), NONE), Context::Decision),
            Some(Action::ChooseNumbered)
        );
    }
    let decision = |code| lookup(&key(code, NONE), Context::Decision);
    assert_eq!(decision(KeyCode::Char('y')), Some(Action::Allow));
    assert_eq!(decision(KeyCode::Char('n')), Some(Action::Deny));
    assert_eq!(decision(KeyCode::Char('e')), Some(Action::EditAndAllow));
    assert_eq!(decision(KeyCode::Enter), Some(Action::ChooseHighlighted));
    assert_eq!(decision(KeyCode::Char('[')), Some(Action::PrevRequest));
    assert_eq!(decision(KeyCode::Char(']')), Some(Action::NextRequest));
    assert_eq!(decision(KeyCode::PageDown), Some(Action::PreviewDown));
    assert_eq!(decision(KeyCode::Esc), Some(Action::CloseDecision));
    // Global keys still work there; not in its text areas, which take
    // every key but their own three (and quit, handled before).
    assert_eq!(decision(KeyCode::Tab), Some(Action::FocusNext));
    let text = |code, mods| lookup(&key(code, mods), Context::DecisionText);
    assert_eq!(text(KeyCode::Esc, NONE), Some(Action::CloseDecision));
    assert_eq!(text(KeyCode::Enter, NONE), Some(Action::Send));
    assert_eq!(text(KeyCode::Enter, ALT), Some(Action::NewLine));
    assert_eq!(text(KeyCode::Tab, NONE), None);
    assert_eq!(text(KeyCode::Char('y'), NONE), None);
    // The hint line offers what Esc does here, and each key once.
    let labels: Vec<_> = hints(Context::Decision).map(|b| b.label).collect();
    assert!(labels.contains(&"Esc"));
    assert!(hints(Context::Decision).all(|b| b.action != Action::Interrupt));
    assert_eq!(labels.iter().filter(|l| **l == "PgUp/PgDn").count(), 1);
}

#[test]
fn docs_keys_md_is_the_table() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/keys.md");
    let want = reference();
    if std::env::var_os("TETHER_WRITE_DOCS").is_some() {
        std::fs::write(&path, &want).unwrap();
    }
    let have = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        have == want,
        "docs/keys.md is out of date: run TETHER_WRITE_DOCS=1 cargo test -p tether-tui docs_keys"
    );
    // Every context is listed once.
    for context in CONTEXTS {
        assert!(KEYMAP.iter().any(|b| b.context == context) || context == Context::Global);
    }
}
