//! `tether bench resume --journal-bytes N`: a host restarting on a large
//! journal. The journal is written here (turns of coloured command output
//! a few KB an event, with permission requests), each event flushed as a
//! host does, so checkpoints come as they would; then a child process
//! (`tether bench restart`) does only the restart, so its peak resident
//! memory (VmHWM) is the restart's. Nothing writes a checkpoint at the
//! end, as after a crash: the restart reads what followed the last one.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use clap::Args;
use color_eyre::eyre::{Result, bail, eyre};
use serde_json::{Value, json};

use super::{rss, scratch_host};
use tether::host::Host;
use tether::host::journal::{Journal, JournalHeader};
use tether::host::session::HistoryBudget;
use tether::protocol::{
    AgentState, Decision, EventKind, EventRecord, OutputStream, ServerMessage, TurnOutcome,
};

/// Output events per turn.
const OUTPUTS_PER_TURN: u64 = 40;

/// Writes a journal of about `journal_bytes`, restarts a host on it in a
/// child process and prints the child's figures with the journal's.
pub fn run(journal_bytes: u64, history_bytes: usize) -> Result<()> {
    let (dir, _) = scratch_host("large-journal")?;
    let journal_dir = dir.join("journal");
    let started = Instant::now();
    let (events, written) = write_journal(&journal_dir, journal_bytes, history_bytes)?;
    let write_ms = started.elapsed().as_millis() as u64;
    let covers = Journal::checkpoint_covers(&journal_dir, "main");
    let output = Command::new(std::env::current_exe()?)
        .args(["bench", "restart", "--journal"])
        .arg(&journal_dir)
        .arg("--history-bytes")
        .arg(history_bytes.to_string())
        .output()?;
    let _ = std::fs::remove_dir_all(&dir);
    if !output.status.success() {
        bail!(
            "the restart failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    let text = String::from_utf8_lossy(&output.stdout);
    let mut line: Value =
        serde_json::from_str(text.trim()).map_err(|e| eyre!("bad restart report {text:?}: {e}"))?;
    line["journal_bytes"] = json!(written);
    line["journal_events"] = json!(events);
    line["write_ms"] = json!(write_ms);
    if let Some(covers) = covers {
        line["checkpoint_seq"] = json!(covers.seq);
        line["checkpoint_end_bytes"] = json!(covers.end);
        // From the history window's start to the end of the journal.
        line["restart_reads_bytes"] = json!(written - covers.read_from);
    }
    line["cores"] = json!(std::thread::available_parallelism().map_or(1, |n| n.get()));
    println!("{line}");
    Ok(())
}

/// Colourful test-runner output, about `bytes` long, varied by `n`.
fn output_text(n: u64, bytes: usize) -> String {
    let mut text = String::with_capacity(bytes + 100);
    let mut line = 0;
    while text.len() < bytes {
        line += 1;
        text.push_str(&format!(
            "test module_{}::case_{line:03} ... \u{1b}[32mok\u{1b}[0m ({} ms)\n",
            n % 97,
            (n * 31 + line) % 1000
        ));
    }
    text
}

fn request(turn: u64) -> EventKind {
    EventKind::PermissionRequest {
        request_id: format!("sh-{turn}-bench"),
        tool: "Bash".into(),
        input: json!({"command": format!("cargo test --package p{turn}")}),
        tool_use_id: None,
        title: Some("Run a shell command".into()),
        description: Some(format!("cargo test --package p{turn}")),
        preview: None,
        options: Vec::new(),
    }
}

/// The events of one turn: a message, a permission asked and given, the
/// command's output, the end. The last turn's request stays pending.
fn turn(number: u64, last: bool) -> Vec<EventKind> {
    let mut events = vec![
        EventKind::UserMessage {
            text: format!("run the tests of package {number}"),
            by: "bench".into(),
            msg_id: None,
        },
        EventKind::status(AgentState::Running),
        request(number),
        EventKind::status(AgentState::AwaitingPermission),
    ];
    if last {
        return events;
    }
    events.push(EventKind::PermissionResolved {
        request_id: format!("sh-{number}-bench"),
        decision: Decision::Allow,
        by: "bench".into(),
        message: None,
        option: None,
        updated_input: None,
    });
    events.extend((0..OUTPUTS_PER_TURN).map(|k| EventKind::Output {
        stream: OutputStream::Stdout,
        text: output_text(
            number * OUTPUTS_PER_TURN + k,
            1000 + (k as usize % 6) * 1000,
        ),
    }));
    events.push(EventKind::turn_end(TurnOutcome::Success));
    events.push(EventKind::status(AgentState::Idle));
    events
}

/// Writes whole turns until the file holds `target` bytes; returns the
/// events and bytes written.
fn write_journal(dir: &Path, target: u64, history_bytes: usize) -> Result<(u64, u64)> {
    let header = JournalHeader {
        journal: 1,
        session: "main".into(),
        epoch: "bench".into(),
        started_at: "2026-01-01T00:00:00Z".into(),
    };
    // The budget the restarted host has, as the host that wrote it had.
    let budget = HistoryBudget {
        bytes: history_bytes,
        ..HistoryBudget::default()
    };
    let (mut journal, _) = Journal::open(dir, "main", &header, budget)?;
    let (mut seq, mut bytes, mut number) = (0u64, 0u64, 0u64);
    loop {
        number += 1;
        let last = bytes >= target;
        for event in turn(number, last) {
            seq += 1;
            let record = EventRecord {
                seq,
                ts: "2026-01-01T00:00:00.000Z".into(),
                event,
            };
            let frame = ServerMessage::Event(record).to_json();
            bytes += frame.len() as u64 + 1;
            journal.append(seq, frame.as_bytes())?;
            journal.flush()?;
        }
        if last {
            break;
        }
    }
    journal.flush()?;
    Ok((seq, std::fs::metadata(journal.path())?.len()))
}

#[derive(Debug, Args)]
pub struct RestartArgs {
    /// The journal directory to restart on.
    #[arg(long)]
    journal: PathBuf,
    #[arg(long)]
    history_bytes: usize,
}

/// The child: starts a host on the journal (the restart), prints what it
/// took and what memory holds, and stops it.
pub fn restart(args: RestartArgs) -> Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let (dir, mut config) = scratch_host("restart")?;
        config.journal_dir = Some(args.journal);
        config.history_bytes = args.history_bytes;
        let (rss_before, _) = rss();
        let (started, cpu_before) = (Instant::now(), thread_cpu_ns());
        // The restore runs on this thread, inside `start`.
        let host = Host::start(config).await?;
        let restart_ms = started.elapsed().as_secs_f64() * 1000.0;
        let cpu_ms = thread_cpu_ns().saturating_sub(cpu_before) as f64 / 1e6;
        let window = host.history_window().await?;
        let summary = host.summary().await?;
        let (rss_after, rss_peak) = rss();
        let line = json!({
            "history_bytes": args.history_bytes,
            "restart_ms": (restart_ms * 10.0).round() / 10.0,
            "restart_cpu_ms": (cpu_ms * 10.0).round() / 10.0,
            "rss_before_bytes": rss_before,
            "rss_peak_bytes": rss_peak,
            "rss_after_bytes": rss_after,
            "kept_events": window.frames,
            "kept_bytes": window.bytes,
            "last_seq": summary.last_seq,
        });
        println!("{line}");
        host.shutdown().await?;
        let _ = std::fs::remove_dir_all(&dir);
        Ok(())
    })
}

/// Time this thread has spent on a CPU, in nanoseconds: on a busy machine
/// the restart's own cost, apart from the time it waited for a core.
fn thread_cpu_ns() -> u64 {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}
