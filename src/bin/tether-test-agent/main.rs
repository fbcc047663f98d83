//! `tether-test-agent`: stand-in agents for the tests and for recording
//! the demo, kept out of the `tether` binary. Built only with the
//! `test-agent` feature, which the package turns on for its own tests and
//! benches (see Cargo.toml), so `cargo build` and `cargo install` leave it
//! out; the tests run it as `env!("CARGO_BIN_EXE_tether-test-agent")`.
//!
//! - `tether-test-agent trace TRACE`: Claude Code, played from a recorded
//!   stream-json trace;
//! - `tether-test-agent acp SCRIPT`: a scripted Agent Client Protocol agent.

mod acp;
mod trace;

use std::io::BufRead;
use std::process::ExitCode;
use std::sync::mpsc;

use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "tether-test-agent",
    about = "Fake agents for tether's tests: a recorded Claude Code trace, a scripted ACP agent"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Play a recorded Claude Code stream-json trace as a fake agent
    /// process.
    Trace(trace::TraceArgs),
    /// Play a scripted Agent Client Protocol agent.
    Acp(acp::AcpArgs),
}

/// The lines of standard input, read on a thread of their own so a
/// scripted agent can wait for one with a timeout.
fn stdin_lines() -> mpsc::Receiver<String> {
    let (tx, lines) = mpsc::channel::<String>();
    std::thread::spawn(move || {
        for line in std::io::stdin().lock().lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    lines
}

fn main() -> ExitCode {
    match Cli::parse().command {
        Command::Trace(args) => trace::run(args),
        Command::Acp(args) => acp::run(args),
    }
}
