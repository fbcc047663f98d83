//! The `tether` binary: command-line parsing and wiring. The host and the
//! UI live in the library; this file only connects them.

mod cli;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let args = cli::Cli::parse();
    cli::run(args)
}
