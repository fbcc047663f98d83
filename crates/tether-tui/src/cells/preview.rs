//! The preview of a permission request: what it will do, in one model
//! that the decision view (wrapped, scrolled) and the plain output
//! (headless `--prompt`) both show. Everything from the agent is
//! sanitised; file contents and commands keep their escapes visible.

use ratatui::style::{Color, Style};
use serde_json::Value;

use crate::protocol::Preview;
use crate::tui::highlight::{self, Syntax};
use crate::tui::sanitize::{sanitize, sanitize_into};
use crate::tui::text::StyledText;
use crate::tui::theme;

/// File contents and commands are shown as they are: their escape
/// sequences visible, never taken for colours (the sanitiser would apply
/// SGR ones).
pub fn literal(text: &str) -> String {
    text.replace('\u{1b}', "␛")
}

fn one_line(text: &str) -> String {
    text.replace(['\r', '\n'], " ")
}

/// What a request will do, as lines of styled text: the diff with old
/// and new line numbers (highlighted by the file's type), the whole
/// command and where it runs, why there is no preview, or the input of
/// other tools as JSON. The decision view wraps and scrolls them; the
/// plain output prints their text.
pub fn preview_texts(preview: Option<&Preview>, input: &Value) -> Vec<StyledText> {
    match preview {
        Some(Preview::Diff {
            path,
            diff,
            added,
            removed,
            new_file,
        }) => {
            let mut head = StyledText::default();
            sanitize_into(&mut head, &one_line(path), theme::BOLD);
            let what = if *new_file { " (new file)" } else { "" };
            head.push(what, theme::DIM);
            head.push(&format!("  +{added}"), theme::OK);
            head.push(&format!(" -{removed}"), theme::ERROR);
            let mut texts = vec![head];
            texts.extend(diff_lines(diff, highlight::syntax_for_path(path)));
            texts
        }
        Some(Preview::Command {
            command,
            cwd,
            description,
        }) => command_lines(command, cwd, description.as_deref()),
        Some(Preview::Unavailable { reason }) => {
            let mut texts = vec![sanitize(
                &format!("⚠ no preview: {}", one_line(reason)),
                theme::WARN,
            )];
            texts.extend(input_lines(input));
            texts
        }
        Some(Preview::Unknown) | None => input_lines(input),
    }
}

/// The preview as plain text, a line each (the headless output's).
pub fn plain_preview(preview: Option<&Preview>, input: &Value) -> String {
    let mut text = String::new();
    for line in preview_texts(preview, input) {
        text.push_str(&line.text);
        text.push('\n');
    }
    text
}

fn command_lines(command: &str, cwd: &str, description: Option<&str>) -> Vec<StyledText> {
    let mut texts: Vec<StyledText> = command
        .split('\n')
        .enumerate()
        .map(|(i, line)| {
            let mut text = StyledText::default();
            text.push(if i == 0 { "$ " } else { "  " }, theme::DIM);
            sanitize_into(&mut text, &literal(line), theme::CODE);
            text
        })
        .collect();
    let mut place = StyledText::plain("in ", theme::DIM);
    sanitize_into(&mut place, &one_line(cwd), theme::DIM);
    texts.push(place);
    if let Some(description) = description {
        texts.push(sanitize(&one_line(description), theme::ITALIC));
    }
    texts
}

/// Other tools: the whole input, as pretty JSON.
fn input_lines(input: &Value) -> Vec<StyledText> {
    let json = serde_json::to_string_pretty(input).unwrap_or_default();
    json.lines()
        .map(|line| sanitize(line, Style::default()))
        .collect()
}

/// Behind the code of added and removed lines when it is highlighted (the
/// syntax colours take the foreground): dark green and dark red of the
/// 256-colour palette.
const ADDED_BACKGROUND: Style = Style::new().bg(Color::Indexed(22));
const REMOVED_BACKGROUND: Style = Style::new().bg(Color::Indexed(52));

/// One line of a diff, taken apart.
struct DiffRow {
    kind: RowKind,
    /// The line numbers (or the whole line, for a hunk header).
    gutter: String,
    /// The code, sanitised, in the default style.
    code: StyledText,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum RowKind {
    Hunk,
    Removed,
    Added,
    Context,
    /// `\ No newline at end of file`, and anything unexpected.
    Other,
}

/// A unified diff with old and new line numbers from its `@@` hunk
/// headers, removed lines red, added lines green. The `---`/`+++` file
/// headers are left out (the path is shown above). With a `syntax` the
/// code is highlighted (the old and the new side each as one text) and
/// added/removed lines keep a green/red sign and background.
pub fn diff_lines(diff: &str, syntax: Option<Syntax>) -> Vec<StyledText> {
    let rows = diff_rows(diff);
    let painted = syntax.and_then(|syntax| paint_sides(syntax, &rows));
    rows.iter()
        .enumerate()
        .map(|(i, row)| {
            let code = painted.as_ref().and_then(|p| p[i].as_ref());
            diff_line(row, code)
        })
        .collect()
}

fn diff_rows(diff: &str) -> Vec<DiffRow> {
    let digits = number_width(diff);
    let blank = " ".repeat(digits);
    let (mut old, mut new) = (0u64, 0u64);
    let mut in_hunk = false;
    let mut rows = Vec::new();
    for line in diff.lines() {
        if let Some((o, n)) = hunk_start(line) {
            (old, new, in_hunk) = (o, n, true);
            let gutter = line.to_owned();
            rows.push(DiffRow {
                kind: RowKind::Hunk,
                gutter,
                code: StyledText::default(),
            });
            continue;
        }
        if !in_hunk {
            continue;
        }
        let (kind, gutter, rest) = match line.as_bytes().first() {
            Some(b'-') => {
                old += 1;
                (
                    RowKind::Removed,
                    format!("{:>digits$} {blank}", old - 1),
                    &line[1..],
                )
            }
            Some(b'+') => {
                new += 1;
                (
                    RowKind::Added,
                    format!("{blank} {:>digits$}", new - 1),
                    &line[1..],
                )
            }
            Some(b' ') => {
                (old, new) = (old + 1, new + 1);
                let numbers = format!("{:>digits$} {:>digits$}", old - 1, new - 1);
                (RowKind::Context, numbers, &line[1..])
            }
            _ => (RowKind::Other, format!("{blank} {blank}"), line),
        };
        let code = sanitize(&literal(rest), Style::default());
        rows.push(DiffRow { kind, gutter, code });
    }
    rows
}

/// Each code row highlighted: the old side (context and removed lines)
/// and the new side (context and added lines) each as one text, so
/// constructs spanning lines are seen whole. Context rows take the new
/// side's colours. `None` when the code stays plain.
fn paint_sides(syntax: Syntax, rows: &[DiffRow]) -> Option<Vec<Option<StyledText>>> {
    let side = |kinds: [RowKind; 2]| -> Option<Vec<(usize, StyledText)>> {
        let picked: Vec<usize> = (0..rows.len())
            .filter(|&i| kinds.contains(&rows[i].kind))
            .collect();
        let lines: Vec<StyledText> = picked.iter().map(|&i| rows[i].code.clone()).collect();
        let painted = highlight::paint_lines(syntax, &lines, Style::default())?;
        Some(picked.into_iter().zip(painted).collect())
    };
    let mut painted: Vec<Option<StyledText>> = vec![None; rows.len()];
    for (i, code) in side([RowKind::Removed, RowKind::Context])? {
        painted[i] = Some(code);
    }
    for (i, code) in side([RowKind::Added, RowKind::Context])? {
        painted[i] = Some(code);
    }
    Some(painted)
}

/// The numbers stay dim; the sign and the text take the line's colour, or
/// with highlighted `code` the sign does and the text its background.
fn diff_line(row: &DiffRow, code: Option<&StyledText>) -> StyledText {
    let (sign, style, background) = match row.kind {
        RowKind::Hunk => return sanitize(&row.gutter, theme::INFO),
        RowKind::Removed => ("-", theme::ERROR, REMOVED_BACKGROUND),
        RowKind::Added => ("+", theme::OK, ADDED_BACKGROUND),
        RowKind::Context => (" ", Style::default(), Style::default()),
        RowKind::Other => (" ", theme::DIM, Style::default()),
    };
    let mut text = StyledText::plain(row.gutter.clone(), theme::DIM);
    text.push(" ", theme::DIM);
    match code {
        Some(code) => {
            text.push(sign, style.patch(theme::BOLD));
            text.push(" ", background);
            for (piece, piece_style) in code.pieces() {
                text.push(piece, background.patch(piece_style));
            }
        }
        None => {
            text.push(sign, style);
            text.push(" ", style);
            for (piece, piece_style) in row.code.pieces() {
                text.push(piece, style.patch(piece_style));
            }
        }
    }
    text
}

/// `@@ -a[,b] +c[,d] @@`: the first old and new line numbers.
fn hunk_start(line: &str) -> Option<(u64, u64)> {
    let rest = line.strip_prefix("@@ -")?;
    let (old, rest) = rest.split_once(" +")?;
    let (new, _) = rest.split_once(" @@")?;
    let first = |range: &str| range.split(',').next()?.parse::<u64>().ok();
    // A range of zero lines (`-0,0`) names the line before it.
    Some((first(old)?.max(1), first(new)?.max(1)))
}

/// Digits of the largest line number a hunk reaches.
fn number_width(diff: &str) -> usize {
    let end = |range: &str| -> u64 {
        let mut parts = range.split(',');
        let start: u64 = parts.next().and_then(|s| s.parse().ok()).unwrap_or(0);
        let len: u64 = parts.next().and_then(|s| s.parse().ok()).unwrap_or(1);
        start + len
    };
    diff.lines()
        .filter_map(|line| {
            let rest = line.strip_prefix("@@ -")?;
            let (old, rest) = rest.split_once(" +")?;
            let (new, _) = rest.split_once(" @@")?;
            Some(end(old).max(end(new)))
        })
        .max()
        .unwrap_or(1)
        .to_string()
        .len()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plain(texts: &[StyledText]) -> Vec<String> {
        texts.iter().map(|t| t.text.clone()).collect()
    }

    #[test]
    fn diff_lines_carry_old_and_new_numbers_from_the_hunk_headers() {
        let diff = "--- a/n.txt\n+++ b/n.txt\n@@ -9,3 +9,3 @@\n alpha\n-beta\n+BETA\n gamma\n";
        assert_eq!(
            plain(&diff_lines(diff, None)),
            [
                "@@ -9,3 +9,3 @@",
                " 9  9   alpha",
                "10    - beta",
                "   10 + BETA",
                "11 11   gamma",
            ]
        );
    }

    #[test]
    fn a_new_file_counts_from_one_and_escapes_stay_visible() {
        let diff = "--- /dev/null\n+++ b/x\n@@ -0,0 +1,2 @@\n+a\u{1b}]0;t\u{7}\n+b\n\\ No newline at end of file\n";
        let texts = diff_lines(diff, None);
        assert_eq!(
            plain(&texts),
            [
                "@@ -0,0 +1,2 @@",
                "  1 + a␛]0;t␇",
                "  2 + b",
                "      \\ No newline at end of file",
            ]
        );
        // The sign and text are green, the numbers dim.
        let styles: Vec<Style> = texts[2].pieces().map(|(_, s)| s).collect();
        assert_eq!(styles, [theme::DIM, theme::OK]);
    }

    #[test]
    fn code_is_highlighted_by_the_file_type_and_signs_keep_their_colours() {
        let diff = "@@ -1,3 +1,3 @@\n fn main() {\n-    let a = 1;\n+    let a = \"\u{1b}[2J\"; // b\n }\n";
        let rust = highlight::syntax_for_path("src/main.rs");
        let texts = diff_lines(diff, rust);
        // The same text as without highlighting.
        assert_eq!(plain(&texts), plain(&diff_lines(diff, None)));
        assert_eq!(texts[3].text, "  2 +     let a = \"␛[2J\"; // b");
        let pieces = |i: usize| -> Vec<(String, Style)> {
            texts[i].pieces().map(|(p, s)| (p.to_owned(), s)).collect()
        };
        let added = pieces(3);
        assert_eq!(added[1], ("+".to_owned(), theme::OK.patch(theme::BOLD)));
        let code = &added[2..];
        assert!(
            code.iter().all(|(_, s)| s.bg == ADDED_BACKGROUND.bg),
            "{code:?}"
        );
        let colours: std::collections::HashSet<_> = code.iter().map(|(_, s)| s.fg).collect();
        assert!(colours.len() > 2, "{code:?}");
        let removed = pieces(2);
        assert_eq!(
            removed[1],
            ("-".to_owned(), theme::ERROR.patch(theme::BOLD))
        );
        assert!(
            removed[2..]
                .iter()
                .all(|(_, s)| s.bg == REMOVED_BACKGROUND.bg)
        );
        // Context lines: syntax colours, no background.
        assert!(pieces(1)[2..].iter().all(|(_, s)| s.bg.is_none()));
        assert!(texts.iter().all(|t| !t.text.contains('\u{1b}')));
        // An unknown file type keeps today's colours.
        assert!(highlight::syntax_for_path("notes.unknownext").is_none());
    }
}
