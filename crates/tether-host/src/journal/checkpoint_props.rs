//! Property: a restart from checkpoint and tail comes out exactly as a
//! restart that reads the whole journal (the session state, the history
//! window, the index, the notices, the length kept), for random histories,
//! checkpoints taken at random points, and crashes of every kind: a cut or
//! torn journal, a checkpoint older than the journal, torn, corrupted or
//! another journal's, a journal that lost its tail and grew again; a
//! restart with a smaller or larger history budget. Then both go on, and
//! a second restart agrees too.

use std::fs;

use proptest::prelude::*;

use super::checkpoint::{checkpoint_path, decode};
use super::*;
use crate::protocol::{
    AgentState, Decision, EventKind, EventRecord, NoticeLevel, OutputStream, OwnerConnection,
    OwnerReason, Rule, RuleSpec, ServerMessage, TurnOutcome,
};

/// An event of a kind that changes state, or output.
#[derive(Debug, Clone)]
enum Kind {
    Output(u16),
    Request(u8),
    Resolve(u8),
    Cancel(u8),
    RuleAdded(u8),
    RuleRemoved(u8),
    Owner(Option<u8>),
    Status(u8),
    User {
        by: u8,
        msg: Option<u16>,
    },
    TurnEnd,
    Interrupt,
    Metadata {
        title: Option<u8>,
        agent: Option<u8>,
    },
    Mode(u8),
    Notice,
}

fn kind() -> impl Strategy<Value = Kind> {
    prop_oneof![
        12 => (0..400u16).prop_map(Kind::Output),
        2 => (0..6u8).prop_map(Kind::Request),
        1 => (0..6u8).prop_map(Kind::Resolve),
        1 => (0..6u8).prop_map(Kind::Cancel),
        1 => (0..4u8).prop_map(Kind::RuleAdded),
        1 => (0..4u8).prop_map(Kind::RuleRemoved),
        1 => proptest::option::of(0..3u8).prop_map(Kind::Owner),
        2 => (0..5u8).prop_map(Kind::Status),
        2 => (0..3u8, proptest::option::of(0..2000u16)).prop_map(|(by, msg)| Kind::User { by, msg }),
        1 => Just(Kind::TurnEnd),
        1 => Just(Kind::Interrupt),
        1 => (proptest::option::of(0..3u8), proptest::option::of(0..3u8))
            .prop_map(|(title, agent)| Kind::Metadata { title, agent }),
        1 => (0..3u8).prop_map(Kind::Mode),
        1 => Just(Kind::Notice),
    ]
}

fn rule(n: u8) -> Rule {
    Rule {
        id: format!("rule-{n}"),
        label: format!("always allow `ls {n}`"),
        spec: RuleSpec::ExactCommand {
            command: format!("ls {n}"),
        },
        made_by: "alice".into(),
    }
}

fn event(kind: &Kind) -> EventKind {
    let states = [
        AgentState::Starting,
        AgentState::Idle,
        AgentState::Running,
        AgentState::AwaitingPermission,
        AgentState::Exited,
    ];
    match kind {
        Kind::Output(len) => EventKind::Output {
            stream: OutputStream::Stdout,
            text: "o\u{1b}[1m\"x".repeat(usize::from(*len) / 5),
        },
        Kind::Request(n) => EventKind::PermissionRequest {
            request_id: format!("r{n}"),
            tool: "Bash".into(),
            input: serde_json::json!({"command": format!("ls {n}"), "f": 0.1}),
            tool_use_id: None,
            title: Some(format!("run {n}")),
            description: None,
            preview: None,
            options: Vec::new(),
        },
        Kind::Resolve(n) => EventKind::PermissionResolved {
            request_id: format!("r{n}"),
            decision: Decision::Allow,
            by: "alice".into(),
            message: None,
            option: None,
            updated_input: None,
        },
        Kind::Cancel(n) => EventKind::PermissionCancelled {
            request_id: format!("r{n}"),
            reason: Some("gone".into()),
        },
        Kind::RuleAdded(n) => EventKind::RuleAdded {
            rule: rule(*n),
            by: "alice".into(),
        },
        Kind::RuleRemoved(n) => EventKind::RuleRemoved {
            rule_id: format!("rule-{n}"),
            by: "alice".into(),
        },
        Kind::Owner(who) => EventKind::OwnerChanged {
            owner: who.map(|n| OwnerConnection {
                identity: format!("user{n}"),
                participant: None,
                client: None,
                connected_at: None,
            }),
            previous: None,
            reason: OwnerReason::Claimed,
            held_ms: None,
        },
        Kind::Status(n) => EventKind::Status {
            state: states[usize::from(*n) % states.len()],
            detail: Some(format!("d{n}")),
            exit_code: None,
        },
        Kind::User { by, msg } => EventKind::UserMessage {
            text: "go".into(),
            by: format!("user{by}"),
            msg_id: msg.map(|m| format!("m{m}")),
        },
        Kind::TurnEnd => EventKind::turn_end(TurnOutcome::Success),
        Kind::Interrupt => EventKind::Interrupt { by: "alice".into() },
        Kind::Metadata { title, agent } => EventKind::Metadata {
            title: title.map(|t| format!("title {t}")),
            model: None,
            cwd: None,
            tools: None,
            agent_session_id: agent.map(|a| format!("agent-{a}")),
        },
        Kind::Mode(n) => EventKind::Mode {
            mode: format!("mode{n}"),
            modes: None,
            by: None,
        },
        Kind::Notice => EventKind::notice(NoticeLevel::Info, "n"),
    }
}

#[derive(Debug, Clone)]
enum Step {
    Event(Kind),
    /// A flush and a checkpoint (as a due one, or a clean stop, writes).
    Checkpoint,
}

fn steps(max: usize) -> impl Strategy<Value = Vec<Step>> {
    let step = prop_oneof![
        60 => kind().prop_map(Step::Event),
        1 => Just(Step::Checkpoint),
    ];
    proptest::collection::vec(step, 0..max)
}

/// What happened to the files before the restart.
#[derive(Debug, Clone)]
enum Crash {
    None,
    /// The journal cut at this fraction (per mille) of its length: a torn
    /// line, or whole lines lost (maybe some the checkpoint covers).
    Cut(u16),
    /// Half a frame written after the last line.
    Torn(u16),
    /// A byte of the checkpoint flipped.
    FlippedCheckpoint(u16),
    /// The checkpoint cut at this fraction of its length.
    TornCheckpoint(u16),
    /// Another journal's checkpoint in its place.
    Foreign,
    /// The journal cut, then a host went on with other events.
    CutThenGoOn(u16, Vec<Kind>),
    /// The last lines up to the checkpoint's (this many before it, and
    /// it) written over, in place and past its end, by other events: the
    /// journal as long as it says, another line where it ends (or the same
    /// bytes). As a copy put back over the file, or blocks lost with a
    /// power cut, may leave it; a host of ours would have seen it shorter.
    Rewritten(u8, Vec<Kind>),
}

fn crash() -> impl Strategy<Value = Crash> {
    prop_oneof![
        3 => Just(Crash::None),
        2 => (0..1000u16).prop_map(Crash::Cut),
        1 => (1..200u16).prop_map(Crash::Torn),
        1 => any::<u16>().prop_map(Crash::FlippedCheckpoint),
        1 => (0..1000u16).prop_map(Crash::TornCheckpoint),
        1 => Just(Crash::Foreign),
        1 => ((0..1000u16), proptest::collection::vec(kind(), 1..30))
            .prop_map(|(at, kinds)| Crash::CutThenGoOn(at, kinds)),
        2 => ((0..4u8), proptest::collection::vec(kind(), 5..30))
            .prop_map(|(back, kinds)| Crash::Rewritten(back, kinds)),
    ]
}

fn header() -> JournalHeader {
    JournalHeader {
        journal: 1,
        session: "main".into(),
        epoch: "e".into(),
        started_at: "t".into(),
    }
}

fn frame(seq: u64, kind: &Kind) -> Vec<u8> {
    let record = EventRecord {
        seq,
        ts: "2026-01-01T00:00:00.000Z".into(),
        event: event(kind),
    };
    ServerMessage::Event(record).to_json().into_bytes()
}

/// Writes `steps` on the journal in `dir` (opened with `budget`), going
/// on from where it is.
fn write(dir: &Path, budget: HistoryBudget, steps: &[Step]) {
    let (mut journal, _) = Journal::open(dir, "main", &header(), budget).unwrap();
    for step in steps {
        match step {
            Step::Event(kind) => {
                let seq = journal.last_seq() + 1;
                journal.append(seq, &frame(seq, kind)).unwrap();
            }
            Step::Checkpoint => {
                journal.flush().unwrap();
                journal.checkpoint();
            }
        }
    }
    journal.flush().unwrap();
}

fn cut(path: &Path, per_mille: u16) -> u64 {
    let len = fs::metadata(path).map_or(0, |m| m.len());
    let at = len * u64::from(per_mille) / 1000;
    fs::OpenOptions::new()
        .write(true)
        .open(path)
        .unwrap()
        .set_len(at)
        .unwrap();
    at
}

/// Does `crash` to the files in `dir`; whether the checkpoint (if any)
/// must still be used.
fn crash_files(dir: &Path, budget: HistoryBudget, crash: &Crash) -> bool {
    let journal = journal_path(dir, "main");
    let checkpoint = checkpoint_path(&journal);
    let end = fs::read(&checkpoint)
        .ok()
        .and_then(|bytes| decode(&bytes).ok())
        .map(|c| c.head.end);
    match crash {
        Crash::None => true,
        Crash::Cut(at) => cut(&journal, *at) >= end.unwrap_or(0),
        Crash::Torn(len) => {
            let half = frame(1, &Kind::Output(*len));
            let mut file = fs::OpenOptions::new().append(true).open(&journal).unwrap();
            std::io::Write::write_all(&mut file, &half[..half.len() / 2]).unwrap();
            true
        }
        Crash::FlippedCheckpoint(at) => {
            if let Ok(mut bytes) = fs::read(&checkpoint) {
                let at = usize::from(*at) % bytes.len();
                bytes[at] ^= 1 << (at % 8);
                fs::write(&checkpoint, bytes).unwrap();
            }
            false
        }
        Crash::TornCheckpoint(at) => {
            if checkpoint.exists() {
                cut(&checkpoint, *at);
            }
            false
        }
        Crash::Foreign => {
            let other = tempfile::tempdir().unwrap();
            let kinds = [Step::Event(Kind::Request(1)), Step::Checkpoint];
            write(other.path(), budget, &kinds);
            let theirs = checkpoint_path(&journal_path(other.path(), "main"));
            if end.is_some() {
                fs::copy(theirs, &checkpoint).unwrap();
            }
            false
        }
        Crash::CutThenGoOn(at, kinds) => {
            let kept = cut(&journal, *at) >= end.unwrap_or(0);
            let more: Vec<Step> = kinds.iter().cloned().map(Step::Event).collect();
            write(dir, budget, &more);
            kept
        }
        Crash::Rewritten(back, kinds) => {
            let before = fs::read(&journal).unwrap();
            let end = end.unwrap_or(before.len() as u64) as usize;
            let lines: Vec<usize> = memchr::memrchr_iter(b'\n', &before[..end.saturating_sub(1)])
                .take(usize::from(*back) + 1)
                .collect();
            // Keep the header: a journal without one is another story.
            if let Some(&at) = lines.last().filter(|_| lines.len() > usize::from(*back)) {
                let mut bytes = before[..=at].to_vec();
                let kept = bytes[..at]
                    .rsplit(|b| *b == b'\n')
                    .next()
                    .unwrap_or_default();
                let from = frame_seq(kept).unwrap_or(0) + 1;
                for (seq, kind) in (from..).zip(kinds) {
                    line::seal(&frame(seq, kind), &mut bytes);
                    bytes.push(b'\n');
                }
                // In place: the same file.
                fs::write(&journal, bytes).unwrap();
            }
            // Used only if the bytes it covers came back the same.
            let after = fs::read(&journal).unwrap();
            after.len() >= end && after[..end] == before[..end]
        }
    }
}

/// Restarts on `dir` and on a copy of its journal alone: the same outcome.
/// The seq the first read from its checkpoint, if it did.
fn restart_both(dir: &Path, budget: HistoryBudget) -> Option<u64> {
    let copy = tempfile::tempdir().unwrap();
    fs::copy(journal_path(dir, "main"), journal_path(copy.path(), "main")).unwrap();
    let read = Journal::open(dir, "main", &header(), budget);
    let whole = Journal::open(copy.path(), "main", &header(), budget);
    match (read, whole) {
        (Ok((journal, loaded)), Ok((full_journal, full))) => {
            assert_eq!(loaded.state, full.state, "the session state");
            assert_eq!(loaded.history, full.history, "the history window");
            assert_eq!(loaded.notices, full.notices);
            assert_eq!(loaded.header, full.header);
            assert_eq!(journal.index, full_journal.index, "the index");
            assert_eq!(journal.written, full_journal.written, "the length kept");
            assert_eq!(full.checkpoint, None);
            loaded.checkpoint
        }
        (Err(_), Err(_)) => None,
        (a, b) => panic!("{:?} but {:?}", a.map(|_| ()), b.map(|_| ())),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn a_restart_from_checkpoint_and_tail_equals_one_from_the_whole_journal(
        first in steps(900),
        crash in crash(),
        then in steps(400),
        frames in 1..400usize,
        bytes in 100..40_000usize,
        resized in proptest::option::of(1..200usize),
    ) {
        let budget = HistoryBudget { bytes, frames };
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), budget, &first);
        let checkpoint = checkpoint_path(&journal_path(dir.path(), "main"));
        let had = fs::read(&checkpoint).ok().and_then(|b| decode(&b).ok()).map(|c| c.head.last_seq);
        let usable = crash_files(dir.path(), budget, &crash);
        // The host may restart with another budget (per cent of the first).
        let restart = resized.map_or(budget, |pc| HistoryBudget {
            bytes: (bytes * pc / 100).max(1),
            frames: (frames * pc / 100).max(1),
        });
        let larger = restart.bytes > bytes || restart.frames > frames;
        let used = restart_both(dir.path(), restart);
        let expected = if usable && !larger { had } else { None };
        prop_assert_eq!(used, expected, "a good checkpoint is used, no other");
        // Both go on from there, the first taking checkpoints: a second
        // restart agrees as well.
        write(dir.path(), restart, &then);
        restart_both(dir.path(), restart);
    }
}
