//! `tether attach URL` and the embedded default `tether`.

use std::fs::File;
use std::io::IsTerminal;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Args;
use color_eyre::eyre::{Result, eyre};
use nix::fcntl::{Flock, FlockArg};

use tether::client::{self, Target};
use tether::host::agent::AgentSpec;
use tether::host::auth::{self, FileStamp};
use tether::host::{Host, HostConfig};
use tether::protocol::Grant;
use tether::tui::app::Hints;

use super::Failure;
use super::deck::{Opening, Start};
use super::headless;

#[derive(Debug, Args)]
pub struct AttachArgs {
    /// Session URLs as `tether serve` prints them
    /// (ws://HOST:PORT/v1/sessions/ID), or hosts (ws://HOST:PORT: every
    /// session the token may see); several hosts at once. None: the
    /// `hosts` of the config file.
    #[arg(value_name = "URL")]
    urls: Vec<String>,
    /// Bearer token [default: $TETHER_TOKEN, else the auth file].
    #[arg(long)]
    token: Option<String>,
    /// Trust the host's certificate by its fingerprint (`SHA256:…`, as
    /// `tether serve` prints it): for a self-signed one.
    #[arg(long, value_name = "SHA256:…")]
    fingerprint: Option<String>,
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
    /// With --prompt or --plain and a host URL (ws://HOST:PORT): the
    /// session to use [default: the host's only session].
    #[arg(long, value_name = "ID")]
    session: Option<String>,
    /// Leave the mouse to the terminal (select text); F6 toggles it.
    #[arg(long)]
    no_mouse: bool,
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

/// `--fingerprint`: the URLs' hosts are trusted by it.
fn pin_given(args: &AttachArgs) -> Result<(), Failure> {
    let Some(fingerprint) = &args.fingerprint else {
        return Ok(());
    };
    for url in &args.urls {
        pin(url, fingerprint)?;
    }
    Ok(())
}

/// Trusts `fingerprint` for the host:port of `url`.
fn pin(url: &str, fingerprint: &str) -> Result<(), Failure> {
    let parsed = url::Url::parse(url).map_err(|e| Failure::usage(format!("{url}: {e}")))?;
    let host_port = format!(
        "{}:{}",
        parsed.host_str().unwrap_or_default(),
        parsed.port_or_known_default().unwrap_or(0)
    );
    tether::client::pinning::pin(&host_port, fingerprint)
        .map_err(|e| Failure::usage(format!("--fingerprint: {e}")))
}

pub fn run(args: AttachArgs) -> ExitCode {
    super::logging::to_file();
    if let Err(failure) = pin_given(&args) {
        return failure.exit();
    }
    super::trust::load_known_hosts();
    // One thread: the UI, its connections and their forwarding never hand
    // work to another thread (a wake-up across threads per event is a
    // system call per event for every watcher). No host runs here.
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => return Failure::from(e).exit(),
    };
    if args.prompt.is_some() || watches_plain(&args) {
        return runtime.block_on(headless(args));
    }
    let start = match start_of(&args) {
        Ok(start) => start,
        Err(failure) => return failure.exit(),
    };
    let openings = match openings(&args) {
        Ok(openings) => openings,
        Err(failure) => return failure.exit(),
    };
    runtime.block_on(super::deck::run(openings, start))
}

/// `--prompt` and plain watching: one session, as text.
async fn headless(args: AttachArgs) -> ExitCode {
    let [url] = args.urls.as_slice() else {
        return Failure::usage(
            "--prompt and plain output take exactly one URL: a session's, or a host's with --session ID",
        )
        .exit();
    };
    let token = match pick_token(&args) {
        Ok(token) => token,
        Err(e) => return Failure::usage(format!("{e:#}")).exit(),
    };
    let opening = match Opening::parse(url, token.clone(), None) {
        Ok(opening) => opening,
        Err(failure) => return failure.exit(),
    };
    let url = match one_session(&opening, args.session.as_deref()).await {
        Ok(url) => url,
        Err(failure) => return failure.exit(),
    };
    let target = Target {
        url,
        token,
        view: args.view,
    };
    match &args.prompt {
        Some(prompt) => headless::prompt(target, prompt, args.allow_all).await,
        None => headless::watch(target).await,
    }
}

/// The session URL headless modes use: the one named, else `--session`
/// on the host, else the host's only session. Several: the list, and
/// exit 2.
async fn one_session(opening: &Opening, asked: Option<&str>) -> Result<url::Url, Failure> {
    use tether::client::lobby;
    match (&opening.session, asked) {
        (Some(named), Some(asked)) if named != asked => {
            return Err(Failure::usage(format!(
                "the URL names session `{named}` and --session `{asked}`: give one"
            )));
        }
        (Some(_), _) => return Ok(opening.url.clone()),
        (None, Some(asked)) => return Ok(lobby::session_url(&opening.url, asked)),
        (None, None) => {}
    }
    let host = lobby::lobby_url(&opening.url);
    let sessions = match lobby::list(&opening.url, opening.token.clone()).await {
        Ok(sessions) => sessions,
        // A host from before many sessions has no list: its one session.
        Err(client::ConnectError::NotFound) => return Ok(opening.url.clone()),
        Err(e) => return Err(super::failure::connect_refusal(&opening.url, &e)),
    };
    let host = host.as_str().trim_end_matches("/v1/lobby");
    match sessions.as_slice() {
        [only] => Ok(lobby::session_url(&opening.url, &only.id)),
        [] => Err(Failure::usage(format!("{host} has no session you may see"))),
        several => {
            let mut text = format!(
                "{host} has {} sessions: choose one with --session ID",
                several.len()
            );
            for s in several {
                let title = if s.title.is_empty() || s.title == s.id || s.title == s.agent {
                    String::new()
                } else {
                    format!("  {}", s.title)
                };
                let state = serde_json::to_value(s.state).unwrap_or_default();
                let state = state.as_str().unwrap_or("?").to_owned();
                text.push_str(&format!("\n  {}{title}  ({state})", s.id));
            }
            Err(Failure::usage(text))
        }
    }
}

/// How the UI starts: mouse and notifications from the flags, the
/// environment and the config file.
fn start_of(args: &AttachArgs) -> Result<Start, Failure> {
    let mouse = super::mouse_choice(args.no_mouse)?;
    let settings = super::ui_config::load_default().map_err(Failure::usage)?;
    Ok(Start {
        view: args.view,
        hints: Hints::default(),
        mouse,
        notify: settings.notify.unwrap_or_default(),
        window: settings.window_bytes().map_err(Failure::usage)?,
    })
}

/// What to open: the URLs given (with the token of --token, the
/// environment or the auth file), else the config file's hosts.
fn openings(args: &AttachArgs) -> Result<Vec<Opening>, Failure> {
    if !args.urls.is_empty() {
        let token = pick_token(args).map_err(|e| Failure::usage(format!("{e:#}")))?;
        return args
            .urls
            .iter()
            .map(|url| Opening::parse(url, token.clone(), None))
            .collect();
    }
    let settings = super::ui_config::load_default().map_err(Failure::usage)?;
    if settings.hosts.is_empty() {
        return Err(Failure::usage(
            "give a URL (tether attach ws://HOST:PORT), or list hosts in the config file \
             (see tether attach --help)",
        ));
    }
    let fallback = pick_token(args).ok();
    settings
        .hosts
        .iter()
        .map(|host| {
            let token = host
                .token()
                .map_err(Failure::usage)?
                .or_else(|| fallback.clone())
                .ok_or_else(|| Failure::usage(format!("no token for host {}", host.url)))?;
            if let Some(fingerprint) = &host.fingerprint {
                pin(&host.url, fingerprint)?;
            }
            Opening::parse(&host.url, token, host.name.clone())
        })
        .collect()
}

use tether::tui::app::paging::DEFAULT_WINDOW_BYTES;

/// The full-screen UI on one session (the embedded host's, the demo's).
/// `mouse`: whether the UI starts capturing the mouse.
pub async fn attach_tui(target: Target, hints: Hints, mouse: bool) -> ExitCode {
    let settings = super::ui_config::load_default().ok();
    let notify = settings.as_ref().and_then(|s| s.notify).unwrap_or_default();
    let window = settings.map_or(Ok(DEFAULT_WINDOW_BYTES), |s| s.window_bytes());
    let window = window.unwrap_or(DEFAULT_WINDOW_BYTES);
    let opening = match Opening::parse(target.url.as_str(), target.token.clone(), None) {
        Ok(opening) => opening,
        Err(failure) => return failure.exit(),
    };
    let start = Start {
        view: target.view,
        hints,
        mouse,
        notify,
        window,
    };
    super::deck::run(vec![opening], start).await
}

/// Plain `tether`: a host in this process (shell agent, this directory, a
/// free port on 127.0.0.1), attached as its owner. Its history is
/// journaled under a session id of its own per directory, so quitting and
/// coming back loses nothing.
pub fn embedded(mouse: bool) -> ExitCode {
    super::logging::to_file();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => return Failure::from(e).exit(),
    };
    let (config, _journal_lock) = match embedded_config() {
        Ok(prepared) => prepared,
        Err(e) => return Failure::from(e).exit(),
    };
    let auth_stamp = FileStamp::of(&config.auth_path);
    runtime.block_on(async {
        let host = match Host::start(config).await {
            Ok(host) => host,
            Err(e) => return Failure::from(e).exit(),
        };
        let (target, hints) = match owner_of(&host) {
            Ok(attached) => attached,
            Err(failure) => return failure.exit(),
        };
        // `tether token` changes apply here too; the screen is the UI's, so
        // reloads go to the log.
        let follow =
            super::serve::follow_auth_file(&host, auth_stamp, None, |outcome, _| match outcome {
                Ok(changes) if !changes.is_empty() => tracing::info!("auth: {changes}"),
                Ok(_) => {}
                Err(e) => tracing::warn!(
                    "auth file not reloaded, the old tokens stay: {}",
                    super::failure::with_causes(&e)
                ),
            });
        let code = tokio::select! {
            code = attach_tui(target, hints, mouse) => code,
            () = follow => unreachable!("following the auth file never ends"),
        };
        let _ = host.shutdown().await;
        code
    })
}

/// How to attach to a host of this process as its owner, and the hint that
/// tells others how to watch it.
pub fn owner_of(host: &Host) -> Result<(Target, Hints), Failure> {
    let Some(token) = host.local_token().or_else(|| host.control_token()) else {
        let missing = format!("{} has no control token", host.auth_path().display());
        return Err(Failure::runtime(missing));
    };
    let url = client::parse_url(&host.url()).expect("the host's own URL parses");
    let hints = Hints {
        watch_command: Some(format!(
            "tether attach {} --view (view token in {})",
            host.url(),
            host.auth_path().display()
        )),
        via: None,
    };
    let target = Target {
        url,
        token,
        view: false,
    };
    Ok((target, hints))
}

/// The embedded host's configuration for the working directory, and the
/// lock that keeps its journal to this process: a second `tether` in the
/// same directory keeps its history in memory instead of interleaving.
fn embedded_config() -> Result<(HostConfig, Option<Flock<File>>)> {
    let cwd = std::env::current_dir()?;
    let cwd = std::fs::canonicalize(&cwd).unwrap_or(cwd);
    let mut config = HostConfig::new(AgentSpec::Shell);
    config.listen = "127.0.0.1:0".parse().expect("static address");
    config.session().id = session_id_for_dir(&cwd);
    config.session().cwd = cwd.clone();
    // More sessions from the UI (Ctrl+N): the shell, and the agents (those
    // not installed are named with how to install them), in this directory
    // or anywhere under the home one.
    config.presets = super::serve_config::builtin_presets();
    config.workspaces = std::iter::once(cwd).chain(dirs::home_dir()).collect();
    // The UI's own token: it owns the sessions and may create them; it is
    // never written to the auth file others read.
    config.local_tokens = vec![auth::TokenEntry {
        name: auth::default_identity(std::env::var("USER").ok()),
        token: auth::fresh_token(),
        grants: vec![Grant::Control, Grant::Admin],
        sessions: Vec::new(),
        expires: None,
    }];
    let journal_dir = super::serve::default_journal_dir();
    let lock = lock_journal(&journal_dir, &config.sessions[0].id);
    if lock.is_some() {
        // The sessions made from this directory's UI keep their journals
        // apart (the journal directory is shared by every directory's
        // `tether`) and come back with it.
        let apart = format!("{}.sessions", config.sessions[0].id);
        config.created_dir = Some(journal_dir.join(apart));
        config.journal_dir = Some(journal_dir);
    }
    Ok((config, lock))
}

fn lock_journal(dir: &Path, session_id: &str) -> Option<Flock<File>> {
    use tether::host::private_files::{ensure_private_dir, open_private_file};
    ensure_private_dir(dir).ok()?;
    let file = open_private_file(&dir.join(format!("{session_id}.lock"))).ok()?;
    Flock::lock(file, FlockArg::LockExclusiveNonblock).ok()
}

/// `<directory name>-<hash of the canonical path>`: readable, and two
/// directories with the same name never share a journal.
pub fn session_id_for_dir(dir: &Path) -> String {
    let name: String = dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "root".into())
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "-_.".contains(c) {
                c
            } else {
                '_'
            }
        })
        .take(40)
        .collect();
    // A session id starts with a letter, a digit or `_` (a dot-directory's
    // name would make a hidden, refused id).
    let name = match name.strip_prefix(['.', '-']) {
        Some(rest) => format!("_{rest}"),
        None => name,
    };
    // FNV-1a: stable across builds and Rust versions, unlike std's hasher.
    let hash = dir
        .as_os_str()
        .as_bytes()
        .iter()
        .fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
            (h ^ u64::from(*b)).wrapping_mul(0x0000_0100_0000_01b3)
        });
    format!("{name}-{:08x}", hash as u32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn directories_get_distinct_readable_session_ids() {
        let a = session_id_for_dir(Path::new("/home/ann/project"));
        let b = session_id_for_dir(Path::new("/srv/project"));
        assert!(
            a.starts_with("project-") && b.starts_with("project-"),
            "{a} {b}"
        );
        assert_ne!(a, b);
        assert_eq!(a, session_id_for_dir(Path::new("/home/ann/project")));
        let odd = session_id_for_dir(Path::new("/tmp/my dir é"));
        assert!(odd.starts_with("my_dir__-"), "{odd}");
        assert!(session_id_for_dir(Path::new("/")).starts_with("root-"));
        let hidden = session_id_for_dir(Path::new("/home/ann/.dotfiles"));
        assert!(hidden.starts_with("_dotfiles-"), "{hidden}");
        tether::host::sessions::check_session_id(&hidden).unwrap();
    }
}
