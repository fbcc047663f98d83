//! `tether serve`

use std::io::IsTerminal;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::Args;
use color_eyre::eyre::{Result, bail, eyre};
use tokio::signal::unix::{SignalKind, signal};
use tokio::time::MissedTickBehavior;

use super::Failure;
use super::agent_kind::{self, AgentChoice, AgentKind};
use super::serve_config::{self, NotifyChoice, ServeFile};
use tether::host::agent::AgentSpec;
use tether::host::agent::replay::Playback;
use tether::host::auth::{AuthChanges, FileStamp};
use tether::host::notify::{Destination, DestinationKind, NotifyConfig};
use tether::host::sessions::SessionSpec;
use tether::host::{Host, HostConfig};

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// The host's config file: agent presets, workspaces and the sessions
    /// to run [default: <config dir>/tether/serve.toml when it exists and
    /// no one-session flag (--agent, --session, --cwd, a command) is given].
    #[arg(long, value_name = "FILE", conflicts_with_all = ["session", "agent", "cwd", "replay", "command"])]
    config: Option<PathBuf>,
    /// Address to listen on; port 0 picks a free one; `none` with --relay:
    /// reached through the broker only [default: 127.0.0.1:7878].
    #[arg(long, value_name = "ADDR|none", value_parser = parse_listen)]
    listen: Option<Listen>,
    /// Serve wss:// with this certificate chain (PEM), no proxy needed.
    #[arg(long, value_name = "FILE", requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// The certificate's private key (PEM, mode 0600).
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    tls_key: Option<PathBuf>,
    /// Serve wss:// with a certificate of the host's own, made once and
    /// kept in the state directory; clients trust it by the fingerprint
    /// printed (`tether attach --fingerprint`).
    #[arg(long, conflicts_with_all = ["tls_cert", "tls_key"])]
    tls_self_signed: bool,
    /// Session id served at /v1/sessions/ID (one-session host).
    #[arg(long)]
    session: Option<String>,
    /// Auth file [default: the user's config dir, tether/auth.json].
    #[arg(long)]
    auth: Option<PathBuf>,
    /// Seconds the owner slot is held for a disconnected owner.
    #[arg(long, default_value_t = 10)]
    owner_grace: u64,
    /// WebSocket connections served at once; more are refused with 503.
    #[arg(long, default_value_t = 1024)]
    max_connections: usize,
    /// WebSocket connections at once with one token; more get 503.
    #[arg(long, default_value_t = 256)]
    max_connections_per_token: usize,
    /// Sessions the host runs at most, configured and created; creating
    /// more gets 503 [default: `max_sessions` in the config file, else 256].
    #[arg(long)]
    max_sessions: Option<usize>,
    /// Seconds a client has to send a whole request head (also how long
    /// an idle keep-alive connection stays open).
    #[arg(long, default_value_t = 10.0, value_name = "SECS")]
    header_timeout: f64,
    /// Seconds a connection may stay silent after a ping (the host pings
    /// every 15 s; any frame, a pong included, counts) before it is closed
    /// with 1008 and its slot freed.
    #[arg(long, default_value_t = 30.0, value_name = "SECS")]
    pong_timeout: f64,
    /// Journal directory [default: the user's state dir, tether/sessions].
    #[arg(long, conflicts_with = "no_journal")]
    journal: Option<PathBuf>,
    /// Keep history in memory only.
    #[arg(long)]
    no_journal: bool,
    /// Bytes of history each session keeps in memory for resuming clients
    /// (K, M, G suffixes: KiB, MiB, GiB); older events are read from the
    /// journal [default: 64M, shared out among the sessions of a config
    /// file, at least 4M each].
    #[arg(long, value_name = "BYTES", value_parser = parse_size)]
    history_bytes: Option<usize>,
    /// The agent's working directory (one-session host) [default: .].
    #[arg(long)]
    cwd: Option<PathBuf>,
    /// Which agent to run (one-session host) [default: shell].
    #[arg(long, value_parser = agent_kind::parser())]
    agent: Option<AgentChoice>,
    /// The recorded event file for the replay agent.
    #[arg(long)]
    replay: Option<PathBuf>,
    /// Replay speed factor; 0 plays as fast as possible.
    #[arg(long, default_value_t = 1.0)]
    speed: f64,
    /// Send each alert (a permission request left unanswered, a turn that
    /// ends with no owner attached, an agent that exits with an error) to
    /// this URL as a JSON POST: https://, or http:// to this machine
    /// [default: `webhook` in the config file's [notify]].
    #[arg(long, value_name = "URL")]
    notify_webhook: Option<String>,
    /// Publish each alert to this ntfy topic, https://ntfy.sh/TOPIC (the
    /// topic is its password: pick one nobody guesses) [default: `ntfy`
    /// in the config file's [notify]].
    #[arg(long, value_name = "URL")]
    notify_ntfy: Option<String>,
    /// How long a permission request waits unanswered before it is told
    /// of: 30s, 2m, 0 for at once [default: `after` in [notify], else 30s].
    #[arg(long, value_name = "DURATION", value_parser = serve_config::parse_after)]
    notify_after: Option<Duration>,
    #[command(flatten)]
    relay: super::relay_args::RelayArgs,
    /// The stream-json or acp agent's command line, or a preset's extra
    /// arguments.
    #[arg(last = true, value_name = "COMMAND")]
    command: Vec<String>,
}

/// Where `--listen` says to listen.
#[derive(Debug, Clone, Copy)]
pub enum Listen {
    At(SocketAddr),
    /// Nowhere: the host is reached through its relay only.
    Nowhere,
}

fn parse_listen(text: &str) -> Result<Listen, String> {
    if text == "none" {
        return Ok(Listen::Nowhere);
    }
    text.parse()
        .map(Listen::At)
        .map_err(|e| format!("`{text}`: {e} (an address such as 127.0.0.1:7878, or none)"))
}

/// A size in bytes: `65536`, `64K`, `64M`, `1G` (binary multiples; `KiB`,
/// `MiB`, `GiB` and a lower-case suffix are accepted too).
pub fn parse_size(text: &str) -> Result<usize, String> {
    let text = text.trim();
    let digits = text.bytes().take_while(u8::is_ascii_digit).count();
    let (number, suffix) = text.split_at(digits);
    let shift = match suffix.to_ascii_lowercase().as_str() {
        "" | "b" => 0,
        "k" | "kb" | "kib" => 10,
        "m" | "mb" | "mib" => 20,
        "g" | "gb" | "gib" => 30,
        _ => {
            return Err(format!(
                "`{text}` is not a size (bytes, or a number with K, M or G)"
            ));
        }
    };
    let number: usize = number
        .parse()
        .map_err(|_| format!("`{text}` is not a size (bytes, or a number with K, M or G)"))?;
    number
        .checked_mul(1 << shift)
        .ok_or_else(|| format!("`{text}` is too large"))
}

/// The default journal directory: `<state dir>/tether/sessions`.
pub fn default_journal_dir() -> PathBuf {
    dirs::state_dir()
        .or_else(dirs::data_local_dir)
        .unwrap_or_else(|| PathBuf::from("."))
        .join("tether")
        .join("sessions")
}

impl ServeArgs {
    /// Whether a flag that shapes the one session of a flag-configured
    /// host is given.
    fn shapes_one_session(&self) -> bool {
        self.agent.is_some()
            || self.session.is_some()
            || self.cwd.is_some()
            || self.replay.is_some()
            || !self.command.is_empty()
    }

    /// The one session the flags describe.
    fn one_session(&self) -> Result<SessionSpec> {
        let choice = self.agent.unwrap_or(AgentChoice::Kind(AgentKind::Shell));
        let agent = match choice {
            AgentChoice::Kind(AgentKind::Shell) => AgentSpec::Shell,
            AgentChoice::Kind(AgentKind::Replay) => {
                let Some(file) = self.replay.clone() else {
                    bail!("--agent replay needs --replay FILE");
                };
                AgentSpec::Replay {
                    file,
                    speed: self.speed,
                    pause_at_requests: false,
                }
            }
            AgentChoice::Kind(kind) => {
                if self.command.is_empty() {
                    bail!("--agent {kind} needs the agent's command line after `--`");
                }
                kind.with_command(self.command.clone())
                    .expect("the other kinds run a command line")
            }
            AgentChoice::Preset(preset) => {
                let path = std::env::var("PATH").ok();
                preset
                    .agent(&self.command, path.as_deref())
                    .map_err(|why| eyre!(why))?
            }
        };
        if !self.command.is_empty() && !choice.takes_command() {
            bail!("a command after `--` is only for --agent stream-json, acp or a preset");
        }
        let mut spec = SessionSpec::new(self.session.as_deref().unwrap_or("main"), agent);
        spec.cwd = self.cwd.clone().unwrap_or_else(|| PathBuf::from("."));
        Ok(spec)
    }

    /// Whether the host's sessions come from a config file (a host of
    /// sessions, announced as a whole) rather than from the flags.
    fn uses_config_file(&self) -> bool {
        self.config.is_some()
            || (!self.shapes_one_session()
                && serve_config::default_path().is_some_and(|p| p.exists()))
    }

    /// The config file to read, if any.
    fn config_file(&self) -> Result<Option<ServeFile>> {
        let path = match &self.config {
            Some(path) => Some(path.clone()),
            None if self.shapes_one_session() => None,
            None => serve_config::default_path().filter(|p| p.exists()),
        };
        path.map(|p| ServeFile::load(&p).map_err(|e| eyre!(e)))
            .transpose()
    }

    fn config(self) -> Result<HostConfig> {
        Playback::check_speed(self.speed).map_err(|why| eyre!("--speed: {why}"))?;
        let mut notify = NotifyChoice::default();
        let mut relay = None;
        let mut config = match self.config_file()? {
            Some(file) => {
                notify = file.notify().map_err(|e| eyre!(e))?;
                relay = file.relay.clone();
                let served = file.resolve().map_err(|e| eyre!(e))?;
                let mut config = HostConfig::new(AgentSpec::Shell);
                config.sessions = served.sessions;
                config.presets = served.presets;
                config.workspaces = served.workspaces;
                config.listen = file.listen.unwrap_or(config.listen);
                config.auth_path = file.auth.clone().unwrap_or(config.auth_path);
                config.journal_dir = file.journal.clone().or_else(|| Some(default_journal_dir()));
                config.max_sessions = file.max_sessions.unwrap_or(config.max_sessions);
                config
            }
            None => {
                let mut config = HostConfig::new(AgentSpec::Shell);
                config.sessions = vec![self.one_session()?];
                config.presets = serve_config::builtin_presets();
                config.journal_dir = Some(default_journal_dir());
                config
            }
        };
        config.notify = self.notify_config(notify)?;
        config.relay = self.relay.config(relay.as_ref()).map_err(|e| eyre!(e))?;
        self.apply_flags(&mut config)?;
        Ok(config)
    }

    /// Where alerts go: the config file's `[notify]` (`file`), with each
    /// `--notify-*` flag given in place of its key. A URL refused is named
    /// by its flag, never repeated (it holds secrets).
    fn notify_config(&self, file: NotifyChoice) -> Result<Option<NotifyConfig>> {
        let destination = |kind: DestinationKind, flag: &Option<String>| {
            flag.as_deref()
                .map(|url| Destination::parse(kind, url))
                .transpose()
                .map_err(|why| eyre!("--notify-{}: {why}", kind.as_str()))
        };
        let choice = NotifyChoice {
            webhook: destination(DestinationKind::Webhook, &self.notify_webhook)?.or(file.webhook),
            ntfy: destination(DestinationKind::Ntfy, &self.notify_ntfy)?.or(file.ntfy),
            after: self.notify_after.or(file.after),
        };
        choice
            .into_config("no --notify-webhook or --notify-ntfy (nor [notify] in a config file) says where alerts go")
            .map_err(|e| eyre!(e))
    }

    /// The host-wide flags, over what a config file said.
    fn apply_flags(self, config: &mut HostConfig) -> Result<()> {
        match self.listen {
            Some(Listen::At(listen)) => config.listen = listen,
            Some(Listen::Nowhere) => config.listen_none = true,
            None => {}
        }
        if let (Some(cert), Some(key)) = (self.tls_cert.clone(), self.tls_key.clone()) {
            config.tls = Some((cert, key));
        }
        if self.tls_self_signed {
            config.tls = Some(super::self_signed::ensure(config.listen)?);
        }
        if let Some(auth) = self.auth {
            config.auth_path = auth;
        }
        config.owner_grace = Duration::from_secs(self.owner_grace);
        config.max_connections = self.max_connections;
        config.max_connections_per_token = self.max_connections_per_token;
        if let Some(max) = self.max_sessions {
            config.max_sessions = max;
        }
        if config.max_sessions < config.sessions.len() {
            bail!(
                "--max-sessions {} is fewer than the {} configured sessions",
                config.max_sessions,
                config.sessions.len()
            );
        }
        config.header_read_timeout = positive_secs(self.header_timeout)
            .ok_or_else(|| eyre!("--header-timeout must be a positive number of seconds"))?;
        config.pong_timeout = positive_secs(self.pong_timeout)
            .ok_or_else(|| eyre!("--pong-timeout must be a positive number of seconds"))?;
        if self.no_journal {
            config.journal_dir = None;
        } else if let Some(journal) = self.journal {
            config.journal_dir = Some(journal);
        }
        config.history_bytes = match self.history_bytes {
            Some(bytes) => bytes,
            // Many sessions share what one would have: 100 busy sessions
            // must not each hold 64 MiB.
            None => (config.history_bytes / config.sessions.len().max(1)).max(4 << 20),
        };
        Ok(())
    }
}

/// `secs` as a duration, if it is a positive number.
fn positive_secs(secs: f64) -> Option<Duration> {
    Duration::try_from_secs_f64(secs)
        .ok()
        .filter(|t| !t.is_zero())
}

pub fn run(args: ServeArgs) -> ExitCode {
    init_logging();
    let whole_host = args.uses_config_file();
    let config = match args.config() {
        Ok(config) => config,
        Err(e) => return Failure::usage(format!("{e:#}")).exit(),
    };
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => return Failure::from(e).exit(),
    };
    match runtime.block_on(serve(config, whole_host)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => failure.exit(),
    }
}

/// How often a running host looks at its auth file for changes.
const AUTH_POLL: Duration = Duration::from_secs(1);

async fn serve(config: HostConfig, whole_host: bool) -> Result<(), Failure> {
    // Run from a terminal, SIGHUP means the terminal is gone: stop, as
    // Ctrl+C does. Run as a service, SIGHUP is the usual "reload".
    let in_terminal = std::io::stdin().is_terminal();
    let mut interrupt = signal(SignalKind::interrupt())?;
    let mut terminate = signal(SignalKind::terminate())?;
    let mut hangup = signal(SignalKind::hangup())?;
    // Stamped before the host reads the file, so an edit made while it
    // starts is not missed (at worst it is read twice).
    let auth_stamp = FileStamp::of(&config.auth_path);
    let fingerprint = config
        .tls
        .as_ref()
        .and_then(|(cert, _)| super::self_signed::fingerprint_of(cert));
    let alerts = config.notify.as_ref().map(describe_alerts);
    let relay = config.relay.as_ref().map(|relay| {
        let broker = relay.broker.shown();
        format!(
            "relay: {broker} as `{id}`; attach with tether attach {broker}/{id}/SESSION",
            id = relay.host_id
        )
    });
    let host = Host::start(config).await?;
    announce(&host, whole_host);
    if let Some(relay) = relay {
        println!("{relay}");
    }
    if let Some(fingerprint) = fingerprint {
        println!("fingerprint: {fingerprint} (tether attach URL --fingerprint {fingerprint})");
    }
    if let Some(alerts) = alerts {
        println!("{alerts}");
    }
    {
        // SIGHUP asks the follower to reload: reloads run one at a time in
        // one place (an arm of this select waiting on a reload the
        // follower holds would never let the follower finish it).
        let asked = tokio::sync::Notify::new();
        let follow = follow_auth_file(&host, auth_stamp, Some(&asked), report_reload);
        tokio::pin!(follow);
        loop {
            tokio::select! {
                _ = interrupt.recv() => break,
                _ = terminate.recv() => break,
                _ = hangup.recv() => {
                    if in_terminal {
                        break;
                    }
                    asked.notify_one();
                }
                () = &mut follow => {}
            }
        }
    }
    Ok(host.shutdown().await?)
}

/// Reloads the host's auth file whenever it changes on disk (checked every
/// second), and whenever `asked` is notified (SIGHUP), and hands each
/// outcome to `report` with whether it was asked for; never returns.
/// `stamp` is the file's stamp from before the host read it, so an edit
/// made while the host started is not missed (at worst it is read twice).
pub async fn follow_auth_file(
    host: &Host,
    mut stamp: Option<FileStamp>,
    asked: Option<&tokio::sync::Notify>,
    report: impl Fn(tether::host::error::Result<AuthChanges>, bool),
) {
    let mut poll = tokio::time::interval(AUTH_POLL);
    poll.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let never = tokio::sync::Notify::new();
    let asked = asked.unwrap_or(&never);
    loop {
        let was_asked = tokio::select! {
            _ = poll.tick() => false,
            () = asked.notified() => true,
        };
        let now = FileStamp::of(host.auth_path());
        if was_asked || now != stamp {
            stamp = now;
            report(host.reload_auth().await, was_asked);
        }
    }
}

/// Prints where the host listens, its files, and a warning when it listens
/// beyond this machine. A host of sessions from a config file (even one)
/// is announced as a whole: its sessions and the command that shows them
/// all, with the auth file when clients would not find it by themselves.
fn announce(host: &Host, whole_host: bool) {
    let listen = host.addr();
    // First, and a session's URL: scripts read it.
    if host.listens() {
        println!("listening on {}", host.url());
    } else {
        println!("not listening: reached through the relay only (--listen none)");
    }
    let ids = host.session_ids_in_order();
    let whole_host = whole_host || ids.len() != 1;
    match ids.len() {
        0 => {}
        1..=8 if whole_host => println!("sessions: {}", ids.join(", ")),
        1..=8 => {}
        n => println!("sessions: {}, … ({n} in all)", ids[..6].join(", ")),
    }
    if whole_host && host.listens() {
        // The first URL names one session; people want the whole host.
        println!("attach to them all: {}", host.attach_command());
    }
    for problem in host.problems() {
        eprintln!("tether: {problem}");
    }
    if host.auth_created() {
        println!(
            "auth file: {} (created with a control and a view token)",
            host.auth_path().display()
        );
    } else {
        println!("auth file: {}", host.auth_path().display());
    }
    if let Some(journal) = host.journal_path() {
        println!("journal: {}", journal.display());
    }
    if ids.is_empty() {
        println!("no sessions yet: an admin token creates them with POST /v1/sessions");
    }
    if host.listens() && !listen.ip().is_loopback() && !host.url().starts_with("wss://") {
        eprintln!(
            "warning: listening on {listen}, beyond this machine: traffic (tokens included) is \
             unencrypted unless a TLS-terminating proxy is in front"
        );
    }
}

/// `alerts: ntfy https://ntfy.sh, …; …`: where alerts go, by scheme and
/// host only (their URLs hold secrets).
fn describe_alerts(notify: &NotifyConfig) -> String {
    let to: Vec<String> = notify.destinations.iter().map(|d| d.label()).collect();
    let when = if notify.after.is_zero() {
        "at once".to_owned()
    } else {
        format!(
            "after {} unanswered",
            humantime::format_duration(notify.after)
        )
    };
    format!(
        "alerts: {}; a permission request is told of {when}",
        to.join(", ")
    )
}

/// Says on stderr what a reload changed (by name, never a token) or why
/// the file was not applied (the old tokens stay). A reload that was asked
/// for (SIGHUP) is reported even when nothing changed.
fn report_reload(outcome: tether::host::error::Result<AuthChanges>, asked: bool) {
    match outcome {
        Ok(changes) if asked || !changes.is_empty() => eprintln!("auth: {changes}"),
        Ok(_) => {}
        Err(e) => eprintln!(
            "tether: auth file not reloaded, the old tokens stay: {}",
            super::failure::with_causes(&e)
        ),
    }
}

/// Logs go to stderr for the host (it has no screen to protect);
/// `RUST_LOG` tunes them.
fn init_logging() {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("warn"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}

#[cfg(test)]
mod tests {
    use super::parse_size;

    #[test]
    fn sizes_take_plain_bytes_and_binary_suffixes() {
        assert_eq!(parse_size("65536"), Ok(65536));
        assert_eq!(parse_size("64K"), Ok(64 << 10));
        assert_eq!(parse_size("64MiB"), Ok(64 << 20));
        assert_eq!(parse_size("1g"), Ok(1 << 30));
        for bad in ["", "M", "12T", "-1", "1.5M", "99999999999999999999G"] {
            assert!(parse_size(bad).is_err(), "{bad}");
        }
    }
}
