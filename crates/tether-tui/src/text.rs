//! Compact styled text: what the transcript stores per entry.
//!
//! One `String` holds the display text (lines separated by `\n`, already
//! sanitised: no control characters but `\n`, tabs expanded) and a short
//! list of style runs by byte offset. This costs a few bytes per style
//! change instead of a `Line`/`Span` per line, which matters for
//! transcripts of a million lines.

use ratatui::style::Style;

/// `style` applies from byte `start` up to the next run's start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StyleRun {
    pub start: u32,
    pub style: Style,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StyledText {
    pub text: String,
    /// Sorted by `start`; the text before the first run has the default style.
    pub runs: Vec<StyleRun>,
}

impl StyledText {
    pub fn plain(text: impl Into<String>, style: Style) -> Self {
        let text = text.into();
        let runs = if style == Style::default() {
            Vec::new()
        } else {
            vec![StyleRun { start: 0, style }]
        };
        StyledText { text, runs }
    }

    /// The style of the end of the text: what an append continues in.
    pub fn current_style(&self) -> Style {
        self.runs.last().map_or(Style::default(), |r| r.style)
    }

    /// Appends `text` in `style` (the text must already be safe).
    pub fn push(&mut self, text: &str, style: Style) {
        if text.is_empty() {
            return;
        }
        let start = self.text.len() as u32;
        // The same as comparing with `current_style()`, in one comparison.
        match self.runs.last_mut() {
            Some(last) if last.style == style => {}
            Some(last) if last.start == start => last.style = style,
            None if style == Style::default() => {}
            _ => self.runs.push(StyleRun { start, style }),
        }
        self.text.push_str(text);
    }

    /// Appends another styled text.
    pub fn append(&mut self, other: &StyledText) {
        for (piece, style) in other.pieces() {
            self.push(piece, style);
        }
    }

    /// The text cut into maximal pieces of one style, in order.
    pub fn pieces(&self) -> impl Iterator<Item = (&str, Style)> + '_ {
        // Each run ends where the next starts; before the first run the
        // style is the default.
        let starts = std::iter::once((0, Style::default()))
            .chain(self.runs.iter().map(|r| (r.start as usize, r.style)));
        let ends = self
            .runs
            .iter()
            .map(|r| r.start as usize)
            .chain(std::iter::once(self.text.len()));
        starts
            .zip(ends)
            .filter(|((start, _), end)| end > start)
            .map(|((start, style), end)| (&self.text[start..end], style))
    }

    /// The bytes `start..end` of the text (on character boundaries) with
    /// their styles.
    pub fn slice(&self, start: usize, end: usize) -> StyledText {
        let mut out = StyledText::default();
        let mut at = 0;
        for (piece, style) in self.pieces() {
            let (from, to) = (at.max(start), (at + piece.len()).min(end));
            if from < to {
                out.push(&piece[from - at..to - at], style);
            }
            at += piece.len();
        }
        out
    }

    pub fn line_count(&self) -> usize {
        if self.text.is_empty() {
            0
        } else {
            self.text.split('\n').count()
        }
    }

    pub fn is_empty(&self) -> bool {
        self.text.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ratatui::style::{Color, Modifier};

    #[test]
    fn a_slice_keeps_the_styles_of_its_bytes() {
        let mut text = StyledText::plain("ab", Style::default());
        let red = Style::default().fg(Color::Red);
        text.push("cdé", red);
        text.push("f", Style::default());
        let cut = text.slice(1, 6);
        assert_eq!(cut.text, "bcdé");
        assert_eq!(
            cut.pieces().collect::<Vec<_>>(),
            [("b", Style::default()), ("cdé", red)]
        );
        assert_eq!(text.slice(0, text.text.len()), text);
        assert!(text.slice(3, 3).is_empty());
    }

    #[test]
    fn pushes_merge_runs_of_one_style() {
        let mut t = StyledText::default();
        let red = Style::default().fg(Color::Red);
        t.push("a", Style::default());
        t.push("b", red);
        t.push("c", red);
        t.push("d", Style::default().add_modifier(Modifier::BOLD));
        let pieces: Vec<_> = t.pieces().map(|(s, _)| s.to_owned()).collect();
        assert_eq!(pieces, ["a", "bc", "d"]);
        assert_eq!(t.runs.len(), 2);
    }
}
