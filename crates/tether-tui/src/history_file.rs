//! Where the input box's history is kept between runs: one file per
//! session (host and id) under `<state dir>/tether/history/`, a JSON
//! string per line, private to the user (messages may hold secrets).
//! The I/O edge of `app::history`: the app asks for a line to be kept
//! (`Effect::Remember`), the event loop writes it here and reads the file
//! back when a session is opened.

use std::fs::{DirBuilder, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

/// Entries read back: the newest this many.
const KEPT: usize = 1000;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryFile {
    path: PathBuf,
}

impl HistoryFile {
    /// The file of session `id` on the host at `host` (its URL), in `dir`.
    /// Not by port: plain `tether` serves its directory's session on a
    /// new port each run.
    pub fn of(dir: &Path, host: &url::Url, id: &str) -> HistoryFile {
        let place = format!("{}_{id}", host.host_str().unwrap_or("host"));
        let name: String = place
            .chars()
            .map(|c| match c {
                'a'..='z' | 'A'..='Z' | '0'..='9' | '.' | '-' | '_' => c,
                _ => '_',
            })
            .take(120)
            .collect();
        HistoryFile {
            path: dir.join(format!("{name}.jsonl")),
        }
    }

    /// The texts sent in earlier runs, oldest first (nothing when there is
    /// no file yet; a line that is not a JSON string is skipped).
    pub fn load(&self) -> Vec<String> {
        let Ok(text) = std::fs::read_to_string(&self.path) else {
            return Vec::new();
        };
        let entries: Vec<String> = text
            .lines()
            .filter_map(|line| serde_json::from_str::<String>(line).ok())
            .collect();
        let skip = entries.len().saturating_sub(KEPT);
        entries.into_iter().skip(skip).collect()
    }

    /// Keeps one more sent text.
    pub fn append(&self, text: &str) -> std::io::Result<()> {
        if let Some(dir) = self.path.parent() {
            DirBuilder::new().recursive(true).mode(0o700).create(dir)?;
        }
        let mut file = OpenOptions::new()
            .create(true)
            .append(true)
            .mode(0o600)
            .open(&self.path)?;
        let mut line = serde_json::to_string(text).unwrap_or_default();
        line.push('\n');
        file.write_all(line.as_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn texts_come_back_in_order_one_file_per_session() {
        let dir = tempfile::tempdir().unwrap();
        let host = url::Url::parse("ws://127.0.0.1:7878").unwrap();
        let main = HistoryFile::of(dir.path(), &host, "main");
        let other = HistoryFile::of(dir.path(), &host, "../other");
        assert!(main.load().is_empty());
        main.append("make test").unwrap();
        main.append("two\nlines").unwrap();
        other.append("elsewhere").unwrap();
        assert_eq!(main.load(), ["make test", "two\nlines"]);
        assert_eq!(other.load(), ["elsewhere"]);
        assert!(other.path.starts_with(dir.path()), "{:?}", other.path);
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&main.path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
}
