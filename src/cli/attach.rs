//! `tether attach URL` and the embedded default `tether`.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::AtomicU64;

use clap::Args;
use color_eyre::eyre::{Result, eyre};

use tether::client::{self, ConnectError, Resume, Since, Target};
use tether::host::agent::AgentSpec;
use tether::host::{Host, HostConfig, auth};
use tether::protocol::Grant;
use tether::tui::app::{App, Hints};
use tether::tui::{event_loop, terminal};

use super::headless;

#[derive(Debug, Args)]
pub struct AttachArgs {
    /// The session URL, as `tether serve` prints it (ws://HOST:PORT/v1/sessions/ID).
    url: String,
    /// Bearer token [default: $TETHER_TOKEN, else the auth file].
    #[arg(long)]
    token: Option<String>,
    /// Auth file to take the token from [default: the one `tether serve` writes].
    #[arg(long)]
    auth: Option<PathBuf>,
    /// Read-only dashboard: never own, never send.
    #[arg(long)]
    view: bool,
    /// Headless: send one message and print the turn as plain text. Exit
    /// code: 0 when the turn ends with outcome `success` and no permission
    /// request in it was denied; 1 when it failed, was denied or
    /// interrupted, the agent exited or the host refused the message; 2
    /// when it could not run (bad usage, cannot connect, connection lost,
    /// someone else owns the session).
    #[arg(long, value_name = "TEXT", conflicts_with = "view")]
    prompt: Option<String>,
    /// With --prompt and no terminal to ask on: allow every permission request.
    #[arg(long, requires = "prompt")]
    allow_all: bool,
    /// Headless: print the transcript as plain text until Ctrl+C (the
    /// default when stdout is not a terminal). Connects as a viewer: never
    /// owns.
    #[arg(long)]
    plain: bool,
}

/// Whether this attach only watches as plain text (--plain, or stdout is
/// not a terminal, without --prompt).
fn watches_plain(args: &AttachArgs) -> bool {
    args.prompt.is_none() && (args.plain || !std::io::stdout().is_terminal())
}

/// The token: --token, else $TETHER_TOKEN, else the auth file (the view
/// token for --view and plain watching when there is one, else the
/// control token).
fn pick_token(args: &AttachArgs) -> Result<String> {
    if let Some(token) = &args.token {
        return Ok(token.clone());
    }
    if let Ok(token) = std::env::var("TETHER_TOKEN")
        && !token.is_empty()
    {
        return Ok(token);
    }
    let path = args.auth.clone().unwrap_or_else(auth::default_auth_path);
    let file = auth::load(&path)
        .map_err(|e| eyre!("no token given (--token or $TETHER_TOKEN) and {e:#}"))?;
    let entry = if args.view || watches_plain(args) {
        file.first_with(Grant::View)
            .or_else(|| file.first_with(Grant::Control))
    } else {
        file.first_with(Grant::Control)
            .or_else(|| file.first_with(Grant::View))
    };
    entry
        .map(|e| e.token.clone())
        .ok_or_else(|| eyre!("{} holds no tokens", path.display()))
}

pub fn run(args: AttachArgs) -> ExitCode {
    super::logging::to_file();
    let url = match client::parse_url(&args.url) {
        Ok(url) => url,
        Err(e) => return super::fail(&eyre!("{e}"), 2),
    };
    let token = match pick_token(&args) {
        Ok(token) => token,
        Err(e) => return super::fail(&e, 2),
    };
    let target = Target {
        url,
        token,
        view: args.view,
    };
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => return super::fail(&e.into(), 1),
    };
    runtime.block_on(async move {
        if let Some(prompt) = &args.prompt {
            return headless::prompt(target, prompt, args.allow_all).await;
        }
        if watches_plain(&args) {
            return headless::watch(target).await;
        }
        attach_tui(target, Hints::default()).await
    })
}

/// Connects (reporting failures plainly, before the screen is taken), then
/// runs the full-screen UI.
pub async fn attach_tui(target: Target, hints: Hints) -> ExitCode {
    let socket = match client::connect_once(&target, Since::Seq(0)).await {
        Ok(socket) => socket,
        Err(e) => return connect_failure(&target, &e),
    };
    let last_applied = Arc::new(AtomicU64::new(0));
    let resume = Resume::After(last_applied.clone());
    let connection = client::spawn(target.clone(), Some(socket), resume);
    let mut app = App::new(target.view, last_applied);
    app.hints = hints;
    let mut guard = match terminal::TerminalGuard::enter() {
        Ok(guard) => guard,
        Err(e) => return super::fail(&eyre!("cannot set up the terminal: {e}"), 1),
    };
    let result = event_loop::run(&mut guard.terminal, &mut app, connection).await;
    drop(guard);
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => super::fail(&eyre!("terminal error: {e}"), 1),
    }
}

pub fn connect_failure(target: &Target, error: &ConnectError) -> ExitCode {
    eprintln!("tether: cannot attach to {}: {error}", target.url);
    ExitCode::from(2)
}

/// Plain `tether`: a host in this process (shell agent, this directory, a
/// free port on 127.0.0.1), attached as its owner.
pub fn embedded() -> ExitCode {
    super::logging::to_file();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => return super::fail(&e.into(), 1),
    };
    runtime.block_on(async {
        let mut config = HostConfig::new(AgentSpec::Shell);
        config.listen = "127.0.0.1:0".parse().expect("static address");
        let host = match Host::start(config).await {
            Ok(host) => host,
            Err(e) => return super::fail(&e, 1),
        };
        let Some(token) = host.control_token() else {
            return super::fail(
                &eyre!("{} has no control token", host.auth_path().display()),
                1,
            );
        };
        let url = client::parse_url(&host.url()).expect("the host's own URL parses");
        let hints = Hints {
            watch_command: Some(format!(
                "tether attach {} --view (view token in {})",
                host.url(),
                host.auth_path().display()
            )),
        };
        let target = Target {
            url,
            token,
            view: false,
        };
        let code = attach_tui(target, hints).await;
        let _ = host.shutdown().await;
        code
    })
}
