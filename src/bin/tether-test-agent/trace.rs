//! `tether-test-agent trace`: a stand-in for Claude Code that plays a recorded
//! stream-json trace (`{"dir","t","msg"}` lines) over stdin/stdout.
//!
//! For every `in` line of the trace it reads one line from stdin and checks
//! it against the recording (type, subtype, answered request, decision,
//! user text); for every `out` line it writes the recorded message, with
//! the ids of our own control requests mapped to the ones we received.
//! Any mismatch exits with code 3 and says why on stderr, so a test that
//! drives it through the host fails loudly.
//!
//! With `--project-dir DIR`, the directory the trace was recorded in
//! stands for the one it runs in: every occurrence of DIR in the trace
//! (paths in tool inputs, `cwd`) is replaced by the current directory, so a
//! host can preview files the recording names.

use std::collections::HashMap;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::mpsc;
use std::time::Duration;

use clap::Args;
use serde_json::Value;

#[derive(Debug, Args)]
pub struct TraceArgs {
    /// The trace to play.
    trace: PathBuf,
    /// Exit code once the trace is done (the real CLI's, from meta/).
    #[arg(long, default_value_t = 0)]
    exit_code: u8,
    /// How long to wait for each expected input line.
    #[arg(long, default_value_t = 20_000)]
    timeout_ms: u64,
    /// The directory the trace was recorded in (the fixtures' README says
    /// `/work/project`), to be replaced by the current directory.
    #[arg(long)]
    project_dir: Option<String>,
}

/// The trace's text with `recorded` replaced by the current directory,
/// spelled as inside a JSON string.
fn relocate(trace: String, recorded: Option<&str>) -> std::io::Result<String> {
    let Some(recorded) = recorded else {
        return Ok(trace);
    };
    let here = std::env::current_dir()?.display().to_string();
    let quoted = serde_json::to_string(&here).expect("strings serialise");
    Ok(trace.replace(recorded, &quoted[1..quoted.len() - 1]))
}

fn text_of(content: &Value) -> String {
    match content {
        Value::String(s) => s.clone(),
        Value::Array(blocks) => blocks
            .iter()
            .filter_map(|b| b.get("text").and_then(Value::as_str))
            .collect::<Vec<_>>()
            .join(""),
        _ => String::new(),
    }
}

/// Checks an input line against the recorded one. Returns why it differs.
fn check(
    expected: &Value,
    actual: &Value,
    ids: &mut HashMap<String, String>,
) -> Result<(), String> {
    let field = |v: &Value, p: &str| v.pointer(p).cloned().unwrap_or(Value::Null);
    let same = |p: &str| field(expected, p) == field(actual, p);
    if !same("/type") {
        return Err(format!("expected a {} line", field(expected, "/type")));
    }
    match expected["type"].as_str() {
        Some("user") => {
            let (want, got) = (
                text_of(&field(expected, "/message/content")),
                text_of(&field(actual, "/message/content")),
            );
            if want != got {
                return Err(format!("expected user text {want:?}, got {got:?}"));
            }
        }
        Some("control_request") => {
            if !same("/request/subtype") {
                return Err(format!(
                    "expected a {} request",
                    field(expected, "/request/subtype")
                ));
            }
            if let (Some(want), Some(got)) = (
                expected["request_id"].as_str(),
                actual["request_id"].as_str(),
            ) {
                ids.insert(want.to_owned(), got.to_owned());
            }
        }
        Some("control_response") => {
            for pointer in [
                "/response/subtype",
                "/response/request_id",
                "/response/response/behavior",
                "/response/response/updatedInput",
                "/response/response/message",
                "/response/response/updatedPermissions",
            ] {
                if !same(pointer) {
                    return Err(format!(
                        "{pointer}: expected {}, got {}",
                        field(expected, pointer),
                        field(actual, pointer)
                    ));
                }
            }
        }
        _ => {}
    }
    Ok(())
}

pub fn run(args: TraceArgs) -> ExitCode {
    let read = std::fs::read_to_string(&args.trace)
        .and_then(|text| relocate(text, args.project_dir.as_deref()));
    let trace = match read {
        Ok(text) => text,
        Err(e) => {
            eprintln!(
                "tether-test-agent trace: cannot read {}: {e}",
                args.trace.display()
            );
            return ExitCode::from(2);
        }
    };
    let lines = super::stdin_lines();
    let timeout = Duration::from_millis(args.timeout_ms);
    let mut ids = HashMap::new();
    let mut stdout = std::io::stdout().lock();
    for (n, entry) in trace.lines().enumerate() {
        let Ok(entry) = serde_json::from_str::<Value>(entry) else {
            eprintln!("tether-test-agent trace: trace line {} is not JSON", n + 1);
            return ExitCode::from(2);
        };
        let message = entry["msg"].clone();
        if entry["dir"] == "in" {
            let line = match lines.recv_timeout(timeout) {
                Ok(line) => line,
                // End of input: like the real CLI, finish quietly.
                Err(mpsc::RecvTimeoutError::Disconnected) => return ExitCode::SUCCESS,
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    eprintln!(
                        "tether-test-agent trace: no input for trace line {} within {timeout:?}",
                        n + 1
                    );
                    return ExitCode::from(4);
                }
            };
            let Ok(actual) = serde_json::from_str::<Value>(&line) else {
                // The real CLI dies on a line that is not JSON.
                eprintln!("Error parsing streaming input line: {} chars", line.len());
                return ExitCode::from(1);
            };
            if let Err(why) = check(&message, &actual, &mut ids) {
                eprintln!(
                    "tether-test-agent trace: trace line {}: {why}; got {line}",
                    n + 1
                );
                return ExitCode::from(3);
            }
        } else {
            let mut message = message;
            if let Some(id) = message.pointer_mut("/response/request_id")
                && let Some(ours) = id.as_str().and_then(|k| ids.get(k))
            {
                *id = Value::String(ours.clone());
            }
            let line = match &message {
                Value::String(raw) => raw.clone(),
                other => other.to_string(),
            };
            if writeln!(stdout, "{line}")
                .and_then(|()| stdout.flush())
                .is_err()
            {
                return ExitCode::from(1);
            }
        }
    }
    ExitCode::from(args.exit_code)
}
