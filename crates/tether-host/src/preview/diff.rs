//! The unified diff of a file's text now against after, as a preview.

use std::time::Duration;

use similar::{ChangeTag, TextDiff};

use super::MAX_FILE_BYTES;
use crate::protocol::Preview;

/// Lines of unchanged context around each change.
const CONTEXT_LINES: usize = 3;

/// How long the diff algorithm may search for the smallest diff before it
/// settles for a larger, still correct one.
const DIFF_TIMEOUT: Duration = Duration::from_millis(500);

/// A diff larger than this is not sent (the client could not show it
/// usefully anyway); both sides are bounded by [`MAX_FILE_BYTES`].
const MAX_DIFF_BYTES: usize = 2 * MAX_FILE_BYTES as usize + 64 * 1024;

/// The diff of `old` (`None`: no file yet) against `new` for the file
/// `shown`, headed `--- a/L` / `+++ b/L` with `L` the `label` (`/dev/null`
/// for a new file).
pub fn preview(shown: &str, label: &str, old: Option<&str>, new: &str) -> Preview {
    if new.len() as u64 > MAX_FILE_BYTES {
        return Preview::Unavailable {
            reason: format!("{shown} would be larger than 1 MiB ({} bytes)", new.len()),
        };
    }
    let before = old.unwrap_or("");
    let diff = TextDiff::configure()
        .timeout(DIFF_TIMEOUT)
        .diff_lines(before, new);
    let (mut added, mut removed) = (0, 0);
    for change in diff.iter_all_changes() {
        match change.tag() {
            ChangeTag::Insert => added += 1,
            ChangeTag::Delete => removed += 1,
            ChangeTag::Equal => {}
        }
    }
    let from = match old {
        Some(_) => format!("a/{label}"),
        None => "/dev/null".to_owned(),
    };
    let text = diff
        .unified_diff()
        .context_radius(CONTEXT_LINES)
        .header(&from, &format!("b/{label}"))
        .to_string();
    if text.len() > MAX_DIFF_BYTES {
        return Preview::Unavailable {
            reason: format!(
                "the diff of {shown} is too large to show ({} bytes)",
                text.len()
            ),
        };
    }
    Preview::Diff {
        path: shown.to_owned(),
        diff: text,
        added,
        removed,
        new_file: old.is_none(),
    }
}
