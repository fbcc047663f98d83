//! `tether-test-agent acp SCRIPT`: a scripted Agent Client Protocol agent
//! for tests. The script is JSON lines, one step each:
//!
//! - `{"send": V}`: write V as one line (a JSON string is written raw, so
//!   a script can print a line that is not JSON);
//! - `{"expect": P, "absent": ["/json/pointer", ...]}`: read one line and
//!   check that P is part of it (objects: every key of P, recursively;
//!   anything else: equal) and that the pointers name nothing;
//! - `{"reply": V}`: answer the last request read with the result V;
//! - `{"reply_error": E}`: answer it with the error E (`{code, message}`);
//! - `{"sleep_ms": N}`; `{"exit": CODE}`: exit at once (a crash).
//!
//! After the last step it waits for its stdin to close and exits 0. A
//! mismatch exits 3, a line that is not JSON 1, no line within the
//! timeout 4, input closed while a line is expected 5, saying why on
//! stderr, so a test that drives it through the host fails loudly.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::mpsc;
use std::time::Duration;

use clap::Args;
use serde_json::{Value, json};

#[derive(Debug, Args)]
pub struct AcpArgs {
    /// The script to play.
    script: PathBuf,
    /// How long to wait for each expected line.
    #[arg(long, default_value_t = 10_000)]
    timeout_ms: u64,
}

/// Whether `pattern` is part of `actual`; where not, why.
fn contains(pattern: &Value, actual: &Value, at: &str) -> Result<(), String> {
    match (pattern, actual) {
        (Value::Object(want), Value::Object(got)) => {
            for (key, value) in want {
                let inner = got.get(key).unwrap_or(&Value::Null);
                contains(value, inner, &format!("{at}/{key}"))?;
            }
            Ok(())
        }
        _ if pattern == actual => Ok(()),
        _ => Err(format!("{at}: expected {pattern}, got {actual}")),
    }
}

fn check(step: &Value, actual: &Value) -> Result<(), String> {
    contains(&step["expect"], actual, "")?;
    for pointer in step["absent"].as_array().into_iter().flatten() {
        let pointer = pointer.as_str().unwrap_or("");
        if actual.pointer(pointer).is_some() {
            return Err(format!("{pointer} should be absent"));
        }
    }
    Ok(())
}

struct Player {
    lines: mpsc::Receiver<String>,
    timeout: Duration,
    /// The id of the last request read.
    last_id: Value,
}

impl Player {
    /// Plays one step; `Err` is the exit code to leave with.
    fn step(&mut self, n: usize, step: &Value, out: &mut impl Write) -> Result<(), u8> {
        if let Some(message) = step.get("send") {
            let line = match message {
                Value::String(raw) => raw.clone(),
                other => other.to_string(),
            };
            writeln!(out, "{line}")
                .and_then(|()| out.flush())
                .map_err(|_| 1)?;
        } else if let Some(result) = step.get("reply") {
            let reply = json!({"jsonrpc": "2.0", "id": self.last_id, "result": result});
            writeln!(out, "{reply}")
                .and_then(|()| out.flush())
                .map_err(|_| 1)?;
        } else if let Some(error) = step.get("reply_error") {
            let reply = json!({"jsonrpc": "2.0", "id": self.last_id, "error": error});
            writeln!(out, "{reply}")
                .and_then(|()| out.flush())
                .map_err(|_| 1)?;
        } else if step.get("expect").is_some() {
            let line = match self.lines.recv_timeout(self.timeout) {
                Ok(line) => line,
                Err(mpsc::RecvTimeoutError::Disconnected) => {
                    eprintln!("tether-test-agent acp: input closed before step {n}");
                    return Err(5);
                }
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    eprintln!("tether-test-agent acp: no input for step {n}");
                    return Err(4);
                }
            };
            let Ok(actual) = serde_json::from_str::<Value>(&line) else {
                eprintln!("tether-test-agent acp: not JSON: {line}");
                return Err(1);
            };
            if let Err(why) = check(step, &actual) {
                eprintln!("tether-test-agent acp: step {n}: {why}; got {line}");
                return Err(3);
            }
            if actual.get("method").is_some() && actual.get("id").is_some() {
                self.last_id = actual["id"].clone();
            }
        } else if let Some(ms) = step.get("sleep_ms").and_then(Value::as_u64) {
            std::thread::sleep(Duration::from_millis(ms));
        } else if let Some(code) = step.get("exit").and_then(Value::as_u64) {
            return Err(u8::try_from(code).unwrap_or(1));
        } else {
            eprintln!("tether-test-agent acp: step {n} is not a step: {step}");
            return Err(2);
        }
        Ok(())
    }
}

pub fn run(args: AcpArgs) -> ExitCode {
    let script = match std::fs::read_to_string(&args.script) {
        Ok(text) => text,
        Err(e) => {
            eprintln!(
                "tether-test-agent acp: cannot read {}: {e}",
                args.script.display()
            );
            return ExitCode::from(2);
        }
    };
    let lines = super::stdin_lines();
    let mut player = Player {
        lines,
        timeout: Duration::from_millis(args.timeout_ms),
        last_id: Value::Null,
    };
    let mut stdout = std::io::stdout().lock();
    for (n, line) in script.lines().enumerate() {
        let Ok(step) = serde_json::from_str::<Value>(line) else {
            eprintln!("tether-test-agent acp: script line {} is not JSON", n + 1);
            return ExitCode::from(2);
        };
        if let Err(code) = player.step(n + 1, &step, &mut stdout) {
            return ExitCode::from(code);
        }
    }
    // Done: stay until the client closes our input, as a real agent does.
    while player.lines.recv().is_ok() {}
    ExitCode::SUCCESS
}
