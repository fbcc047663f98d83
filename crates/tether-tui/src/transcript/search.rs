//! Searching the transcript: every matching line, the nearest one first,
//! and the matches highlighted in the rows drawn.

use ratatui::style::Style;
use ratatui::text::{Line, Span};

use super::{Pos, Search, Transcript};
use crate::tui::theme;

impl Transcript {
    pub(super) fn highlight(&self, block: usize, line: usize, row: Line<'static>) -> Line<'static> {
        let Some(search) = &self.search else {
            return row;
        };
        if search.query.is_empty() || !search.matches.contains(&(block, line)) {
            return row;
        }
        let current = search.matches.get(search.current) == Some(&(block, line));
        let style = if current {
            theme::CURRENT_MATCH
        } else {
            theme::MATCH
        };
        highlight_matches(row, &search.query, style)
    }

    /// Finds every line containing `query` (ignoring ASCII case) and jumps
    /// to the nearest match at or above the bottom of the view (searching
    /// back from where the reader is), else the first one below it.
    pub fn search(&mut self, query: &str) -> usize {
        self.open_matching(query);
        let matches = self.find(query);
        let count = matches.len();
        let bottom = self.view_bottom();
        let current = matches
            .iter()
            .rposition(|m| bottom.is_none_or(|b| *m <= b))
            .unwrap_or(0);
        self.search = Some(Search {
            query: query.to_owned(),
            current,
            matches,
        });
        self.jump_to_match();
        count
    }

    /// Expands the collapsed blocks whose hidden lines hold `query` (as
    /// a pager opens a fold for a match): a search shows every line it
    /// finds, and counts it.
    fn open_matching(&mut self, query: &str) {
        let needle = query.to_ascii_lowercase();
        if needle.is_empty() {
            return;
        }
        for block in &mut self.blocks {
            let hidden = block.collapsed.is_some() && !block.expanded;
            if hidden && contains_ignore_ascii_case(&block.text.text, &needle) {
                block.expanded = true;
            }
        }
    }

    /// Moves to the next (newer) or previous (older) match.
    pub fn step_match(&mut self, newer: bool) {
        let Some(search) = &mut self.search else {
            return;
        };
        let n = search.matches.len();
        if n == 0 {
            return;
        }
        search.current = if newer {
            (search.current + 1) % n
        } else {
            (search.current + n - 1) % n
        };
        self.jump_to_match();
    }

    pub(super) fn jump_to_match(&mut self) {
        let Some(search) = &self.search else { return };
        let Some(&(block, line)) = search.matches.get(search.current) else {
            return;
        };
        // Show the match a few rows below the top for context.
        let width = self.width.max(1);
        let at = Pos {
            block,
            line,
            row: 0,
        };
        self.top = self.back(at, (self.height / 3) as usize, width);
        self.follow = false;
        // A match on the last screen keeps new output coming into view.
        self.refollow_if_at_end(width, self.height.max(1));
    }

    /// "3/17" for the status line.
    pub fn match_status(&self) -> Option<String> {
        let search = self.search.as_ref()?;
        if search.matches.is_empty() {
            Some(format!("/{}: no match", search.query))
        } else {
            Some(format!(
                "/{}: {}/{}",
                search.query,
                search.current + 1,
                search.matches.len()
            ))
        }
    }
}

fn contains_ignore_ascii_case(haystack: &str, lower_needle: &str) -> bool {
    if lower_needle.len() > haystack.len() {
        return false;
    }
    haystack
        .as_bytes()
        .windows(lower_needle.len())
        .any(|w| w.eq_ignore_ascii_case(lower_needle.as_bytes()))
}

/// Re-styles the occurrences of `query` in one drawn row.
fn highlight_matches(row: Line<'static>, query: &str, style: Style) -> Line<'static> {
    let content: String = row.spans.iter().map(|s| s.content.as_ref()).collect();
    let lower = content.to_ascii_lowercase();
    let needle = query.to_ascii_lowercase();
    let mut hits: Vec<(usize, usize)> = Vec::new();
    let mut from = 0;
    while let Some(at) = lower[from..].find(&needle) {
        hits.push((from + at, from + at + needle.len()));
        from += at + needle.len().max(1);
    }
    if hits.is_empty() {
        return row;
    }
    let mut spans = Vec::new();
    let mut offset = 0;
    for span in row.spans {
        let text = span.content.as_ref();
        let (start, end) = (offset, offset + text.len());
        let mut cut = start;
        for &(a, b) in &hits {
            let (a, b) = (a.max(start), b.min(end));
            if a >= b {
                continue;
            }
            if a > cut {
                spans.push(Span::styled(content[cut..a].to_owned(), span.style));
            }
            spans.push(Span::styled(
                content[a..b].to_owned(),
                span.style.patch(style),
            ));
            cut = b;
        }
        if cut < end {
            spans.push(Span::styled(content[cut..end].to_owned(), span.style));
        }
        offset = end;
    }
    Line::from(spans).style(row.style)
}

impl Transcript {
    /// The (block, line) drawn on the view's last row.
    pub(super) fn view_bottom(&self) -> Option<(usize, usize)> {
        let (width, height) = (self.width.max(1), self.height.max(1));
        if self.follow {
            return self.end(width).map(|p| (p.block, p.line));
        }
        let bottom = self
            .forward(self.top, height as usize - 1, width)
            .or_else(|| self.end(width))?;
        Some((bottom.block, bottom.line))
    }

    /// Finds the matches again (after blocks changed shape), keeping the
    /// current one where it can.
    pub(super) fn refresh_search(&mut self) {
        let Some(old) = self.search.take() else {
            return;
        };
        let matches = self.find(&old.query);
        self.search = Some(Search {
            current: old.current.min(matches.len().saturating_sub(1)),
            matches,
            query: old.query,
        });
    }

    /// Whether a line holds `query`, ignoring ASCII case (as a search
    /// would find it).
    pub fn contains(&self, query: &str) -> bool {
        !self.find(query).is_empty()
    }

    /// (block, line) of every line containing `query`, ignoring ASCII case.
    pub(super) fn find(&self, query: &str) -> Vec<(usize, usize)> {
        let needle = query.to_ascii_lowercase();
        let mut matches = Vec::new();
        if needle.is_empty() {
            return matches;
        }
        for block in 0..self.blocks.len() {
            for line in 0..self.line_count(block) {
                let (text, start, end) = self.line_range(block, line);
                if contains_ignore_ascii_case(&text.text[start..end], &needle) {
                    matches.push((block, line));
                }
            }
        }
        matches
    }
}
