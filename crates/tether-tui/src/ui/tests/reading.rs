//! Snapshots of reading what happened (collapsed and opened blocks) and of
//! keys shown only where they work (the footer, the help at 80x24).

use crossterm::event::KeyCode;
use serde_json::json;

use super::render;
use crate::protocol::{AgentState, EventKind, Role};
use crate::tui::app::Focus;
use crate::tui::app::tests::reading::{tool_result, tool_use};
use crate::tui::app::tests::{Rig, record, request};

fn footer(rig: &mut Rig, width: u16) -> String {
    let screen = render(rig, width, 12);
    let last = screen.lines().last().unwrap().to_owned();
    last.trim_matches('"').trim_end().to_owned()
}

fn with_tools(rig: &mut Rig) {
    rig.event(tool_use(
        1,
        "t1",
        "Edit",
        json!({
            "file_path": "/work/notes.txt",
            "old_string": "alpha\nbeta\ngamma\n",
            "new_string": "alpha\nBETA\ngamma\ndelta\n",
        }),
    ));
    let rows: Vec<String> = (1..=20).map(|i| format!("result row {i}")).collect();
    rig.event(tool_result(2, &rows.join("\n"), false));
}

#[test]
fn tool_calls_and_long_results_collapsed() {
    let mut rig = Rig::new(Role::Owner, false);
    with_tools(&mut rig);
    insta::assert_snapshot!(render(&mut rig, 80, 24));
}

#[test]
fn a_tool_call_opened_shows_its_input_and_diff() {
    let mut rig = Rig::new(Role::Owner, false);
    with_tools(&mut rig);
    render(&mut rig, 80, 24);
    rig.focus(Focus::Transcript);
    rig.key(KeyCode::Up);
    rig.key(KeyCode::Up);
    rig.key(KeyCode::Enter);
    insta::assert_snapshot!(render(&mut rig, 80, 24));
}

#[test]
fn a_long_result_opened_in_full() {
    let mut rig = Rig::new(Role::Owner, false);
    with_tools(&mut rig);
    render(&mut rig, 80, 40);
    rig.focus(Focus::Transcript);
    rig.key(KeyCode::Up);
    rig.key(KeyCode::Char('o'));
    insta::assert_snapshot!(render(&mut rig, 80, 40));
}

#[test]
fn help_fits_80x24_and_scrolls() {
    let mut rig = Rig::new(Role::Owner, false);
    rig.app.hints.watch_command = Some("tether attach ws://127.0.0.1:7878/v1/sessions/main --view (view token in ~/.config/tether/auth.json)".into());
    rig.key(KeyCode::F(1));
    let top = render(&mut rig, 80, 24);
    for _ in 0..100 {
        rig.key(KeyCode::PageDown);
    }
    let bottom = render(&mut rig, 80, 24);
    insta::assert_snapshot!(format!("{top}\n{bottom}"));
    assert!(
        bottom.contains("create the session"),
        "the last key is reachable"
    );
}

/// Every role and pane: only keys that work are offered, whole.
#[test]
fn footers_offer_only_the_keys_that_work() {
    let mut out = Vec::new();
    for (role, view, who) in [
        (Role::Owner, false, "owner"),
        (Role::Follower, false, "follower"),
        (Role::Follower, true, "viewer"),
    ] {
        for busy in [false, true] {
            let mut rig = Rig::new(role, view);
            if busy {
                rig.event(record(1, EventKind::status(AgentState::Running)));
                rig.event(request(2, "r1", "make"));
            }
            for focus in [
                Focus::Input,
                Focus::Permissions,
                Focus::Transcript,
                Focus::Participants,
            ] {
                rig.focus(focus);
                let state = if busy { "busy" } else { "idle" };
                out.push(format!(
                    "{who} {state} {focus:?}: {}",
                    footer(&mut rig, 200)
                ));
            }
        }
    }
    // A search in progress: Esc clears it (and is offered as such).
    let mut rig = Rig::new(Role::Follower, false);
    rig.focus(Focus::Transcript);
    rig.key(KeyCode::Char('/'));
    rig.typed("x");
    rig.key(KeyCode::Enter);
    rig.app.status = None;
    out.push(format!("follower searching: {}", footer(&mut rig, 200)));
    // While the prompt or the help is open, only their keys.
    rig.key(KeyCode::Char('/'));
    out.push(format!("search prompt: {}", footer(&mut rig, 200)));
    rig.key(KeyCode::Esc);
    rig.key(KeyCode::F(1));
    out.push(format!("help: {}", footer(&mut rig, 200)));
    insta::assert_snapshot!(out.join("\n"));
}

#[test]
fn a_narrow_footer_never_cuts_a_hint() {
    let mut rig = Rig::new(Role::Owner, false);
    rig.event(record(1, EventKind::status(AgentState::Running)));
    for focus in [Focus::Input, Focus::Transcript] {
        rig.focus(focus);
        let full = footer(&mut rig, 300);
        let items: Vec<&str> = full.trim().split("  ").collect();
        for width in 10..160 {
            let shown = footer(&mut rig, width);
            let kept: Vec<&str> = shown.trim().split("  ").filter(|s| !s.is_empty()).collect();
            assert!(
                kept.iter().zip(&items).all(|(a, b)| a == b) && kept.len() <= items.len(),
                "{width}: {shown:?} vs {full:?}"
            );
        }
    }
}

#[test]
fn a_table_takes_the_panes_width_and_is_laid_out_again_on_resize() {
    let mut rig = Rig::new(Role::Owner, false);
    let long =
        "a cell long enough to pass the old limit of seventy-six columns, and then some more";
    rig.event(record(
        1,
        EventKind::Assistant {
            text: format!(
                "Results:\n| name | note |\n|---|---|\n| first | {long} |\n| second | short |"
            ),
        },
    ));
    let row = |screen: &str| {
        let line = screen.lines().find(|l| l.contains("first")).unwrap();
        line.trim_matches('"')
            .trim_matches('│')
            .trim_end()
            .to_owned()
    };
    // A wide pane shows the whole row on one line.
    let wide = render(&mut rig, 160, 20);
    assert!(
        row(&wide).starts_with(&format!("first  │ {long}  ")),
        "{wide}"
    );
    // A narrow one narrows the columns and cuts the cells, as before.
    let narrow = render(&mut rig, 60, 20);
    let cut = row(&narrow);
    assert!(
        cut.starts_with("first  │ a cell") && cut.ends_with('…'),
        "{narrow}"
    );
    // And wide again after the resize.
    let wide = render(&mut rig, 160, 20);
    assert!(
        row(&wide).starts_with(&format!("first  │ {long}  ")),
        "{wide}"
    );
}

/// While a turn runs, the input box says so where the user types: a
/// spinner, the clock and (for the owner) the key that interrupts.
#[test]
fn a_running_turn_shows_a_spinner_and_how_to_interrupt_it() {
    use crate::protocol::{AgentState, EventRecord};
    for (role, interrupt) in [(Role::Owner, true), (Role::Follower, false)] {
        let mut rig = Rig::new(role, false);
        rig.event(EventRecord {
            ts: "2025-12-31T23:59:55Z".into(),
            ..record(1, EventKind::status(AgentState::Running))
        });
        let screen = render(&mut rig, 100, 20);
        assert!(screen.contains("working 5s"), "{screen}");
        assert_eq!(screen.contains("Esc to interrupt"), interrupt, "{screen}");
        rig.event(record(2, EventKind::status(AgentState::Idle)));
        let screen = render(&mut rig, 100, 20);
        assert!(!screen.contains("working"), "{screen}");
    }
}

/// A status message shows on the border above the footer: the key hints
/// of what is on screen stay, and the message goes after a few seconds.
#[test]
fn a_notice_never_hides_the_key_hints_and_expires() {
    let mut rig = Rig::new(Role::Owner, false);
    rig.app.note_error("refused: the host said no");
    let screen = render(&mut rig, 100, 20);
    assert!(screen.contains("refused: the host said no"), "{screen}");
    assert!(screen.contains("Enter send"), "{screen}");
    rig.now += std::time::Duration::from_secs(7);
    rig.update(crate::tui::app::Msg::Tick);
    let screen = render(&mut rig, 100, 20);
    assert!(!screen.contains("refused"), "{screen}");
}
