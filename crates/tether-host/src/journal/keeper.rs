//! Keeping a journal's checkpoint as the journal grows: the state its
//! lines imply, rebuilt from each line appended exactly as a restart would
//! rebuild it from the file (the same decoding, the same
//! [`SessionState::apply`]), and where the history window a restart would
//! hold starts. A checkpoint is written when the journal has grown by
//! [`EVERY_BYTES`] or [`EVERY_EVENTS`] since the last (and by at least four
//! times the last one's size, so that writing them never costs more than a
//! quarter of the journal's own writes), and when the host stops cleanly.

use std::collections::VecDeque;
use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::PathBuf;

use super::checkpoint::{self, Head, Identity, VERSION, Writing};
use super::line::{JournalLine, read_line};
use crate::host::error::{Result, invalid};
use crate::host::owner_file::replace_private;
use crate::host::session::{EventLog, HistoryBudget, SessionState};

/// Bytes of journal between checkpoints (at most).
pub const EVERY_BYTES: u64 = 32 << 20;
/// Events between checkpoints (at most).
pub const EVERY_EVENTS: u64 = 50_000;

/// Where the history window a restart would hold starts, followed event by
/// event as [`EventLog::push`] evicts (only the frames' lengths are kept).
#[derive(Debug)]
pub struct WindowStart {
    budget: HistoryBudget,
    lens: VecDeque<usize>,
    bytes: usize,
    first_seq: u64,
}

impl WindowStart {
    pub fn of(log: &EventLog) -> WindowStart {
        let lens: VecDeque<usize> = log.frame_lens().collect();
        WindowStart {
            budget: log.budget(),
            bytes: lens.iter().sum(),
            lens,
            first_seq: log.first_retained(),
        }
    }

    /// One more frame of `len` bytes.
    pub fn push(&mut self, len: usize) {
        self.lens.push_back(len);
        self.bytes += len;
        while self.lens.len() > 1 && self.budget.exceeded_by(self.lens.len(), self.bytes) {
            let oldest = self.lens.pop_front().unwrap_or_default();
            self.bytes -= oldest;
            self.first_seq += 1;
        }
    }

    /// The seq of the window's oldest frame.
    pub fn first_seq(&self) -> u64 {
        self.first_seq
    }
}

/// Where the journal stood when the last checkpoint was written (or read).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Saved {
    pub end: u64,
    pub seq: u64,
    /// The checkpoint's size in bytes.
    pub size: u64,
}

#[derive(Debug)]
pub struct Keeper {
    path: PathBuf,
    budget: HistoryBudget,
    state: SessionState,
    window: WindowStart,
    /// Byte offset of the newest line.
    last_line: u64,
    saved: Saved,
    /// No more checkpoints this run (the journal gave up writing).
    stopped: bool,
}

/// What the journal is when a checkpoint is written: `end` bytes of whole
/// lines up to seq `last_seq`, its sparse `index`.
pub struct Written<'a> {
    pub file: &'a File,
    pub end: u64,
    pub last_seq: u64,
    pub index: &'a [u64],
}

impl Keeper {
    /// A keeper for the journal at `journal`, as a read of it left things:
    /// the state, the window, the newest line's offset, and where the
    /// checkpoint read stood (`saved`; default after a full read).
    pub fn new(
        journal: &std::path::Path,
        state: SessionState,
        history: &EventLog,
        last_line: u64,
        saved: Saved,
    ) -> Keeper {
        Keeper {
            path: checkpoint::checkpoint_path(journal),
            budget: history.budget(),
            state,
            window: WindowStart::of(history),
            last_line,
            saved,
            stopped: false,
        }
    }

    /// Takes one event frame, appended at byte `at`.
    pub fn take(&mut self, frame: &[u8], at: u64) {
        self.last_line = at;
        // The length a restart's window counts: the frame as unsealed.
        self.window
            .push(frame.strip_suffix(b"}").unwrap_or(frame).len() + 1);
        if let JournalLine::Decoded(record) = read_line(frame, true) {
            self.state.apply(&record);
        }
    }

    /// No more checkpoints this run: lines go unwritten.
    pub fn stop(&mut self) {
        self.stopped = true;
    }

    /// Whether the journal has grown enough since the last checkpoint.
    pub fn due(&self, end: u64, last_seq: u64) -> bool {
        let grown = end.saturating_sub(self.saved.end);
        !self.stopped
            && last_seq > self.saved.seq
            && (grown >= EVERY_BYTES || last_seq - self.saved.seq >= EVERY_EVENTS)
            && grown >= 4 * self.saved.size
    }

    /// Whether anything was written since the last checkpoint.
    pub fn behind(&self, last_seq: u64) -> bool {
        !self.stopped && last_seq > self.saved.seq
    }

    /// Writes a checkpoint of the journal as it is (everything appended is
    /// written). A failure is logged; the next one is due as if it had
    /// been written (a full disk is not asked again at every flush).
    pub fn write(&mut self, journal: &Written) {
        if let Err(e) = self.try_write(journal) {
            tracing::warn!("{}: not written: {e}", self.path.display());
        }
        self.saved.end = journal.end;
        self.saved.seq = journal.last_seq;
    }

    fn try_write(&mut self, journal: &Written) -> Result<()> {
        let Some(identity) = checkpoint::header_line(journal.file)
            .and_then(|line| Identity::of(journal.file, &line))
        else {
            invalid!("the journal has no header");
        };
        let line_len = usize::try_from(journal.end - self.last_line).unwrap_or(usize::MAX);
        let mut line = vec![0u8; line_len.min(1 << 30)];
        journal.file.read_exact_at(&mut line, self.last_line)?;
        if line.pop() != Some(b'\n') || line.contains(&b'\n') {
            invalid!("the newest line is not where the journal thought");
        }
        let window_seq = checkpoint::aligned(self.window.first_seq());
        let Some(&window_offset) = journal
            .index
            .get(((window_seq - 1) / super::INDEX_STRIDE) as usize)
        else {
            invalid!("the index does not reach the history window");
        };
        let head = Head {
            version: VERSION,
            identity,
            end: journal.end,
            last_seq: journal.last_seq,
            last_line_sum: crc32fast::hash(&line),
            window_seq,
            window_offset,
            budget_bytes: self.budget.bytes as u64,
            budget_frames: self.budget.frames as u64,
        };
        let bytes = checkpoint::encode(&Writing {
            head: &head,
            index: journal.index,
            state: &self.state,
        })?;
        replace_private(&self.path, &bytes)?;
        self.saved.size = bytes.len() as u64;
        Ok(())
    }
}
