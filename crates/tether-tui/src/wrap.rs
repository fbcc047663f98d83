//! Word wrapping of one logical line of a [`StyledText`].
//!
//! Called per frame for the visible lines only, and `line_height` for many
//! lines when scrolling, so both share one allocation-free breaking routine
//! (which keeps them in exact agreement) with a fast path for printable ASCII.

use ratatui::style::Style;
use ratatui::text::{Line, Span};
use unicode_segmentation::UnicodeSegmentation;
use unicode_width::UnicodeWidthStr;

use super::text::StyledText;

/// Wraps the logical line `text.text[start..end]` (no '\n' inside) to `width` columns.
pub fn wrap_line(text: &StyledText, start: usize, end: usize, width: u16) -> Vec<Line<'static>> {
    let mut rows = Vec::new();
    for_each_row(&text.text[start..end], width, |a, b| {
        rows.push((start + a, start + b))
    });
    let runs = &text.runs;
    // Index of the first run that starts after the current position.
    let mut next_run = runs.partition_point(|r| r.start as usize <= start);
    rows.into_iter()
        .map(|(a, b)| {
            let mut spans = Vec::new();
            let mut pos = a;
            while pos < b {
                while next_run < runs.len() && runs[next_run].start as usize <= pos {
                    next_run += 1;
                }
                let style = match next_run {
                    0 => Style::default(),
                    i => runs[i - 1].style,
                };
                let stop = runs.get(next_run).map_or(b, |r| (r.start as usize).min(b));
                spans.push(Span::styled(text.text[pos..stop].to_owned(), style));
                pos = stop;
            }
            Line::from(spans)
        })
        .collect()
}

/// How many rows [`wrap_line`] would produce, without allocating lines.
pub fn line_height(text: &StyledText, start: usize, end: usize, width: u16) -> usize {
    let mut rows = 0;
    for_each_row(&text.text[start..end], width, |_, _| rows += 1);
    rows
}

/// Byte ranges of the logical lines of a text (split on '\n'; an empty
/// text has no lines, a trailing '\n' ends with an empty line).
pub fn line_ranges(text: &str) -> impl Iterator<Item = (usize, usize)> + '_ {
    let mut next = (!text.is_empty()).then_some(0);
    std::iter::from_fn(move || {
        let start = next?;
        match text[start..].find('\n') {
            Some(i) => {
                next = Some(start + i + 1);
                Some((start, start + i))
            }
            None => {
                next = None;
                Some((start, text.len()))
            }
        }
    })
}

/// Display width of a grapheme as ratatui's buffer computes it (graphemes
/// with control characters are not drawn at all).
fn grapheme_width(g: &str) -> usize {
    if g.len() == 1 {
        return usize::from(!g.as_bytes()[0].is_ascii_control());
    }
    if g.contains(char::is_control) {
        return 0;
    }
    // ratatui counts halfwidth (han)dakuten as one cell each.
    g.width()
        + g.chars()
            .filter(|c| matches!(c, '\u{FF9E}' | '\u{FF9F}'))
            .count()
}

/// Break opportunity; non-breaking spaces are not.
fn is_space(g: &str) -> bool {
    g.chars()
        .next()
        .is_some_and(|c| c.is_whitespace() && !matches!(c, '\u{A0}' | '\u{2007}' | '\u{202F}'))
}

/// Calls `emit(row_start, row_end)` (byte offsets into `s`) for each row.
fn for_each_row(s: &str, width: u16, mut emit: impl FnMut(usize, usize)) {
    let width = usize::from(width.max(1));
    let bytes = s.as_bytes();
    if bytes.iter().all(|b| (0x20..0x7f).contains(b)) {
        // Printable ASCII: one byte is one grapheme of one column.
        if bytes.len() <= width {
            emit(0, s.trim_end_matches(' ').len());
        } else {
            ascii_rows(bytes, width, &mut emit);
        }
    } else {
        grapheme_rows(s, width, &mut emit);
    }
}

fn ascii_rows(bytes: &[u8], width: usize, emit: &mut impl FnMut(usize, usize)) {
    let mut br = Breaker::new(width);
    for (o, &b) in bytes.iter().enumerate() {
        br.step(o, 1, 1, b == b' ', emit);
    }
    br.finish(emit);
}

fn grapheme_rows(s: &str, width: usize, emit: &mut impl FnMut(usize, usize)) {
    let mut br = Breaker::new(width);
    for (o, g) in s.grapheme_indices(true) {
        br.step(o, g.len(), grapheme_width(g), is_space(g), emit);
    }
    br.finish(emit);
}

/// Greedy word-wrap state over a stream of graphemes.
struct Breaker {
    width: usize,
    /// Start of the current row; `None` while skipping the spaces after a break.
    row_start: Option<usize>,
    /// Columns used by the current row, trailing spaces included.
    col: usize,
    /// End of the last non-space grapheme of the row.
    content_end: usize,
    /// Last break opportunity in the row: (content end before the spaces,
    /// start of the word after them, column where that word starts).
    brk: Option<(usize, usize, usize)>,
    prev_space: bool,
}

impl Breaker {
    fn new(width: usize) -> Self {
        Breaker {
            width,
            row_start: Some(0),
            col: 0,
            content_end: 0,
            brk: None,
            prev_space: false,
        }
    }

    #[inline]
    fn step(
        &mut self,
        o: usize,
        len: usize,
        w: usize,
        space: bool,
        emit: &mut impl FnMut(usize, usize),
    ) {
        if space {
            let Some(rs) = self.row_start else { return };
            if self.col + w > self.width {
                // Break at the spaces; they are dropped.
                emit(rs, self.content_end);
                self.row_start = None;
                return;
            }
            self.col += w;
            self.prev_space = true;
            return;
        }
        let rs = *self.row_start.get_or_insert_with(|| {
            self.col = 0;
            self.content_end = o;
            self.brk = None;
            self.prev_space = false;
            o
        });
        // Leading indentation is not a break opportunity.
        if self.prev_space && self.content_end > rs {
            self.brk = Some((self.content_end, o, self.col));
        }
        self.prev_space = false;
        if self.col + w > self.width && self.col > 0 {
            if let Some((brk_end, word_start, word_col)) = self.brk.take() {
                // Move the current word to a new row.
                emit(rs, brk_end);
                self.row_start = Some(word_start);
                self.col -= word_col;
                self.content_end = o;
                if self.col + w > self.width && self.col > 0 {
                    // The word alone is still too long: hard break.
                    emit(word_start, o);
                    self.row_start = Some(o);
                    self.col = 0;
                }
            } else {
                emit(rs, self.content_end);
                self.row_start = Some(o);
                self.col = 0;
                self.content_end = o;
            }
        }
        self.col += w;
        self.content_end = o + len;
    }

    fn finish(self, emit: &mut impl FnMut(usize, usize)) {
        if let Some(rs) = self.row_start {
            emit(rs, self.content_end);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ratatui::style::Color;

    fn rows(s: &str, width: u16) -> Vec<String> {
        let t = StyledText::plain(s, Style::default());
        wrap_line(&t, 0, s.len(), width)
            .iter()
            .map(|l| l.spans.iter().map(|s| s.content.as_ref()).collect())
            .collect()
    }

    #[test]
    fn word_wrap_basics() {
        assert_eq!(rows("", 10), [""]);
        assert_eq!(rows("hello world", 20), ["hello world"]);
        assert_eq!(rows("hello world", 5), ["hello", "world"]);
        assert_eq!(rows("hello world", 8), ["hello", "world"]);
        assert_eq!(rows("aaa bbb ccc", 7), ["aaa bbb", "ccc"]);
        assert_eq!(rows("abcdefghij", 4), ["abcd", "efgh", "ij"]);
        assert_eq!(rows("ab abcdefghij", 4), ["ab", "abcd", "efgh", "ij"]);
        assert_eq!(rows("a    b", 3), ["a", "b"]);
        assert_eq!(rows("    indented text", 12), ["    indented", "text"]);
        assert_eq!(rows("          ", 4), [""]);
        assert_eq!(rows("abc", 0), ["a", "b", "c"]);
    }

    #[test]
    fn wide_and_combining() {
        // A wide char never straddles the edge.
        assert_eq!(rows("a中文字", 4), ["a中", "文字"]);
        assert_eq!(rows("中文字", 3), ["中", "文", "字"]);
        // Combining accents stay with their base.
        assert_eq!(
            rows("e\u{301}e\u{301}e\u{301}", 2),
            ["e\u{301}e\u{301}", "e\u{301}"]
        );
        assert_eq!(rows("👍🏽👍🏽", 3), ["👍🏽", "👍🏽"]);
    }

    #[test]
    fn styles_follow_runs() {
        let mut t = StyledText::default();
        let red = Style::default().fg(Color::Red);
        t.push("first\n", Style::default());
        t.push("ab", Style::default());
        t.push("cd ef", red);
        t.push("gh", Style::default());
        let lines = wrap_line(&t, 6, t.text.len(), 4);
        let got: Vec<Vec<(String, Style)>> = lines
            .iter()
            .map(|l| {
                l.spans
                    .iter()
                    .map(|s| (s.content.to_string(), s.style))
                    .collect()
            })
            .collect();
        assert_eq!(
            got,
            [
                vec![("ab".into(), Style::default()), ("cd".into(), red)],
                vec![("ef".into(), red), ("gh".into(), Style::default())],
            ]
        );
    }

    #[test]
    fn line_ranges_split_on_newlines() {
        assert_eq!(line_ranges("").count(), 0);
        assert_eq!(line_ranges("a").collect::<Vec<_>>(), [(0, 1)]);
        assert_eq!(
            line_ranges("ab\n\nc\n").collect::<Vec<_>>(),
            [(0, 2), (3, 3), (4, 5), (6, 6)]
        );
    }

    #[test]
    fn height_agrees_with_wrap() {
        let samples = [
            "",
            " ",
            "plain ascii words that go on for a while and then some more",
            "averyveryverylongwordwithoutanyspacesatall and short",
            "   leading and trailing   ",
            "many      spaces      between       words",
            "中文字符混合English words 和更多的中文",
            "emoji 👍🏽 family 👨‍👩‍👧 flags 🇫🇷🇩🇪 ok",
            "e\u{301}a\u{308}o\u{302} combining n\u{303}n\u{303}n\u{303}n\u{303}",
            "\u{200B}zero\u{200B}width\u{200B}",
            "ｶﾞｷﾞｸﾞ halfwidth",
            "tab-less\u{3000}ideographic\u{3000}space",
            "nb\u{A0}sp\u{A0}stays\u{A0}together here",
            "x",
        ];
        for s in samples {
            let t = StyledText::plain(s, Style::default());
            for width in 0..=40u16 {
                let lines = wrap_line(&t, 0, s.len(), width);
                assert_eq!(
                    line_height(&t, 0, s.len(), width),
                    lines.len(),
                    "{s:?} @ {width}"
                );
                let mut kept = String::new();
                for l in &lines {
                    let row: String = l.spans.iter().map(|s| s.content.as_ref()).collect();
                    // A single grapheme wider than the width gets a row of its own.
                    let w: usize = row.graphemes(true).map(grapheme_width).sum();
                    let single = row.graphemes(true).count() <= 1;
                    assert!(
                        single || w <= usize::from(width.max(1)),
                        "{row:?} too wide for {width}"
                    );
                    kept.extend(row.graphemes(true).filter(|g| !is_space(g)));
                }
                let all: String = s.graphemes(true).filter(|g| !is_space(g)).collect();
                assert_eq!(kept, all, "{s:?} @ {width}");
            }
        }
    }

    #[test]
    fn ascii_fast_path_matches_grapheme_path() {
        let samples = [
            "the quick  brown fox jumps over   the lazy dog averyveryverylongword",
            "  x ",
            "",
            "short",
            "trailing    ",
        ];
        for s in samples {
            for width in 0..=30u16 {
                let (mut fast, mut slow) = (Vec::new(), Vec::new());
                for_each_row(s, width, |a, b| fast.push((a, b)));
                grapheme_rows(s, usize::from(width.max(1)), &mut |a, b| slow.push((a, b)));
                assert_eq!(fast, slow, "{s:?} @ {width}");
            }
        }
    }
}
