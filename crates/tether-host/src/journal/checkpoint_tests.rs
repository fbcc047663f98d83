//! The checkpoint as files: a restart reads it and the tail, and anything
//! wrong with it (torn, foreign, stale, planted) means the whole journal is
//! read instead, with the same outcome.

use std::fs;
use std::os::unix::fs::PermissionsExt;

use super::checkpoint::checkpoint_path;
use super::keeper::{EVERY_BYTES, EVERY_EVENTS};
use super::*;
use crate::protocol::{AgentState, EventKind, EventRecord, ServerMessage};

fn header(epoch: &str) -> JournalHeader {
    JournalHeader {
        journal: 1,
        session: "main".into(),
        epoch: epoch.into(),
        started_at: "t".into(),
    }
}

const BUDGET: HistoryBudget = HistoryBudget {
    bytes: 20_000,
    frames: 300,
};

fn open(dir: &Path) -> Result<(Journal, Loaded)> {
    Journal::open(dir, "main", &header("e"), BUDGET)
}

/// Event `seq` of a made-up history: output mostly, requests and their
/// answers, status changes.
fn frame(seq: u64) -> Vec<u8> {
    let event = match seq % 10 {
        0 => EventKind::PermissionRequest {
            request_id: format!("r{seq}"),
            tool: "Bash".into(),
            input: serde_json::json!({"command": "ls"}),
            tool_use_id: None,
            title: None,
            description: None,
            preview: None,
            options: Vec::new(),
        },
        3 => EventKind::PermissionResolved {
            request_id: format!("r{}", seq - 3),
            decision: crate::protocol::Decision::Allow,
            by: "alice".into(),
            message: None,
            option: None,
            updated_input: None,
        },
        5 => EventKind::status(AgentState::Running),
        _ => EventKind::Output {
            stream: crate::protocol::OutputStream::Stdout,
            text: "x".repeat((seq % 97) as usize),
        },
    };
    let record = EventRecord {
        seq,
        ts: "t".into(),
        event,
    };
    ServerMessage::Event(record).to_json().into_bytes()
}

fn append(journal: &mut Journal, seqs: std::ops::RangeInclusive<u64>) {
    for seq in seqs {
        journal.append(seq, &frame(seq)).unwrap();
    }
    journal.flush().unwrap();
}

/// 2,000 events with a checkpoint at 1,500.
fn write_with_checkpoint(dir: &Path) {
    let (mut j, _) = open(dir).unwrap();
    append(&mut j, 1..=1500);
    j.checkpoint();
    append(&mut j, 1501..=2000);
}

/// Opens the journal in `dir`, and a copy of it without its checkpoint;
/// both must come out the same. What the first read from the checkpoint.
fn open_both(dir: &Path) -> Option<u64> {
    let copy = tempfile::tempdir().unwrap();
    let name = journal_path(dir, "main");
    fs::copy(&name, journal_path(copy.path(), "main")).unwrap();
    let whole = open(copy.path());
    let read = open(dir);
    match (read, whole) {
        (Ok((j, loaded)), Ok((full_j, full))) => {
            assert_eq!(loaded.state, full.state);
            assert_eq!(loaded.history, full.history);
            assert_eq!(loaded.notices, full.notices);
            assert_eq!(loaded.header, full.header);
            assert_eq!((j.index, j.written), (full_j.index, full_j.written));
            loaded.checkpoint
        }
        (Err(a), Err(b)) => {
            assert_eq!(a.to_string().replace(&*dir.to_string_lossy(), ""), {
                b.to_string().replace(&*copy.path().to_string_lossy(), "")
            });
            None
        }
        (a, b) => panic!("{:?} and {:?}", a.map(|_| ()), b.map(|_| ())),
    }
}

/// Puts `frame`, sealed, in place of the line of `seq` in `journal`.
pub(super) fn replace_line(journal: &Path, seq: u64, frame: &[u8]) {
    let bytes = fs::read(journal).unwrap();
    let mut out = Vec::new();
    for line in bytes.split_inclusive(|b| *b == b'\n') {
        let text = line.strip_suffix(b"\n").unwrap_or(line);
        if frame_seq(text) == Some(seq) {
            line::seal(frame, &mut out);
            out.push(b'\n');
        } else {
            out.extend_from_slice(line);
        }
    }
    fs::write(journal, out).unwrap();
}

#[test]
fn a_restart_reads_the_checkpoint_and_the_tail() {
    let dir = tempfile::tempdir().unwrap();
    write_with_checkpoint(dir.path());
    let path = checkpoint_path(&journal_path(dir.path(), "main"));
    let meta = fs::symlink_metadata(&path).unwrap();
    assert_eq!(meta.permissions().mode() & 0o777, 0o600, "private");
    assert_eq!(open_both(dir.path()), Some(1500));
    // Open requests, answered ones and the agent's state are the file's.
    let (_, loaded) = open(dir.path()).unwrap();
    assert!(loaded.state.is_pending("r2000"));
    assert!(!loaded.state.is_pending("r1990"));
    assert_eq!(loaded.history.last_seq(), 2000);
}

#[test]
fn a_torn_or_cut_tail_after_the_checkpoint_is_read_as_a_full_read_would() {
    let dir = tempfile::tempdir().unwrap();
    write_with_checkpoint(dir.path());
    let name = journal_path(dir.path(), "main");
    let mut bytes = fs::read(&name).unwrap();
    bytes.truncate(bytes.len() - 7);
    fs::write(&name, &bytes).unwrap();
    assert_eq!(open_both(dir.path()), Some(1500));
    let (_, loaded) = open(dir.path()).unwrap();
    assert_eq!(loaded.history.last_seq(), 1999);
}

#[test]
fn a_checkpoint_that_does_not_fit_is_not_used_and_goes() {
    type Spoil = fn(&Path, &Path);
    let cases: [(&str, Spoil); 6] = [
        ("a flipped byte", |_, cp| {
            let mut bytes = fs::read(cp).unwrap();
            bytes[40] ^= 1;
            fs::write(cp, bytes).unwrap();
        }),
        ("torn", |_, cp| {
            let bytes = fs::read(cp).unwrap();
            fs::write(cp, &bytes[..bytes.len() / 2]).unwrap();
        }),
        ("the journal cut before its end", |journal, _| {
            let bytes = fs::read(journal).unwrap();
            fs::write(journal, &bytes[..bytes.len() / 2]).unwrap();
        }),
        ("another journal's", |_, cp| {
            let other = tempfile::tempdir().unwrap();
            write_with_checkpoint(other.path());
            let theirs = checkpoint_path(&journal_path(other.path(), "main"));
            fs::copy(theirs, cp).unwrap();
        }),
        ("a copy of the journal (another file)", |journal, _| {
            let copy = journal.with_extension("copy");
            fs::copy(journal, &copy).unwrap();
            fs::rename(&copy, journal).unwrap();
        }),
        ("another line where it ends", |journal, _| {
            // Still a good line of seq 1500, but not the one it names.
            let other = ServerMessage::Event(EventRecord {
                seq: 1500,
                ts: "t".into(),
                event: EventKind::status(AgentState::Idle),
            });
            replace_line(journal, 1500, other.to_json().as_bytes());
        }),
    ];
    for (what, spoil) in cases {
        let dir = tempfile::tempdir().unwrap();
        write_with_checkpoint(dir.path());
        let journal = journal_path(dir.path(), "main");
        spoil(&journal, &checkpoint_path(&journal));
        assert_eq!(open_both(dir.path()), None, "{what}");
        assert!(!checkpoint_path(&journal).exists(), "{what}: removed");
    }
}

#[test]
fn a_larger_budget_or_a_renewed_history_reads_the_whole_journal() {
    let dir = tempfile::tempdir().unwrap();
    write_with_checkpoint(dir.path());
    let larger = HistoryBudget {
        bytes: BUDGET.bytes + 1,
        ..BUDGET
    };
    let (_, loaded) = Journal::open(dir.path(), "main", &header("e"), larger).unwrap();
    assert_eq!(loaded.checkpoint, None, "its window may start too late");

    // A smaller budget's window starts no earlier: the checkpoint serves.
    let dir = tempfile::tempdir().unwrap();
    write_with_checkpoint(dir.path());
    let smaller = HistoryBudget {
        bytes: 1000,
        frames: 10,
    };
    let (_, loaded) = Journal::open(dir.path(), "main", &header("e"), smaller).unwrap();
    assert_eq!(loaded.checkpoint, Some(1500));
    assert!(
        loaded.history.window().bytes <= 1000,
        "the new budget holds"
    );

    let dir = tempfile::tempdir().unwrap();
    write_with_checkpoint(dir.path());
    let claim = Journal::claim(dir.path(), "main").unwrap();
    claim.renew_epoch(dir.path(), "main", &header("f")).unwrap();
    let (_, loaded) =
        Journal::open_claimed(claim, dir.path(), "main", &header("f"), BUDGET).unwrap();
    assert_eq!(loaded.checkpoint, None);
    assert_eq!(loaded.header.unwrap().epoch, "f");
}

#[test]
fn a_symlink_at_the_checkpoint_is_never_followed() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("precious");
    fs::write(&target, "keep me").unwrap();
    let journal = journal_path(dir.path(), "main");
    let link = checkpoint_path(&journal);
    let (mut j, _) = open(dir.path()).unwrap();
    append(&mut j, 1..=300);
    std::os::unix::fs::symlink(&target, &link).unwrap();
    // Read: refused, and the full read has the same outcome.
    drop(j);
    assert_eq!(open_both(dir.path()), None);
    assert_eq!(fs::read_to_string(&target).unwrap(), "keep me");
    // Written: the link is replaced, its target left alone.
    std::os::unix::fs::symlink(&target, &link).unwrap();
    let (mut j, _) = open(dir.path()).unwrap();
    assert!(!link.exists(), "removed, not followed");
    std::os::unix::fs::symlink(&target, &link).unwrap();
    append(&mut j, 301..=310);
    j.checkpoint();
    assert!(!fs::symlink_metadata(&link).unwrap().is_symlink());
    assert_eq!(fs::read_to_string(&target).unwrap(), "keep me");
}

#[test]
fn checkpoints_come_as_the_journal_grows_and_never_at_every_event() {
    let dir = tempfile::tempdir().unwrap();
    let (mut j, _) = open(dir.path()).unwrap();
    let path = checkpoint_path(&journal_path(dir.path(), "main"));
    append(&mut j, 1..=EVERY_EVENTS - 1);
    assert!(!path.exists(), "not yet");
    append(&mut j, EVERY_EVENTS..=EVERY_EVENTS);
    let first = fs::read(&path).unwrap();
    append(&mut j, EVERY_EVENTS + 1..=EVERY_EVENTS + 1000);
    assert_eq!(fs::read(&path).unwrap(), first, "not at every event");
    drop(j);
    assert_eq!(open_both(dir.path()), Some(EVERY_EVENTS));
    // By bytes: a few large events.
    let (mut j, _) = open(dir.path()).unwrap();
    let big = |seq| {
        let record = EventRecord {
            seq,
            ts: "t".into(),
            event: EventKind::Output {
                stream: crate::protocol::OutputStream::Stdout,
                text: "y".repeat(4 << 20),
            },
        };
        ServerMessage::Event(record).to_json().into_bytes()
    };
    let start = EVERY_EVENTS + 1001;
    for seq in start..start + EVERY_BYTES / (4 << 20) + 1 {
        j.append(seq, &big(seq)).unwrap();
        j.flush().unwrap();
    }
    drop(j);
    let (_, loaded) = open(dir.path()).unwrap();
    let read_from = loaded.checkpoint.unwrap();
    assert!(read_from > EVERY_EVENTS, "{read_from}");
}

#[test]
fn a_retired_journal_takes_its_checkpoint_along() {
    let dir = tempfile::tempdir().unwrap();
    write_with_checkpoint(dir.path());
    let path = checkpoint_path(&journal_path(dir.path(), "main"));
    assert!(path.exists());
    Journal::retire(dir.path(), "main").unwrap();
    assert!(!path.exists());
}
