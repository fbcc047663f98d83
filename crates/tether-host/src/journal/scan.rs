//! Reading an existing journal at start-up, as a stream: memory holds the
//! sparse index, the newest frames the history budget allows and one line
//! at a time, whatever the file's size. Events that change session state
//! are decoded and handed to the caller; the rest are only checked.

use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::Path;

use bytes::Bytes;

use super::line::{JournalLine, Sum, check_sum, read_line};
use super::{INDEX_STRIDE, JournalHeader};
use crate::host::error::{IoContext, Result, invalid};
use crate::host::session::{EventLog, HistoryBudget};
use crate::protocol::EventRecord;

/// What reading an existing journal found.
#[derive(Debug)]
pub(super) struct Scan {
    pub header: Option<JournalHeader>,
    /// The numbering and the newest frames, within the budget.
    pub history: EventLog,
    /// Byte offset of the line of seq `1 + k * INDEX_STRIDE`, at index k.
    pub index: Vec<u64>,
    /// Bytes up to the end of the last good line.
    pub good_len: u64,
    /// Things worth telling the participants (a torn line was dropped).
    pub notices: Vec<String>,
}

impl Scan {
    pub fn empty(budget: HistoryBudget) -> Scan {
        Scan {
            header: None,
            history: EventLog::new(budget),
            index: Vec::new(),
            good_len: 0,
            notices: Vec::new(),
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

/// Reads the journal at `path` line by line, calling `on_event` with each
/// decoded event in seq order (every event that changes session state is
/// decoded). A torn last line is dropped with a notice; any other damage is
/// an error.
pub(super) fn scan_file(
    file: &File,
    path: &Path,
    budget: HistoryBudget,
    on_event: &mut dyn FnMut(&EventRecord),
) -> Result<Scan> {
    let mut reader = BufReader::with_capacity(1 << 20, file);
    let mut scan = Scan::empty(budget);
    let mut text = Vec::new();
    let mut offset = 0u64;
    let mut number = 0usize;
    loop {
        text.clear();
        let read = reader
            .read_until(b'\n', &mut text)
            .or_io(|| format!("cannot read {}", path.display()))?;
        if read == 0 {
            break;
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
        if !scan.take(&line, path, on_event)? {
            if line.last {
                scan.notices.push(format!(
                    "the journal's last line was torn ({} bytes, the host stopped mid-write); it was dropped",
                    line.text.len()
                ));
                break;
            }
            invalid!(
                "{} line {number} is not a journal record; the journal is damaged (move it away to start a new history)",
                path.display()
            );
        }
        offset += read as u64;
        scan.good_len = offset;
    }
    if scan.header.is_none() {
        // Without a header nothing is kept, but the notices stand.
        let notices = std::mem::take(&mut scan.notices);
        scan = Scan::empty(budget);
        scan.notices = notices;
    }
    Ok(scan)
}

impl Scan {
    /// Takes one line; whether it was a whole record.
    fn take(
        &mut self,
        line: &Line,
        path: &Path,
        on_event: &mut dyn FnMut(&EventRecord),
    ) -> Result<bool> {
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
        if (seq - 1).is_multiple_of(INDEX_STRIDE) {
            self.index.push(line.offset);
        }
        if let JournalLine::Decoded(record) = &read {
            on_event(record);
        }
        self.history.push(seq, Bytes::from(frame));
        Ok(true)
    }
}
