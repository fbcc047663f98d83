//! Reading an existing journal at start-up, as a stream: memory holds the
//! sparse index, the newest frames the history budget allows and one line
//! at a time, whatever the file's size. Events that change session state
//! are decoded and applied to the session state; the rest are only checked.
//!
//! A read may start from a checkpoint (`resume`): the state, the index and
//! the numbering come from it, and the file is read from the start of the
//! history window on, past the line the checkpoint names (checked).

use std::fs::File;
use std::io::{BufRead, BufReader, Seek, SeekFrom};
use std::path::Path;

use bytes::Bytes;

use super::line::{JournalLine, Sum, check_sum, read_line};
use super::{INDEX_STRIDE, JournalHeader};
use crate::host::error::{IoContext, Result, invalid};
use crate::host::session::{EventLog, HistoryBudget, SessionState};

/// What reading an existing journal found.
#[derive(Debug)]
pub(super) struct Scan {
    pub header: Option<JournalHeader>,
    /// The numbering and the newest frames, within the budget.
    pub history: EventLog,
    /// What the events imply.
    pub state: SessionState,
    /// Byte offset of the line of seq `1 + k * INDEX_STRIDE`, at index k.
    pub index: Vec<u64>,
    /// Bytes up to the end of the last good line.
    pub good_len: u64,
    /// Byte offset of the last good line.
    pub last_line: u64,
    /// Things worth telling the participants (a torn line was dropped).
    pub notices: Vec<String>,
    /// Events up to this seq are in `state` already (from a checkpoint).
    applied: u64,
    /// The line a checkpoint names, until it is read.
    expect: Option<Expected>,
}

/// The line a checkpoint says it ends with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Expected {
    pub seq: u64,
    /// Byte offset just past its newline.
    pub end: u64,
    /// CRC-32 of its bytes (without the newline).
    pub sum: u32,
}

/// Where a read from a checkpoint starts.
#[derive(Debug)]
pub(super) struct Resume {
    pub header: JournalHeader,
    pub budget: HistoryBudget,
    pub state: SessionState,
    /// The index entries before `from_seq`.
    pub index: Vec<u64>,
    /// The first line read: its seq (an index entry's) and offset.
    pub from_seq: u64,
    pub from_offset: u64,
    pub expect: Expected,
}

impl Scan {
    pub fn empty(budget: HistoryBudget) -> Scan {
        Scan {
            header: None,
            history: EventLog::new(budget),
            state: SessionState::default(),
            index: Vec::new(),
            good_len: 0,
            last_line: 0,
            notices: Vec::new(),
            applied: 0,
            expect: None,
        }
    }
}

/// One line of a journal file as read.
struct Line<'a> {
    text: &'a [u8],
    /// Its byte offset and 1-based number.
    offset: u64,
    number: usize,
    /// Whether it ended with a newline.
    complete: bool,
    /// Whether nothing follows it.
    last: bool,
}

pub(super) fn parse_header(line: &[u8]) -> Option<JournalHeader> {
    let text = line.strip_suffix(b"\n").unwrap_or(line);
    serde_json::from_slice(text).ok()
}

/// Reads the journal at `path` line by line from the start, applying each
/// decoded event to the state in seq order (every event that changes
/// session state is decoded). A torn last line is dropped with a notice;
/// any other damage is an error.
pub(super) fn scan_file(file: &File, path: &Path, budget: HistoryBudget) -> Result<Scan> {
    let mut scan = Scan::empty(budget);
    scan.read(file, path, 0, 0)?;
    if scan.header.is_none() {
        // Without a header nothing is kept, but the notices stand.
        let notices = std::mem::take(&mut scan.notices);
        scan = Scan::empty(budget);
        scan.notices = notices;
    }
    Ok(scan)
}

/// Reads the journal at `path` from where `from` says, as [`scan_file`]
/// would have gone on there. An error says why the checkpoint cannot be
/// used (the file does not hold what it names, or is damaged after it):
/// the caller then reads the whole file.
pub(super) fn resume(file: &File, path: &Path, from: Resume) -> Result<Scan> {
    let mut scan = Scan {
        header: Some(from.header),
        history: EventLog::after(from.budget, from.from_seq - 1),
        state: from.state,
        index: from.index,
        good_len: from.from_offset,
        last_line: from.from_offset,
        notices: Vec::new(),
        applied: from.expect.seq,
        expect: Some(from.expect),
    };
    // Line numbers as in the whole file: the header, then one per event.
    let number = usize::try_from(from.from_seq).unwrap_or(usize::MAX);
    scan.read(file, path, from.from_offset, number)?;
    if let Some(expect) = scan.expect {
        invalid!(
            "{} ends at seq {} (byte {}), before the checkpoint's seq {} (byte {})",
            path.display(),
            scan.history.last_seq(),
            scan.good_len,
            expect.seq,
            expect.end
        );
    }
    Ok(scan)
}

impl Scan {
    /// Reads the file from `offset`, after `number` lines.
    fn read(&mut self, file: &File, path: &Path, mut offset: u64, mut number: usize) -> Result<()> {
        let mut handle = file;
        handle
            .seek(SeekFrom::Start(offset))
            .or_io(|| format!("cannot read {}", path.display()))?;
        let mut reader = BufReader::with_capacity(1 << 20, handle);
        let mut text = Vec::new();
        loop {
            text.clear();
            let read = reader
                .read_until(b'\n', &mut text)
                .or_io(|| format!("cannot read {}", path.display()))?;
            if read == 0 {
                return Ok(());
            }
            number += 1;
            let complete = text.last() == Some(&b'\n');
            let last = reader.fill_buf().map(|rest| rest.is_empty())?;
            let line = Line {
                text: if complete { &text[..read - 1] } else { &text },
                offset,
                number,
                complete,
                last,
            };
            if !self.take(&line, path)? {
                if line.last {
                    self.notices.push(format!(
                        "the journal's last line was torn ({} bytes, the host stopped mid-write); it was dropped",
                        line.text.len()
                    ));
                    return Ok(());
                }
                invalid!(
                    "{} line {number} is not a journal record; the journal is damaged (move it away to start a new history)",
                    path.display()
                );
            }
            self.last_line = offset;
            offset += read as u64;
            self.good_len = offset;
        }
    }
}

impl Scan {
    /// Takes one line; whether it was a whole record.
    fn take(&mut self, line: &Line, path: &Path) -> Result<bool> {
        if line.number == 1 {
            self.header = parse_header(line.text);
            return Ok(self.header.is_some());
        }
        if !line.complete && line.last {
            return Ok(false);
        }
        let sum = check_sum(line.text);
        let sealed = matches!(sum, Sum::Holds { .. });
        let frame = match sum {
            Sum::Holds { body } => [&line.text[..body], b"}"].concat(),
            Sum::Absent => line.text.to_vec(),
            Sum::Broken if line.last => return Ok(false),
            Sum::Broken => invalid!(
                "{} line {}: its checksum does not hold (a byte changed on disk); the journal is damaged (move it away to start a new history)",
                path.display(),
                line.number,
            ),
        };
        let read = read_line(line.text, sealed);
        let Some(seq) = read.seq() else {
            return Ok(false);
        };
        let last_seq = self.history.last_seq();
        if seq != last_seq + 1 {
            invalid!(
                "{} line {}: event seq {seq} follows {last_seq}; the journal is damaged",
                path.display(),
                line.number,
            );
        }
        if let Some(expect) = self.expect
            && seq == expect.seq
        {
            self.check_expected(line, expect, path)?;
        }
        if (seq - 1).is_multiple_of(INDEX_STRIDE) {
            self.index.push(line.offset);
        }
        if let JournalLine::Decoded(record) = &read
            && seq > self.applied
        {
            self.state.apply(record);
        }
        self.history.push(seq, Bytes::from(frame));
        Ok(true)
    }

    /// The line a checkpoint ends with is the one it names: same place,
    /// same bytes.
    fn check_expected(&mut self, line: &Line, expect: Expected, path: &Path) -> Result<()> {
        let end = line.offset + line.text.len() as u64 + 1;
        if !line.complete || end != expect.end || crc32fast::hash(line.text) != expect.sum {
            invalid!(
                "{} line {} (seq {}) is not the line the checkpoint names",
                path.display(),
                line.number,
                expect.seq
            );
        }
        self.expect = None;
        Ok(())
    }
}
