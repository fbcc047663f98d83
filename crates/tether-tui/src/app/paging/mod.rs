//! The transcript beyond what memory keeps (issue 25).
//!
//! With a host that answers `history`, the live transcript keeps a window
//! of [`Paging::window`] bytes: its oldest blocks go as new ones come.
//! Scrolling back past its first line asks the host for the page before
//! it; the pages are shown in its place (the live transcript goes on
//! taking events aside) and kept within the same budget, the end away
//! from the view dropped; scrolling down past them asks for the pages
//! after, back to the live transcript. A search that finds nothing more
//! in what is held asks the host to search the rest (`find`): the host
//! holds the whole history and scans it where it lies, so a search does
//! not page the session through the client.
//!
//! With a host that does not answer `history` (no `features` in
//! `ready`), nothing is ever dropped, as before.

mod search;

use std::sync::Arc;
use std::sync::atomic::AtomicU64;

use super::{App, ConnState, Effect};
use crate::protocol::{ClientMessage, EventRecord, FEATURE_HISTORY, HistoryPage, HistoryRequest};
use crate::tui::transcript::Transcript;

/// Bytes of transcript a session keeps by default.
pub const DEFAULT_WINDOW_BYTES: usize = 4 << 20;
/// Bytes of events asked for at a time, at most: a quarter of the
/// window. Long command output shows collapsed, so a page of it fills
/// few rows; a smaller page made a screenful of it cost several
/// requests, each reading an index slot of the journal on the host
/// (docs/performance.md, "A watcher's memory").
const PAGE_BYTES: usize = 1 << 20;
/// Events asked for at a time.
const PAGE_EVENTS: usize = 2_000;

/// The edges of the transcript the view rests on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Edge {
    pub start: bool,
    pub end: bool,
}

/// What a `history` request was for.
#[derive(Debug, Clone, PartialEq)]
enum Want {
    Older,
    Newer,
    /// A search between the pages shown and the live transcript.
    FindBetween(String),
    /// The next match after the pages shown ("n" past their last).
    FindNext(String),
    Start,
    Find(String),
}

#[derive(Debug)]
pub struct Paging {
    /// Bytes of blocks a transcript keeps (0: everything).
    window: usize,
    /// The host answers `history`; without it everything is kept.
    supported: bool,
    /// The oldest seq the host serves.
    oldest: u64,
    asked: Option<(String, Want)>,
    /// The host refused the last request (its message rate): the next
    /// one waits for the user's next key, not the next message.
    held: bool,
    /// The live transcript, while pages of older events are shown in its
    /// place (`App::transcript`).
    live: Option<Transcript>,
    /// The events the pages shown cover.
    lo: u64,
    hi: u64,
    /// The output streaming now lost its start to a `skipped`: what is
    /// held of it is its end, which is what the reader wants to see.
    output_cut: bool,
}

impl Default for Paging {
    fn default() -> Self {
        Paging {
            window: DEFAULT_WINDOW_BYTES,
            supported: false,
            oldest: 1,
            asked: None,
            held: false,
            live: None,
            lo: 0,
            hi: 0,
            output_cut: false,
        }
    }
}

impl App {
    /// Keeps at most `bytes` of transcript in memory (0: everything)
    /// when the host serves the rest.
    pub fn set_window_bytes(&mut self, bytes: usize) {
        self.paging.window = bytes;
        if self.paging.supported {
            self.live_mut().set_budget(bytes);
            self.keep_window();
        }
    }

    /// Whether pages of older events are shown instead of the live
    /// transcript.
    pub fn reading_history(&self) -> bool {
        self.paging.live.is_some()
    }

    /// Whether a `history` request waits for its answer.
    pub fn history_pending(&self) -> bool {
        self.paging.asked.is_some()
    }

    /// Whether the view is on the session's first line: nothing older is
    /// held or served.
    pub fn at_session_start(&self) -> bool {
        self.transcript.at_start()
            && self
                .shown_from()
                .is_none_or(|from| from <= self.paging.oldest || !self.paging.supported)
    }

    /// The live transcript, wherever it is.
    pub fn live_transcript(&self) -> &Transcript {
        self.paging.live.as_ref().unwrap_or(&self.transcript)
    }

    fn live_mut(&mut self) -> &mut Transcript {
        self.paging.live.as_mut().unwrap_or(&mut self.transcript)
    }

    /// What `ready` says the host serves.
    pub(super) fn note_features(&mut self, features: &[String]) {
        self.paging.supported = features.iter().any(|f| f == FEATURE_HISTORY);
        let budget = if self.paging.supported {
            self.paging.window
        } else {
            0
        };
        self.live_mut().set_budget(budget);
    }

    /// Runs `apply` with the live transcript in place (events go there,
    /// whatever is shown).
    pub(super) fn in_live<T>(&mut self, apply: impl FnOnce(&mut Self) -> T) -> T {
        let Some(mut live) = self.paging.live.take() else {
            return apply(self);
        };
        std::mem::swap(&mut self.transcript, &mut live);
        let out = apply(self);
        std::mem::swap(&mut self.transcript, &mut live);
        self.paging.live = Some(live);
        out
    }

    /// Drops the live transcript's oldest blocks beyond its budget; the
    /// block indices kept beside it move with them. Called with the live
    /// transcript in place.
    pub(super) fn keep_window(&mut self) {
        let gone = self.transcript.enforce_budget();
        self.blocks_dropped(gone);
    }

    /// Whether to ask the host for only the tail of a flood of output
    /// (`flood=tail`): when the transcript keeps a window, and pages the
    /// rest from the host anyway.
    pub fn wants_flood_tail(&self) -> bool {
        self.paging.window > 0
    }

    /// `skipped{from, to}`: output events the host did not send (a flood
    /// whose tail alone this client asked for). The live transcript goes
    /// on from the events after them; what it held before them is left
    /// to the history, like blocks beyond the window: dropped while the
    /// view follows the end, shown as a page of history while the reader
    /// is up in it (scrolling down pages the skipped events in).
    pub(super) fn on_skipped(&mut self, from: u64, to: u64) -> Vec<Effect> {
        let applied = self.last_applied();
        if to <= applied {
            return Vec::new();
        }
        if from > applied + 1 {
            return self.resume_after_gap();
        }
        // What the streams hold of the output before the gap (half a
        // colour sequence) ends there: output after it does not continue it.
        self.in_live(|app| app.flush_streams(applied));
        self.set_last_applied(to);
        self.paging.output_cut = true;
        let reading = self.paging.live.is_some();
        if !reading
            && !self.transcript.following()
            && self.paging.supported
            && let Some(first) = self.transcript.first_seq()
        {
            let (width, height) = self.transcript.view_size();
            let mut live = Transcript::new();
            live.show_thinking = self.transcript.show_thinking;
            live.set_budget(self.paging.window);
            live.set_view(width, height);
            self.paging.live = Some(live);
            // Up to the last event applied, not the last block's seq: a
            // block's seq is its first event's, and output extends it.
            (self.paging.lo, self.paging.hi) = (first, applied);
            // For the live transcript, every block went.
            self.blocks_dropped(self.transcript.len());
            return Vec::new();
        }
        self.in_live(|app| {
            let n = app.transcript.len();
            app.transcript.drop_front(n);
            app.blocks_dropped(n);
        });
        Vec::new()
    }

    /// Whether the output that just ended lost its start to a skip (it is
    /// then not folded to its ends: its end is all that is held).
    pub(super) fn take_output_cut(&mut self) -> bool {
        std::mem::take(&mut self.paging.output_cut)
    }

    /// The live transcript's `gone` oldest blocks went: the block indices
    /// kept beside it move with them.
    fn blocks_dropped(&mut self, gone: usize) {
        if gone > 0 {
            self.tool_order.drop_front(gone);
            self.plan_block = self.plan_block.and_then(|b| b.checked_sub(gone));
        }
    }

    /// Shows the live transcript again, at its start or its end.
    pub(super) fn back_to_live(&mut self, at_start: bool) {
        if let Some(live) = self.paging.live.take() {
            let (width, height) = self.transcript.view_size();
            self.transcript = live;
            self.transcript.set_view(width, height);
            if at_start {
                self.transcript.scroll_to_top();
            }
        }
        if !at_start {
            self.transcript.scroll_to_bottom();
        }
    }

    /// The connection dropped: an answer in flight will not come.
    pub(super) fn forget_history_request(&mut self) {
        self.paging.asked = None;
    }

    /// An `error` answered the `history` request `id` (rate limited, the
    /// journal unreadable): the next scroll past the edge asks again.
    pub(super) fn history_refused(&mut self, id: &str) {
        if self
            .paging
            .asked
            .as_ref()
            .is_some_and(|(asked, _)| asked == id)
        {
            self.paging.asked = None;
            self.paging.held = true;
        }
    }

    /// A key or the mouse: a refused page may be asked for again.
    pub(super) fn release_paging(&mut self) {
        self.paging.held = false;
    }

    /// The seqs the shown blocks start at.
    fn shown_from(&self) -> Option<u64> {
        match self.paging.live {
            Some(_) => Some(self.paging.lo),
            None => self.transcript.first_seq(),
        }
    }

    /// Which edge of the transcript the view rests on, before a key or
    /// the mouse moves it.
    pub(super) fn transcript_edge(&self) -> Edge {
        Edge {
            start: self.transcript.at_start(),
            end: self.transcript.following(),
        }
    }

    /// Asks for what the view reached the edge of: the page before the
    /// first line held, or after the last page of older events shown.
    /// Pages joined onto what is shown are asked for as soon as the view
    /// reaches the edge; a page that replaces it (the live transcript
    /// giving way to history, or back) only once the view was already
    /// there (`before`), so the lines the scroll stopped on are seen.
    pub(super) fn page_if_needed(&mut self, before: Edge) -> Vec<Effect> {
        let waiting = self.paging.asked.is_some() || self.paging.held;
        if !self.paging.supported || waiting || self.transcript.is_empty() {
            return Vec::new();
        }
        let following = self.transcript.following();
        let reading = self.paging.live.is_some();
        if !following && self.transcript.at_start() {
            let Some(from) = self.shown_from() else {
                return Vec::new();
            };
            if from > self.paging.oldest && (reading || before.start) {
                return self.ask(Want::Older, Some(from), 0);
            }
        } else if following && let Some(live) = &self.paging.live {
            let adjoins = live
                .first_seq()
                .is_none_or(|first| self.paging.hi + 1 >= first);
            if adjoins {
                if before.end {
                    self.back_to_live(true);
                }
            } else {
                return self.ask(Want::Newer, None, self.paging.hi);
            }
        }
        Vec::new()
    }

    /// Home: the start of what is held, and the session's first page
    /// when that is not it.
    pub(super) fn scroll_to_start(&mut self) -> Vec<Effect> {
        self.transcript.scroll_to_top();
        let held = self
            .shown_from()
            .is_none_or(|from| from <= self.paging.oldest);
        if !self.paging.supported || held {
            return Vec::new();
        }
        self.ask(Want::Start, None, 0)
    }

    fn ask(&mut self, want: Want, before: Option<u64>, after: u64) -> Vec<Effect> {
        if !matches!(self.conn, ConnState::Connected { .. }) {
            return Vec::new();
        }
        let id = self.fresh_id();
        let find = match &want {
            Want::Find(query) | Want::FindBetween(query) | Want::FindNext(query) => {
                Some(query.clone())
            }
            _ => None,
        };
        let forward = matches!(want, Want::FindNext(_));
        let request = HistoryRequest {
            id: id.clone(),
            before,
            after,
            max_bytes: Some((self.paging.window / 4).clamp(4 << 10, PAGE_BYTES)),
            limit: Some(PAGE_EVENTS),
            find,
            forward,
        };
        self.paging.asked = Some((id, want));
        vec![Effect::Send(ClientMessage::HistoryRequest(request))]
    }

    pub(super) fn on_history(&mut self, page: HistoryPage) -> Vec<Effect> {
        let Some((id, want)) = self.paging.asked.take() else {
            return Vec::new();
        };
        if id != page.id {
            self.paging.asked = Some((id, want));
            return Vec::new();
        }
        self.paging.oldest = page.oldest.max(1);
        match want {
            Want::Older => return self.older_page(page.events),
            Want::Newer => self.newer_page(page.events),
            Want::Start => {
                if let Some(shown) = self.show_events(page.events) {
                    shown.scroll_to_top();
                }
            }
            Want::Find(query) => return self.found_page(query, page, false),
            Want::FindBetween(query) => return self.found_page(query, page, true),
            Want::FindNext(query) => return self.found_next(query, page),
        }
        self.fill_view()
    }

    /// Pages shown that end above the bottom of the view (a short page,
    /// a folded one) are followed by the next page at once: the view is
    /// not left half empty while there is more.
    fn fill_view(&mut self) -> Vec<Effect> {
        let Some(live) = &self.paging.live else {
            return Vec::new();
        };
        let adjoins = live
            .first_seq()
            .is_none_or(|first| self.paging.hi + 1 >= first);
        self.transcript.follow_if_at_end();
        if adjoins || !self.transcript.following() || self.paging.hi == 0 {
            return Vec::new();
        }
        self.ask(Want::Newer, None, self.paging.hi)
    }

    /// Shows `events` in place of whatever is shown (the live transcript
    /// is kept aside), viewed from its end.
    fn show_events(&mut self, events: Vec<EventRecord>) -> Option<&mut Transcript> {
        let (first, last) = (events.first()?.seq, events.last()?.seq);
        let pages = self.render_page(events);
        Some(self.show_pages(pages, (first, last)))
    }

    /// Shows the blocks of `pages` (events `first..=last`) in place of
    /// whatever is shown, viewed from their end.
    fn show_pages(&mut self, mut pages: Transcript, (first, last): (u64, u64)) -> &mut Transcript {
        let (width, height) = self.transcript.view_size();
        pages.set_view(width, height);
        pages.pin_view();
        pages.set_budget(self.paging.window);
        let live = std::mem::replace(&mut self.transcript, pages);
        if self.paging.live.is_none() {
            self.paging.live = Some(live);
        }
        (self.paging.lo, self.paging.hi) = (first, last);
        &mut self.transcript
    }

    fn older_page(&mut self, events: Vec<EventRecord>) -> Vec<Effect> {
        let (Some(first), Some(last)) =
            (events.first().map(|r| r.seq), events.last().map(|r| r.seq))
        else {
            // Nothing older than what is shown: stop asking.
            self.paging.oldest = self.shown_from().unwrap_or(1);
            return Vec::new();
        };
        let older = self.render_page(events);
        if older.is_empty() {
            // Events that show nothing (the session's metadata, states):
            // the start, or older ones to look at.
            if first <= self.paging.oldest {
                self.paging.oldest = self.shown_from().unwrap_or(1);
                return Vec::new();
            }
            return self.ask(Want::Older, Some(first), 0);
        }
        if self.paging.live.is_none() {
            self.show_pages(older, (first, last));
            return Vec::new();
        }
        self.transcript.prepend(older);
        self.paging.lo = first;
        if let Some(dropped) = self.transcript.enforce_budget_back() {
            self.paging.hi = dropped.saturating_sub(1).max(first);
        }
        Vec::new()
    }

    fn newer_page(&mut self, mut events: Vec<EventRecord>) {
        // Not into what the live transcript holds: it would show twice.
        if let Some(first) = self.paging.live.as_ref().and_then(Transcript::first_seq) {
            events.retain(|r| r.seq < first);
        }
        let Some(last) = events.last().map(|r| r.seq) else {
            self.back_to_live(true);
            return;
        };
        // Events the pages already show out of order: an answer shown in
        // place of its request's line, before the events between them.
        let hi = self.paging.hi;
        let shown: Vec<u64> = (self.transcript.blocks().iter())
            .map(|b| b.seq)
            .filter(|seq| *seq > hi)
            .collect();
        events.retain(|r| !shown.contains(&r.seq));
        let newer = self.render_page(events);
        self.transcript.append(newer);
        self.paging.hi = last;
        if self.transcript.enforce_budget_above_view() > 0 {
            self.paging.lo = self.transcript.first_seq().unwrap_or(last);
        }
    }

    /// The blocks `events` make, read as a client that saw only them
    /// would (a request answered on another page shows where it was).
    fn render_page(&self, events: Vec<EventRecord>) -> Transcript {
        let mut scratch = App::new(true, Arc::new(AtomicU64::new(0)));
        scratch.session = self.session.clone();
        scratch.me = self.me.clone();
        scratch.transcript.show_thinking = self.transcript.show_thinking;
        let last = events.last().map_or(0, |r| r.seq);
        for record in events {
            scratch.apply_event(record);
        }
        scratch.end_streams(last);
        scratch.transcript
    }
}
