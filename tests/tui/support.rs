//! The set-up the end-to-end tests share: a temporary directory, a host in
//! this process, `tether attach` in a pseudo-terminal waiting until it
//! shows who it is, and at the end Ctrl+Q, a clean exit and the host shut
//! down.
//!
//! ```ignore
//! TuiTest::new().run(|tui| { tui.send(b"echo hi\r"); ... }).await;
//! ```
//!
//! The variations the tests use are builder calls: another agent or host
//! configuration, another token, extra `attach` arguments (more URLs,
//! flags), more environment, another terminal size, another text to wait
//! for. Tests that need the host between steps take it apart: [`start`]
//! gives a [`Running`] host; [`Running::open`] attaches, [`Running::drive`]
//! attaches and quits, [`Running::attach`] is the command for attaching by
//! hand.
//!
//! [`start`]: TuiTest::start

use std::path::Path;

use tempfile::TempDir;
use tether::host::agent::AgentSpec;
use tether::host::{Host, HostConfig};

use crate::pty::Pty;

/// `tether attach URL --token TOKEN [ARGS...]` in a pseudo-terminal,
/// logging to `HOME/tui.log` with a home of its own (40x120 unless told).
#[derive(Clone)]
pub struct Attach {
    args: Vec<String>,
    env: Vec<(String, String)>,
    size: (u16, u16),
}

impl Attach {
    pub fn new(url: &str, token: &str, home: &Path) -> Attach {
        let log = home.join("tui.log");
        Attach {
            args: ["attach", url, "--token", token].map(String::from).to_vec(),
            env: vec![
                ("TETHER_LOG".into(), log.to_str().unwrap().into()),
                ("HOME".into(), home.to_str().unwrap().into()),
            ],
            size: (40, 120),
        }
    }

    /// More arguments after the token: other URLs, flags.
    pub fn args(mut self, args: &[&str]) -> Attach {
        self.args.extend(args.iter().map(|a| (*a).to_owned()));
        self
    }

    /// More environment, set after `TETHER_LOG` and `HOME`.
    pub fn env(mut self, env: &[(&str, &str)]) -> Attach {
        let env = env.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned()));
        self.env.extend(env);
        self
    }

    pub fn size(mut self, rows: u16, cols: u16) -> Attach {
        self.size = (rows, cols);
        self
    }

    /// Starts it, without waiting for anything.
    pub fn spawn(&self) -> Pty {
        let args: Vec<&str> = self.args.iter().map(String::as_str).collect();
        let env: Vec<(&str, &str)> = self
            .env
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        Pty::spawn(&args, &env, self.size.0, self.size.1)
    }
}

type Tweak = Box<dyn FnOnce(&mut HostConfig) + Send>;

/// A test's set-up, built up then started: by default the shell agent in
/// a fresh temporary directory (also the TUI's home), the host's control
/// token, a 40x120 terminal, and attaching waits for "(owner)".
pub struct TuiTest {
    dir: TempDir,
    agent: AgentSpec,
    tweaks: Vec<Tweak>,
    token: Option<String>,
    args: Vec<String>,
    env: Vec<(String, String)>,
    size: (u16, u16),
    shows: String,
}

impl TuiTest {
    pub fn new() -> TuiTest {
        TuiTest {
            dir: tempfile::tempdir().unwrap(),
            agent: AgentSpec::Shell,
            tweaks: Vec::new(),
            token: None,
            args: Vec::new(),
            env: Vec::new(),
            size: (40, 120),
            shows: "(owner)".into(),
        }
    }

    /// The temporary directory: the session's working directory, the auth
    /// file's, the TUI's home. Files a test needs go here before it starts.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    pub fn agent(mut self, agent: AgentSpec) -> TuiTest {
        self.agent = agent;
        self
    }

    /// Changes the host's configuration (`common::host_config`) before it
    /// starts, after the changes asked for before.
    pub fn host_config(mut self, tweak: impl FnOnce(&mut HostConfig) + Send + 'static) -> TuiTest {
        self.tweaks.push(Box::new(tweak));
        self
    }

    /// Attaches with `token` rather than the host's control token.
    pub fn token(mut self, token: &str) -> TuiTest {
        self.token = Some(token.to_owned());
        self
    }

    /// More `attach` arguments after the token: other URLs, flags.
    pub fn args(mut self, args: &[&str]) -> TuiTest {
        self.args.extend(args.iter().map(|a| (*a).to_owned()));
        self
    }

    /// More environment for the TUI.
    pub fn env(mut self, env: &[(&str, &str)]) -> TuiTest {
        let env = env.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned()));
        self.env.extend(env);
        self
    }

    pub fn size(mut self, rows: u16, cols: u16) -> TuiTest {
        self.size = (rows, cols);
        self
    }

    /// What attaching waits for on the screen, instead of "(owner)".
    pub fn shows(mut self, text: &str) -> TuiTest {
        self.shows = text.to_owned();
        self
    }

    /// Starts the host.
    pub async fn start(self) -> Running {
        let mut config = crate::common::host_config(self.dir.path(), self.agent);
        for tweak in self.tweaks {
            tweak(&mut config);
        }
        let host = Host::start(config).await.expect("host starts");
        let token = match self.token {
            Some(token) => token,
            None => host.control_token().expect("a control token"),
        };
        let args: Vec<&str> = self.args.iter().map(String::as_str).collect();
        let env: Vec<(&str, &str)> = self
            .env
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let attach = Attach::new(&host.url(), &token, self.dir.path())
            .args(&args)
            .env(&env)
            .size(self.size.0, self.size.1);
        Running {
            host,
            dir: self.dir,
            token,
            attach,
            shows: self.shows,
        }
    }

    /// The whole test: starts the host, attaches, waits for the text,
    /// hands the terminal to `drive`, then quits (Ctrl+Q, a clean exit)
    /// and shuts the host down. Returns the terminal, exited.
    pub async fn run(self, drive: impl FnOnce(&mut Pty) + Send + 'static) -> Pty {
        let running = self.start().await;
        let tui = running.drive(drive).await;
        running.shutdown().await;
        tui
    }
}

/// A started host, and how its test attaches to it.
pub struct Running {
    pub host: Host,
    /// Kept until the test ends.
    pub dir: TempDir,
    token: String,
    attach: Attach,
    shows: String,
}

impl Running {
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// The URL the TUI attaches to: the host's first session.
    pub fn url(&self) -> String {
        self.host.url()
    }

    /// The token the TUI attaches with.
    pub fn token(&self) -> String {
        self.token.clone()
    }

    /// The configured `tether attach`, to start by hand or to vary.
    pub fn attach(&self) -> Attach {
        self.attach.clone()
    }

    /// Attaches, waits for the text, then runs `drive` on the terminal
    /// (off the async runtime); returns the terminal, still running.
    pub async fn open(&self, drive: impl FnOnce(&mut Pty) + Send + 'static) -> Pty {
        let (attach, shows) = (self.attach(), self.shows.clone());
        tokio::task::spawn_blocking(move || {
            let mut tui = attach.spawn();
            tui.wait_text(&shows);
            drive(&mut tui);
            tui
        })
        .await
        .unwrap()
    }

    /// [`open`](Running::open), then quits: returns the terminal, exited.
    pub async fn drive(&self, drive: impl FnOnce(&mut Pty) + Send + 'static) -> Pty {
        self.open(move |tui| {
            drive(tui);
            tui.quit();
        })
        .await
    }

    pub async fn shutdown(self) {
        self.host.shutdown().await.unwrap();
    }
}
