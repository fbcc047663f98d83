//! `<session>.behind`: beside a journal, how far the broadcast got past
//! what the disk took. The journal writes it only when a write is refused,
//! in place over bytes allocated when the journal was opened, so that a
//! full disk does not refuse it too. A restart that finds it naming the
//! same history knows events were broadcast and lost, and starts a new
//! history rather than numbering new events with seqs clients already hold.

use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use crate::host::private_files::{open_for_reading, open_private_file};

/// The record's fixed size: an epoch (24 hex digits), a seq, padding.
const RECORD: usize = 96;

#[derive(Debug)]
pub struct BehindMarker {
    /// `None` when the file could not be made (then nothing is marked).
    file: Option<File>,
    epoch: String,
}

fn marker_path(dir: &Path, session: &str) -> PathBuf {
    dir.join(format!("{session}.behind"))
}

/// The record `epoch from` padded to [`RECORD`] bytes (`from` 0: clear).
fn record(epoch: &str, from: u64) -> Vec<u8> {
    let mut line = format!("{epoch} {from}").into_bytes();
    line.resize(RECORD - 1, b' ');
    line.push(b'\n');
    line
}

impl BehindMarker {
    /// Opens the marker of `session`'s history `epoch` (made, cleared, and
    /// its bytes allocated now, while the disk still takes them).
    pub fn open(dir: &Path, session: &str, epoch: &str) -> BehindMarker {
        let path = marker_path(dir, session);
        let file = match open_private_file(&path) {
            Ok(file) => file.write_all_at(&record(epoch, 0), 0).ok().map(|()| file),
            Err(e) => {
                tracing::warn!("{e}: a full disk may then lose events unnoticed");
                None
            }
        };
        BehindMarker {
            file,
            epoch: epoch.to_owned(),
        }
    }

    /// Records that events from seq `from` on are not on disk.
    pub fn mark(&self, from: u64) {
        if let Some(file) = &self.file {
            let _ = file.write_all_at(&record(&self.epoch, from), 0);
        }
    }

    /// Everything is on disk again.
    pub fn clear_mark(&self) {
        self.mark(0);
    }

    /// The first lost seq the marker of `session` records for `epoch`.
    pub fn recorded(dir: &Path, session: &str, epoch: &str) -> Option<u64> {
        let mut bytes = [0u8; RECORD];
        let file = open_for_reading(&marker_path(dir, session)).ok()?;
        let read = file.read_at(&mut bytes, 0).ok()?;
        let text = std::str::from_utf8(&bytes[..read]).ok()?;
        let mut words = text.split_whitespace();
        let (marked, from) = (words.next()?, words.next()?.parse::<u64>().ok()?);
        (marked == epoch && from > 0).then_some(from)
    }

    /// Forgets any record (the history was renewed).
    pub fn clear(dir: &Path, session: &str) {
        let _ = std::fs::remove_file(marker_path(dir, session));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_mark_names_its_history_and_clears_in_place() {
        let dir = tempfile::tempdir().unwrap();
        let marker = BehindMarker::open(dir.path(), "main", "e1");
        assert_eq!(BehindMarker::recorded(dir.path(), "main", "e1"), None);
        marker.mark(20);
        assert_eq!(BehindMarker::recorded(dir.path(), "main", "e1"), Some(20));
        assert_eq!(BehindMarker::recorded(dir.path(), "main", "e2"), None);
        let size = std::fs::metadata(marker_path(dir.path(), "main"))
            .unwrap()
            .len();
        assert_eq!(size, RECORD as u64, "overwritten, never grown");
        marker.clear_mark();
        assert_eq!(BehindMarker::recorded(dir.path(), "main", "e1"), None);
    }
}
