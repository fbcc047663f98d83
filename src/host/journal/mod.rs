//! The on-disk journal: one file per session, JSON Lines.
//!
//! Line 1 is a header naming the history (`epoch`); every further line is
//! the exact `event` frame that was broadcast, appended and flushed before
//! the broadcast. Whose the owner slot is lives beside it (`owner_file`).
//! A torn last line (the host died mid-write) is dropped with a notice;
//! damage anywhere else stops the start-up with a clear error rather than
//! silently losing history.
//!
//! Opening reads the file as a stream (`scan`): memory keeps a sparse
//! index (one offset every [`INDEX_STRIDE`] events) and the newest frames
//! the history budget holds; replays of anything older read the file.

mod line;
mod scan;
#[cfg(test)]
mod tests;

use std::fs::{self, File, OpenOptions};
use std::io::{BufRead, BufReader, BufWriter, Read, Seek, SeekFrom, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use crate::host::error::{IoContext, Result, invalid};
use serde::{Deserialize, Serialize};

use super::owner_file::OwnerFile;
use super::session::{EventLog, HistoryBudget};
use crate::protocol::EventRecord;
pub use line::frame_seq;
use scan::Scan;

/// Every how many events the journal remembers a byte offset.
const INDEX_STRIDE: u64 = 256;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JournalHeader {
    pub journal: u32,
    pub session: String,
    pub epoch: String,
    pub started_at: String,
}

/// What a journal held when it was opened.
#[derive(Debug)]
pub struct Loaded {
    pub header: Option<JournalHeader>,
    /// The journal's numbering and its newest frames, as many as the
    /// history budget holds (the older ones stay on disk).
    pub history: EventLog,
    /// Things worth telling the participants (a torn line was dropped).
    pub notices: Vec<String>,
    /// Whose the owner slot was when this history was last served, if
    /// anyone's (from the owner file beside the journal).
    pub owner: Option<String>,
}

#[derive(Debug)]
pub struct Journal {
    path: PathBuf,
    out: BufWriter<File>,
    /// Byte offset of the line of seq `1 + k * INDEX_STRIDE`, at index k.
    index: Vec<u64>,
    len: u64,
    last_seq: u64,
    owner: OwnerFile,
}

/// Where a journal replay starts reading.
#[derive(Debug, Clone)]
pub struct JournalCursor {
    pub path: PathBuf,
    pub offset: u64,
    /// Bytes known to be complete (flushed) when the cursor was made.
    pub end: u64,
}

pub fn journal_path(dir: &Path, session: &str) -> PathBuf {
    dir.join(format!("{session}.jsonl"))
}

/// Transcripts are as private as the auth file: the journal directory is
/// created 0700 whatever the umask, and one that others can read is made
/// private again, with a warning.
fn make_private_dir(dir: &Path) -> Result<()> {
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .or_io(|| format!("cannot create {}", dir.display()))?;
    make_private(dir, 0o700)
}

/// Takes group and other permissions away from `path`, saying so.
fn make_private(path: &Path, mode: u32) -> Result<()> {
    let meta = fs::metadata(path).or_io(|| format!("cannot read {}", path.display()))?;
    let current = meta.permissions().mode() & 0o777;
    if current & 0o077 != 0 {
        fs::set_permissions(path, fs::Permissions::from_mode(mode))
            .or_io(|| format!("cannot make {} private", path.display()))?;
        tracing::warn!(
            "{} was readable by others (mode {current:o}); it is now {mode:o}",
            path.display()
        );
    }
    Ok(())
}

impl Journal {
    /// The header on line 1 of `session`'s journal in `dir`, if the file
    /// exists and has one (only that line is read): the history that
    /// [`Journal::open`] will continue.
    pub fn recorded_header(dir: &Path, session: &str) -> Option<JournalHeader> {
        scan::read_header(&journal_path(dir, session))
    }

    /// Opens (or creates) the journal of `session` in `dir`, reading it as
    /// a stream: `on_event` gets, in seq order, every event that may change
    /// session state (others may be skipped), and `Loaded::history` the
    /// newest frames within `budget`. A new file gets `header` as its first
    /// line.
    pub fn open(
        dir: &Path,
        session: &str,
        header: &JournalHeader,
        budget: HistoryBudget,
        mut on_event: impl FnMut(&EventRecord),
    ) -> Result<(Journal, Loaded)> {
        make_private_dir(dir)?;
        let path = journal_path(dir, session);
        let scan = if path.exists() {
            scan::scan_file(&path, budget, &mut on_event)?
        } else {
            Scan::empty(budget)
        };
        let epoch = scan.header.as_ref().unwrap_or(header).epoch.clone();
        let (owner, recorded) = OwnerFile::open(dir, session, &epoch);
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .read(true)
            .write(true)
            .mode(0o600)
            .open(&path)
            .or_io(|| format!("cannot open {}", path.display()))?;
        make_private(&path, 0o600)?;
        file.set_len(scan.good_len)
            .or_io(|| format!("cannot trim {}", path.display()))?;
        let mut out = BufWriter::with_capacity(64 * 1024, file);
        out.seek(SeekFrom::Start(scan.good_len))?;
        let mut journal = Journal {
            path,
            out,
            index: scan.index,
            len: scan.good_len,
            last_seq: scan.history.last_seq(),
            owner,
        };
        let loaded = Loaded {
            header: scan.header,
            history: scan.history,
            notices: scan.notices,
            owner: recorded,
        };
        if loaded.header.is_none() {
            let mut line = serde_json::to_vec(header)?;
            line.push(b'\n');
            journal.write_line(&line)?;
            journal.flush()?;
        }
        Ok((journal, loaded))
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn last_seq(&self) -> u64 {
        self.last_seq
    }

    /// Buffers one event frame; [`Journal::flush`] makes it durable against
    /// a crash of this process.
    pub fn append(&mut self, seq: u64, frame: &[u8]) -> Result<()> {
        if seq != self.last_seq + 1 {
            invalid!("journal append out of order: {seq} after {}", self.last_seq);
        }
        if (seq - 1).is_multiple_of(INDEX_STRIDE) {
            self.index.push(self.len);
        }
        self.write_line(frame)?;
        self.write_line(b"\n")?;
        self.last_seq = seq;
        Ok(())
    }

    /// Records whose the owner slot is now (`None`: nobody's).
    pub fn record_owner(&mut self, owner: Option<&str>) -> Result<()> {
        self.owner.record(owner)
    }

    fn write_line(&mut self, bytes: &[u8]) -> Result<()> {
        self.out.write_all(bytes)?;
        self.len += bytes.len() as u64;
        Ok(())
    }

    pub fn flush(&mut self) -> Result<()> {
        self.out
            .flush()
            .or_io(|| format!("cannot write {}", self.path.display()))
    }

    /// A cursor for reading events with `seq > after` (call after a flush).
    pub fn cursor(&self, after: u64) -> JournalCursor {
        let slot = (after / INDEX_STRIDE) as usize;
        let offset = self
            .index
            .get(slot.min(self.index.len().saturating_sub(1)))
            .copied()
            .unwrap_or(self.len);
        JournalCursor {
            path: self.path.clone(),
            offset,
            end: self.len,
        }
    }
}

impl JournalCursor {
    /// Reads the frames with `after < seq < before`, in order, calling
    /// `each` for every one. Blocking: run it off the async threads.
    pub fn read_range(
        &self,
        after: u64,
        before: u64,
        mut each: impl FnMut(u64, Vec<u8>) -> bool,
    ) -> Result<()> {
        let mut file =
            File::open(&self.path).or_io(|| format!("cannot read {}", self.path.display()))?;
        file.seek(SeekFrom::Start(self.offset))?;
        let mut reader = BufReader::with_capacity(256 * 1024, file.take(self.end - self.offset));
        let mut line = Vec::new();
        loop {
            line.clear();
            if reader.read_until(b'\n', &mut line)? == 0 {
                return Ok(());
            }
            if line.last() == Some(&b'\n') {
                line.pop();
            }
            let Some(seq) = frame_seq(&line) else {
                continue;
            };
            if seq >= before {
                return Ok(());
            }
            if seq > after && !each(seq, std::mem::take(&mut line)) {
                return Ok(());
            }
        }
    }
}
