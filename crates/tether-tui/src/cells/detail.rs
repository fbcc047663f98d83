//! What a collapsed cell shows when the reader opens it: a tool call's
//! whole input (pretty JSON, and for file edits the change as a line
//! diff), a long tool result in full behind its first lines.

use ratatui::style::Style;
use serde_json::Value;
use similar::{ChangeTag, TextDiff};

use crate::tui::sanitize::{sanitize_into, sanitize_plain};
use crate::tui::text::StyledText;
use crate::tui::theme;

/// Results longer than this many lines are collapsed to their head.
pub const RESULT_HEAD_LINES: usize = 12;
/// A diff longer than this is cut (the input is shown on demand, but a
/// huge `Write` should not double the transcript's memory).
const MAX_DIFF_LINES: usize = 2_000;

/// The tool call opened: its one-line summary, the input as pretty JSON
/// (an edit's texts left out), then an edit's diff.
pub fn tool_use_detail(name: &str, input: &Value) -> StyledText {
    let mut cell = super::tool_use(name, input);
    let (rest, diff) = split_edit(name, input);
    let shown_input = rest.as_ref().unwrap_or(input);
    let pretty = serde_json::to_string_pretty(shown_input).unwrap_or_default();
    if !shown_input.is_null() && shown_input.as_object().is_none_or(|o| !o.is_empty()) {
        for line in pretty.lines() {
            cell.push("\n  ", Style::default());
            sanitize_into(&mut cell, line, theme::DIM);
        }
    }
    if let Some((old, new)) = diff {
        push_diff(&mut cell, &old, &new);
    }
    cell
}

/// For Claude's file edits: the input without its texts, and the texts
/// before and after (`Write`: nothing before).
fn split_edit(name: &str, input: &Value) -> (Option<Value>, Option<(String, String)>) {
    let text = |v: &Value, key: &str| v.get(key).and_then(Value::as_str).map(str::to_owned);
    let without = |keys: &[&str]| {
        let mut rest = input.clone();
        if let Some(map) = rest.as_object_mut() {
            for key in keys {
                map.remove(*key);
            }
        }
        rest
    };
    match name {
        "Write" => match text(input, "content") {
            Some(content) => (Some(without(&["content"])), Some((String::new(), content))),
            None => (None, None),
        },
        "Edit" => match (text(input, "old_string"), text(input, "new_string")) {
            (Some(old), Some(new)) => (
                Some(without(&["old_string", "new_string"])),
                Some((old, new)),
            ),
            _ => (None, None),
        },
        "MultiEdit" => {
            let Some(edits) = input.get("edits").and_then(Value::as_array) else {
                return (None, None);
            };
            let (mut old, mut new) = (String::new(), String::new());
            for edit in edits {
                old.push_str(&text(edit, "old_string").unwrap_or_default());
                old.push('\n');
                new.push_str(&text(edit, "new_string").unwrap_or_default());
                new.push('\n');
            }
            (Some(without(&["edits"])), Some((old, new)))
        }
        _ => (None, None),
    }
}

/// `- old` / `+ new` / `  same` lines of the change from `old` to `new`.
fn push_diff(cell: &mut StyledText, old: &str, new: &str) {
    let diff = TextDiff::from_lines(old, new);
    let changes: Vec<_> = diff.iter_all_changes().collect();
    for change in changes.iter().take(MAX_DIFF_LINES) {
        let (sign, style) = match change.tag() {
            ChangeTag::Delete => ("- ", theme::ERROR),
            ChangeTag::Insert => ("+ ", theme::OK),
            ChangeTag::Equal => ("  ", theme::DIM),
        };
        cell.push("\n  ", Style::default());
        cell.push(sign, style);
        let line = change.value().trim_end_matches(['\n', '\r']);
        cell.push(&sanitize_plain(line), style);
    }
    if changes.len() > MAX_DIFF_LINES {
        let more = changes.len() - MAX_DIFF_LINES;
        cell.push(&format!("\n  … {more} more lines of diff"), theme::DIM);
    }
}

/// Output longer than this many lines is folded once the command ends.
const FOLD_LINES: usize = 24;
/// Lines kept at each end of folded output.
const FOLD_KEEP: usize = 5;

/// Long output, folded as the tools people know fold it: its first and
/// last lines around `… N more lines (Enter expands)`; None when short.
/// `starts`: where its lines start (the block keeps them): nothing of a
/// long output is scanned again.
pub fn output_fold(text: &StyledText, starts: &[u32]) -> Option<StyledText> {
    let body = text.text.strip_suffix('\n').unwrap_or(&text.text);
    // A final newline starts no line of its own (found from the end).
    let lines = starts
        .iter()
        .rposition(|s| (*s as usize) < body.len())
        .map_or(0, |last| last + 1);
    if lines <= FOLD_LINES {
        return None;
    }
    let head_end = starts[FOLD_KEEP] as usize - 1;
    let tail_start = starts[lines - FOLD_KEEP] as usize;
    let mut fold = text.slice(0, head_end);
    let more = lines - 2 * FOLD_KEEP;
    fold.push(
        &format!("\n  … {more} more lines (Enter expands)\n"),
        theme::DIM,
    );
    fold.append(&text.slice(tail_start, body.len()));
    Some(fold)
}

/// A tool result's first lines and how many more there are, when it is
/// longer than [`RESULT_HEAD_LINES`]; None when it is short.
pub fn tool_result_head(content: &str, is_error: bool) -> Option<StyledText> {
    let content = content.trim_end();
    let lines = content.split('\n').count();
    if lines <= RESULT_HEAD_LINES {
        return None;
    }
    let head_end = content
        .match_indices('\n')
        .nth(RESULT_HEAD_LINES - 1)
        .map_or(content.len(), |(at, _)| at);
    let mut cell = super::tool_result(&content[..head_end], is_error);
    let more = lines - RESULT_HEAD_LINES;
    cell.push(
        &format!("\n  … {more} more lines (Enter expands)"),
        theme::DIM,
    );
    Some(cell)
}
