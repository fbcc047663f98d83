//! The block cursor: ↑/↓ in the transcript select a block (a message, a
//! tool call, a result), Enter expands or collapses it. Only the rows on
//! screen are restyled, so a long transcript costs nothing more to draw.

use ratatui::style::{Color, Style};
use ratatui::text::Line;

use super::{Block, Pos, Transcript};

/// The rows of the selected block: a background that stands out from
/// the transcript's without hiding its colours.
const SELECTED_BLOCK: Style = Style::new().bg(Color::Indexed(238));

impl Transcript {
    pub fn selected(&self) -> Option<usize> {
        self.selected
    }

    /// Moves the cursor to the block before or after (the first press
    /// selects the block at the bottom of the view) and shows it.
    pub fn select_block(&mut self, down: bool) {
        let shown = |t: &Self, b: usize| t.line_count(b) > 0;
        let next = match self.selected {
            None => self.view_bottom().map(|(block, _)| block),
            Some(at) if down => (at + 1..self.blocks.len()).find(|b| shown(self, *b)),
            Some(at) => (0..at).rev().find(|b| shown(self, *b)),
        };
        if let Some(block) = next.or(self.selected) {
            self.selected = Some(block);
            self.reveal(block);
        }
    }

    /// Expands or collapses the selected block (with none selected, the
    /// nearest collapsible one on screen or above). False when there is
    /// nothing to expand.
    pub fn toggle_selected(&mut self) -> bool {
        let bottom = self.view_bottom().map_or(0, |(block, _)| block);
        let target = match self.selected {
            Some(block) => Some(block),
            None => (0..=bottom.min(self.blocks.len().saturating_sub(1)))
                .rev()
                .find(|b| self.blocks[*b].is_collapsible()),
        };
        let Some(block) = target.filter(|b| self.blocks[*b].is_collapsible()) else {
            return false;
        };
        self.selected = Some(block);
        let expanded = &mut self.blocks[block].expanded;
        *expanded = !*expanded;
        // The view's anchor may point past the block's new last line.
        if !self.follow && self.top.block == block {
            self.top = Pos {
                block,
                line: 0,
                row: 0,
            };
        }
        self.refresh_search();
        self.reveal(block);
        true
    }

    /// Removes the newest block (it moves elsewhere); the view's anchor,
    /// the cursor and the search stay valid.
    pub fn take_last(&mut self) -> Option<Block> {
        let block = self.blocks.pop()?;
        let len = self.blocks.len();
        if self.selected.is_some_and(|s| s >= len) {
            self.selected = None;
        }
        if self.top.block >= len {
            self.top = Pos::default();
            self.follow = true;
        }
        if let Some((index, _)) = self.streaming
            && index >= len
        {
            self.streaming = None;
        }
        if let Some(search) = &mut self.search {
            search.matches.retain(|(b, _)| *b < len);
            search.current = search.current.min(search.matches.len().saturating_sub(1));
        }
        Some(block)
    }

    /// A drawn row, marked when its block is selected.
    pub(super) fn mark_selected(&self, block: usize, row: Line<'static>) -> Line<'static> {
        if self.selected == Some(block) {
            row.patch_style(SELECTED_BLOCK)
        } else {
            row
        }
    }

    /// Scrolls so the start of `block` is on screen, if it is not.
    fn reveal(&mut self, block: usize) {
        if self.width == 0 || self.height == 0 {
            return; // never drawn: nothing is on screen to keep
        }
        let (width, height) = (self.width.max(1), self.height.max(1));
        let top = self.top_for(width, height);
        let on_screen = (top.block, top.line) <= (block, 0)
            && self
                .view_bottom()
                .is_some_and(|bottom| (block, 0) <= bottom);
        if on_screen {
            return;
        }
        let start = Pos {
            block,
            line: 0,
            row: 0,
        };
        self.top = self.back(start, (height / 3) as usize, width);
        self.follow = false;
        self.refollow_if_at_end(width, height);
    }
}
