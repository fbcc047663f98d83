//! The on-disk journal: one file per session, JSON Lines.
//!
//! Line 1 is a header naming the history (`epoch`); every further line is
//! the `event` frame that was broadcast, sealed with a checksum of its
//! bytes (`line::seal`), appended and flushed before the broadcast. Whose the owner slot is lives beside it (`owner_file`).
//! A torn last line (the host died mid-write) is dropped with a notice;
//! damage anywhere else stops the start-up with a clear error rather than
//! silently losing history.
//!
//! Opening reads the file as a stream (`scan`): memory keeps a sparse
//! index (one offset every [`INDEX_STRIDE`] events) and the newest frames
//! the history budget holds; replays of anything older read the file.
//! A checkpoint beside it (`checkpoint`, kept by `keeper`) spares a
//! restart reading what lies before the history window.

mod behind;
mod checkpoint;
#[cfg(test)]
mod checkpoint_props;
#[cfg(test)]
mod checkpoint_tests;
mod keeper;
mod line;
mod lock;
mod pages;
mod scan;
#[cfg(test)]
mod tests;

use std::fs::File;
use std::io::{BufRead, BufReader, Read, Seek, SeekFrom};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use nix::fcntl::Flock;

use crate::host::error::{IoContext, Result};
use serde::{Deserialize, Serialize};

use super::owner_file::OwnerFile;
use super::private_files::{ensure_private_dir, open_for_reading, open_private_file};
use super::session::{EventLog, HistoryBudget, SessionState};
use behind::BehindMarker;
pub use checkpoint::Covers as CheckpointCovers;
use keeper::{Keeper, Saved};
pub use line::frame_seq;
pub use pages::JournalReader;

/// Every how many events the journal remembers a byte offset.
const INDEX_STRIDE: u64 = 256;

/// How far the journal may fall behind (events not yet on disk, kept in
/// memory while the disk refuses them) before it gives up for this run.
const MAX_UNWRITTEN: usize = 64 << 20;

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
    /// What its events imply.
    pub state: SessionState,
    /// The seq up to which a checkpoint stood in for reading the file
    /// (`None`: it was read whole).
    pub checkpoint: Option<u64>,
    /// Things worth telling the participants (a torn line was dropped).
    pub notices: Vec<String>,
    /// Whose the owner slot was when this history was last served, if
    /// anyone's (from the owner file beside the journal).
    pub owner: Option<String>,
}

/// Whether what was broadcast is on disk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Health {
    /// Everything up to the last flush is written.
    Written,
    /// The disk refuses writes: events from seq `from` on are kept in
    /// memory and written as soon as it takes them again.
    Behind { from: u64, error: String },
    /// It fell more than [`MAX_UNWRITTEN`] behind: events from seq `from`
    /// on will not survive a restart (which begins a new history).
    GaveUp { from: u64 },
}

#[derive(Debug)]
pub struct Journal {
    path: PathBuf,
    /// Locked (flock) while this host writes it.
    file: Flock<File>,
    /// Whole lines not yet on disk, which start at byte `written`.
    unwritten: Vec<u8>,
    written: u64,
    /// Byte offset of the line of seq `1 + k * INDEX_STRIDE`, at index k.
    index: Vec<u64>,
    last_seq: u64,
    health: Health,
    behind: BehindMarker,
    owner: OwnerFile,
    keeper: Keeper,
}

/// Writes `bytes` at `offset`, as far as the disk takes them: how many it
/// took, and the error that stopped it.
fn write_at(file: &File, bytes: &[u8], offset: u64) -> (usize, std::io::Result<()>) {
    let mut done = 0;
    while done < bytes.len() {
        match file.write_at(&bytes[done..], offset + done as u64) {
            Ok(0) => return (done, Err(std::io::ErrorKind::WriteZero.into())),
            Ok(n) => done += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return (done, Err(e)),
        }
    }
    (done, Ok(()))
}

/// Where a journal replay starts reading.
#[derive(Debug, Clone)]
pub struct JournalCursor {
    pub path: PathBuf,
    pub offset: u64,
    /// Bytes known to be complete (written) when the cursor was made.
    pub end: u64,
}

/// A journal file opened and locked for this host, before it is read: what
/// a start decides about the history (its epoch) is decided under the lock.
#[derive(Debug)]
pub struct Claim {
    path: PathBuf,
    file: Flock<File>,
}

impl Claim {
    /// The header on line 1, if the file has one.
    pub fn header(&self) -> Option<JournalHeader> {
        scan::parse_header(&self.header_line())
    }

    fn header_line(&self) -> Vec<u8> {
        let mut reader = BufReader::new(&*self.file);
        let mut line = Vec::new();
        let _ = (&*self.file).seek(SeekFrom::Start(0));
        let _ = reader.read_until(b'\n', &mut line);
        line
    }

    /// Gives the history a new epoch, in place (through the locked file):
    /// the events on disk stay, under a new name for the history.
    pub fn renew_epoch(&self, dir: &Path, session: &str, header: &JournalHeader) -> Result<()> {
        let mut line = serde_json::to_vec(header)?;
        line.push(b'\n');
        let old = self.header_line();
        if old.len() != line.len() {
            crate::host::error::invalid!(
                "{}: cannot renew the history's epoch in place (header of {} bytes, {} wanted)",
                self.path.display(),
                old.len(),
                line.len()
            );
        }
        self.file
            .write_all_at(&line, 0)
            .or_io(|| format!("cannot write {}", self.path.display()))?;
        BehindMarker::clear(dir, session);
        Ok(())
    }
}

pub fn journal_path(dir: &Path, session: &str) -> PathBuf {
    dir.join(format!("{session}.jsonl"))
}

impl Journal {
    /// Opens and locks the journal of `session` in `dir` (creating it),
    /// so that nothing about its history is decided by two hosts at once.
    /// A journal in use is refused, naming the process that holds it.
    pub fn claim(dir: &Path, session: &str) -> Result<Claim> {
        ensure_private_dir(dir)?;
        let path = journal_path(dir, session);
        let file = open_private_file(&path)?;
        let file = lock::exclusive(file, &path, session)?;
        Ok(Claim { path, file })
    }

    /// Whether the last run of `session` in `dir` broadcast events its
    /// journal never got (the disk refused them, then the host stopped):
    /// the seq of the first one lost. Such a history cannot go on under
    /// its epoch: clients hold events that the journal will number again.
    pub fn lost_from(dir: &Path, session: &str, header: &JournalHeader) -> Option<u64> {
        BehindMarker::recorded(dir, session, &header.epoch)
    }

    /// Ends the history of `session` in `dir` (its session was deleted): the
    /// journal moves to `dir/deleted/` (kept, never served again) and what
    /// lies beside it goes, so a new session of the same id starts a new
    /// history with no rules. Call once the session's task has ended.
    pub fn retire(dir: &Path, session: &str) -> Result<()> {
        let path = journal_path(dir, session);
        if std::fs::symlink_metadata(&path).is_ok() {
            let deleted = dir.join("deleted");
            ensure_private_dir(&deleted)?;
            let stamp = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap_or_default()
                .as_millis();
            let kept = deleted.join(format!("{session}.{stamp}.jsonl"));
            std::fs::rename(&path, &kept)
                .or_io(|| format!("cannot move {} to {}", path.display(), kept.display()))?;
        }
        OwnerFile::forget(dir, session);
        BehindMarker::clear(dir, session);
        let _ = std::fs::remove_file(checkpoint::checkpoint_path(&path));
        Ok(())
    }

    /// What the checkpoint beside the journal of `session` in `dir` covers,
    /// if it has one that reads (for figures: opening decides whether it
    /// is used).
    pub fn checkpoint_covers(dir: &Path, session: &str) -> Option<CheckpointCovers> {
        checkpoint::covers(&journal_path(dir, session))
    }

    /// Opens (or creates) the journal of `session` in `dir`, reading it as
    /// a stream (from its checkpoint on, when it has a good one):
    /// `Loaded::state` is what its events imply, `Loaded::history` the
    /// newest frames within `budget`. A new file gets `header` as its first
    /// line. The file is locked: a second host on the same journal is
    /// refused, naming the process that holds it.
    pub fn open(
        dir: &Path,
        session: &str,
        header: &JournalHeader,
        budget: HistoryBudget,
    ) -> Result<(Journal, Loaded)> {
        let claim = Self::claim(dir, session)?;
        Self::open_claimed(claim, dir, session, header, budget)
    }

    /// [`Journal::open`] on a journal already claimed.
    pub fn open_claimed(
        claim: Claim,
        dir: &Path,
        session: &str,
        header: &JournalHeader,
        budget: HistoryBudget,
    ) -> Result<(Journal, Loaded)> {
        let Claim { path, file } = claim;
        let (scan, saved) = read_history(&file, &path, budget)?;
        let epoch = scan.header.as_ref().unwrap_or(header).epoch.clone();
        let (owner, recorded) = OwnerFile::open(dir, session, &epoch);
        file.set_len(scan.good_len)
            .or_io(|| format!("cannot trim {}", path.display()))?;
        let keeper = Keeper::new(
            &path,
            scan.state.clone(),
            &scan.history,
            scan.last_line,
            saved.unwrap_or_default(),
        );
        let mut journal = Journal {
            keeper,
            behind: BehindMarker::open(dir, session, &epoch),
            path,
            file,
            unwritten: Vec::new(),
            written: scan.good_len,
            index: scan.index,
            last_seq: scan.history.last_seq(),
            health: Health::Written,
            owner,
        };
        let loaded = Loaded {
            header: scan.header,
            history: scan.history,
            state: scan.state,
            checkpoint: saved.map(|saved| saved.seq),
            notices: scan.notices,
            owner: recorded,
        };
        if loaded.header.is_none() {
            let mut line = serde_json::to_vec(header)?;
            line.push(b'\n');
            journal.unwritten.extend_from_slice(&line);
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

    pub fn health(&self) -> &Health {
        &self.health
    }

    /// Takes one event frame; [`Journal::flush`] writes it.
    pub fn append(&mut self, seq: u64, frame: &[u8]) -> Result<()> {
        if seq != self.last_seq + 1 {
            crate::host::error::invalid!(
                "journal append out of order: {seq} after {}",
                self.last_seq
            );
        }
        self.last_seq = seq;
        if matches!(self.health, Health::GaveUp { .. }) {
            return Ok(());
        }
        let at = self.written + self.unwritten.len() as u64;
        if (seq - 1).is_multiple_of(INDEX_STRIDE) {
            self.index.push(at);
        }
        self.keeper.take(frame, at);
        line::seal(frame, &mut self.unwritten);
        self.unwritten.push(b'\n');
        Ok(())
    }

    /// Records whose the owner slot is now (`None`: nobody's).
    pub fn record_owner(&mut self, owner: Option<&str>) -> Result<()> {
        self.owner.record(owner)
    }

    /// Writes what was appended (durable against a crash of this process).
    /// A refused write keeps every line for the next flush, which writes
    /// them again from the same offset, so nothing is lost or doubled; the
    /// marker beside the journal records how far the broadcast got, for a
    /// restart that finds the lines missing.
    pub fn flush(&mut self) -> Result<()> {
        if self.unwritten.is_empty() {
            return Ok(());
        }
        let (done, result) = write_at(&self.file, &self.unwritten, self.written);
        // What reached the disk in whole lines is written for good; a part
        // of a line is written again with the rest.
        let whole = match result {
            Ok(()) => done,
            Err(_) => self.unwritten[..done]
                .iter()
                .rposition(|b| *b == b'\n')
                .map_or(0, |at| at + 1),
        };
        self.written += whole as u64;
        self.unwritten.drain(..whole);
        match result {
            Ok(()) => {
                if self.health != Health::Written {
                    self.health = Health::Written;
                    self.behind.clear_mark();
                }
                if self.keeper.due(self.written, self.last_seq) {
                    self.write_checkpoint();
                }
                Ok(())
            }
            Err(cause) => {
                self.fell_behind(&cause);
                Err(cause).or_io(|| format!("cannot write {}", self.path.display()))
            }
        }
    }

    /// Writes a checkpoint now if anything was written since the last one
    /// (when the host stops cleanly), so that the next start reads little.
    pub fn checkpoint(&mut self) {
        if self.health == Health::Written
            && self.unwritten.is_empty()
            && self.keeper.behind(self.last_seq)
        {
            self.write_checkpoint();
        }
    }

    fn write_checkpoint(&mut self) {
        self.keeper.write(&keeper::Written {
            file: &self.file,
            end: self.written,
            last_seq: self.last_seq,
            index: &self.index,
        });
    }

    /// Whether the disk refuses the journal now (its lines wait in memory
    /// for the next try).
    pub fn is_behind(&self) -> bool {
        matches!(self.health, Health::Behind { .. })
    }

    fn fell_behind(&mut self, cause: &std::io::Error) {
        let from = match &self.health {
            Health::Written => self.first_unwritten_seq(),
            Health::Behind { from, .. } | Health::GaveUp { from } => *from,
        };
        self.behind.mark(from);
        self.health = if self.unwritten.len() > MAX_UNWRITTEN {
            self.unwritten = Vec::new();
            self.keeper.stop();
            Health::GaveUp { from }
        } else {
            Health::Behind {
                from,
                error: cause.to_string(),
            }
        };
    }

    /// The seq of the first line not on disk.
    fn first_unwritten_seq(&self) -> u64 {
        let first = self
            .unwritten
            .split(|b| *b == b'\n')
            .next()
            .and_then(frame_seq);
        first.unwrap_or(self.last_seq)
    }

    /// A cursor for reading events with `seq > after` that are on disk.
    pub fn cursor(&self, after: u64) -> JournalCursor {
        let slot = (after / INDEX_STRIDE) as usize;
        let offset = self
            .index
            .get(slot.min(self.index.len().saturating_sub(1)))
            .copied()
            .unwrap_or(self.written)
            .min(self.written);
        JournalCursor {
            path: self.path.clone(),
            offset,
            end: self.written,
        }
    }
}

/// Reads the journal open as `file`: from its checkpoint on when that one
/// describes it (and where it stood), else the whole file.
fn read_history(
    file: &File,
    path: &Path,
    budget: HistoryBudget,
) -> Result<(scan::Scan, Option<Saved>)> {
    let unused = match checkpoint::load(path, file, budget) {
        Ok(resume) => {
            let expect = resume.expect;
            match scan::resume(file, path, resume) {
                Ok(scan) => {
                    let saved = Saved {
                        end: expect.end,
                        seq: expect.seq,
                        size: std::fs::metadata(checkpoint::checkpoint_path(path))
                            .map_or(0, |m| m.len()),
                    };
                    return Ok((scan, Some(saved)));
                }
                Err(e) => Some(e.to_string()),
            }
        }
        Err(checkpoint::Unused::Missing) => None,
        Err(checkpoint::Unused::Because(why)) => Some(why),
    };
    if let Some(why) = unused {
        tracing::warn!(
            "{}: its checkpoint is not used ({why}); reading the whole journal",
            path.display()
        );
        // Gone before anything is appended: a journal that lost its tail
        // and grew again must never meet its old checkpoint.
        let _ = std::fs::remove_file(checkpoint::checkpoint_path(path));
    }
    scan::scan_file(file, path, budget).map(|scan| (scan, None))
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
        let mut file = open_for_reading(&self.path)?;
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
            if seq <= after {
                continue;
            }
            // Served only if it is what was written.
            let Some(frame) = line::unsealed(std::mem::take(&mut line)) else {
                crate::host::error::invalid!(
                    "the line of event {seq} changed on disk (its checksum does not hold): {}",
                    self.path.display()
                );
            };
            if !each(seq, frame) {
                return Ok(());
            }
        }
    }
}
