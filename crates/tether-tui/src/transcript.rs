//! The transcript: blocks of styled text and a view onto them.
//!
//! Long sessions stay fast because nothing is wrapped ahead of time: the
//! view is anchored at a (block, line, row) position and only the lines on
//! screen are wrapped when a frame is drawn. Resizing costs nothing until
//! the next draw, and the draw touches only what is visible.

use ratatui::style::Style;
use ratatui::text::Line;

use super::text::StyledText;
use super::theme;
use super::wrap::{line_height, wrap_line};

mod cursor;
mod layout;
mod search;
mod window;

pub use layout::Relayout;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BlockKind {
    User,
    Assistant,
    /// Assistant text still streaming in (deltas).
    Streaming,
    Thinking,
    ToolUse,
    ToolResult,
    Stdout,
    Stderr,
    Permission,
    Notice,
    TurnEnd,
}

#[derive(Debug, Clone)]
pub struct Block {
    pub kind: BlockKind,
    pub seq: u64,
    text: StyledText,
    /// Byte offset where each line starts.
    starts: Vec<u32>,
    /// What the block shows while collapsed (thinking, a tool call's
    /// summary, the head of a long result); None: never collapsed.
    collapsed: Option<Box<Collapsed>>,
    /// Opened by the reader (thinking also opens with `t` for all).
    expanded: bool,
    /// How to lay the text out again for another width (a reply with a
    /// table); None: wrapping when drawn is all a width changes.
    relayout: Option<Box<layout::Relayout>>,
}

#[derive(Debug, Clone)]
struct Collapsed {
    text: StyledText,
    starts: Vec<u32>,
}

fn line_starts(text: &str) -> Vec<u32> {
    if text.is_empty() {
        return Vec::new();
    }
    // Most blocks have a few lines: found in one pass into a buffer on
    // the stack, then copied into an exactly sized list. More lines than
    // the buffer holds are counted first instead.
    let mut buffer = [0u32; 64];
    let mut lines = 1;
    for at in newlines(text) {
        if lines == buffer.len() {
            let mut starts = Vec::with_capacity(newlines(text).count() + 1);
            starts.push(0);
            starts.extend(newlines(text).map(|i| i as u32 + 1));
            return starts;
        }
        buffer[lines] = at as u32 + 1;
        lines += 1;
    }
    buffer[..lines].to_vec()
}

/// Byte offsets of the newlines in `text`.
fn newlines(text: &str) -> memchr::Memchr<'_> {
    memchr::memchr_iter(b'\n', text.as_bytes())
}

impl Block {
    pub fn new(kind: BlockKind, seq: u64, text: StyledText) -> Self {
        let summary = (kind == BlockKind::Thinking).then(|| {
            let lines = text.line_count();
            StyledText::plain(
                format!("✻ thinking ({lines} lines, press t in the transcript to expand)"),
                theme::DIM,
            )
        });
        match summary {
            Some(summary) => Block::collapsible(kind, seq, text, summary),
            None => Block {
                kind,
                seq,
                starts: line_starts(&text.text),
                text,
                collapsed: None,
                expanded: false,
                relayout: None,
            },
        }
    }

    /// A block shown as `summary` until the reader expands it to `text`.
    pub fn collapsible(kind: BlockKind, seq: u64, text: StyledText, summary: StyledText) -> Self {
        Block {
            kind,
            seq,
            starts: line_starts(&text.text),
            text,
            collapsed: Some(Box::new(Collapsed {
                starts: line_starts(&summary.text),
                text: summary,
            })),
            expanded: false,
            relayout: None,
        }
    }

    /// Whether Enter on it shows more (or less).
    pub fn is_collapsible(&self) -> bool {
        self.collapsed.is_some()
    }

    pub fn is_expanded(&self) -> bool {
        self.expanded
    }

    pub fn text(&self) -> &StyledText {
        &self.text
    }

    /// Byte offsets where the text's lines start (made as it grew).
    pub fn line_starts(&self) -> &[u32] {
        &self.starts
    }

    /// Appends text (continued output); keeps the line index current.
    pub fn extend(&mut self, more: &StyledText) {
        self.extend_with(|text| text.append(more));
    }

    /// Appends what `fill` writes onto the end of the text; keeps the line
    /// index current.
    pub fn extend_with(&mut self, fill: impl FnOnce(&mut StyledText)) {
        let base = self.text.text.len();
        fill(&mut self.text);
        let added = &self.text.text[base..];
        if self.starts.is_empty() && !added.is_empty() {
            self.starts.push(0);
        }
        let offset = base as u32 + 1;
        self.starts
            .extend(newlines(added).map(|i| offset + i as u32));
    }

    /// The text shown and its line starts. A final newline does not make
    /// an empty last line (output chunks usually end with one).
    fn shown(&self, show_thinking: bool) -> (&StyledText, &[u32]) {
        let open = self.expanded || (show_thinking && self.kind == BlockKind::Thinking);
        let (text, starts) = match &self.collapsed {
            Some(collapsed) if !open => (&collapsed.text, &collapsed.starts[..]),
            _ => (&self.text, &self.starts[..]),
        };
        let starts = match starts.split_last() {
            Some((last, rest)) if *last as usize == text.text.len() && !rest.is_empty() => rest,
            _ => starts,
        };
        (text, starts)
    }
}

/// A position in the transcript: a row of a wrapped line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Pos {
    pub block: usize,
    pub line: usize,
    pub row: usize,
}

#[derive(Debug, Clone, Default)]
pub struct Search {
    pub query: String,
    /// (block, line) of every matching line, in order.
    pub matches: Vec<(usize, usize)>,
    pub current: usize,
}

#[derive(Debug, Default)]
pub struct Transcript {
    blocks: Vec<Block>,
    /// Raw text of the assistant reply streaming in, and its block.
    streaming: Option<(usize, String)>,
    /// Following the tail (new output scrolls into view).
    follow: bool,
    /// Top of the view when not following.
    top: Pos,
    pub show_thinking: bool,
    pub search: Option<Search>,
    /// The block cursor (↑/↓ in the transcript pane).
    selected: Option<usize>,
    /// Size of the last drawn view.
    width: u16,
    height: u16,
    /// Blocks laid out for a width (see [`Relayout`]), and that width.
    laid_out: Vec<usize>,
    layout_width: u16,
    /// The bytes of blocks kept, and what is counted of it (see [`window`]).
    budget: window::Budget,
}

impl Transcript {
    pub fn new() -> Self {
        Transcript {
            follow: true,
            ..Default::default()
        }
    }

    pub fn blocks(&self) -> &[Block] {
        &self.blocks
    }

    pub fn len(&self) -> usize {
        self.blocks.len()
    }

    pub fn is_empty(&self) -> bool {
        self.blocks.is_empty()
    }

    pub fn following(&self) -> bool {
        self.follow
    }

    pub fn clear(&mut self) {
        *self = Transcript {
            show_thinking: self.show_thinking,
            budget: window::Budget::new(self.budget.limit),
            ..Transcript::new()
        };
    }

    pub fn push(&mut self, block: Block) {
        self.blocks.push(block);
        self.note_layout(self.blocks.len() - 1);
    }

    /// The newest block, if any.
    pub fn last(&self) -> Option<&Block> {
        self.blocks.last()
    }

    /// Puts `block` in the place of the newest one (a line that supersedes
    /// the one before it); the view's positions stay valid.
    pub fn replace_last(&mut self, block: Block) {
        match self.blocks.last_mut() {
            Some(last) => *last = block,
            None => self.blocks.push(block),
        }
        self.note_layout(self.blocks.len() - 1);
    }

    /// Puts `block` in the place of the one at `index` (a cell redrawn in
    /// place); false when there is no such block.
    pub fn replace(&mut self, index: usize, block: Block) -> bool {
        match self.blocks.get_mut(index) {
            Some(old) => {
                *old = block;
                self.note_layout(index);
                // The view's anchor may point past the block's new last
                // line (long output folded while scrolled into it), and
                // the search's matches into lines it no longer has.
                if !self.follow && self.top.block == index {
                    self.top = Pos {
                        block: index,
                        line: 0,
                        row: 0,
                    };
                }
                self.refresh_search();
                true
            }
            None => false,
        }
    }

    /// Shows the block at `index` as `summary` until it is expanded: its
    /// text is kept where it is (no copy of a long output), the view and
    /// the search stay valid as for [`Transcript::replace`].
    pub fn fold(&mut self, index: usize, summary: StyledText) -> bool {
        let Some(block) = self.blocks.get_mut(index) else {
            return false;
        };
        block.collapsed = Some(Box::new(Collapsed {
            starts: line_starts(&summary.text),
            text: summary,
        }));
        block.expanded = false;
        self.note_layout(index);
        if !self.follow && self.top.block == index {
            self.top = Pos {
                block: index,
                line: 0,
                row: 0,
            };
        }
        self.refresh_search();
        true
    }

    /// Appends to the last block when it is of `kind` (continued output),
    /// otherwise starts a new block.
    pub fn push_or_extend(&mut self, kind: BlockKind, seq: u64, text: StyledText) {
        self.push_or_extend_with(kind, seq, |out| out.append(&text));
    }

    /// [`Transcript::push_or_extend`] with the text written by `fill`
    /// straight onto the end of the block it continues (output arrives in
    /// chunks of tens of KB; this saves copying each one once more).
    pub fn push_or_extend_with(
        &mut self,
        kind: BlockKind,
        seq: u64,
        fill: impl FnOnce(&mut StyledText),
    ) {
        match self.blocks.last_mut() {
            Some(last) if last.kind == kind && self.streaming.is_none() && !last.full() => {
                last.extend_with(fill)
            }
            _ => {
                let mut text = StyledText::default();
                fill(&mut text);
                self.push(Block::new(kind, seq, text));
            }
        }
    }

    /// A streaming fragment: accumulates and re-renders the reply so far.
    pub fn stream_delta(&mut self, seq: u64, fragment: &str, render: impl Fn(&str) -> StyledText) {
        let (index, raw) = match self.streaming.take() {
            Some((index, mut raw)) => {
                raw.push_str(fragment);
                (index, raw)
            }
            None => {
                self.blocks
                    .push(Block::new(BlockKind::Streaming, seq, StyledText::default()));
                (self.blocks.len() - 1, fragment.to_owned())
            }
        };
        self.blocks[index] = Block::new(BlockKind::Streaming, seq, render(&raw));
        self.streaming = Some((index, raw));
    }

    /// A complete reply: replaces what streamed in since the last one.
    pub fn finish_stream(&mut self, block: Block) {
        match self.streaming.take() {
            Some((index, _)) if index < self.blocks.len() => {
                self.blocks[index] = block;
                self.note_layout(index);
            }
            _ => self.push(block),
        }
    }

    // ---- the view --------------------------------------------------------

    fn line_count(&self, block: usize) -> usize {
        self.blocks[block].shown(self.show_thinking).1.len()
    }

    fn line_range(&self, block: usize, line: usize) -> (&StyledText, usize, usize) {
        let (text, starts) = self.blocks[block].shown(self.show_thinking);
        let start = starts[line] as usize;
        let end = match starts.get(line + 1) {
            Some(next) => *next as usize - 1,
            None => text.text.len() - usize::from(text.text.ends_with('\n')),
        };
        (text, start, end.max(start))
    }

    fn height_of(&self, block: usize, line: usize, width: u16) -> usize {
        let (text, start, end) = self.line_range(block, line);
        line_height(text, start, end, width)
    }

    /// The last line of the transcript, as a position of its last row.
    fn end(&self, width: u16) -> Option<Pos> {
        let block = (0..self.blocks.len())
            .rev()
            .find(|b| self.line_count(*b) > 0)?;
        let line = self.line_count(block) - 1;
        let row = self.height_of(block, line, width).saturating_sub(1);
        Some(Pos { block, line, row })
    }

    /// The line before (block, line), skipping empty blocks.
    fn prev_line(&self, block: usize, line: usize) -> Option<(usize, usize)> {
        if line > 0 {
            return Some((block, line - 1));
        }
        let block = (0..block).rev().find(|b| self.line_count(*b) > 0)?;
        Some((block, self.line_count(block) - 1))
    }

    fn next_line(&self, block: usize, line: usize) -> Option<(usize, usize)> {
        if line + 1 < self.line_count(block) {
            return Some((block, line + 1));
        }
        let block = (block + 1..self.blocks.len()).find(|b| self.line_count(*b) > 0)?;
        Some((block, 0))
    }

    /// Moves `pos` back by `n` rows (stopping at the start).
    fn back(&self, mut pos: Pos, mut n: usize, width: u16) -> Pos {
        while n > 0 {
            if pos.row >= n {
                pos.row -= n;
                break;
            }
            n -= pos.row + 1;
            match self.prev_line(pos.block, pos.line) {
                Some((block, line)) => {
                    let rows = self.height_of(block, line, width);
                    pos = Pos {
                        block,
                        line,
                        row: rows - 1,
                    };
                }
                None => {
                    pos.row = 0;
                    break;
                }
            }
        }
        pos
    }

    /// Moves `pos` forward by `n` rows; None when that passes the end.
    fn forward(&self, mut pos: Pos, mut n: usize, width: u16) -> Option<Pos> {
        while n > 0 {
            let rows = self.height_of(pos.block, pos.line, width);
            if pos.row + n < rows {
                pos.row += n;
                return Some(pos);
            }
            n -= rows - pos.row;
            let (block, line) = self.next_line(pos.block, pos.line)?;
            pos = Pos {
                block,
                line,
                row: 0,
            };
        }
        Some(pos)
    }

    /// The top row of the view for a view of `height` rows.
    fn top_for(&self, width: u16, height: u16) -> Pos {
        if self.follow {
            match self.end(width) {
                Some(end) => self.back(end, height.saturating_sub(1) as usize, width),
                None => Pos::default(),
            }
        } else {
            self.top
        }
    }

    pub fn scroll_up(&mut self, rows: usize) {
        let (width, height) = (self.width.max(1), self.height.max(1));
        if self.blocks.is_empty() {
            return;
        }
        let top = self.top_for(width, height);
        self.top = self.back(top, rows, width);
        self.follow = false;
    }

    pub fn scroll_down(&mut self, rows: usize) {
        if self.follow {
            return;
        }
        let (width, height) = (self.width.max(1), self.height.max(1));
        match self.forward(self.top, rows, width) {
            Some(pos) => {
                self.top = pos;
                self.refollow_if_at_end(width, height);
            }
            None => self.follow = true,
        }
    }

    /// Resumes following when the view already shows the last row.
    fn refollow_if_at_end(&mut self, width: u16, height: u16) {
        if self.forward(self.top, height as usize, width).is_none() {
            self.follow = true;
        }
    }

    pub fn page_up(&mut self) {
        self.scroll_up(self.height.saturating_sub(1).max(1) as usize);
    }

    pub fn page_down(&mut self) {
        self.scroll_down(self.height.saturating_sub(1).max(1) as usize);
    }

    pub fn scroll_to_top(&mut self) {
        if let Some(block) = (0..self.blocks.len()).find(|b| self.line_count(*b) > 0) {
            self.top = Pos {
                block,
                line: 0,
                row: 0,
            };
            self.follow = false;
            self.refollow_if_at_end(self.width.max(1), self.height.max(1));
        }
    }

    /// Puts the start of block `block` at the top of the view.
    pub fn jump_to_block(&mut self, block: usize) {
        if block < self.blocks.len() {
            self.top = Pos {
                block,
                line: 0,
                row: 0,
            };
            self.follow = false;
        }
    }

    pub fn scroll_to_bottom(&mut self) {
        self.follow = true;
    }

    /// The view is `width` x `height` (the layout's transcript pane):
    /// what scrolling pages by, and what lines are wrapped for.
    pub fn set_view(&mut self, width: u16, height: u16) {
        self.lay_out_for(width);
        let resized = (width, height) != (self.width, self.height);
        self.width = width;
        self.height = height;
        // Grown while scrolled up so that the end shows: follow again,
        // rather than leave the rows under the end blank.
        if resized && !self.follow && width > 0 && height > 0 && !self.blocks.is_empty() {
            self.refollow_if_at_end(width, height);
        }
    }

    /// Draws the visible rows for a view of `width` x `height`.
    pub fn visible_lines(&mut self, width: u16, height: u16) -> Vec<Line<'static>> {
        self.set_view(width, height);
        let mut out = Vec::with_capacity(height as usize);
        if self.blocks.is_empty() || width == 0 || height == 0 {
            return out;
        }
        let top = self.top_for(width, height);
        let mut at = Some((top.block, top.line));
        let mut skip = top.row;
        while let Some((block, line)) = at {
            if out.len() >= height as usize {
                break;
            }
            let (text, start, end) = self.line_range(block, line);
            let rows = wrap_line(text, start, end, width);
            for row in rows.into_iter().skip(skip) {
                if out.len() >= height as usize {
                    break;
                }
                out.push(self.mark_selected(block, self.highlight(block, line, row)));
            }
            skip = 0;
            at = self.next_line(block, line);
        }
        out
    }
}

/// A one-line text in a style (a convenience for building blocks).
pub fn styled(text: impl Into<String>, style: Style) -> StyledText {
    StyledText::plain(text, style)
}

#[cfg(test)]
mod tests;
