//! Output the host skipped (`flood=tail`) and pages of command output:
//! what a skip leaves to the history comes back when scrolled to, a
//! reader's view stays, the end of a cut output shows unfolded, and pages
//! of output hold each line once however they are joined and dropped.

use crossterm::event::KeyCode;
use ratatui::layout::Rect;

use super::paging::{
    LINES, WINDOW, every_line_shown_up_and_down, line, lines_missed, numbers_shown, screen,
    serve_from,
};
use super::{Rig, ready, record, sent};
use crate::protocol::{
    ClientMessage, EventKind, EventRecord, FEATURE_HISTORY, Role, ServerMessage,
};
use crate::tui::app::Focus;

/// A rig whose host sent lines `1..=shown` (and will skip some: the
/// `flood=tail` of the host's flood).
fn rig_skipping(shown: u64) -> Rig {
    let mut rig = Rig::new(Role::Follower, true);
    let mut greeting = ready("e1", Vec::new());
    if let ServerMessage::Ready { features, .. } = &mut greeting {
        features.push(FEATURE_HISTORY.into());
    }
    rig.server(greeting);
    rig.app.set_window_bytes(WINDOW);
    rig.app.resize(Rect::new(0, 0, 80, 24));
    rig.app.layout();
    for seq in 1..=shown {
        rig.event(line(seq));
    }
    rig.focus(Focus::Transcript);
    rig
}

/// The host skips lines `from..=to` of a flood and sends the rest.
fn skip_then_rest(rig: &mut Rig, from: u64, to: u64) {
    let effects = rig.server(ServerMessage::Skipped { from, to });
    assert!(sent(&effects).is_empty(), "{:?}", sent(&effects));
    for seq in to + 1..=LINES {
        rig.event(line(seq));
    }
}

#[test]
fn skipped_lines_are_paged_in_when_scrolled_to() {
    let mut rig = rig_skipping(400);
    skip_then_rest(&mut rig, 401, 1_990);
    assert_eq!(rig.app.last_applied(), LINES, "the resume point");
    assert_eq!(
        rig.app.live_transcript().first_seq(),
        Some(1_991),
        "what came before the skip is left to the history"
    );
    assert!(screen(&mut rig).contains("line 02000"));
    every_line_shown_up_and_down(&mut rig);
}

#[test]
fn a_skip_leaves_a_reader_where_it_is() {
    let mut rig = rig_skipping(1_000);
    for _ in 0..3 {
        rig.key(KeyCode::PageUp);
    }
    let reading = numbers_shown(&mut rig);
    assert!(!reading.is_empty() && !rig.app.transcript.following());
    skip_then_rest(&mut rig, 1_001, 1_990);
    assert_eq!(numbers_shown(&mut rig), reading, "the view did not move");
    assert!(rig.app.reading_history(), "what it shows is history now");
    let down = lines_missed(&mut rig, KeyCode::PageDown, |r| {
        !r.app.reading_history() && r.app.transcript.following()
    });
    let skipped_or_after: Vec<u64> = down.into_iter().filter(|n| *n > reading[0]).collect();
    assert!(
        skipped_or_after.is_empty(),
        "not shown going down: {skipped_or_after:?}"
    );
}

#[test]
fn a_skip_past_a_gap_asks_for_what_is_missing() {
    let mut rig = rig_skipping(100);
    let effects = rig.server(ServerMessage::Skipped { from: 105, to: 110 });
    assert!(
        matches!(&sent(&effects)[..], [ClientMessage::Resume(r)] if r.since == 100),
        "{:?}",
        sent(&effects)
    );
    assert_eq!(rig.app.last_applied(), 100);
    // One already applied changes nothing.
    let mut rig = rig_skipping(100);
    let held = rig.app.live_transcript().first_seq();
    let effects = rig.server(ServerMessage::Skipped { from: 90, to: 100 });
    assert!(sent(&effects).is_empty());
    assert_eq!(rig.app.live_transcript().first_seq(), held);
}

/// `n` lines of command output from `first` on.
fn output(seq: u64, first: u64, n: u64) -> EventRecord {
    let text: String = (first..first + n)
        .map(|l| format!("out {l:05}\n"))
        .collect();
    record(
        seq,
        EventKind::Output {
            stream: crate::protocol::OutputStream::Stdout,
            text,
        },
    )
}

#[test]
fn output_cut_by_a_skip_ends_unfolded() {
    let turn_end = |seq| {
        record(
            seq,
            EventKind::TurnEnd {
                outcome: crate::protocol::TurnOutcome::Success,
                duration_ms: None,
                cost_usd: None,
                num_turns: None,
                usage: None,
            },
        )
    };
    let folded = |rig: &mut Rig| screen(rig).contains("more lines");
    // Whole: long output folds to its ends once it is over.
    let mut rig = rig_skipping(0);
    rig.event(output(1, 0, 300));
    rig.event(turn_end(2));
    assert!(folded(&mut rig), "{}", screen(&mut rig));
    // Cut: its end is all there is, and shows as it is.
    let mut rig = rig_skipping(0);
    rig.event(output(1, 0, 100));
    rig.server(ServerMessage::Skipped { from: 2, to: 5 });
    rig.event(output(6, 500, 300));
    rig.event(turn_end(7));
    assert!(!folded(&mut rig), "{}", screen(&mut rig));
    let shown = screen(&mut rig);
    assert!(
        shown.contains("out 00799") && shown.contains("out 00785"),
        "{shown}"
    );
    // The next command's output folds again.
    rig.event(output(8, 1_000, 300));
    rig.event(turn_end(9));
    assert!(folded(&mut rig), "{}", screen(&mut rig));
}

/// The host's events for `output_session`: 400 one-line outputs.
fn output_session() -> Vec<EventRecord> {
    (1..=400).map(|seq| output(seq, seq, 1)).collect()
}

/// Lines of output a reader scrolled up in when a skip came are shown
/// once each on the way down: the page it reads ends with the last event
/// applied, not with its last block's first.
#[test]
fn a_readers_page_after_a_skip_ends_where_the_events_applied_did() {
    let mut rig = rig_skipping(0);
    let events = output_session();
    for record in &events[..200] {
        rig.event(record.clone());
    }
    rig.key(KeyCode::PageUp);
    rig.server(ServerMessage::Skipped { from: 201, to: 380 });
    for record in &events[380..] {
        rig.event(record.clone());
    }
    let mut screens = String::new();
    for _ in 0..200 {
        let effects = rig.key(KeyCode::PageDown);
        serve_from(&mut rig, &events, effects);
        each_line_held_once(&rig);
        screens.push_str(&screen(&mut rig));
        if !rig.app.reading_history() && rig.app.transcript.following() {
            break;
        }
    }
    assert!(!rig.app.reading_history(), "back to the live end");
    assert!(
        screens.contains("out 00201"),
        "the skipped lines were paged in"
    );
}

/// Paging up through output (one block per page: output extends its
/// block) drops the pages below the view beyond the window; paging down
/// again asks for what follows the last event kept, not its block's first.
#[test]
fn pages_of_output_paged_up_and_down_hold_each_line_once() {
    let mut rig = rig_skipping(0);
    // 2,000 lines of 70 bytes: many times the window.
    let events: Vec<EventRecord> = (1..=2_000)
        .map(|seq| {
            let mut record = output(seq, seq, 1);
            if let EventKind::Output { text, .. } = &mut record.event {
                text.insert_str(text.len() - 1, &" ·".repeat(30));
            }
            record
        })
        .collect();
    for record in &events {
        rig.event(record.clone());
    }
    for _ in 0..300 {
        let effects = rig.key(KeyCode::PageUp);
        serve_from(&mut rig, &events, effects);
        each_line_held_once(&rig);
        if rig.app.at_session_start() {
            break;
        }
    }
    assert!(rig.app.at_session_start());
    for _ in 0..300 {
        let effects = rig.key(KeyCode::PageDown);
        serve_from(&mut rig, &events, effects);
        each_line_held_once(&rig);
        if !rig.app.reading_history() && rig.app.transcript.following() {
            break;
        }
    }
    assert!(!rig.app.reading_history(), "back to the live end");
}

/// What is shown (the live transcript or pages of history) holds each
/// line of output once.
fn each_line_held_once(rig: &Rig) {
    let text: String = (rig.app.transcript.blocks().iter())
        .map(|b| b.text().text.clone())
        .collect();
    let lines: Vec<&str> = text.lines().filter(|l| l.starts_with("out ")).collect();
    let mut unique = lines.clone();
    unique.sort_unstable();
    unique.dedup();
    assert_eq!(lines.len(), unique.len(), "a line held twice: {lines:?}");
}

/// Pages from the session's start shown (Home) and the live end held: a
/// search for a line between them, which neither holds, asks the host
/// there and shows it.
#[test]
fn a_search_from_the_first_page_finds_a_line_between_it_and_the_live_end() {
    let mut rig = rig_skipping(400);
    skip_then_rest(&mut rig, 401, 1_990);
    let effects = rig.key(KeyCode::Home);
    serve_from(&mut rig, &super::paging::session(), effects);
    assert!(rig.app.reading_history());
    assert!(!screen(&mut rig).contains("line 01500"));
    rig.key(KeyCode::Char('/'));
    rig.typed("line 01500 ");
    let effects = rig.key(KeyCode::Enter);
    let asked = sent(&effects);
    assert!(
        matches!(&asked[..], [ClientMessage::HistoryRequest(r)]
            if r.find.as_deref() == Some("line 01500 ") && r.after > 0),
        "{asked:?}"
    );
    serve_from(&mut rig, &super::paging::session(), effects);
    assert!(
        screen(&mut rig).contains("line 01500 of"),
        "{}",
        screen(&mut rig)
    );
}

/// A request answered in place shows its answer's event on its own line,
/// before the lines of the events between them. Pages dropped below it
/// and paged in again do not show that answer twice.
#[test]
fn an_answer_shown_in_place_is_not_paged_in_twice() {
    for (request_at, answer_after) in [(1_000u64, 10u64), (1_010, 5), (1_020, 12)] {
        let answer_at = request_at + answer_after;
        let events: Vec<EventRecord> = super::paging::session()
            .into_iter()
            .map(|r| match r.seq {
                s if s == request_at => super::request(s, "r1", "ls"),
                s if s == answer_at => record(
                    s,
                    EventKind::PermissionResolved {
                        request_id: "r1".into(),
                        decision: crate::protocol::Decision::Allow,
                        by: "bob".into(),
                        message: None,
                        option: None,
                        updated_input: None,
                    },
                ),
                _ => r,
            })
            .collect();
        let mut rig = rig_skipping(0);
        for record in &events {
            rig.event(record.clone());
        }
        let answers = |rig: &Rig| {
            (rig.app.transcript.blocks().iter())
                .filter(|b| b.text().text.contains("allowed by bob"))
                .count()
        };
        for _ in 0..2_000 {
            let effects = rig.key(KeyCode::PageUp);
            serve_from(&mut rig, &events, effects);
            assert!(
                answers(&rig) <= 1,
                "request {request_at}, answer {answer_at}"
            );
            if numbers_shown(&mut rig)
                .first()
                .is_some_and(|n| n + 40 < request_at)
            {
                break;
            }
        }
        for _ in 0..2_000 {
            let effects = rig.key(KeyCode::PageDown);
            serve_from(&mut rig, &events, effects);
            assert!(
                answers(&rig) <= 1,
                "request {request_at}, answer {answer_at}"
            );
            if !rig.app.reading_history() && rig.app.transcript.following() {
                break;
            }
        }
    }
}

/// "n" past the last match of pages shown asks the host for the next one
/// after them (a forward `find`), not the newest before the live end and
/// not the live transcript's first.
#[test]
fn next_past_the_pages_last_match_finds_the_following_one() {
    let (mut rig, events) = searched_from_home(&[5, 1_500, 1_700]);
    assert!(
        screen(&mut rig).contains("line 00005 holds"),
        "{}",
        screen(&mut rig)
    );
    let effects = rig.key(KeyCode::Char('n'));
    let asked = sent(&effects);
    assert!(
        asked
            .iter()
            .any(|m| matches!(m, ClientMessage::HistoryRequest(r)
            if r.forward && r.find.as_deref() == Some("needle"))),
        "{asked:?}"
    );
    serve_from(&mut rig, &events, effects);
    assert!(
        screen(&mut rig).contains("line 01500 holds"),
        "{}",
        screen(&mut rig)
    );
}

/// "n" past the last match there is keeps the view on it and says so.
#[test]
fn next_past_the_last_match_there_is_stays() {
    let (mut rig, events) = searched_from_home(&[5]);
    let effects = rig.key(KeyCode::Char('n'));
    serve_from(&mut rig, &events, effects);
    assert!(rig.app.reading_history(), "still on the pages");
    assert!(
        screen(&mut rig).contains("line 00005 holds"),
        "{}",
        screen(&mut rig)
    );
}

/// A session whose lines `marked` hold "needle", its first page shown
/// (Home) and "needle" searched for; and the host's events.
fn searched_from_home(marked: &[u64]) -> (Rig, Vec<EventRecord>) {
    let events: Vec<EventRecord> = (1..=LINES)
        .map(|seq| match marked.contains(&seq) {
            true => record(
                seq,
                EventKind::Assistant {
                    text: format!("line {seq:05} holds the needle"),
                },
            ),
            false => line(seq),
        })
        .collect();
    let mut rig = rig_skipping(0);
    for record in &events {
        rig.event(record.clone());
    }
    let effects = rig.key(KeyCode::Home);
    serve_from(&mut rig, &events, effects);
    rig.key(KeyCode::Char('/'));
    rig.typed("needle");
    let effects = rig.key(KeyCode::Enter);
    serve_from(&mut rig, &events, effects);
    (rig, events)
}
