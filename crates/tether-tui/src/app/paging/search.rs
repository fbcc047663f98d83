//! Searching history the transcript does not hold: the host searches
//! older events, then those between pages shown and the live
//! transcript (`find`), and the live transcript is searched in place.

use super::Want;
use crate::app::{App, Effect, Level};
use crate::protocol::HistoryPage;

impl App {
    /// Searches back from the first block held for `query`, on the host.
    pub(in crate::app) fn search_history(&mut self, query: &str) -> Vec<Effect> {
        let Some(from) = self.shown_from() else {
            return Vec::new();
        };
        if !self.paging.supported || from <= self.paging.oldest {
            return Vec::new();
        }
        self.say(
            format!("searching older history for {query:?}..."),
            Level::Info,
        );
        self.ask(Want::Find(query.to_owned()), Some(from), 0)
    }

    /// Whether older history than what is held may hold more matches.
    pub(in crate::app) fn history_beyond(&self) -> bool {
        self.paging.supported && self.shown_from().is_some_and(|f| f > self.paging.oldest)
    }

    /// The page ending with the event the host found: shown with the
    /// search's matches in it; or the search goes on further back.
    pub(super) fn found_page(
        &mut self,
        query: String,
        page: HistoryPage,
        between: bool,
    ) -> Vec<Effect> {
        if let Some(from) = page.searched_from {
            return match (between, self.unheld_after_pages()) {
                (true, Some((after, _))) => self.ask(Want::FindBetween(query), Some(from), after),
                _ => self.ask(Want::Find(query), Some(from), 0),
            };
        }
        let Some(found) = page.found else {
            if !between && self.unheld_after_pages().is_some() {
                return self.search_between(&query);
            }
            if !self.show_live_match(&query, false) {
                self.say(format!("no match for {query:?}"), Level::Info);
            }
            return Vec::new();
        };
        self.show_match(page, &query, found, false);
        self.say(format!("{query:?} found in event {found}"), Level::Info);
        self.fill_view()
    }

    /// The events between the pages shown and the live transcript that
    /// neither holds (the pages came from Home or a search; a flood's
    /// skip left them to the history): `(after, before)`.
    pub(in crate::app) fn unheld_after_pages(&self) -> Option<(u64, u64)> {
        let first = self.paging.live.as_ref()?.first_seq()?;
        (self.paging.hi + 1 < first).then_some((self.paging.hi, first))
    }

    /// Searches the events between the pages shown and the live
    /// transcript on the host (its newest match there).
    pub(in crate::app) fn search_between(&mut self, query: &str) -> Vec<Effect> {
        let Some((after, before)) = self.unheld_after_pages() else {
            return Vec::new();
        };
        self.say(
            format!("searching the history for {query:?}..."),
            Level::Info,
        );
        self.ask(Want::FindBetween(query.to_owned()), Some(before), after)
    }

    /// Shows the live transcript at its oldest (or newest) match for
    /// `query`, when pages of history are shown and it has one; whether
    /// it did.
    pub(in crate::app) fn show_live_match(&mut self, query: &str, oldest: bool) -> bool {
        let live_matches = self
            .paging
            .live
            .as_ref()
            .is_some_and(|live| live.contains(query));
        if !live_matches {
            return false;
        }
        self.back_to_live(oldest);
        self.transcript.search(query);
        if oldest {
            self.transcript.search_first_match();
        } else {
            self.transcript.search_last_match();
        }
        true
    }

    /// Shows the page the host found `found` in, at its oldest (or
    /// newest) match for `query`.
    fn show_match(&mut self, page: HistoryPage, query: &str, found: u64, oldest: bool) {
        let Some(shown) = self.show_events(page.events) else {
            return;
        };
        if shown.search(query) == 0 {
            shown.jump_to_seq(found);
        } else if oldest {
            shown.search_first_match();
        } else {
            shown.search_last_match();
        }
    }

    /// Whether there is history the host could search that is not held.
    pub(in crate::app) fn history_unheld(&self) -> bool {
        self.history_beyond() || self.unheld_after_pages().is_some()
    }

    /// "n" past the last match of the pages shown: the host's oldest match
    /// after them, before the live transcript.
    pub(in crate::app) fn search_next(&mut self, query: &str) -> Vec<Effect> {
        let Some((after, before)) = self.unheld_after_pages() else {
            return Vec::new();
        };
        self.ask(Want::FindNext(query.to_owned()), Some(before), after)
    }

    /// The page starting with the next match, shown at it; or the search
    /// goes on; or, with none before it, the live transcript's first; or,
    /// with none at all, the view stays.
    pub(super) fn found_next(&mut self, query: String, page: HistoryPage) -> Vec<Effect> {
        if let (Some(to), Some((_, before))) = (page.searched_to, self.unheld_after_pages()) {
            return self.ask(Want::FindNext(query), Some(before), to);
        }
        let Some(found) = page.found else {
            if !self.show_live_match(&query, true) {
                // The reader stays on the last match there is.
                self.say(format!("no newer match for {query:?}"), Level::Info);
            }
            return Vec::new();
        };
        self.show_match(page, &query, found, true);
        self.fill_view()
    }
}
