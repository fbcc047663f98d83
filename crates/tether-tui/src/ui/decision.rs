//! The decision view at the bottom of the screen: the request in full (its
//! preview scrollable: a diff with old/new line numbers, the whole command,
//! or the input as JSON), then the numbered choices or the open text area.
//! Every string from the agent goes through the sanitiser.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph};

use crate::protocol::Preview;
use crate::tui::app::choices::literal;
use crate::tui::app::decision::{Choice, EditorKind, Wrapped, choices};
use crate::tui::app::{App, Pending};
use crate::tui::cells::sanitize_name;
use crate::tui::highlight::{self, Syntax};
use crate::tui::sanitize::{sanitize, sanitize_into};
use crate::tui::text::StyledText;
use crate::tui::theme;
use crate::tui::wrap::wrap_line;

/// Rows kept for the panes above, however long the request.
const MIN_ABOVE: u16 = 4;
/// The tallest text area.
const MAX_EDITOR: u16 = 8;

/// Wraps the shown request's header and preview for a view `width`
/// wide (borders included), unless that is already done.
pub fn prepare(app: &mut App, width: u16) {
    let inner = width.saturating_sub(2);
    let Some((_, request)) = app.decision_request() else {
        return;
    };
    let key = (request.request_id.clone(), inner);
    if app.decision.wrapped.made_for.as_ref() == Some(&key) {
        return;
    }
    app.decision.wrapped = Wrapped {
        header: header(request, inner),
        preview: preview(request, inner),
        made_for: Some(key),
    };
}

/// How tall the view wants to be on a screen `screen` rows high (borders
/// included), once [`prepare`]d.
pub fn height(app: &App, screen: u16) -> u16 {
    let Some((_, request)) = app.decision_request() else {
        return 0;
    };
    let wrapped = &app.decision.wrapped;
    let wanted = 2 + wrapped.header.len() + wrapped.preview.len() + 1;
    let wanted = wanted + usize::from(bottom_height(app, request));
    // The status bar and the footer stay, and a few rows above.
    let most = screen.saturating_sub(2 + MIN_ABOVE).max(6);
    u16::try_from(wanted).unwrap_or(u16::MAX).min(most)
}

fn bottom_height(app: &App, request: &Pending) -> u16 {
    match &app.decision.editor {
        Some(editor) if app.decision.open => {
            let lines = editor.text.lines().len() as u16 + 2;
            lines.clamp(3, MAX_EDITOR) + u16::from(editor.problem.is_some())
        }
        _ => {
            let note = !app.is_owner() || app.decision.holding(app.now);
            choices(request).len() as u16 + u16::from(note)
        }
    }
}

/// The decision view's parts in the bottom area.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Areas {
    pub frame: Rect,
    pub head: Rect,
    /// The preview: its height is a page (PgUp/PgDn).
    pub body: Rect,
    pub gap: Rect,
    pub foot: Rect,
    /// Rows of preview in all.
    pub rows: usize,
}

impl Areas {
    /// Rows a page of preview moves.
    pub fn page(&self) -> usize {
        usize::from(self.body.height).max(1)
    }

    /// The most the preview scrolls: its last row at the bottom.
    pub fn most_scroll(&self) -> usize {
        self.rows.saturating_sub(usize::from(self.body.height))
    }
}

/// The view's parts in `area`, once [`prepare`]d.
pub fn areas(app: &App, area: Rect) -> Areas {
    let inner = Block::default().borders(Borders::ALL).inner(area);
    let bottom = app
        .decision_request()
        .map_or(0, |(_, request)| bottom_height(app, request))
        .min(inner.height.saturating_sub(1));
    let wrapped = &app.decision.wrapped;
    let [head, body, gap, foot] = Layout::vertical([
        Constraint::Length(wrapped.header.len() as u16),
        Constraint::Min(0),
        Constraint::Length(1),
        Constraint::Length(bottom),
    ])
    .areas(inner);
    Areas {
        frame: area,
        head,
        body,
        gap,
        foot,
        rows: wrapped.preview.len(),
    }
}

pub fn draw(app: &mut App, frame: &mut Frame, areas: &Areas) {
    let Some((at, _)) = app.decision_request() else {
        return;
    };
    let focused = app.decision.open;
    let count = app.pending.len();
    let mut title = vec![Span::styled(
        format!(" Permission request {} of {count} ", at + 1),
        theme::WARN.patch(theme::BOLD),
    )];
    if count > 1 {
        title.push(Span::styled("[/] switch ", theme::DIM));
    }
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(if focused { theme::WARN } else { theme::BORDER })
        .title(Line::from(title));
    frame.render_widget(block, areas.frame);
    let wrapped = &app.decision.wrapped;
    frame.render_widget(Paragraph::new(wrapped.header.clone()), areas.head);
    let rows = wrapped.preview.len();
    let page = usize::from(areas.body.height);
    let scroll = app.decision.scroll.min(areas.most_scroll());
    // Only the rows on screen are copied out.
    let visible = wrapped.preview[scroll..(scroll + page).min(rows)].to_vec();
    frame.render_widget(Paragraph::new(visible), areas.body);
    if areas.most_scroll() > 0 {
        let shown = (scroll + page).min(rows);
        let note = format!("rows {}-{shown} of {rows} · PgUp/PgDn scroll ", scroll + 1);
        frame.render_widget(
            Paragraph::new(Line::styled(note, theme::DIM)).right_aligned(),
            areas.gap,
        );
    }
    draw_bottom(app, frame, areas.foot);
}

fn draw_bottom(app: &mut App, frame: &mut Frame, area: Rect) {
    let owner = app.is_owner();
    let open = app.decision.open;
    let highlight = app.decision.highlight;
    let waiting = app.waiting_for();
    let holding = app.decision.holding(app.now);
    let Some((_, request)) = app.decision_request() else {
        return;
    };
    let choices = choices(request);
    if let Some(editor) = app.decision.editor.as_mut().filter(|_| open) {
        let what = match editor.kind {
            EditorKind::Command => " Edit the command · Enter allows it · Esc back ",
            EditorKind::Json => " Edit the input (JSON) · Enter allows it · Esc back ",
            EditorKind::Message => " Message to the agent · Enter denies · Esc back ",
        };
        let problem = editor.problem.clone();
        let text_height = area.height.saturating_sub(u16::from(problem.is_some()));
        editor.text.set_block(
            Block::default()
                .borders(Borders::ALL)
                .border_style(theme::FOCUS_BORDER)
                .title(what),
        );
        editor.text.set_cursor_style(theme::SELECTED);
        let text_area = Rect {
            height: text_height,
            ..area
        };
        frame.render_widget(&editor.text, text_area);
        if let Some(problem) = problem {
            let row = Rect {
                y: area.y + text_height,
                height: 1,
                ..area
            };
            frame.render_widget(Paragraph::new(Line::styled(problem, theme::ERROR)), row);
        }
        return;
    }
    let mut lines: Vec<Line> = choices
        .iter()
        .enumerate()
        .map(|(i, choice)| {
            let selected = owner && open && i == highlight;
            let marker = if selected { "▸ " } else { "  " };
            let style = match (owner, selected) {
                (false, _) => theme::DIM,
                (true, true) => theme::SELECTED,
                (true, false) => Style::default(),
            };
            let key = match choice {
                Choice::Allow { .. } if i == 0 => "  (y)",
                Choice::EditAndAllow => "  (e)",
                Choice::Deny { .. } => "  (n: deny with no message)",
                Choice::Allow { .. } => "",
            };
            Line::from(vec![
                Span::raw(marker),
                Span::styled(format!("{}. {}", i + 1, choice.label()), style),
                Span::styled(if owner { key } else { "" }, theme::DIM),
            ])
        })
        .collect();
    if !owner {
        lines.push(Line::styled(format!("  read-only: {waiting}"), theme::WARN));
    } else if holding {
        let note = "  you were typing: keys are ignored for a moment, read the request first";
        lines.push(Line::styled(note, theme::WARN));
    }
    frame.render_widget(Paragraph::new(lines), area);
}

/// The tool and the agent's title (each when it adds something, as the
/// description), wrapped.
fn header(request: &Pending, width: u16) -> Vec<Line<'static>> {
    let mut first = StyledText::default();
    first.push(
        &sanitize_name(&request.tool),
        theme::TOOL.patch(theme::BOLD),
    );
    // Claude titles some requests with the tool's name alone.
    if let Some(title) = request.title.as_ref().filter(|t| **t != request.tool) {
        first.push(" · ", theme::DIM);
        sanitize_into(&mut first, &one_line(title), theme::BOLD);
    }
    let mut lines = wrapped(&first, width);
    // A command preview shows the command and its description itself.
    let repeated = request.command().is_some();
    if let Some(description) = request.description.as_ref().filter(|_| !repeated) {
        for line in description.lines() {
            lines.extend(wrapped(&sanitize(line, theme::DIM), width));
        }
    }
    lines
}

fn one_line(text: &str) -> String {
    text.replace(['\r', '\n'], " ")
}

/// The preview, wrapped to `width`: what the view scrolls.
pub fn preview(request: &Pending, width: u16) -> Vec<Line<'static>> {
    let texts = match request.preview.as_deref() {
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
            texts.extend(input_lines(request));
            texts
        }
        Some(Preview::Unknown) | None => input_lines(request),
    };
    texts.iter().flat_map(|t| wrapped(t, width)).collect()
}

fn wrapped(text: &StyledText, width: u16) -> Vec<Line<'static>> {
    if text.text.is_empty() {
        return vec![Line::raw("")];
    }
    wrap_line(text, 0, text.text.len(), width.max(1))
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
fn input_lines(request: &Pending) -> Vec<StyledText> {
    let json = serde_json::to_string_pretty(&request.input).unwrap_or_default();
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
    fn a_title_that_only_repeats_the_tool_is_not_shown_twice() {
        let mut request = Pending {
            request_id: "r1".into(),
            tool: "Edit".into(),
            summary: String::new(),
            input: serde_json::Value::Null,
            raised: None,
            title: Some("Edit".into()),
            description: None,
            preview: None,
            options: Vec::new(),
            editable: true,
        };
        let first = |r: &Pending| header(r, 80)[0].to_string();
        assert_eq!(first(&request), "Edit");
        request.title = Some("Edit notes.txt".into());
        assert_eq!(first(&request), "Edit · Edit notes.txt");
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
