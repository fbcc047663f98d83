//! A transcript kept within a byte budget: the oldest blocks go once it
//! holds more (the host serves them again on request, see `app::paging`),
//! and pages of older or newer blocks are joined on at either end. Every
//! index into the blocks (the view's anchor, the cursor, the search's
//! matches, the blocks laid out for a width, the streaming reply) moves
//! with them.

use super::{Block, Pos, Search, Transcript};

/// How much a transcript may hold, and what it holds as far as counted.
#[derive(Debug, Default, Clone, Copy)]
pub(super) struct Budget {
    /// Bytes of blocks kept; 0: no bound.
    pub(super) limit: usize,
    /// Blocks `..counted` are in `bytes` (the newest one grows in place
    /// and is weighed when checked).
    counted: usize,
    bytes: usize,
}

impl Budget {
    pub(super) fn new(limit: usize) -> Self {
        Budget {
            limit,
            ..Budget::default()
        }
    }
}

/// Heap a block of no text still takes (its struct, the vectors' headers).
const BLOCK_OVERHEAD: usize = 160;

/// Output continues a block up to this size, then (at a line's end)
/// starts another: a window drops whole blocks, and one command's output
/// can be gigabytes.
const FULL_BLOCK: usize = 128 << 10;

impl Block {
    /// Whether continued output starts a block of its own.
    pub(super) fn full(&self) -> bool {
        self.text.text.len() >= FULL_BLOCK && self.text.text.ends_with('\n')
    }

    /// Roughly the heap this block holds.
    pub fn weight(&self) -> usize {
        let text = |t: &crate::tui::text::StyledText| {
            t.text.capacity()
                + t.runs.capacity() * std::mem::size_of::<crate::tui::text::StyleRun>()
        };
        let collapsed = self
            .collapsed
            .as_ref()
            .map_or(0, |c| text(&c.text) + c.starts.capacity() * 4);
        let relayout = self.relayout.as_ref().map_or(0, |r| r.source_len());
        BLOCK_OVERHEAD + text(&self.text) + self.starts.capacity() * 4 + collapsed + relayout
    }
}

impl Transcript {
    /// Keeps at most `bytes` of blocks (0: everything), from the next
    /// [`Transcript::enforce_budget`] on.
    pub fn set_budget(&mut self, bytes: usize) {
        self.budget = Budget::new(bytes);
    }

    pub fn budget(&self) -> usize {
        self.budget.limit
    }

    /// Roughly the heap the blocks hold (counts them all).
    pub fn weight(&self) -> usize {
        self.blocks.iter().map(Block::weight).sum()
    }

    /// Drops the oldest blocks while the transcript holds more than its
    /// budget, down to three quarters of it (so the next check that
    /// drops is a quarter of the budget away). Blocks at or below the top
    /// of the view stay, unless they alone hold twice the budget (a flood
    /// while the reader looks at the oldest lines). How many went:
    /// whoever keeps block indices moves them by it.
    pub fn enforce_budget(&mut self) -> usize {
        self.trim_front(false)
    }

    /// [`Transcript::enforce_budget`] that never drops what is on screen
    /// or below it (pages added after the view, whose size is bounded).
    pub fn enforce_budget_above_view(&mut self) -> usize {
        self.trim_front(true)
    }

    fn trim_front(&mut self, spare_view: bool) -> usize {
        let limit = self.budget.limit;
        let len = self.blocks.len();
        if limit == 0 || len < 2 {
            return 0;
        }
        while self.budget.counted + 1 < len {
            self.budget.bytes += self.blocks[self.budget.counted].weight();
            self.budget.counted += 1;
        }
        let newest = self.blocks[len - 1].weight();
        if self.budget.bytes + newest <= limit {
            return 0;
        }
        // Exact now: blocks changed in place since they were counted.
        let weights: Vec<usize> = self.blocks.iter().map(Block::weight).collect();
        let total: usize = weights.iter().sum();
        self.budget.bytes = total - newest;
        self.budget.counted = len - 1;
        if total <= limit {
            return 0;
        }
        let mut keep_from = len - 1;
        if !self.follow && (spare_view || total <= 2 * limit) {
            keep_from = keep_from.min(self.top.block);
        }
        if let Some((streaming, _)) = &self.streaming {
            keep_from = keep_from.min(*streaming);
        }
        let (mut n, mut left) = (0, total);
        while n < keep_from && left > limit / 4 * 3 {
            left -= weights[n];
            n += 1;
        }
        self.drop_front(n);
        n
    }

    /// Drops the newest blocks below the view while the transcript holds
    /// more than its budget (pages of older events came in before them);
    /// when any went, the seq of the first event they showed (what is
    /// kept ends before it: a block's seq is its first event's, and one
    /// block may show many).
    pub fn enforce_budget_back(&mut self) -> Option<u64> {
        let limit = self.budget.limit;
        if limit == 0 {
            return None;
        }
        let weights: Vec<usize> = self.blocks.iter().map(Block::weight).collect();
        let (len, total) = (weights.len(), weights.iter().sum::<usize>());
        if total <= limit {
            return None;
        }
        let bottom = self.view_bottom().map_or(0, |(block, _)| block);
        let (mut n, mut left) = (0, total);
        while len - n > bottom + 1 && left > limit / 4 * 3 {
            left -= weights[len - 1 - n];
            n += 1;
        }
        let first_dropped = self.blocks[len - n..]
            .iter()
            .map(|b| b.seq)
            .filter(|seq| *seq > 0)
            .min();
        self.drop_back(n);
        first_dropped
    }

    /// The size of the view last drawn.
    pub fn view_size(&self) -> (u16, u16) {
        (self.width, self.height)
    }

    /// Removes the `n` oldest blocks.
    pub fn drop_front(&mut self, n: usize) {
        let n = n.min(self.blocks.len());
        if n == 0 {
            return;
        }
        let dropped: usize = self.blocks.drain(..n).map(|b| b.weight()).sum();
        self.budget.counted = self.budget.counted.saturating_sub(n);
        self.budget.bytes = self.budget.bytes.saturating_sub(dropped);
        self.shift(|at| at.checked_sub(n));
        if self.blocks.is_empty() {
            self.follow = true;
        }
    }

    /// Removes the `n` newest blocks (a page of older ones came in and the
    /// view is far from them).
    pub fn drop_back(&mut self, n: usize) {
        let len = self.blocks.len().saturating_sub(n);
        if len == self.blocks.len() {
            return;
        }
        self.blocks.truncate(len);
        self.budget = Budget::new(self.budget.limit);
        self.shift(|at| (at < len).then_some(at));
        if !self.follow && self.top.block >= len {
            self.follow = true;
        }
    }

    /// Puts `older`'s blocks before these; the view stays on what it shows.
    pub fn prepend(&mut self, older: Transcript) {
        let k = older.blocks.len();
        self.pin_view();
        self.shift(|at| Some(at + k));
        let mut blocks = older.blocks;
        blocks.append(&mut self.blocks);
        self.blocks = blocks;
        let mut laid_out = older.laid_out;
        laid_out.append(&mut self.laid_out);
        self.laid_out = laid_out;
        self.layout_width = 0;
        self.budget = Budget::new(self.budget.limit);
        self.refresh_search();
    }

    /// Puts `newer`'s blocks after these; the view stays on what it shows.
    pub fn append(&mut self, newer: Transcript) {
        let k = self.blocks.len();
        self.pin_view();
        self.laid_out.extend(newer.laid_out.iter().map(|at| at + k));
        self.blocks.extend(newer.blocks);
        self.layout_width = 0;
        self.refresh_search();
    }

    /// Anchors the view where it is (a transcript that followed its end
    /// stays on the rows it shows when more is added after them).
    pub fn pin_view(&mut self) {
        if self.follow && !self.blocks.is_empty() {
            let (width, height) = (self.width.max(1), self.height.max(1));
            self.top = self.top_for(width, height);
            self.follow = false;
        }
    }

    /// Follows the end when the view already shows the last row (pages
    /// joined on may leave rows under the end blank).
    pub fn follow_if_at_end(&mut self) {
        if !self.follow && !self.blocks.is_empty() {
            self.refollow_if_at_end(self.width.max(1), self.height.max(1));
        }
    }

    /// Moves every kept block index by `map` (None: the block is gone).
    fn shift(&mut self, map: impl Fn(usize) -> Option<usize>) {
        match map(self.top.block) {
            Some(block) => self.top.block = block,
            None => self.top = Pos::default(),
        }
        self.selected = self.selected.and_then(&map);
        self.laid_out = self.laid_out.iter().filter_map(|at| map(*at)).collect();
        if let Some((index, raw)) = self.streaming.take() {
            self.streaming = map(index).map(|index| (index, raw));
        }
        if let Some(search) = self.search.take() {
            let current = search.matches.get(search.current).copied();
            let matches: Vec<(usize, usize)> = search
                .matches
                .iter()
                .filter_map(|(block, line)| Some((map(*block)?, *line)))
                .collect();
            let current = current
                .and_then(|(block, line)| Some((map(block)?, line)))
                .and_then(|m| matches.iter().position(|x| *x == m))
                .unwrap_or(0);
            self.search = Some(Search {
                query: search.query,
                matches,
                current,
            });
        }
    }

    /// The oldest event seq the blocks show (local notices, seq 0, aside).
    pub fn first_seq(&self) -> Option<u64> {
        self.blocks.iter().map(|b| b.seq).filter(|s| *s > 0).min()
    }

    /// The newest event seq the blocks show.
    pub fn last_seq(&self) -> Option<u64> {
        self.blocks.iter().map(|b| b.seq).max().filter(|s| *s > 0)
    }

    /// Whether the view's top row is the transcript's first.
    pub fn at_start(&self) -> bool {
        if self.blocks.is_empty() {
            return true;
        }
        let (width, height) = (self.width.max(1), self.height.max(1));
        let first = (0..self.blocks.len()).find(|b| self.line_count(*b) > 0);
        let top = self.top_for(width, height);
        first.is_none_or(|block| {
            top.block < block || (top.block == block && top.line == 0 && top.row == 0)
        })
    }

    /// The block at index `block` shown at the top of the view, when one
    /// of the blocks shows event `seq`.
    pub fn jump_to_seq(&mut self, seq: u64) -> bool {
        match self.blocks.iter().position(|b| b.seq >= seq) {
            Some(block) => {
                self.jump_to_block(block);
                true
            }
            None => false,
        }
    }

    /// Makes the current search's match the newest one (or the one on
    /// block `block` and after) and shows it.
    pub fn search_last_match(&mut self) -> bool {
        let Some(search) = &mut self.search else {
            return false;
        };
        if search.matches.is_empty() {
            return false;
        }
        search.current = search.matches.len() - 1;
        self.jump_to_match();
        true
    }

    /// Makes the current search's match the oldest one and shows it.
    pub fn search_first_match(&mut self) -> bool {
        let Some(search) = &mut self.search else {
            return false;
        };
        if search.matches.is_empty() {
            return false;
        }
        search.current = 0;
        self.jump_to_match();
        true
    }

    /// Whether the current match is the oldest (stepping older leaves
    /// the blocks held).
    pub fn at_first_match(&self) -> bool {
        self.search
            .as_ref()
            .is_none_or(|s| s.matches.is_empty() || s.current == 0)
    }

    /// Whether the current match is the newest.
    pub fn at_last_match(&self) -> bool {
        self.search
            .as_ref()
            .is_none_or(|s| s.current + 1 >= s.matches.len())
    }
}
