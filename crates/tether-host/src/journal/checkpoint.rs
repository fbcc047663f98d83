//! `<session>.jsonl.checkpoint`: beside a journal, what a restart needs of
//! its first `end` bytes (the session state, the sparse index, where the
//! history window starts), so that a restart reads the checkpoint and the
//! journal from the window on, not the whole file.
//!
//! The file is one JSON object and a line with the CRC-32 of its bytes. It
//! names the journal it summarises (device, inode, epoch, a sum of the
//! header line), the seq and offset it ends at and a sum of its last line.
//! Anything that does not agree (a torn or foreign checkpoint, a journal
//! shorter than it says, another line where it ends, another history
//! budget) makes the restart read the whole journal, saying why: a
//! checkpoint may cost time, never state.

use std::fs::File;
use std::io::Read;
use std::os::unix::fs::{FileExt, MetadataExt};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::INDEX_STRIDE;
use super::JournalHeader;
use super::scan::{Expected, Resume, parse_header};
use crate::host::error::Result;
use crate::host::private_files::open_for_reading;
use crate::host::session::{HistoryBudget, SessionState};

/// The format; another one is not read.
pub const VERSION: u32 = 1;

/// A checkpoint larger than this is not read (the state is bounded far
/// below it: 64 open requests of at most 256 KiB each).
const MAX_BYTES: u64 = 256 << 20;

/// The journal a checkpoint belongs to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Identity {
    pub dev: u64,
    pub ino: u64,
    pub epoch: String,
    /// CRC-32 of the header line (with its newline).
    pub header_sum: u32,
}

/// What a checkpoint says besides the state and the index.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Head {
    pub version: u32,
    pub identity: Identity,
    /// The journal's bytes it summarises: whole lines, the last of seq
    /// `last_seq`.
    pub end: u64,
    pub last_seq: u64,
    /// CRC-32 of the line of `last_seq` (without its newline).
    pub last_line_sum: u32,
    /// Where a restart starts reading to fill the history window: an index
    /// entry at or before the window's first frame.
    pub window_seq: u64,
    pub window_offset: u64,
    /// The history budget the window was reckoned with.
    pub budget_bytes: u64,
    pub budget_frames: u64,
}

/// A checkpoint as read.
#[derive(Debug, Deserialize)]
pub struct Checkpoint {
    pub head: Head,
    /// The journal's sparse index up to `end`.
    pub index: Vec<u64>,
    pub state: SessionState,
}

/// A checkpoint to write (borrowing what it is made of).
#[derive(Debug, Serialize)]
pub struct Writing<'a> {
    pub head: &'a Head,
    pub index: &'a [u64],
    pub state: &'a SessionState,
}

/// Why a checkpoint was not used.
#[derive(Debug, PartialEq, Eq)]
pub enum Unused {
    /// There is none (nothing to say).
    Missing,
    /// There is one, and this is what is wrong with it.
    Because(String),
}

pub fn checkpoint_path(journal: &Path) -> PathBuf {
    let mut name = journal.as_os_str().to_owned();
    name.push(".checkpoint");
    PathBuf::from(name)
}

/// The bytes of a checkpoint file: the JSON, a newline, its sum (hex) and
/// a newline.
pub fn encode(checkpoint: &Writing) -> Result<Vec<u8>> {
    let mut bytes = serde_json::to_vec(checkpoint)?;
    let sum = crc32fast::hash(&bytes);
    bytes.extend_from_slice(format!("\n{sum:08x}\n").as_bytes());
    Ok(bytes)
}

/// Reads what [`encode`] wrote; an error says what is wrong.
pub fn decode(bytes: &[u8]) -> std::result::Result<Checkpoint, String> {
    let torn = || "it is torn (its sum line is missing)".to_owned();
    let text = bytes.strip_suffix(b"\n").ok_or_else(torn)?;
    let split = memchr::memrchr(b'\n', text).ok_or_else(torn)?;
    let (body, sum) = (&text[..split], &text[split + 1..]);
    let recorded = std::str::from_utf8(sum)
        .ok()
        .filter(|hex| hex.len() == 8)
        .and_then(|hex| u32::from_str_radix(hex, 16).ok())
        .ok_or_else(torn)?;
    if recorded != crc32fast::hash(body) {
        return Err("its sum does not hold (torn or changed)".into());
    }
    serde_json::from_slice(body).map_err(|e| format!("it cannot be read ({e})"))
}

/// The first line of a journal (with its newline), if it has a whole one.
pub fn header_line(file: &File) -> Option<Vec<u8>> {
    let mut line = Vec::new();
    let mut chunk = [0u8; 4096];
    while line.len() < 1 << 16 {
        let read = file.read_at(&mut chunk, line.len() as u64).ok()?;
        if read == 0 {
            return None;
        }
        if let Some(at) = memchr::memchr(b'\n', &chunk[..read]) {
            line.extend_from_slice(&chunk[..=at]);
            return Some(line);
        }
        line.extend_from_slice(&chunk[..read]);
    }
    None
}

impl Identity {
    /// The identity of the journal open as `file`, with `header_line` its
    /// first line; `None` when it has no header.
    pub fn of(file: &File, header_line: &[u8]) -> Option<Identity> {
        let header = parse_header(header_line)?;
        let meta = file.metadata().ok()?;
        Some(Identity {
            dev: meta.dev(),
            ino: meta.ino(),
            epoch: header.epoch,
            header_sum: crc32fast::hash(header_line),
        })
    }
}

/// The index entry at or before the window's first seq: its seq.
pub fn aligned(first_seq: u64) -> u64 {
    1 + (first_seq.max(1) - 1) / INDEX_STRIDE * INDEX_STRIDE
}

impl Checkpoint {
    /// Where to go on reading the journal (`identity`, `len` bytes long,
    /// to be read with `budget`), if this checkpoint describes it.
    pub fn resume(
        self,
        identity: &Identity,
        header: JournalHeader,
        len: u64,
        budget: HistoryBudget,
    ) -> std::result::Result<Resume, String> {
        let head = &self.head;
        if head.version != VERSION {
            return Err(format!("it is of format {}, not {VERSION}", head.version));
        }
        if head.identity != *identity {
            return Err("it belongs to another journal, or another history".into());
        }
        // A window reckoned with a budget at least as large starts no
        // later than this one's, and the read evicts down to it.
        if budget.bytes as u64 > head.budget_bytes || budget.frames as u64 > head.budget_frames {
            return Err("it was made with a smaller history budget".into());
        }
        if head.end > len {
            return Err(format!(
                "it covers {} bytes, and the journal has {len}",
                head.end
            ));
        }
        let slot = (head.window_seq.max(1) - 1) / INDEX_STRIDE;
        let consistent = head.last_seq >= 1
            && head.window_seq == aligned(head.window_seq)
            && head.window_seq <= head.last_seq
            && self.index.len() as u64 == (head.last_seq - 1) / INDEX_STRIDE + 1
            && self.index.get(slot as usize) == Some(&head.window_offset)
            && head.window_offset < head.end;
        if !consistent {
            return Err("what it says does not hang together".into());
        }
        let mut index = self.index;
        index.truncate(slot as usize);
        Ok(Resume {
            header,
            budget,
            state: self.state,
            index,
            from_seq: head.window_seq,
            from_offset: head.window_offset,
            expect: Expected {
                seq: head.last_seq,
                end: head.end,
                sum: head.last_line_sum,
            },
        })
    }
}

/// What a checkpoint says it covers (read whole, its sum holding; whether
/// it fits the journal is for a restart to find).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Covers {
    /// The seq and the byte offset it ends at.
    pub seq: u64,
    pub end: u64,
    /// Where a restart from it starts reading: the history window.
    pub read_from: u64,
}

/// What the checkpoint beside the journal at `journal` covers, if it has
/// one that reads.
pub fn covers(journal: &Path) -> Option<Covers> {
    let mut bytes = Vec::new();
    open_for_reading(&checkpoint_path(journal))
        .ok()?
        .take(MAX_BYTES)
        .read_to_end(&mut bytes)
        .ok()?;
    let head = decode(&bytes).ok()?.head;
    Some(Covers {
        seq: head.last_seq,
        end: head.end,
        read_from: head.window_offset,
    })
}

/// Reads the checkpoint beside the journal at `journal` (open as `file`)
/// and, if it describes that journal, where to go on reading it.
pub fn load(
    journal: &Path,
    file: &File,
    budget: HistoryBudget,
) -> std::result::Result<Resume, Unused> {
    let path = checkpoint_path(journal);
    let mut opened = match open_for_reading(&path) {
        Ok(opened) => opened,
        Err(crate::host::Error::Io { cause, .. })
            if cause.kind() == std::io::ErrorKind::NotFound =>
        {
            return Err(Unused::Missing);
        }
        Err(e) => return Err(Unused::Because(e.to_string())),
    };
    let because = |why: String| Unused::Because(why);
    let mut bytes = Vec::new();
    opened
        .by_ref()
        .take(MAX_BYTES)
        .read_to_end(&mut bytes)
        .map_err(|e| because(format!("it cannot be read ({e})")))?;
    let checkpoint = decode(&bytes).map_err(because)?;
    let line = header_line(file).ok_or_else(|| because("the journal has no header".into()))?;
    let identity =
        Identity::of(file, &line).ok_or_else(|| because("the journal has no header".into()))?;
    let header = parse_header(&line).ok_or_else(|| because("the journal has no header".into()))?;
    let len = file
        .metadata()
        .map_err(|e| because(format!("the journal cannot be read ({e})")))?
        .len();
    checkpoint
        .resume(&identity, header, len, budget)
        .map_err(because)
}
