//! `tether demo`: the demo agent (a script played live, honouring every
//! answer) in a host in this process, with the UI attached as its owner.
//! No model, no network, no API key; what it does happens in a private
//! directory, removed when the demo ends.

use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Args;

use tether::host::agent::AgentSpec;
use tether::host::{Host, HostConfig};

use super::Failure;

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Pace factor of the demo agent (its pauses, how slowly its test
    /// run prints); 0: no pauses (it still waits for your answers).
    #[arg(long, default_value_t = 1.0)]
    speed: f64,
    /// Leave the mouse to the terminal (select text); F6 toggles it.
    #[arg(long)]
    no_mouse: bool,
}

/// A private directory for the demo's auth file and its project (the
/// agent's working directory), removed when the demo ends.
struct DemoDir(PathBuf);

impl DemoDir {
    fn create() -> std::io::Result<DemoDir> {
        let path = std::env::temp_dir().join(format!("tether-demo-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::DirBuilder::new().mode(0o700).create(&path)?;
        let dir = DemoDir(path);
        std::fs::DirBuilder::new()
            .mode(0o700)
            .create(dir.project())?;
        Ok(dir)
    }

    fn path(&self) -> &Path {
        &self.0
    }

    fn project(&self) -> PathBuf {
        self.0.join("project")
    }
}

impl Drop for DemoDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

pub fn run(args: DemoArgs) -> ExitCode {
    if let Err(why) = tether::host::agent::replay::Playback::check_speed(args.speed) {
        return Failure::usage(format!("--speed: {why}")).exit();
    }
    super::logging::to_file();
    let mouse = match super::mouse_choice(args.no_mouse) {
        Ok(mouse) => mouse,
        Err(failure) => return failure.exit(),
    };
    let dir = match DemoDir::create() {
        Ok(dir) => dir,
        Err(e) => return Failure::runtime(format!("cannot set up the demo: {e}")).exit(),
    };
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => return Failure::from(e).exit(),
    };
    let config = demo_config(&dir, args.speed);
    runtime.block_on(async {
        let host = match Host::start(config).await {
            Ok(host) => host,
            Err(e) => return Failure::from(e).exit(),
        };
        let (target, mut hints) = match super::attach::owner_of(&host) {
            Ok(attached) => attached,
            Err(failure) => return failure.exit(),
        };
        // The demo's tokens are in its own auth file, which `tether attach`
        // does not read by default: the command carries the view token.
        if let Some(view) = host.view_token() {
            hints.watch_command = Some(watch_command(&host.url(), &view));
        }
        let code = super::attach::attach_tui(target, hints, mouse).await;
        let _ = host.shutdown().await;
        code
    })
}

/// What someone else on this machine pastes to watch the demo.
fn watch_command(url: &str, view_token: &str) -> String {
    format!("tether attach {url} --view --token {view_token}")
}

/// A host on a free port of 127.0.0.1 running the demo agent in the
/// demo's project directory, with no journal: nothing outlives the demo.
fn demo_config(dir: &DemoDir, speed: f64) -> HostConfig {
    let mut config = HostConfig::new(AgentSpec::Demo { speed });
    config.listen = "127.0.0.1:0".parse().expect("static address");
    config.session().id = "demo".into();
    config.auth_path = dir.path().join("auth.json");
    config.session().cwd = dir.project();
    config.journal_dir = None;
    config
}
