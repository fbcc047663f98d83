//! `tether demo`: the bundled recording replayed by a host in this process,
//! with the UI attached as its owner. No agent, no API key: the replay
//! waits at each permission request for your answer.

use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Args;

use tether::host::agent::AgentSpec;
use tether::host::{Host, HostConfig};

use super::Failure;

/// The demo session (`assets/demo/demo.jsonl`), built into the binary so
/// `tether demo` works from any directory.
const DEMO: &str = include_str!("../../assets/demo/demo.jsonl");

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Replay speed factor; 0 plays as fast as possible (it still waits
    /// at permission requests).
    #[arg(long, default_value_t = 1.0)]
    speed: f64,
    /// Leave the mouse to the terminal (select text); F6 toggles it.
    #[arg(long)]
    no_mouse: bool,
}

/// A private directory for the demo's recording, auth file and working
/// directory, removed when the demo ends.
struct DemoDir(PathBuf);

impl DemoDir {
    fn create() -> std::io::Result<DemoDir> {
        let path = std::env::temp_dir().join(format!("tether-demo-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::DirBuilder::new().mode(0o700).create(&path)?;
        let dir = DemoDir(path);
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(dir.recording())?;
        std::io::Write::write_all(&mut file, DEMO.as_bytes())?;
        Ok(dir)
    }

    fn path(&self) -> &Path {
        &self.0
    }

    fn recording(&self) -> PathBuf {
        self.0.join("demo.jsonl")
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
        let (target, hints) = match super::attach::owner_of(&host) {
            Ok(attached) => attached,
            Err(failure) => return failure.exit(),
        };
        let code = super::attach::attach_tui(target, hints, mouse).await;
        let _ = host.shutdown().await;
        code
    })
}

/// A host on a free port of 127.0.0.1 replaying the demo, pausing at its
/// permission requests, with no journal: nothing outlives the demo.
fn demo_config(dir: &DemoDir, speed: f64) -> HostConfig {
    let mut config = HostConfig::new(AgentSpec::Replay {
        file: dir.recording(),
        speed,
        pause_at_requests: true,
    });
    config.listen = "127.0.0.1:0".parse().expect("static address");
    config.session().id = "demo".into();
    config.auth_path = dir.path().join("auth.json");
    config.session().cwd = dir.path().to_owned();
    config.journal_dir = None;
    config
}
