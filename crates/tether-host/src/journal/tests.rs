//! The journal as files: privacy, reopening, torn and damaged lines.

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::os::unix::fs::PermissionsExt;

use super::*;
use crate::protocol::{EventKind, EventRecord, NoticeLevel, ServerMessage};

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

fn open(dir: &Path) -> Result<(Journal, Loaded)> {
    Journal::open(dir, "main", &header(), HistoryBudget::default())
}

fn write_events(dir: &Path, n: u64) {
    let (mut j, _) = open(dir).unwrap();
    for seq in 1..=n {
        j.append(seq, &frame(seq)).unwrap();
    }
    j.flush().unwrap();
}

fn mode(path: &Path) -> u32 {
    fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[test]
fn journals_are_private_and_readable_ones_are_made_private_not_their_directory() {
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
    let (_, loaded) = open(&old).unwrap();
    assert_eq!(loaded.history.last_seq(), 2, "nothing is lost");
    // The directory may be the user's own (never chmodded); the file is
    // the host's and is made private.
    assert_eq!((mode(&old), mode(&file)), (0o755, 0o600));
}

#[test]
fn reopening_continues_the_same_history() {
    let dir = tempfile::tempdir().unwrap();
    write_events(dir.path(), 600);
    let (j, loaded) = open(dir.path()).unwrap();
    assert_eq!(loaded.history.last_seq(), 600);
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
    let (mut j, loaded) = open(dir.path()).unwrap();
    assert_eq!(loaded.history.last_seq(), 3);
    assert_eq!(loaded.notices.len(), 1);
    j.append(4, &frame(4)).unwrap();
    j.flush().unwrap();
    drop(j);
    let (_, loaded) = open(dir.path()).unwrap();
    assert_eq!(loaded.history.last_seq(), 4);
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
    let err = open(dir.path()).unwrap_err();
    assert!(err.to_string().contains("damaged"), "{err}");
    assert_eq!(fs::read_to_string(&path).unwrap(), text, "nothing was cut");
}

fn output(seq: u64, text: &str) -> Vec<u8> {
    ServerMessage::Event(EventRecord {
        seq,
        ts: "2026-01-01T00:00:00.000Z".into(),
        event: EventKind::Output {
            stream: crate::protocol::OutputStream::Stdout,
            text: text.into(),
        },
    })
    .to_json()
    .into_bytes()
}

fn status(seq: u64) -> Vec<u8> {
    ServerMessage::Event(EventRecord {
        seq,
        ts: "2026-01-01T00:00:00.000Z".into(),
        event: EventKind::status(crate::protocol::AgentState::Idle),
    })
    .to_json()
    .into_bytes()
}

/// A journal of 1,000 events: output, with a status every 100th.
fn write_mixed(dir: &Path) -> Vec<Vec<u8>> {
    let (mut j, _) = open(dir).unwrap();
    let lines: Vec<Vec<u8>> = (1..=1000)
        .map(|seq| {
            if seq % 100 == 0 {
                status(seq)
            } else {
                output(seq, &"x".repeat(seq as usize % 50))
            }
        })
        .collect();
    for (n, line) in lines.iter().enumerate() {
        j.append(n as u64 + 1, line).unwrap();
    }
    j.flush().unwrap();
    lines
}

#[test]
fn reopening_keeps_only_the_newest_frames_the_budget_holds() {
    let dir = tempfile::tempdir().unwrap();
    let lines = write_mixed(dir.path());
    let budget = HistoryBudget {
        bytes: 4096,
        frames: 1000,
    };
    let (_, loaded) = Journal::open(dir.path(), "main", &header(), budget).unwrap();
    let window = loaded.history.window();
    assert_eq!(window.last_seq, 1000);
    assert!(window.bytes <= 4096, "{window:?}");
    let kept: usize = lines[window.first_seq as usize - 1..]
        .iter()
        .map(Vec::len)
        .sum();
    assert_eq!(
        kept, window.bytes,
        "the kept frames are the file's last lines"
    );
    let older = lines[window.first_seq as usize - 2].len();
    assert!(
        kept + older > 4096,
        "no more than the budget forced out went"
    );
    let plan = loaded.history.plan_replay(0, true);
    assert_eq!(
        plan.frames.first().unwrap()[..],
        lines[window.first_seq as usize - 1][..]
    );
}

#[test]
fn the_state_events_make_the_state() {
    let dir = tempfile::tempdir().unwrap();
    write_mixed(dir.path());
    let (_, loaded) = open(dir.path()).unwrap();
    let mut expected = SessionState::default();
    for n in 1..=10 {
        let ServerMessage::Event(record) = serde_json::from_slice(&status(n * 100)).unwrap() else {
            unreachable!()
        };
        expected.apply(&record);
    }
    assert_eq!(loaded.state, expected);
    assert_eq!(loaded.checkpoint, None, "none was written");
}

#[test]
fn the_rebuilt_index_points_at_the_lines_it_names() {
    let dir = tempfile::tempdir().unwrap();
    write_mixed(dir.path());
    let (written, _) = open(dir.path()).unwrap();
    let bytes = fs::read(journal_path(dir.path(), "main")).unwrap();
    assert_eq!(written.index.len(), 4, "seqs 1, 257, 513 and 769");
    for (k, offset) in written.index.iter().enumerate() {
        let line = &bytes[*offset as usize..];
        assert_eq!(
            frame_seq(line.split(|b| *b == b'\n').next().unwrap()),
            Some(1 + k as u64 * INDEX_STRIDE)
        );
    }
    // Reading from the rebuilt index gives what follows, and only that.
    let mut seen = Vec::new();
    written
        .cursor(600)
        .read_range(600, 700, |seq, _| {
            seen.push(seq);
            true
        })
        .unwrap();
    assert_eq!(seen, (601..700).collect::<Vec<_>>());
}

#[test]
fn a_torn_last_line_that_ends_in_a_newline_is_dropped_too() {
    let dir = tempfile::tempdir().unwrap();
    write_events(dir.path(), 3);
    let path = journal_path(dir.path(), "main");
    let mut f = OpenOptions::new().append(true).open(&path).unwrap();
    f.write_all(&output(4, "half")[..30]).unwrap();
    f.write_all(b"\n").unwrap();
    drop(f);
    let (_, loaded) = open(dir.path()).unwrap();
    assert_eq!(loaded.history.last_seq(), 3);
    assert_eq!(loaded.notices.len(), 1);
}

#[test]
fn a_gap_in_numbering_or_a_bad_output_line_in_the_middle_stops_the_start() {
    let dir = tempfile::tempdir().unwrap();
    write_events(dir.path(), 3);
    let path = journal_path(dir.path(), "main");
    let good = fs::read(&path).unwrap();
    let mut skipped = good.clone();
    skipped.extend_from_slice(&output(9, "late"));
    skipped.extend_from_slice(b"\n");
    skipped.extend_from_slice(&output(10, "later"));
    fs::write(&path, &skipped).unwrap();
    let err = open(dir.path()).unwrap_err();
    assert!(err.to_string().contains("seq 9 follows 3"), "{err}");

    let mut broken = good;
    broken.extend_from_slice(&output(4, "a")[..25]);
    broken.extend_from_slice(b"\n");
    broken.extend_from_slice(&output(5, "b"));
    fs::write(&path, &broken).unwrap();
    let err = open(dir.path()).unwrap_err();
    assert!(err.to_string().contains("line 5"), "{err}");
}

#[test]
fn a_journal_is_written_by_one_host_at_a_time() {
    let dir = tempfile::tempdir().unwrap();
    let (first, _) = open(dir.path()).unwrap();
    let refused = open(dir.path()).unwrap_err().to_string();
    assert!(refused.contains("in use by another tether"), "{refused}");
    drop(first);
    open(dir.path()).unwrap();
}

#[test]
fn a_symlinked_journal_is_refused_and_its_target_left_alone() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("system-file");
    fs::write(&target, "precious\n").unwrap();
    std::os::unix::fs::symlink(&target, journal_path(dir.path(), "main")).unwrap();
    let refused = open(dir.path()).unwrap_err().to_string();
    assert!(refused.contains("is a symlink"), "{refused}");
    assert_eq!(fs::read_to_string(&target).unwrap(), "precious\n");
    assert_eq!(mode(&target), 0o644);
}

#[test]
fn a_refused_write_keeps_every_line_and_writes_it_later_from_the_same_place() {
    let dir = tempfile::tempdir().unwrap();
    let (mut j, _) = open(dir.path()).unwrap();
    j.append(1, &frame(1)).unwrap();
    j.flush().unwrap();
    // What a full disk does to the next writes: refused. A read-only
    // descriptor stands in for the disk here.
    let path = journal_path(dir.path(), "main");
    let writable = std::mem::replace(&mut j.file, read_only(&path.with_extension("ro")));
    for seq in 2..=4 {
        j.append(seq, &frame(seq)).unwrap();
        assert!(j.flush().is_err());
    }
    assert!(
        matches!(j.health(), Health::Behind { from: 2, .. }),
        "{:?}",
        j.health()
    );
    assert_eq!(Journal::lost_from(dir.path(), "main", &header()), Some(2));
    // The disk takes writes again: all of it lands, once, in order.
    drop(std::mem::replace(&mut j.file, writable));
    j.append(5, &frame(5)).unwrap();
    j.flush().unwrap();
    assert_eq!(j.health(), &Health::Written);
    assert_eq!(Journal::lost_from(dir.path(), "main", &header()), None);
    drop(j);
    let (_, loaded) = open(dir.path()).unwrap();
    assert_eq!(loaded.history.last_seq(), 5);
}

/// A read-only descriptor of a new file at `path`, locked as the journal's
/// own is (it stands in for it: writes through it fail).
fn read_only(path: &Path) -> nix::fcntl::Flock<File> {
    fs::write(path, "").unwrap();
    let file = File::open(path).unwrap();
    nix::fcntl::Flock::lock(file, nix::fcntl::FlockArg::LockExclusiveNonblock)
        .map_err(|(_, e)| e)
        .unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn a_flipped_byte_is_reported_not_served() {
    let dir = tempfile::tempdir().unwrap();
    write_events(dir.path(), 3);
    let path = journal_path(dir.path(), "main");
    let clean = fs::read_to_string(&path).unwrap();
    // `n2` becomes `n3` inside a string: still valid JSON, wrong content.
    let flipped = clean.replacen("\"n2\"", "\"n3\"", 1);
    assert_ne!(flipped, clean);
    fs::write(&path, &flipped).unwrap();
    let refused = open(dir.path()).unwrap_err().to_string();
    assert!(
        refused.contains("line 3") && refused.contains("checksum"),
        "{refused}"
    );
    // On the last line it is taken for a torn write: dropped, with a notice.
    let last = clean.replacen("\"n3\"", "\"n4\"", 1);
    fs::write(&path, &last).unwrap();
    let (_, loaded) = open(dir.path()).unwrap();
    assert_eq!(loaded.history.last_seq(), 2);
    assert_eq!(loaded.notices.len(), 1);
}

#[test]
fn replays_from_disk_are_the_frames_as_broadcast() {
    let dir = tempfile::tempdir().unwrap();
    let (mut j, _) = open(dir.path()).unwrap();
    for seq in 1..=3 {
        j.append(seq, &frame(seq)).unwrap();
    }
    j.flush().unwrap();
    let mut served = Vec::new();
    j.cursor(0)
        .read_range(0, 10, |seq, bytes| {
            served.push((seq, bytes));
            true
        })
        .unwrap();
    let expected: Vec<(u64, Vec<u8>)> = (1..=3).map(|seq| (seq, frame(seq))).collect();
    assert_eq!(
        served, expected,
        "the checksum is the journal's, not the client's"
    );
}
