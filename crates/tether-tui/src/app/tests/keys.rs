//! Keys that never surprise: Esc closes before it interrupts, Ctrl+C
//! clears before it interrupts, typed text is never lost, searching
//! starts where the reader is, the input keeps a history.

use crossterm::event::{KeyCode, KeyModifiers};

use super::{Rig, record, request, sent};
use crate::protocol::{
    AgentState, ClientMessage, EventKind, Interrupt, NoticeLevel, Role, ServerMessage, UserMessage,
};
use crate::tui::app::{Effect, Focus, Level};

fn notices(rig: &mut Rig, texts: impl IntoIterator<Item = String>) {
    let first = rig.app.last_applied() + 1;
    for (i, text) in texts.into_iter().enumerate() {
        rig.event(record(
            first + i as u64,
            EventKind::notice(NoticeLevel::Info, text),
        ));
    }
}

fn running(rig: &mut Rig) {
    let seq = rig.app.last_applied() + 1;
    rig.event(record(seq, EventKind::status(AgentState::Running)));
}

fn interrupts(effects: &[Effect]) -> usize {
    sent(effects)
        .iter()
        .filter(|m| matches!(m, ClientMessage::Interrupt(Interrupt { .. })))
        .count()
}

fn ctrl(rig: &mut Rig, c: char) -> Vec<Effect> {
    rig.key_mod(KeyCode::Char(c), KeyModifiers::CONTROL)
}

/// Sends the box's text and has the host acknowledge it.
fn send_and_ack(rig: &mut Rig, text: &str) {
    rig.typed(text);
    let effects = rig.key(KeyCode::Enter);
    let [ClientMessage::UserMessage(UserMessage { id, .. })] = &sent(&effects)[..] else {
        panic!("{effects:?}")
    };
    rig.server(ServerMessage::Ack {
        id: id.clone(),
        duplicate: false,
    });
}

#[test]
fn esc_leaves_a_search_without_interrupting_and_clears_it() {
    let mut rig = Rig::new(Role::Owner, false);
    notices(&mut rig, ["needle here".to_owned()]);
    running(&mut rig);
    rig.focus(Focus::Transcript);
    rig.key(KeyCode::Char('/'));
    rig.typed("needle");
    rig.key(KeyCode::Enter);
    assert!(rig.app.transcript.search.is_some());
    // The highlights of a finished search: Esc clears them, nothing else.
    assert_eq!(interrupts(&rig.key(KeyCode::Esc)), 0);
    assert!(rig.app.transcript.search.is_none());
    // Esc in the search prompt closes it and clears the search too.
    rig.key(KeyCode::Char('/'));
    rig.typed("needle");
    rig.key(KeyCode::Enter);
    rig.key(KeyCode::Char('/'));
    assert_eq!(interrupts(&rig.key(KeyCode::Esc)), 0);
    assert!(rig.app.modals.is_empty());
    assert!(rig.app.transcript.search.is_none());
    // Nothing open any more: now Esc interrupts.
    assert_eq!(interrupts(&rig.key(KeyCode::Esc)), 1);
}

#[test]
fn ctrl_c_clears_the_text_before_interrupting_the_agent() {
    let mut rig = Rig::new(Role::Owner, false);
    running(&mut rig);
    rig.typed("half a thought");
    assert_eq!(interrupts(&ctrl(&mut rig, 'c')), 0);
    assert_eq!(rig.app.input.lines(), [""]);
    assert_eq!(interrupts(&ctrl(&mut rig, 'c')), 1);
}

#[test]
fn letters_typed_in_a_pane_that_has_no_use_for_them_go_to_the_input() {
    let mut rig = Rig::new(Role::Owner, false);
    for pane in [Focus::Transcript, Focus::Permissions, Focus::Participants] {
        rig.focus(pane);
        rig.typed("h");
        assert_eq!(rig.app.focus, Focus::Input, "from {pane:?}");
    }
    assert_eq!(rig.app.input.lines(), ["hhh"]);
    // A follower cannot type: told so, not silently ignored.
    let mut rig = Rig::new(Role::Follower, false);
    rig.focus(Focus::Transcript);
    rig.typed("h");
    let status = rig.app.status.clone().expect("a status message");
    assert!(status.text.contains("read-only"), "{}", status.text);
}

#[test]
fn y_typed_into_the_input_while_a_request_waits_is_not_sent() {
    let mut rig = Rig::new(Role::Owner, false);
    rig.event(request(1, "r1", "rm -rf build"));
    // The decision view takes the keys when a request arrives; leave it.
    rig.key(KeyCode::Esc);
    rig.typed("y");
    assert!(sent(&rig.key(KeyCode::Enter)).is_empty());
    assert_eq!(rig.app.input.lines(), ["y"], "the text stays");
    let status = rig.app.status.clone().unwrap();
    assert_eq!(status.level, Level::Info);
    assert!(status.text.contains("request"), "{}", status.text);
    // Other text is a message as usual.
    rig.typed("es, and also");
    assert_eq!(sent(&rig.key(KeyCode::Enter)).len(), 1);
}

#[test]
fn sending_while_scrolled_up_jumps_back_to_the_end() {
    let mut rig = Rig::new(Role::Owner, false);
    notices(&mut rig, (0..100).map(|i| format!("line {i}")));
    rig.app.transcript.visible_lines(80, 10);
    rig.key(KeyCode::PageUp);
    assert!(!rig.app.transcript.following());
    rig.typed("ls");
    rig.key(KeyCode::Enter);
    assert!(rig.app.transcript.following());
}

#[test]
fn the_first_match_is_the_nearest_above_the_view_and_an_empty_search_does_nothing() {
    let mut rig = Rig::new(Role::Owner, false);
    notices(&mut rig, (0..100).map(|i| format!("line {i}")));
    rig.app.transcript.visible_lines(80, 10);
    rig.focus(Focus::Transcript);
    // The view shows lines 40..=49 (ten rows from the top at 40).
    rig.app.transcript.jump_to_block(40);
    rig.key(KeyCode::Char('/'));
    rig.typed("line 4");
    rig.key(KeyCode::Enter);
    // Matches: 4, 40..=49; the one at the view's bottom is 49.
    assert_eq!(
        rig.app.transcript.match_status().as_deref(),
        Some("/line 4: 11/11")
    );
    rig.app.transcript.jump_to_block(20);
    rig.key(KeyCode::Char('/'));
    rig.typed("line 4");
    rig.key(KeyCode::Enter);
    assert_eq!(
        rig.app.transcript.match_status().as_deref(),
        Some("/line 4: 1/11"),
        "the nearest above line 29 is line 4, not the last one"
    );
    // An empty search changes nothing and says nothing.
    rig.app.status = None;
    rig.key(KeyCode::Char('/'));
    rig.key(KeyCode::Enter);
    assert_eq!(
        rig.app.transcript.match_status().as_deref(),
        Some("/line 4: 1/11")
    );
    assert!(rig.app.status.is_none());
}

#[test]
fn ctrl_u_deletes_to_the_start_of_the_line() {
    let mut rig = Rig::new(Role::Owner, false);
    rig.typed("hello world");
    for _ in 0..5 {
        rig.key(KeyCode::Left);
    }
    ctrl(&mut rig, 'u');
    assert_eq!(rig.app.input.lines(), ["world"]);
}

#[test]
fn up_and_down_walk_what_was_sent_and_keep_the_draft() {
    let mut rig = Rig::new(Role::Owner, false);
    send_and_ack(&mut rig, "first");
    send_and_ack(&mut rig, "second");
    rig.typed("draft");
    rig.key(KeyCode::Up);
    assert_eq!(rig.app.input.lines(), ["second"]);
    rig.key(KeyCode::Up);
    assert_eq!(rig.app.input.lines(), ["first"]);
    rig.key(KeyCode::Up);
    assert_eq!(rig.app.input.lines(), ["first"], "stops at the oldest");
    rig.key(KeyCode::Down);
    assert_eq!(rig.app.input.lines(), ["second"]);
    rig.key(KeyCode::Down);
    assert_eq!(rig.app.input.lines(), ["draft"]);
}

#[test]
fn help_scrolls_with_arrows_and_pages() {
    let mut rig = Rig::new(Role::Owner, false);
    rig.app.resize(ratatui::layout::Rect::new(0, 0, 80, 24));
    let scroll = |rig: &Rig| match rig.app.modals.last() {
        Some(crate::tui::app::Modal::Help { scroll }) => *scroll,
        _ => panic!("the help is open"),
    };
    rig.key(KeyCode::F(1));
    rig.key(KeyCode::Down);
    rig.key(KeyCode::Down);
    assert_eq!(scroll(&rig), 2);
    rig.key(KeyCode::PageDown);
    assert_eq!(scroll(&rig), 12);
    rig.key(KeyCode::PageUp);
    rig.key(KeyCode::Up);
    assert_eq!(scroll(&rig), 1);
    // It stops at its last row, as the layout has it: the first ↑ after
    // many ↓ moves at once.
    for _ in 0..200 {
        rig.key(KeyCode::Down);
    }
    let most = rig.app.layout().help.unwrap().most_scroll();
    assert!(most > 0 && most < 200, "{most}");
    assert_eq!(scroll(&rig), most);
    rig.key(KeyCode::Up);
    assert_eq!(scroll(&rig), most - 1);
    assert!(!rig.app.modals.is_empty(), "still open");
    rig.key(KeyCode::Esc);
    assert!(rig.app.modals.is_empty());
}

#[test]
fn a_match_on_the_last_screen_keeps_following_new_output() {
    let mut rig = Rig::new(Role::Owner, false);
    notices(&mut rig, (0..5).map(|i| format!("line {i}")));
    rig.app.transcript.visible_lines(80, 10);
    rig.focus(Focus::Transcript);
    rig.key(KeyCode::Char('/'));
    rig.typed("line 2");
    rig.key(KeyCode::Enter);
    assert!(rig.app.transcript.following());
}

#[test]
fn ctrl_f_searches_from_the_input_box_and_every_pane() {
    for pane in [
        Focus::Input,
        Focus::Permissions,
        Focus::Transcript,
        Focus::Participants,
    ] {
        let mut rig = Rig::new(Role::Owner, false);
        notices(&mut rig, ["needle here".to_owned()]);
        rig.focus(pane);
        rig.key_mod(KeyCode::Char('f'), KeyModifiers::CONTROL);
        rig.typed("needle");
        rig.key(KeyCode::Enter);
        assert!(rig.app.transcript.search.is_some(), "from {pane:?}");
        assert!(rig.app.input.is_empty(), "nothing typed into the box");
    }
}

/// Ctrl+R searches what was sent, earlier runs included: typing finds
/// the newest match, Ctrl+R again the one before, Enter takes it into
/// the box (nothing is sent), Esc leaves the box as it was. What is sent
/// is asked to be kept for the next run.
#[test]
fn ctrl_r_searches_what_was_sent_in_this_run_and_earlier_ones() {
    let mut rig = Rig::new(Role::Owner, false);
    rig.update(crate::tui::app::Msg::History(vec![
        "make test".into(),
        "git status".into(),
    ]));
    rig.typed("make build");
    let effects = rig.key(KeyCode::Enter);
    assert!(
        effects.contains(&Effect::Remember("make build".into())),
        "{effects:?}"
    );
    let id = rig.app.in_flight_ids().next().unwrap().to_owned();
    rig.server(crate::protocol::ServerMessage::Ack {
        id,
        duplicate: false,
    });
    rig.typed("draft");
    let ctrl_r = |rig: &mut Rig| rig.key_mod(KeyCode::Char('r'), KeyModifiers::CONTROL);
    ctrl_r(&mut rig);
    rig.typed("make");
    assert_eq!(rig.app.history_match(), Some("make build"));
    ctrl_r(&mut rig);
    assert_eq!(rig.app.history_match(), Some("make test"), "the one before");
    ctrl_r(&mut rig);
    assert_eq!(
        rig.app.history_match(),
        Some("make test"),
        "stays at the oldest"
    );
    let effects = rig.key(KeyCode::Enter);
    assert!(sent(&effects).is_empty(), "taken, not sent");
    assert_eq!(rig.app.input.lines(), ["make test"]);
    ctrl_r(&mut rig);
    rig.typed("git");
    rig.key(KeyCode::Esc);
    assert_eq!(rig.app.input.lines(), ["make test"], "Esc leaves the box");
}
