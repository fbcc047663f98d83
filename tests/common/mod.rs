//! Test support shared by `tests/host` and `tests/tui`: starting a host,
//! running the binary, reading addresses. Each test binary uses part of
//! it (hence the `dead_code` allowance where it is included).

pub mod broker;

use std::path::Path;

use tether::host::agent::AgentSpec;
use tether::host::{Host, HostConfig};

/// The `tether` binary cargo built for these tests.
pub const TETHER: &str = env!("CARGO_BIN_EXE_tether");

/// The fake agents the tests play (`tether-test-agent trace TRACE`, a
/// recorded Claude Code session; `tether-test-agent acp SCRIPT`, a
/// scripted ACP agent), a binary of their own outside `tether`.
pub const TEST_AGENT: &str = env!("CARGO_BIN_EXE_tether-test-agent");

/// A host configuration for tests: loopback on a free port, the auth file,
/// the working directory and nothing else in `dir`, no journal.
pub fn host_config(dir: &Path, agent: AgentSpec) -> HostConfig {
    // Children of in-process hosts run under the real supervisor too.
    tether::host::agent::process::supervise_children_with(TETHER.into());
    let mut config = HostConfig::new(agent);
    config.listen = "127.0.0.1:0".parse().unwrap();
    config.auth_path = dir.join("auth.json");
    config.session().cwd = dir.to_owned();
    config.journal_dir = None;
    config
}

/// Starts a host with [`host_config`] changed by `tweak`.
pub async fn start_host(dir: &Path, agent: AgentSpec, tweak: impl FnOnce(&mut HostConfig)) -> Host {
    let mut config = host_config(dir, agent);
    tweak(&mut config);
    Host::start(config).await.expect("host starts")
}

/// The `tether` binary, logging to `dir/tether.log` and with `dir` as its
/// home, so no test reads or writes the real user's files.
pub fn tether(dir: &Path) -> std::process::Command {
    let mut command = std::process::Command::new(TETHER);
    command
        .env("TETHER_LOG", dir.join("tether.log"))
        .env("HOME", dir)
        .env("XDG_CONFIG_HOME", dir.join(".config"))
        .env("XDG_STATE_HOME", dir.join(".local/state"));
    command
}

/// [`tether`] for async tests; killed if the test drops it.
pub fn tether_async(dir: &Path) -> tokio::process::Command {
    let mut command = tokio::process::Command::from(tether(dir));
    command.kill_on_drop(true);
    command
}

/// `HOST:PORT` of a `ws://HOST:PORT/...` URL.
pub fn host_addr(url: &str) -> String {
    url.trim_start_matches("ws://")
        .split('/')
        .next()
        .unwrap()
        .to_owned()
}
