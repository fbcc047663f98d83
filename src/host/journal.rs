//! The on-disk journal: one file per session, JSON Lines.
//!
//! Line 1 is a header naming the history (`epoch`); every further line is
//! the exact `event` frame that was broadcast, appended and flushed before
//! the broadcast. Whose the owner slot is lives beside it (`owner_file`). A torn last line (the host died mid-write) is dropped with
//! a notice; damage anywhere else stops the start-up with a clear error
//! rather than silently losing history.

use std::fs::{self, File, OpenOptions};
use std::io::{BufRead, BufReader, BufWriter, Read, Seek, SeekFrom, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use crate::host::error::{IoContext, Result, invalid};
use bytes::Bytes;
use serde::{Deserialize, Serialize};

use super::owner_file::OwnerFile;
use crate::protocol::{EventRecord, ServerMessage};

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
#[derive(Debug, Default)]
pub struct Loaded {
    pub header: Option<JournalHeader>,
    pub events: Vec<(EventRecord, Bytes)>,
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

/// The seq of an event frame, read from its fixed prefix when possible.
pub fn frame_seq(line: &[u8]) -> Option<u64> {
    const PREFIX: &[u8] = br#"{"type":"event","seq":"#;
    if let Some(rest) = line.strip_prefix(PREFIX) {
        let digits = rest.iter().take_while(|b| b.is_ascii_digit()).count();
        if digits > 0 && rest.get(digits) == Some(&b',') {
            return std::str::from_utf8(&rest[..digits]).ok()?.parse().ok();
        }
    }
    match serde_json::from_slice(line).ok()? {
        ServerMessage::Event(record) => Some(record.seq),
        _ => None,
    }
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
    /// Opens (or creates) the journal of `session` in `dir`, loading what it
    /// holds. A new file gets `header` as its first line.
    pub fn open(dir: &Path, session: &str, header: &JournalHeader) -> Result<(Journal, Loaded)> {
        make_private_dir(dir)?;
        let path = journal_path(dir, session);
        let mut scan = if path.exists() {
            Scan::file(&path)?
        } else {
            Scan::default()
        };
        let epoch = scan.loaded.header.as_ref().unwrap_or(header).epoch.clone();
        let (owner, recorded) = OwnerFile::open(dir, session, &epoch);
        scan.loaded.owner = recorded;
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
            last_seq: scan.last_seq,
            owner,
        };
        let loaded = scan.loaded;
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

/// What reading an existing journal found.
#[derive(Debug, Default)]
struct Scan {
    loaded: Loaded,
    index: Vec<u64>,
    /// Bytes up to the end of the last good line.
    good_len: u64,
    last_seq: u64,
}

/// One line of a journal file as read.
struct Line<'a> {
    text: &'a [u8],
    /// Its byte offset and 1-based number.
    offset: usize,
    number: usize,
    /// Whether it ended with a newline.
    complete: bool,
    /// Whether nothing follows it.
    last: bool,
}

impl Scan {
    fn file(path: &Path) -> Result<Scan> {
        let mut bytes = Vec::new();
        File::open(path)
            .and_then(|mut f| f.read_to_end(&mut bytes))
            .or_io(|| format!("cannot read {}", path.display()))?;
        let mut scan = Scan::default();
        let mut offset = 0usize;
        let mut number = 0usize;
        while offset < bytes.len() {
            number += 1;
            let (text, next, complete) = match bytes[offset..].iter().position(|b| *b == b'\n') {
                Some(n) => (&bytes[offset..offset + n], offset + n + 1, true),
                None => (&bytes[offset..], bytes.len(), false),
            };
            let line = Line {
                text,
                offset,
                number,
                complete,
                last: next >= bytes.len(),
            };
            if !scan.take(&line, path)? {
                if line.last {
                    scan.loaded.notices.push(format!(
                        "the journal's last line was torn ({} bytes, the host stopped mid-write); it was dropped",
                        text.len()
                    ));
                    break;
                }
                invalid!(
                    "{} line {number} is not a journal record; the journal is damaged (move it away to start a new history)",
                    path.display()
                );
            }
            scan.good_len = next as u64;
            offset = next;
        }
        if scan.loaded.header.is_none() {
            // Without a header nothing is kept, but the notices stand.
            let notices = std::mem::take(&mut scan.loaded.notices);
            scan = Scan::default();
            scan.loaded.notices = notices;
        }
        Ok(scan)
    }

    /// Takes one line; whether it was a whole record.
    fn take(&mut self, line: &Line, path: &Path) -> Result<bool> {
        if line.number == 1 {
            let header = serde_json::from_slice::<JournalHeader>(line.text).ok();
            self.loaded.header = header;
            return Ok(self.loaded.header.is_some());
        }
        if !line.complete && line.last {
            return Ok(false);
        }
        let record = match serde_json::from_slice::<ServerMessage>(line.text) {
            Ok(ServerMessage::Event(record)) => record,
            _ => return Ok(false),
        };
        if record.seq != self.last_seq + 1 {
            invalid!(
                "{} line {}: event seq {} follows {}; the journal is damaged",
                path.display(),
                line.number,
                record.seq,
                self.last_seq
            );
        }
        if (record.seq - 1).is_multiple_of(INDEX_STRIDE) {
            self.index.push(line.offset as u64);
        }
        self.last_seq = record.seq;
        self.loaded
            .events
            .push((record, Bytes::copy_from_slice(line.text)));
        Ok(true)
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::{EventKind, NoticeLevel};

    fn header() -> JournalHeader {
        JournalHeader {
            journal: 1,
            session: "main".into(),
            epoch: "e".into(),
            started_at: "t".into(),
        }
    }

    fn frame(seq: u64) -> Vec<u8> {
        ServerMessage::Event(EventRecord {
            seq,
            ts: "t".into(),
            event: EventKind::notice(NoticeLevel::Info, format!("n{seq}")),
        })
        .to_json()
        .into_bytes()
    }

    fn write_events(dir: &Path, n: u64) {
        let (mut j, _) = Journal::open(dir, "main", &header()).unwrap();
        for seq in 1..=n {
            j.append(seq, &frame(seq)).unwrap();
        }
        j.flush().unwrap();
    }

    fn mode(path: &Path) -> u32 {
        fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn journals_are_private_and_readable_ones_are_made_private() {
        let root = tempfile::tempdir().unwrap();
        let fresh = root.path().join("new/sessions");
        write_events(&fresh, 1);
        assert_eq!(mode(&fresh), 0o700);
        assert_eq!(mode(&journal_path(&fresh, "main")), 0o600);

        // What an older host left under the default umask.
        let old = root.path().join("old");
        fs::create_dir(&old).unwrap();
        fs::set_permissions(&old, fs::Permissions::from_mode(0o755)).unwrap();
        write_events(&old, 2);
        fs::set_permissions(&old, fs::Permissions::from_mode(0o755)).unwrap();
        let file = journal_path(&old, "main");
        fs::set_permissions(&file, fs::Permissions::from_mode(0o644)).unwrap();
        let (_, loaded) = Journal::open(&old, "main", &header()).unwrap();
        assert_eq!(loaded.events.len(), 2, "nothing is lost");
        assert_eq!((mode(&old), mode(&file)), (0o700, 0o600));
    }

    #[test]
    fn reopening_continues_the_same_history() {
        let dir = tempfile::tempdir().unwrap();
        write_events(dir.path(), 600);
        let (j, loaded) = Journal::open(dir.path(), "main", &header()).unwrap();
        assert_eq!(loaded.events.len(), 600);
        assert_eq!(loaded.header.unwrap().epoch, "e");
        assert_eq!(j.last_seq(), 600);
        let mut seen = Vec::new();
        j.cursor(300)
            .read_range(300, 520, |seq, _| {
                seen.push(seq);
                true
            })
            .unwrap();
        assert_eq!(seen, (301..520).collect::<Vec<_>>());
    }

    #[test]
    fn a_torn_last_line_is_dropped_with_a_notice() {
        let dir = tempfile::tempdir().unwrap();
        write_events(dir.path(), 3);
        let path = journal_path(dir.path(), "main");
        let mut f = OpenOptions::new().append(true).open(&path).unwrap();
        f.write_all(&frame(4)[..20]).unwrap();
        drop(f);
        let (mut j, loaded) = Journal::open(dir.path(), "main", &header()).unwrap();
        assert_eq!(loaded.events.len(), 3);
        assert_eq!(loaded.notices.len(), 1);
        j.append(4, &frame(4)).unwrap();
        j.flush().unwrap();
        let (_, loaded) = Journal::open(dir.path(), "main", &header()).unwrap();
        assert_eq!(loaded.events.len(), 4);
        assert!(loaded.notices.is_empty());
    }

    #[test]
    fn damage_in_the_middle_is_an_error_not_a_loss() {
        let dir = tempfile::tempdir().unwrap();
        write_events(dir.path(), 3);
        let path = journal_path(dir.path(), "main");
        let text = fs::read_to_string(&path)
            .unwrap()
            .replacen("n2", "n2\"garbage", 1);
        fs::write(&path, &text).unwrap();
        let err = Journal::open(dir.path(), "main", &header()).unwrap_err();
        assert!(err.to_string().contains("damaged"), "{err}");
        assert_eq!(fs::read_to_string(&path).unwrap(), text, "nothing was cut");
    }

    #[test]
    fn frame_seq_reads_the_prefix() {
        assert_eq!(frame_seq(&frame(42)), Some(42));
        assert_eq!(
            frame_seq(
                br#"{"seq":7,"type":"event","ts":"t","event":{"kind":"interrupt","by":"a"}}"#
            ),
            Some(7)
        );
        assert_eq!(frame_seq(b"garbage"), None);
    }
}
