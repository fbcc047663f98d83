//! GitHub-style tables: a header row, a delimiter row (`|---|:--:|`) and
//! body rows, drawn with aligned columns (by display width), `│` between
//! them and a `─` rule under the header. Cells take inline markup and are
//! sanitised. A table wider than the width it is laid out for (the
//! transcript pane's) has its widest columns narrowed, their cells cut
//! with `…`, so it never wraps into a mess.

use ratatui::style::Style;
use unicode_width::{UnicodeWidthChar, UnicodeWidthStr};

use super::{inline, newline};
use crate::tui::text::StyledText;
use crate::tui::theme;

/// Widest a table is drawn when no width is known (headless output): fits
/// an 80-column terminal with the transcript's borders.
pub const DEFAULT_WIDTH: usize = 76;
/// More columns than this is not taken for a table.
const MAX_COLUMNS: usize = 32;
/// Narrowing stops at this width.
const MIN_COLUMN: usize = 3;
const SEPARATOR: &str = " │ ";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Align {
    Left,
    Center,
    Right,
}

/// The columns' alignments when `header` and `delimiter` start a table.
pub(super) fn head(header: &str, delimiter: &str) -> Option<Vec<Align>> {
    let aligns = split_row(delimiter)?
        .iter()
        .map(|cell| delimiter_cell(cell))
        .collect::<Option<Vec<Align>>>()?;
    let columns = split_row(header)?.len();
    (columns == aligns.len() && columns <= MAX_COLUMNS).then_some(aligns)
}

/// A body row: a non-blank line with a `|`.
pub(super) fn is_row(line: &str) -> bool {
    !line.trim().is_empty() && line.contains('|')
}

fn delimiter_cell(cell: &str) -> Option<Align> {
    let left = cell.starts_with(':');
    let right = cell.ends_with(':') && cell.len() > 1;
    let dashes = cell.trim_start_matches(':').trim_end_matches(':');
    if dashes.is_empty() || !dashes.bytes().all(|b| b == b'-') {
        return None;
    }
    Some(match (left, right) {
        (true, true) => Align::Center,
        (false, true) => Align::Right,
        _ => Align::Left,
    })
}

/// The cells of a row, trimmed; `|` escaped as `\|` stays in its cell.
/// `None` when the line has no `|` at all.
fn split_row(line: &str) -> Option<Vec<&str>> {
    let row = line.trim();
    if !row.contains('|') {
        return None;
    }
    let row = row.strip_prefix('|').unwrap_or(row);
    let row = match row.strip_suffix('|') {
        Some(inner) if !inner.ends_with('\\') => inner,
        _ => row,
    };
    let bytes = row.as_bytes();
    let mut cells = Vec::new();
    let mut start = 0;
    for at in memchr::memchr_iter(b'|', bytes) {
        if at > 0 && bytes[at - 1] == b'\\' {
            continue;
        }
        cells.push(row[start..at].trim());
        start = at + 1;
        if cells.len() > MAX_COLUMNS {
            break;
        }
    }
    cells.push(row[start..].trim());
    Some(cells)
}

/// A table about to be appended: its header row, column alignments and
/// body rows (untrusted), and the width it must fit in.
pub(super) struct Table<'a> {
    pub header: &'a str,
    pub aligns: &'a [Align],
    pub rows: &'a [&'a str],
    pub max_width: usize,
}

/// Appends the table, with the columns aligned as `table.aligns` says.
pub(super) fn render(out: &mut StyledText, first: &mut bool, table: &Table, base: Style) {
    let Table {
        header,
        aligns,
        rows,
        max_width,
    } = *table;
    let cells = |line: &str, style: Style| -> Vec<StyledText> {
        let raw = split_row(line).unwrap_or_default();
        (0..aligns.len())
            .map(|i| {
                let mut cell = StyledText::default();
                let text = raw.get(i).map_or(String::new(), |c| c.replace("\\|", "|"));
                inline(&mut cell, &text, style, 0);
                cell
            })
            .collect()
    };
    let head = cells(header, base.patch(theme::BOLD));
    let body: Vec<Vec<StyledText>> = rows.iter().map(|row| cells(row, base)).collect();
    let widths = column_widths(std::iter::once(&head).chain(&body), aligns.len(), max_width);
    let border = base.patch(theme::BORDER);
    push_row(out, first, &head, &widths, aligns, border);
    newline(out, first);
    for (i, width) in widths.iter().enumerate() {
        if i > 0 {
            out.push("─┼─", border);
        }
        out.push(&"─".repeat(*width), border);
    }
    for row in &body {
        push_row(out, first, row, &widths, aligns, border);
    }
}

/// Each column as wide as its widest cell, then the widest columns
/// narrowed until the table fits `max_width`.
fn column_widths<'a>(
    rows: impl Iterator<Item = &'a Vec<StyledText>>,
    columns: usize,
    max_width: usize,
) -> Vec<usize> {
    let mut widths = vec![1; columns];
    for row in rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.text.width().min(max_width));
        }
    }
    let separators = SEPARATOR.width() * columns.saturating_sub(1);
    let budget = max_width.saturating_sub(separators);
    while widths.iter().sum::<usize>() > budget {
        let Some(widest) = widths.iter_mut().max().filter(|w| **w > MIN_COLUMN) else {
            break;
        };
        *widest -= 1;
    }
    widths
}

fn push_row(
    out: &mut StyledText,
    first: &mut bool,
    row: &[StyledText],
    widths: &[usize],
    aligns: &[Align],
    border: Style,
) {
    newline(out, first);
    let last = widths.len() - 1;
    for (i, (cell, &width)) in row.iter().zip(widths).enumerate() {
        if i > 0 {
            out.push(SEPARATOR, border);
        }
        let (cell, used) = fit(cell, width);
        let room = width - used;
        let (before, after) = match aligns[i] {
            Align::Left => (0, room),
            Align::Right => (room, 0),
            Align::Center => (room / 2, room - room / 2),
        };
        out.push(&" ".repeat(before), out.current_style());
        out.append(&cell);
        // No trailing blanks at the end of the line.
        if i < last {
            out.push(&" ".repeat(after), out.current_style());
        }
    }
}

/// `cell` cut to `width` columns (ending in `…` when cut), and the width
/// it takes.
fn fit(cell: &StyledText, width: usize) -> (StyledText, usize) {
    let full = cell.text.width();
    if full <= width {
        return (cell.clone(), full);
    }
    let mut cut = StyledText::default();
    let mut used = 0;
    'pieces: for (piece, style) in cell.pieces() {
        for (at, c) in piece.char_indices() {
            let w = c.width().unwrap_or(0);
            if used + w > width - 1 {
                cut.push(&piece[..at], style);
                cut.push("…", style);
                break 'pieces;
            }
            used += w;
        }
        cut.push(piece, style);
    }
    (cut, used + 1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tui::markdown::render_markdown;

    fn md(s: &str) -> StyledText {
        render_markdown(s, Style::default())
    }

    #[test]
    fn columns_are_aligned_by_display_width() {
        let t = md(
            "Intro\n| Name | Qty | Note |\n|:-----|----:|:----:|\n| café | 1 | 日本 |\n| b | 200 | x |\nafter",
        );
        assert_eq!(
            t.text,
            "Intro\n\
             Name │ Qty │ Note\n\
             ─────┼─────┼─────\n\
             café │   1 │ 日本\n\
             b    │ 200 │  x"
                .to_owned()
                + "\nafter"
        );
        for line in t.text.lines().skip(1).take(4) {
            let bars: Vec<usize> = line
                .char_indices()
                .filter(|(_, c)| matches!(c, '│' | '┼'))
                .map(|(at, _)| line[..at].width())
                .collect();
            assert_eq!(bars, [5, 11], "{line}");
        }
        let header = t.pieces().find(|(p, _)| p.starts_with("Name")).unwrap().1;
        assert_eq!(header, theme::BOLD);
    }

    #[test]
    fn cells_take_inline_markup_escaped_pipes_and_are_sanitized() {
        let t = md("a|b\n-|-\n`x\\|y` | **\u{1b}[2Jz**\nshort");
        assert_eq!(t.text, "a   │ b\n────┼──────\nx|y │ ␛[2Jz\nshort");
        assert!(!t.text.contains('\u{1b}'));
        // A missing cell is blank; extra cells are dropped.
        assert_eq!(
            md("|a|b|\n|-|-|\n|1|\n|1|2|3|").text,
            "a │ b\n──┼──\n1 │ \n1 │ 2"
        );
    }

    #[test]
    fn not_a_table_without_a_matching_delimiter_row() {
        for text in [
            "a | b\nc | d",
            "a | b\n|---|---|---|",
            "a | b\n| - | x |",
            "| x |",
        ] {
            assert!(!md(text).text.contains('│'), "{text}");
        }
    }

    #[test]
    fn wide_tables_are_cut_to_fit() {
        let long = "word ".repeat(40);
        let t = md(&format!(
            "| k | v | w |\n|---|---|---|\n| key | {long} | {long} |"
        ));
        for line in t.text.lines() {
            assert!(line.width() <= DEFAULT_WIDTH, "{line}");
        }
        let row = t.text.lines().nth(2).unwrap();
        assert!(row.starts_with("key │ word word"), "{row}");
        assert_eq!(row.matches('…').count(), 2, "{row}");
        // Wide characters are never cut in half.
        let t = md(&format!("|a|\n|-|\n|{}|", "日".repeat(60)));
        let row = t.text.lines().nth(2).unwrap();
        assert!(row.ends_with('…') && row.width() <= DEFAULT_WIDTH, "{row}");
    }

    #[test]
    fn many_columns_are_not_a_table() {
        let row = "|x".repeat(MAX_COLUMNS + 1);
        let delimiter = "|-".repeat(MAX_COLUMNS + 1);
        assert!(!md(&format!("{row}\n{delimiter}")).text.contains('┼'));
    }
}
