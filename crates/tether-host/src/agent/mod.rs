//! Agents: what a session runs. Each kind is a task that takes
//! [`AgentInput`]s and reports [`EventKind`]s; the session never sees a
//! process or a file.

pub mod acp;
pub mod demo;
pub mod line_process;
mod output_batch;
mod paced_pipe;
pub mod preset;
pub mod process;
pub mod replay;
pub mod shell;
pub mod stream_json;
pub mod tree;

use std::path::PathBuf;

use crate::host::error::Result;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::session::{AgentCommand, AgentTraits};
use crate::protocol::EventKind;

pub use preset::Preset;
pub use process::sleep_until_some;

/// Which agent a session runs.
#[derive(Debug, Clone, PartialEq)]
pub enum AgentSpec {
    /// The built-in approval-gated shell: every message is a command line.
    Shell,
    /// A child speaking the Claude Agent SDK stream-json protocol.
    StreamJson { command: Vec<String> },
    /// A child speaking the Agent Client Protocol, with tether its client.
    Acp { command: Vec<String> },
    /// A recorded event file played back (`pause_at_requests`: wait at
    /// each permission request for the owner's answer).
    Replay {
        file: PathBuf,
        speed: f64,
        pause_at_requests: bool,
    },
    /// The demo agent: the built-in script (`assets/demo/script.json`)
    /// played live, honouring every answer; `speed` scales its pauses
    /// (0: none).
    Demo { speed: f64 },
}

impl AgentSpec {
    /// The program it runs, for the kinds that run a command line.
    pub fn program(&self) -> Option<&str> {
        match self {
            AgentSpec::StreamJson { command } | AgentSpec::Acp { command } => {
                command.first().map(String::as_str)
            }
            AgentSpec::Shell | AgentSpec::Replay { .. } | AgentSpec::Demo { .. } => None,
        }
    }

    pub fn kind(&self) -> &'static str {
        match self {
            AgentSpec::Shell => "shell",
            AgentSpec::StreamJson { .. } => "stream-json",
            AgentSpec::Acp { .. } => "acp",
            AgentSpec::Replay { .. } => "replay",
            AgentSpec::Demo { .. } => "demo",
        }
    }

    pub fn traits(&self) -> AgentTraits {
        match self {
            AgentSpec::Shell => AgentTraits {
                takes_input: true,
                queues_input: false,
                takes_updated_input: true,
            },
            AgentSpec::StreamJson { .. } => AgentTraits {
                takes_input: true,
                queues_input: true,
                takes_updated_input: true,
            },
            // ACP has no field for an edited input.
            AgentSpec::Acp { .. } => AgentTraits {
                takes_input: true,
                queues_input: true,
                takes_updated_input: false,
            },
            AgentSpec::Replay { .. } => AgentTraits {
                takes_input: false,
                queues_input: false,
                takes_updated_input: false,
            },
            AgentSpec::Demo { .. } => AgentTraits {
                takes_input: true,
                queues_input: false,
                takes_updated_input: true,
            },
        }
    }

    /// A title for a session that has not been given one.
    pub fn default_title(&self) -> String {
        match self {
            AgentSpec::Shell => "shell".into(),
            AgentSpec::StreamJson { command } | AgentSpec::Acp { command } => command
                .first()
                .map(|c| c.rsplit('/').next().unwrap_or(c).to_owned())
                .unwrap_or_else(|| self.kind().into()),
            AgentSpec::Replay { file, .. } => {
                let name = file.file_name().unwrap_or(file.as_os_str());
                format!("replay of {}", name.to_string_lossy())
            }
            AgentSpec::Demo { .. } => "demo".into(),
        }
    }
}

/// What the session sends an agent.
#[derive(Debug, Clone, PartialEq)]
pub enum AgentInput {
    Command(AgentCommand),
    /// Stop now: end the process (if any) and report `exited`.
    Shutdown,
}

/// A running agent.
pub struct AgentHandle {
    pub input: mpsc::UnboundedSender<AgentInput>,
    pub task: JoinHandle<()>,
}

/// Where an agent reports its events (bounded: a fast agent waits for the
/// session instead of filling memory).
pub type EventSink = mpsc::Sender<EventKind>;

/// Starts an agent. Fails early on what can be checked before it runs (a
/// replay file that cannot be read, an empty command line). `resume` is
/// the agent's own session id from before a host restart: an ACP agent
/// continues it if it can.
pub fn spawn(
    spec: &AgentSpec,
    cwd: PathBuf,
    resume: Option<String>,
    events: EventSink,
) -> Result<AgentHandle> {
    let (input, inbox) = mpsc::unbounded_channel();
    let task = match spec {
        AgentSpec::Shell => tokio::spawn(shell::run(cwd, inbox, events)),
        AgentSpec::StreamJson { command } => {
            let command = with_resume(command, resume);
            let agent = stream_json::StreamJsonAgent::new(command, cwd)?;
            tokio::spawn(agent.run(inbox, events))
        }
        AgentSpec::Acp { command } => {
            let agent = acp::AcpAgent::new(command.clone(), cwd, resume)?;
            tokio::spawn(agent.run(inbox, events))
        }
        AgentSpec::Replay {
            file,
            speed,
            pause_at_requests,
        } => {
            let recording = replay::Recording::load(file)?;
            let playback = replay::Playback {
                speed: *speed,
                pause_at_requests: *pause_at_requests,
            };
            tokio::spawn(replay::run(recording, playback, inbox, events))
        }
        AgentSpec::Demo { speed } => {
            let script = demo::script::Script::parse(demo::script::BUILT_IN)?;
            tokio::spawn(demo::run(script, cwd, *speed, inbox, events))
        }
    };
    Ok(AgentHandle { input, task })
}

/// A stream-json command line that continues the agent session `resume`
/// (Claude Code's `--resume ID`), unless it already says which session.
fn with_resume(command: &[String], resume: Option<String>) -> Vec<String> {
    let mut command = command.to_vec();
    let chooses = command
        .iter()
        .any(|a| matches!(a.as_str(), "--resume" | "--continue"));
    if let Some(id) = resume.filter(|_| !command.is_empty() && !chooses) {
        command.extend(["--resume".to_owned(), id]);
    }
    command
}
