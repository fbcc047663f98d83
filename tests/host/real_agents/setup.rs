//! Running the real agents (from npm) behind a real `tether serve`, their
//! models replaced by the scripted fake APIs in `tests/fake-model-apis/`.
//!
//! The programs come from `.ci/install-agents` (pinned, Node 22 included):
//! its `bin/` is `$TETHER_TEST_AGENTS`, else `~/.cache/tether-agents/bin`,
//! else whatever is on `PATH`. With `CI` set a missing program fails the
//! test; otherwise the test says what it skipped and how to install it.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use tempfile::TempDir;

use crate::support::token_from_auth;

/// One agent as tether runs it, and the fake model behind it.
#[derive(Debug, Clone, Copy)]
pub struct RealAgent {
    /// The `--agent` preset.
    pub preset: &'static str,
    /// The program the preset runs.
    pub program: &'static str,
    pub api: Api,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Api {
    Anthropic,
    Gemini,
}

pub const CLAUDE: RealAgent = RealAgent {
    preset: "claude",
    program: "claude",
    api: Api::Anthropic,
};
pub const CLAUDE_ACP: RealAgent = RealAgent {
    preset: "claude-acp",
    program: "claude-agent-acp",
    api: Api::Anthropic,
};
pub const GEMINI: RealAgent = RealAgent {
    preset: "gemini",
    program: "gemini",
    api: Api::Gemini,
};

/// Where the agent programs are, if `program` is among them.
fn agents_bin(program: &str) -> Option<PathBuf> {
    let mut places: Vec<PathBuf> = std::env::var_os("TETHER_TEST_AGENTS")
        .map(PathBuf::from)
        .into_iter()
        .collect();
    if let Some(home) = std::env::var_os("HOME") {
        places.push(Path::new(&home).join(".cache/tether-agents/bin"));
    }
    if let Some(path) = std::env::var_os("PATH") {
        places.extend(std::env::split_paths(&path));
    }
    places.into_iter().find(|dir| dir.join(program).is_file())
}

fn have_python() -> bool {
    Command::new("python3")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// The directory holding `agent`'s program; `None` (after saying so) when
/// this machine lacks it outside CI. In CI a missing program is a failure.
pub fn require(agent: RealAgent, test: &str) -> Option<PathBuf> {
    let missing = match (agent_bin_or_none(agent), have_python()) {
        (Some(bin), true) => return Some(bin),
        (None, _) => format!("`{}`", agent.program),
        (Some(_), false) => "python3 (for the fake model API)".to_owned(),
    };
    let how = "install the pinned agents with `.ci/install-agents` (npm; Node 22 included)";
    if std::env::var_os("CI").is_some() {
        panic!("{test}: {missing} is missing in CI: {how}");
    }
    eprintln!("skipped {test}: {missing} is not installed; {how}");
    None
}

fn agent_bin_or_none(agent: RealAgent) -> Option<PathBuf> {
    agents_bin(agent.program)
}

/// A fake model API on loopback (killed when dropped).
pub struct FakeApi {
    child: Child,
    pub port: u16,
}

impl FakeApi {
    pub fn start(api: Api, log: &Path) -> FakeApi {
        let script = match api {
            Api::Anthropic => "anthropic_messages.py",
            Api::Gemini => "gemini.py",
        };
        let script = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fake-model-apis")
            .join(script);
        let mut child = Command::new("python3")
            .arg(script)
            .args(["--port", "0", "--log"])
            .arg(log)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("python3 runs the fake model API");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let port = line
            .trim()
            .strip_prefix("LISTENING ")
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| panic!("the fake API said {line:?}"));
        FakeApi { child, port }
    }
}

impl Drop for FakeApi {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `tether serve --agent PRESET` running the real agent in a project
/// directory of its own, with a fresh home (killed when dropped).
pub struct RealHost {
    child: Child,
    pub url: String,
    pub token: String,
    pub project: TempDir,
    _home: TempDir,
    _api: FakeApi,
}

impl Drop for RealHost {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The Gemini CLI's settings for a scripted API key and no prompts.
const GEMINI_SETTINGS: &str = r#"{"security": {"auth": {"selectedType": "gemini-api-key"}, "folderTrust": {"enabled": false}},
 "privacy": {"usageStatisticsEnabled": false}, "telemetry": {"enabled": false},
 "general": {"enableAutoUpdate": false, "enableAutoUpdateNotification": false},
 "ide": {"enabled": false}, "model": {"name": "gemini-2.5-flash"}}"#;

impl RealHost {
    pub fn start(agent: RealAgent, bin: &Path) -> RealHost {
        let home = tempfile::tempdir().unwrap();
        let project = tempfile::tempdir().unwrap();
        let api = FakeApi::start(agent.api, &home.path().join("api.jsonl"));
        let path = std::env::join_paths(std::iter::once(bin.to_owned()).chain(
            std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default()),
        ))
        .unwrap();
        let mut command = crate::common::tether(home.path());
        command
            .args(["serve", "--agent", agent.preset, "--no-journal"])
            .args(["--listen", "127.0.0.1:0", "--auth"])
            .arg(home.path().join("auth.json"))
            .arg("--cwd")
            .arg(project.path())
            .env("PATH", path)
            // As root with IS_SANDBOX set, claude-agent-acp asks claude to
            // skip permissions, which claude refuses as root.
            .env_remove("IS_SANDBOX")
            .env_remove("CLAUDECODE")
            .env_remove("ANTHROPIC_AUTH_TOKEN")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null());
        let base = format!("http://127.0.0.1:{}", api.port);
        match agent.api {
            Api::Anthropic => {
                command
                    .env("ANTHROPIC_BASE_URL", &base)
                    .env("ANTHROPIC_API_KEY", "sk-ant-fake")
                    .env("CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC", "1")
                    .env("DISABLE_AUTOUPDATER", "1");
            }
            Api::Gemini => {
                let dir = home.path().join(".gemini");
                std::fs::create_dir_all(&dir).unwrap();
                std::fs::write(dir.join("settings.json"), GEMINI_SETTINGS).unwrap();
                for unset in [
                    "GOOGLE_API_KEY",
                    "GOOGLE_GENAI_USE_VERTEXAI",
                    "GOOGLE_GENAI_USE_GCA",
                    "GEMINI_MODEL",
                ] {
                    command.env_remove(unset);
                }
                command
                    .env("GEMINI_API_KEY", "fake")
                    .env("GOOGLE_GEMINI_BASE_URL", &base)
                    .env("NO_BROWSER", "true");
            }
        }
        let mut child = command.spawn().unwrap();
        let url = crate::served::listening_url(&mut child);
        let token = token_from_auth(&home.path().join("auth.json"), "control");
        RealHost {
            child,
            url,
            token,
            project,
            _home: home,
            _api: api,
        }
    }
}
