//! What reading a range of the journal needs, taken off the session task
//! (a `history` page, a search): the part of the sparse index covering
//! the range, so any seq in it is reached without reading from the start.

use std::path::PathBuf;

use super::{INDEX_STRIDE, Journal, JournalCursor};
use crate::host::session::SeqRange;

/// The journal's file and its index entries for one range of seqs.
#[derive(Debug, Clone)]
pub struct JournalReader {
    path: PathBuf,
    end: u64,
    /// Index slot of `offsets[0]`.
    first_slot: usize,
    offsets: Vec<u64>,
}

impl Journal {
    /// A reader for the events of `range` that are on disk.
    pub fn reader(&self, range: SeqRange) -> JournalReader {
        let last = self.index.len().saturating_sub(1);
        let first_slot = ((range.after / INDEX_STRIDE) as usize).min(last);
        let last_slot = ((range.before / INDEX_STRIDE) as usize).min(last);
        let offsets = match self.index.get(first_slot..=last_slot) {
            Some(offsets) => offsets.to_vec(),
            None => Vec::new(),
        };
        JournalReader {
            path: self.path.clone(),
            end: self.written,
            first_slot,
            offsets,
        }
    }
}

impl JournalReader {
    /// The frames of events `from..to` on disk, with their seqs, in order
    /// (fewer when the journal lacks some). Blocking: it reads the file.
    pub fn frames(&self, from: u64, to: u64) -> crate::host::error::Result<Vec<(u64, Vec<u8>)>> {
        let mut out = Vec::new();
        if from >= to {
            return Ok(out);
        }
        self.cursor(from - 1)
            .read_range(from - 1, to, |seq, frame| {
                out.push((seq, frame));
                true
            })?;
        Ok(out)
    }

    /// The first seq of the index slot that holds `seq`: a read from
    /// there starts at an indexed offset, with nothing to skip.
    pub fn slot_start(&self, seq: u64) -> u64 {
        (seq.max(1) - 1) / INDEX_STRIDE * INDEX_STRIDE + 1
    }

    /// A cursor for reading events with `seq > after` (within the range
    /// this reader was made for).
    pub fn cursor(&self, after: u64) -> JournalCursor {
        let slot = (after / INDEX_STRIDE) as usize;
        let at = slot
            .saturating_sub(self.first_slot)
            .min(self.offsets.len().saturating_sub(1));
        let offset = self.offsets.get(at).copied().unwrap_or(self.end);
        JournalCursor {
            path: self.path.clone(),
            offset: offset.min(self.end),
            end: self.end,
        }
    }
}
