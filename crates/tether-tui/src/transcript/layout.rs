//! Blocks whose text depends on the pane's width (replies with markdown
//! tables, laid out to fit it): laid out again when the width changes,
//! only those, when the next frame is drawn.

use super::{Block, Pos, Transcript, line_starts};
use crate::tui::text::StyledText;

/// A block's source and how to render it for a width.
#[derive(Debug, Clone)]
pub struct Relayout {
    source: String,
    width: usize,
    render: fn(&str, usize) -> StyledText,
}

impl Relayout {
    /// Bytes of the source kept to lay the block out again.
    pub(super) fn source_len(&self) -> usize {
        self.source.capacity()
    }
}

impl Block {
    /// This block, rendered from `source` by `render` for `width`
    /// columns, is rendered again when drawn at another width.
    pub fn laid_out(
        mut self,
        source: String,
        width: usize,
        render: fn(&str, usize) -> StyledText,
    ) -> Self {
        self.relayout = Some(Box::new(Relayout {
            source,
            width,
            render,
        }));
        self
    }

    /// Renders the text again for `width`; whether it changed.
    fn lay_out(&mut self, width: usize) -> bool {
        let Some(relayout) = self.relayout.as_mut() else {
            return false;
        };
        if relayout.width == width {
            return false;
        }
        relayout.width = width;
        self.text = (relayout.render)(&relayout.source, width);
        self.starts = line_starts(&self.text.text);
        true
    }
}

impl Transcript {
    /// The width blocks are laid out for: the pane's, once drawn.
    pub fn layout_width(&self) -> usize {
        match self.layout_width {
            0 => crate::tui::markdown::DEFAULT_TABLE_WIDTH,
            width => width as usize,
        }
    }

    /// Remembers block `index` when it is laid out for a width.
    pub(super) fn note_layout(&mut self, index: usize) {
        if self.blocks[index].relayout.is_some() && self.laid_out.last() != Some(&index) {
            self.laid_out.push(index);
        }
    }

    /// Lays out again, for `width`, the blocks that depend on it; keeps
    /// the view's anchor and the search's matches within their lines.
    pub(super) fn lay_out_for(&mut self, width: u16) {
        if width == 0 || width == self.layout_width {
            return;
        }
        self.layout_width = width;
        let mut changed = false;
        for at in 0..self.laid_out.len() {
            let index = self.laid_out[at];
            if !self.blocks[index].lay_out(width as usize) {
                continue;
            }
            changed = true;
            if index == self.top.block {
                let lines = self.line_count(index);
                self.top = Pos {
                    block: index,
                    line: self.top.line.min(lines.saturating_sub(1)),
                    row: 0,
                };
            }
        }
        if changed && let Some(search) = self.search.take() {
            let query = search.query;
            let matches = self.find(&query);
            let current = search.current.min(matches.len().saturating_sub(1));
            self.search = Some(super::Search {
                query,
                matches,
                current,
            });
        }
    }
}
