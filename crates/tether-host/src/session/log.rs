//! The in-memory window of a session's event history, kept as the exact
//! frames that were broadcast so replays cost no re-serialisation.
//!
//! The window is bounded by bytes (what agent output costs) and by count
//! (what each frame costs in bookkeeping, which a flood of tiny frames
//! would otherwise pile up); older events live only in the journal.

use std::collections::VecDeque;

use bytes::Bytes;

/// The JSON text of one `event` message, exactly as sent on the wire.
pub type Frame = Bytes;

/// How much history memory holds. The oldest frames go while either
/// bound is exceeded; the newest frame always stays.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HistoryBudget {
    /// Sum of the frames' lengths.
    pub bytes: usize,
    /// Number of frames.
    pub frames: usize,
}

impl HistoryBudget {
    /// 64 MiB of frames.
    pub const DEFAULT_BYTES: usize = 64 * 1024 * 1024;
    /// A cap on the bookkeeping (a `Bytes` handle and an allocation per
    /// frame) that the byte sum does not see.
    pub const DEFAULT_FRAMES: usize = 100_000;

    /// Whether a window of `frames` frames and `bytes` bytes holds more
    /// than this budget (the oldest frames go while it does).
    pub fn exceeded_by(&self, frames: usize, bytes: usize) -> bool {
        frames > self.frames || bytes > self.bytes
    }
}

impl Default for HistoryBudget {
    fn default() -> Self {
        HistoryBudget {
            bytes: Self::DEFAULT_BYTES,
            frames: Self::DEFAULT_FRAMES,
        }
    }
}

/// What the in-memory window holds right now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HistoryWindow {
    /// Oldest seq held (`last_seq + 1` when none is).
    pub first_seq: u64,
    pub last_seq: u64,
    pub frames: usize,
    /// Sum of the held frames' lengths.
    pub bytes: usize,
}

#[derive(Debug, PartialEq)]
pub struct EventLog {
    frames: VecDeque<Frame>,
    /// Seq of `frames[0]`; `last_seq + 1` when the window is empty.
    first_seq: u64,
    last_seq: u64,
    /// Sum of the lengths of `frames`.
    bytes: usize,
    budget: HistoryBudget,
}

/// The events with `after < seq < before`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SeqRange {
    pub after: u64,
    pub before: u64,
}

/// Which events a replay must send, and where they come from.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ReplayPlan {
    /// Events no longer in memory, to be read from the journal first.
    pub from_journal: Option<SeqRange>,
    /// The retained frames to send after the journal part, in seq order.
    pub frames: Vec<Frame>,
    /// Seq of the first frame in `frames`.
    pub first_frame_seq: u64,
    /// The `caught_up` seq to send at the end.
    pub caught_up: u64,
    /// Set when older events were requested but are gone (no journal):
    /// the oldest seq that will be sent.
    pub gap_oldest: Option<u64>,
}

/// A page of history to answer a `history` request with: the part held
/// in memory and the older part to read from the journal.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PagePlan {
    /// Events to read from the journal first (older than `frames`).
    pub from_journal: Option<SeqRange>,
    /// The retained frames of the page, in seq order.
    pub frames: Vec<Frame>,
    /// Seq of `frames[0]`.
    pub first_frame_seq: u64,
    /// The oldest seq that can be served at all.
    pub oldest: u64,
    pub last_seq: u64,
    /// Whether the page is the newest events of its range (else the
    /// oldest): which end a byte budget trims.
    pub newest: bool,
}

/// Events a `history` page holds at most, and without a `limit`.
pub const PAGE_LIMIT_MAX: usize = 10_000;
pub const PAGE_LIMIT_DEFAULT: usize = 2_000;

/// The number of events a page asked for with `limit` may hold.
pub fn page_limit(limit: Option<usize>) -> usize {
    limit.unwrap_or(PAGE_LIMIT_DEFAULT).clamp(1, PAGE_LIMIT_MAX)
}

impl EventLog {
    /// Plans a page of at most `limit` events of `range`: its newest
    /// ones (`newest`) or its oldest. `journal` says whether events that
    /// fell out of memory can be read from disk.
    pub fn plan_page(
        &self,
        range: SeqRange,
        limit: usize,
        newest: bool,
        journal: bool,
    ) -> PagePlan {
        let oldest = if journal { 1 } else { self.first_seq };
        let lo = range.after.max(oldest - 1) + 1;
        let hi = range.before.min(self.last_seq + 1);
        let mut plan = PagePlan {
            oldest,
            last_seq: self.last_seq,
            newest,
            first_frame_seq: hi,
            ..PagePlan::default()
        };
        if lo >= hi {
            return plan;
        }
        let limit = limit as u64;
        let (a, b) = if newest {
            (hi.saturating_sub(limit).max(lo), hi)
        } else {
            (lo, lo.saturating_add(limit).min(hi))
        };
        let in_memory = a.max(self.first_seq);
        if in_memory < b {
            let skip = (in_memory - self.first_seq) as usize;
            let take = (b - in_memory) as usize;
            plan.frames = self.frames.range(skip..skip + take).cloned().collect();
            plan.first_frame_seq = in_memory;
        }
        if a < self.first_seq.min(b) {
            plan.from_journal = Some(SeqRange {
                after: a - 1,
                before: self.first_seq.min(b),
            });
        }
        plan
    }

    pub fn new(budget: HistoryBudget) -> Self {
        EventLog {
            frames: VecDeque::new(),
            first_seq: 1,
            last_seq: 0,
            bytes: 0,
            budget,
        }
    }

    /// An empty window whose next event is `last_seq + 1` (a journal read
    /// from the middle fills it from there).
    pub fn after(budget: HistoryBudget, last_seq: u64) -> Self {
        EventLog {
            first_seq: last_seq + 1,
            last_seq,
            ..EventLog::new(budget)
        }
    }

    /// The lengths of the frames held, oldest first.
    pub fn frame_lens(&self) -> impl Iterator<Item = usize> + '_ {
        self.frames.iter().map(Bytes::len)
    }

    pub fn budget(&self) -> HistoryBudget {
        self.budget
    }

    pub fn window(&self) -> HistoryWindow {
        HistoryWindow {
            first_seq: self.first_seq,
            last_seq: self.last_seq,
            frames: self.frames.len(),
            bytes: self.bytes,
        }
    }

    pub fn last_seq(&self) -> u64 {
        self.last_seq
    }

    pub fn next_seq(&self) -> u64 {
        self.last_seq + 1
    }

    /// Oldest seq still held in memory (`last_seq + 1` when none is).
    pub fn first_retained(&self) -> u64 {
        self.first_seq
    }

    pub fn push(&mut self, seq: u64, frame: Frame) {
        assert_eq!(seq, self.last_seq + 1, "event seqs must be contiguous");
        self.bytes += frame.len();
        self.frames.push_back(frame);
        self.last_seq = seq;
        while self.frames.len() > 1 && self.budget.exceeded_by(self.frames.len(), self.bytes) {
            let oldest = self.frames.pop_front().expect("more than one frame");
            self.bytes -= oldest.len();
            self.first_seq += 1;
        }
    }

    /// Plans a replay of every event with `seq > since`. `journal` says
    /// whether events that fell out of memory can be read from disk.
    pub fn plan_replay(&self, since: u64, journal: bool) -> ReplayPlan {
        let caught_up = self.last_seq;
        if since >= self.last_seq {
            return ReplayPlan {
                caught_up,
                first_frame_seq: self.last_seq + 1,
                ..ReplayPlan::default()
            };
        }
        let wanted_from = since + 1;
        let (from_journal, gap_oldest, skip) = if wanted_from >= self.first_seq {
            (None, None, (wanted_from - self.first_seq) as usize)
        } else if journal {
            let range = SeqRange {
                after: since,
                before: self.first_seq,
            };
            (Some(range), None, 0)
        } else {
            (None, Some(self.first_seq), 0)
        };
        ReplayPlan {
            from_journal,
            frames: self.frames.iter().skip(skip).cloned().collect(),
            first_frame_seq: self.first_seq + skip as u64,
            caught_up,
            gap_oldest,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn log_with(retain: usize, n: u64) -> EventLog {
        let mut log = EventLog::new(HistoryBudget {
            bytes: usize::MAX,
            frames: retain,
        });
        for seq in 1..=n {
            log.push(seq, Bytes::from(seq.to_string()));
        }
        log
    }

    fn seqs(plan: &ReplayPlan) -> Vec<String> {
        plan.frames
            .iter()
            .map(|f| String::from_utf8(f.to_vec()).unwrap())
            .collect()
    }

    #[test]
    fn replays_exactly_what_follows_since() {
        let log = log_with(10, 5);
        let plan = log.plan_replay(2, false);
        assert_eq!(seqs(&plan), ["3", "4", "5"]);
        assert_eq!(plan.first_frame_seq, 3);
        assert_eq!(plan.caught_up, 5);
        assert_eq!(plan.from_journal, None);
        assert!(log.plan_replay(5, false).frames.is_empty());
        assert!(log.plan_replay(99, false).frames.is_empty());
        assert_eq!(seqs(&log.plan_replay(0, false)).len(), 5);
    }

    #[test]
    fn old_events_come_from_the_journal_or_report_a_gap() {
        let log = log_with(3, 10);
        assert_eq!(log.first_retained(), 8);
        let plan = log.plan_replay(2, true);
        assert_eq!(
            plan.from_journal,
            Some(SeqRange {
                after: 2,
                before: 8
            })
        );
        assert_eq!(seqs(&plan), ["8", "9", "10"]);
        let plan = log.plan_replay(2, false);
        assert_eq!(plan.gap_oldest, Some(8));
        assert_eq!(seqs(&plan), ["8", "9", "10"]);
        // Asking from just before the window needs nothing from disk.
        assert_eq!(log.plan_replay(7, true).from_journal, None);
    }

    fn bytes_log(budget: usize) -> EventLog {
        EventLog::new(HistoryBudget {
            bytes: budget,
            frames: usize::MAX,
        })
    }

    #[test]
    fn evicts_the_oldest_frames_while_over_the_byte_budget() {
        let mut log = bytes_log(10);
        for seq in 1..=3 {
            log.push(seq, Bytes::from(vec![b'a'; 4]));
        }
        // 12 bytes > 10: the first frame went.
        let window = log.window();
        assert_eq!((window.first_seq, window.last_seq), (2, 3));
        assert_eq!((window.frames, window.bytes), (2, 8));
        // A large frame pushes out as many as it must, and no more.
        log.push(4, Bytes::from(vec![b'b'; 6]));
        let window = log.window();
        assert_eq!((window.first_seq, window.frames, window.bytes), (3, 2, 10));
        assert_eq!(seqs(&log.plan_replay(0, false)), ["aaaa", "bbbbbb"]);
        assert_eq!(log.plan_replay(0, true).from_journal.unwrap().before, 3);
    }

    #[test]
    fn keeps_the_newest_frame_even_when_it_alone_exceeds_the_budget() {
        let mut log = bytes_log(10);
        log.push(1, Bytes::from(vec![b'a'; 4]));
        log.push(2, Bytes::from(vec![b'b'; 50]));
        let window = log.window();
        assert_eq!((window.first_seq, window.frames, window.bytes), (2, 1, 50));
        log.push(3, Bytes::from(vec![b'c'; 1]));
        assert_eq!(log.window().first_seq, 3, "the oversized frame goes next");
    }

    #[test]
    fn the_count_cap_still_bounds_a_flood_of_tiny_frames() {
        let mut log = EventLog::new(HistoryBudget {
            bytes: 1 << 20,
            frames: 5,
        });
        for seq in 1..=100 {
            log.push(seq, Bytes::from_static(b"x"));
        }
        assert_eq!(log.window().frames, 5);
        assert_eq!(log.window().bytes, 5);
    }

    #[test]
    fn pages_take_the_newest_or_oldest_of_a_range_from_memory_and_disk() {
        let log = log_with(3, 10);
        let range = |after, before| SeqRange { after, before };
        let plan = log.plan_page(range(0, 10), 4, true, true);
        assert_eq!(
            seqs(&ReplayPlan {
                frames: plan.frames.clone(),
                ..Default::default()
            }),
            ["8", "9"]
        );
        assert_eq!(plan.from_journal, Some(range(5, 8)));
        let plan = log.plan_page(range(2, u64::MAX), 3, false, true);
        assert_eq!(plan.from_journal, Some(range(2, 6)));
        assert!(plan.frames.is_empty());
        let plan = log.plan_page(range(0, u64::MAX), 5, true, false);
        assert_eq!(
            (plan.oldest, plan.from_journal, plan.frames.len()),
            (8, None, 3)
        );
        assert!(log.plan_page(range(9, 10), 5, true, true).frames.is_empty());
    }

    #[test]
    #[should_panic(expected = "contiguous")]
    fn refuses_a_gap_in_numbering() {
        let mut log = log_with(3, 2);
        log.push(4, Bytes::new());
    }
}
