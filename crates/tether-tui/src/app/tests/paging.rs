//! The transcript within its window (issue 25): the oldest blocks go,
//! scrolling back past them fetches them from the host (played here by a
//! function that answers `history` as the host does), a search finds what
//! went, and without the host's `history` nothing goes.

use crossterm::event::KeyCode;
use ratatui::layout::Rect;

use super::{Rig, ready, record, sent};
use crate::protocol::{
    ClientMessage, EventKind, EventRecord, FEATURE_HISTORY, HistoryPage, HistoryRequest, Role,
    ServerMessage,
};
use crate::tui::app::{Effect, Focus};

pub(super) const WINDOW: usize = 16 * 1024;
pub(super) const LINES: u64 = 2_000;

pub(super) fn line(seq: u64) -> EventRecord {
    record(
        seq,
        EventKind::Assistant {
            text: format!("line {seq:05} of the session"),
        },
    )
}

pub(super) fn session() -> Vec<EventRecord> {
    (1..=LINES).map(line).collect()
}

fn rig(history: bool) -> Rig {
    let mut rig = Rig::new(Role::Follower, true);
    let mut greeting = ready("e1", Vec::new());
    if let ServerMessage::Ready { features, .. } = &mut greeting
        && history
    {
        features.push(FEATURE_HISTORY.into());
    }
    rig.server(greeting);
    rig.app.set_window_bytes(WINDOW);
    rig.app.resize(Rect::new(0, 0, 80, 24));
    rig.app.layout();
    for record in session() {
        rig.event(record);
    }
    rig.focus(Focus::Transcript);
    rig
}

/// What the host answers: the page of `events` a request asks for.
pub(super) fn host_page(events: &[EventRecord], request: &HistoryRequest) -> HistoryPage {
    let before = request.before.unwrap_or(u64::MAX);
    let limit = request.limit.unwrap_or(2_000);
    let in_range = |r: &&EventRecord| r.seq > request.after && r.seq < before;
    let max_bytes = request.max_bytes.unwrap_or(usize::MAX);
    let mut found = None;
    let holds = |r: &&EventRecord, needle: &str| matches!(&r.event, EventKind::Assistant { text } if text.contains(needle));
    let chosen: Vec<EventRecord> = match &request.find {
        Some(needle) if request.forward => {
            found = events.iter().filter(in_range).find(|r| holds(r, needle));
            let start = found.map_or(u64::MAX, |r| r.seq);
            let page = events.iter().filter(|r| r.seq >= start && r.seq < before);
            page.take(limit).cloned().collect()
        }
        Some(needle) => {
            found = events.iter().filter(in_range).rfind(|r| {
                matches!(&r.event, EventKind::Assistant { text } if text.contains(needle.as_str()))
            });
            let end = found.map_or(0, |r| r.seq);
            let page: Vec<_> = events.iter().filter(|r| r.seq <= end).collect();
            page[page.len().saturating_sub(limit)..]
                .iter()
                .map(|r| (*r).clone())
                .collect()
        }
        None if request.before.is_some() => {
            let page: Vec<_> = events.iter().filter(in_range).collect();
            page[page.len().saturating_sub(limit)..]
                .iter()
                .map(|r| (*r).clone())
                .collect()
        }
        None => events
            .iter()
            .filter(in_range)
            .take(limit)
            .cloned()
            .collect(),
    };
    // The byte budget, as the host trims it: the end away from `before`.
    let size = |r: &EventRecord| ServerMessage::Event(r.clone()).to_json().len();
    let mut chosen = chosen;
    let mut total: usize = chosen.iter().map(size).sum();
    while total > max_bytes && chosen.len() > 1 {
        let from_front = (request.before.is_some() || request.find.is_some()) && !request.forward;
        let gone = if from_front {
            chosen.remove(0)
        } else {
            chosen.pop().unwrap()
        };
        total -= size(&gone);
    }
    HistoryPage {
        id: request.id.clone(),
        events: chosen,
        oldest: 1,
        last_seq: LINES,
        found: found.map(|r| r.seq),
        searched_from: None,
        searched_to: None,
    }
}

/// Answers every `history` request in `effects`, as the host would;
/// how many there were.
pub(super) fn serve(rig: &mut Rig, effects: Vec<Effect>) -> usize {
    serve_from(rig, &session(), effects)
}

/// [`serve`] from the host's `events`.
pub(super) fn serve_from(rig: &mut Rig, events: &[EventRecord], effects: Vec<Effect>) -> usize {
    let mut served = 0;
    let mut pending = effects;
    while let Some(request) = sent(&pending).into_iter().find_map(|m| match m {
        ClientMessage::HistoryRequest(request) => Some(request),
        _ => None,
    }) {
        served += 1;
        let page = host_page(events, &request);
        pending = rig.server(ServerMessage::History(page));
    }
    served
}

/// The rows of the transcript pane as laid out.
pub(super) fn screen(rig: &mut Rig) -> String {
    rig.app.layout();
    let (width, height) = rig.app.transcript.view_size();
    rig.transcript_rows(width, height)
}

#[test]
fn the_window_stays_bounded_and_scrolling_back_fetches_what_went() {
    let mut rig = rig(true);
    let live = rig.app.live_transcript();
    assert!(live.weight() <= WINDOW, "{} bytes held", live.weight());
    let first = live.first_seq().unwrap();
    assert!(first > LINES / 2, "the oldest lines went: first is {first}");
    assert!(screen(&mut rig).contains("line 02000"));

    // Page up to the very first line: each page past the window comes
    // from the host, and memory stays within twice the window.
    let mut asked = 0;
    for _ in 0..2_000 {
        let effects = rig.key(KeyCode::PageUp);
        asked += serve(&mut rig, effects);
        assert!(rig.app.transcript.weight() <= 2 * WINDOW);
        if screen(&mut rig).contains("line 00001") {
            break;
        }
    }
    assert!(
        screen(&mut rig).contains("line 00001"),
        "{}",
        screen(&mut rig)
    );
    assert!(asked > 1, "pages were fetched: {asked}");
    assert!(rig.app.reading_history());
    // Live events still arrive, aside, and do not move the view.
    rig.event(line(LINES + 1));
    assert!(screen(&mut rig).contains("line 00001"));
    assert_eq!(rig.app.last_applied(), LINES + 1, "the resume point");

    // And down again, page by page, back to the live transcript.
    for _ in 0..2_000 {
        let effects = rig.key(KeyCode::PageDown);
        serve(&mut rig, effects);
        if !rig.app.reading_history() && rig.app.transcript.following() {
            break;
        }
    }
    assert!(!rig.app.reading_history());
    assert!(screen(&mut rig).contains(&format!("line {:05}", LINES + 1)));
}

#[test]
fn home_and_end_jump_to_the_session_start_and_back() {
    let mut rig = rig(true);
    let effects = rig.key(KeyCode::Home);
    assert_eq!(serve(&mut rig, effects), 1);
    assert!(
        screen(&mut rig).starts_with("line 00001"),
        "{}",
        screen(&mut rig)
    );
    rig.key(KeyCode::End);
    assert!(!rig.app.reading_history());
    assert!(screen(&mut rig).contains("line 02000"));
}

#[test]
fn a_search_finds_a_line_that_left_memory() {
    let mut rig = rig(true);
    rig.key(KeyCode::Char('/'));
    rig.typed("line 00007 ");
    let effects = rig.key(KeyCode::Enter);
    let asked = sent(&effects);
    assert!(
        matches!(&asked[..], [ClientMessage::HistoryRequest(r)] if r.find.as_deref() == Some("line 00007 ")),
        "{asked:?}"
    );
    assert!(serve(&mut rig, effects) >= 1);
    assert!(
        screen(&mut rig).contains("line 00007 of"),
        "{}",
        screen(&mut rig)
    );
    let status = rig.app.transcript.match_status().unwrap();
    assert!(status.contains("1/1"), "{status}");
}

#[test]
fn a_pending_request_stays_when_its_line_leaves_memory() {
    let mut rig = rig(true);
    rig.event(super::request(LINES + 1, "r1", "ls"));
    for seq in LINES + 2..LINES * 2 {
        rig.event(line(seq));
    }
    assert_eq!(rig.app.pending.len(), 1);
    assert!(rig.app.live_transcript().first_seq().unwrap() > LINES + 1);
}

#[test]
fn without_the_hosts_history_everything_is_kept() {
    let mut rig = rig(false);
    assert_eq!(rig.app.live_transcript().first_seq(), Some(1));
    for _ in 0..300 {
        let effects = rig.key(KeyCode::PageUp);
        assert!(sent(&effects).is_empty(), "nothing asked of an old host");
    }
    assert!(screen(&mut rig).contains("line 00001"));
}

#[test]
fn a_refused_page_is_asked_for_again() {
    let mut rig = rig(true);
    let request = (0..2_000)
        .find_map(|_| {
            let effects = rig.key(KeyCode::PageUp);
            sent(&effects).into_iter().find_map(|m| match m {
                ClientMessage::HistoryRequest(request) => Some(request),
                _ => None,
            })
        })
        .expect("a page asked for");
    let effects = rig.server(ServerMessage::error(
        Some(request.id.clone()),
        crate::protocol::ErrorCode::RateLimited,
        "too many messages",
    ));
    assert!(sent(&effects).is_empty(), "not asked again at once");
    let effects = rig.key(KeyCode::PageUp);
    assert!(
        matches!(&sent(&effects)[..], [ClientMessage::HistoryRequest(again)] if again.before == request.before),
        "{:?}",
        sent(&effects)
    );
}

/// The line numbers on screen.
pub(super) fn numbers_shown(rig: &mut Rig) -> Vec<u64> {
    screen(rig)
        .lines()
        .filter_map(|row| row.strip_prefix("line ")?.get(..5)?.parse().ok())
        .collect()
}

/// Pages with `key` until `done`, noting every line on screen once the
/// host has served what the key asked for (the answer comes within a
/// frame: what shows before it is a flash); the lines never shown.
pub(super) fn lines_missed(rig: &mut Rig, key: KeyCode, done: impl Fn(&Rig) -> bool) -> Vec<u64> {
    let mut seen = vec![false; LINES as usize + 1];
    let mut note = |rig: &mut Rig| {
        for n in numbers_shown(rig) {
            seen[n as usize] = true;
        }
    };
    note(rig);
    for _ in 0..2_000 {
        let effects = rig.key(key);
        serve(rig, effects);
        note(rig);
        if done(rig) {
            break;
        }
    }
    (1..=LINES).filter(|n| !seen[*n as usize]).collect()
}

/// Paging from the tail to line 1 and back shows every line on some
/// screen: where the live transcript gives way to pages from the host
/// (and back), the scroll first stops on the lines at its edge, and the
/// page replaces them only on the next key.
#[test]
fn paging_up_and_down_shows_every_line() {
    every_line_shown_up_and_down(&mut rig(true));
}

/// Pages up to the session's first line and down to the live end: every
/// line shows on some screen each way.
pub(super) fn every_line_shown_up_and_down(rig: &mut Rig) {
    let up = lines_missed(rig, KeyCode::PageUp, |r| r.app.at_session_start());
    assert!(up.is_empty(), "not shown going up: {up:?}");
    let down = lines_missed(rig, KeyCode::PageDown, |r| {
        !r.app.reading_history() && r.app.transcript.following()
    });
    assert!(down.is_empty(), "not shown going down: {down:?}");
}

#[test]
fn a_page_shorter_than_the_view_is_followed_by_the_next() {
    let mut rig = rig(true);
    rig.app.resize(Rect::new(0, 0, 80, 200));
    rig.app.layout();
    let effects = rig.key(KeyCode::Home);
    assert!(serve(&mut rig, effects) > 1, "more than the first page");
    let shown = numbers_shown(&mut rig);
    let (_, rows) = rig.app.transcript.view_size();
    assert_eq!(shown.first(), Some(&1));
    assert_eq!(shown.len(), usize::from(rows), "a full view: {shown:?}");
}

#[test]
fn a_search_from_the_first_page_finds_what_only_the_live_transcript_holds() {
    let mut rig = rig(true);
    let effects = rig.key(KeyCode::Home);
    serve(&mut rig, effects);
    assert!(rig.app.reading_history());
    rig.key(KeyCode::Char('/'));
    rig.typed("line 02000 ");
    let effects = rig.key(KeyCode::Enter);
    serve(&mut rig, effects);
    assert!(!rig.app.reading_history(), "the live transcript is shown");
    assert!(
        screen(&mut rig).contains("line 02000 of"),
        "{}",
        screen(&mut rig)
    );
}

/// Pages of history paged down stop where the live transcript starts:
/// its lines are not shown twice, as a page and again live.
#[test]
fn newer_pages_stop_at_the_live_transcript() {
    let mut rig = rig(true);
    let live_first = rig.app.live_transcript().first_seq().unwrap();
    // A found page: pages no longer aligned with what Home would ask.
    rig.key(KeyCode::Char('/'));
    rig.typed("line 00010 ");
    let effects = rig.key(KeyCode::Enter);
    serve(&mut rig, effects);
    rig.key(KeyCode::Esc);
    for _ in 0..2_000 {
        let effects = rig.key(KeyCode::PageDown);
        serve(&mut rig, effects);
        if !rig.app.reading_history() {
            break;
        }
        let shown = numbers_shown(&mut rig);
        assert!(
            shown.iter().all(|n| *n < live_first),
            "pages show {shown:?}; the live transcript starts at {live_first}"
        );
    }
    assert!(!rig.app.reading_history());
}
