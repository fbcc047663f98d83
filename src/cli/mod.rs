//! Command-line interface: `tether`, `tether serve`, `tether attach`.

mod agent_kind;
mod attach;
mod bench;
mod deck;
mod demo;
mod failure;
mod headless;
mod invite;
mod logging;
mod not_owner;
mod presets;
mod relay_args;
mod self_signed;
mod serve;
mod serve_config;
mod token;
mod trust;
mod ui_config;

use std::process::ExitCode;

use failure::Failure;

use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "tether",
    version,
    about = "Supervise AI agents that run somewhere else",
    long_about = "tether runs an agent in a session host (`tether serve`) and lets you watch \
                  and steer it from a terminal UI (`tether attach`). With no subcommand it \
                  starts a local host with the shell agent and attaches to it."
)]
pub struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    /// Leave the mouse to the terminal (select text); F6 toggles it.
    #[arg(long)]
    no_mouse: bool,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run an agent and serve it over WebSocket.
    Serve(Box<serve::ServeArgs>),
    /// Attach to a session: the full-screen UI, or headless with --prompt/--plain.
    Attach(attach::AttachArgs),
    /// Manage who may attach: add, list or revoke tokens in the auth file.
    Token(token::TokenArgs),
    /// A token that expires, printed as the one line to paste on the other
    /// machine.
    Invite(invite::InviteArgs),
    /// Replay a bundled agent session in the UI (no agent or API key
    /// needed); it waits at each permission request for your answer.
    Demo(demo::DemoArgs),
    /// Load generators that print their figures as JSON.
    Bench(bench::BenchArgs),
    /// Run a program so that its whole process tree ends with it, with a
    /// stop, or with the host (the host starts every agent and command so).
    #[command(hide = true)]
    Supervise {
        #[arg(required = true, trailing_var_arg = true, allow_hyphen_values = true)]
        command: Vec<std::ffi::OsString>,
    },
}

/// Reads the settings file for a full-screen UI (its `[keys]` become the
/// keymap) and says whether the UI starts capturing the mouse:
/// `--no-mouse`, else `$TETHER_MOUSE`, else `mouse` in the settings file,
/// else yes.
fn mouse_choice(no_mouse: bool) -> Result<bool, Failure> {
    let settings = ui_config::load_for_ui().map_err(Failure::usage)?;
    if no_mouse {
        return Ok(false);
    }
    if let Some(mouse) = tether::tui::terminal::mouse_capture_from_env() {
        return Ok(mouse);
    }
    Ok(settings.mouse.unwrap_or(true))
}

pub fn run(cli: Cli) -> ExitCode {
    // Every agent and approved command runs under `tether supervise` (this
    // same binary), so that nothing the host starts outlives it. Through
    // /proc/self/exe, which stays this binary even after an upgrade
    // replaced the file on disk.
    let tether = std::path::PathBuf::from("/proc/self/exe");
    if tether.exists() {
        tether::host::agent::process::supervise_children_with(tether);
    } else if let Ok(tether) = std::env::current_exe() {
        tether::host::agent::process::supervise_children_with(tether);
    }
    match cli.command {
        Some(Command::Serve(args)) => serve::run(*args),
        Some(Command::Attach(args)) => attach::run(args),
        Some(Command::Token(args)) => token::run(args),
        Some(Command::Invite(args)) => invite::run(args),
        Some(Command::Demo(args)) => demo::run(args),
        Some(Command::Bench(args)) => bench::run(args),
        Some(Command::Supervise { command }) => {
            let code = tether::host::agent::tree::supervise(&command[0], &command[1..]);
            ExitCode::from(u8::try_from(code).unwrap_or(1))
        }
        None => match mouse_choice(cli.no_mouse) {
            Ok(mouse) => attach::embedded(mouse),
            Err(failure) => failure.exit(),
        },
    }
}
