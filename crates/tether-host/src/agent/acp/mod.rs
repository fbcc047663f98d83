//! The ACP agent: a child process speaking the Agent Client Protocol
//! (JSON-RPC 2.0, one message per line) on stdin/stdout, with tether as
//! its client. Gemini CLI (`gemini --acp`), Claude Code through
//! `claude-agent-acp`, `codex-acp`, `opencode acp` and others speak it.
//!
//! The process is [`line_process`]'s; [`map::Mapper`] decides what its
//! lines mean, [`rpc`] is the JSON-RPC framing and [`update`] the meaning
//! of `session/update` notifications.

pub mod info;
pub mod map;
pub mod rpc;
pub mod update;

use std::path::PathBuf;

use tokio::sync::mpsc;

use super::line_process::{self, LineProtocol, Step};
use super::{AgentInput, EventSink};
use crate::host::error::{Result, invalid};
use crate::host::session::AgentCommand;
use map::{Action, Mapper};

pub struct AcpAgent {
    command: Vec<String>,
    cwd: PathBuf,
    /// The agent session to continue (a restarted host's).
    resume: Option<String>,
}

impl AcpAgent {
    pub fn new(command: Vec<String>, cwd: PathBuf, resume: Option<String>) -> Result<Self> {
        if command.is_empty() {
            invalid!("the acp agent needs a command line after `--`");
        }
        Ok(AcpAgent {
            command,
            cwd,
            resume,
        })
    }

    pub async fn run(self, inbox: mpsc::UnboundedReceiver<AgentInput>, events: EventSink) {
        let protocol = Acp {
            mapper: Mapper::new(self.cwd.clone(), self.resume.clone()),
        };
        line_process::run(&self.command, &self.cwd, protocol, inbox, events).await;
    }
}

/// The ACP half of the agent.
struct Acp {
    mapper: Mapper,
}

impl LineProtocol for Acp {
    const SKIPS_WRITES_AFTER_CLOSE: bool = true;

    fn start(&mut self) -> Vec<Step> {
        steps(self.mapper.start())
    }

    async fn on_line(&mut self, line: Vec<u8>) -> Vec<Step> {
        steps(from_agent(&mut self.mapper, line).await)
    }

    fn on_command(&mut self, command: AgentCommand) -> Vec<Step> {
        steps(from_owner(&mut self.mapper, command))
    }

    fn end(&mut self) -> Vec<Step> {
        steps(self.mapper.end())
    }
}

fn steps(actions: Vec<Action>) -> Vec<Step> {
    actions
        .into_iter()
        .map(|action| match action {
            Action::Emit(event) => Step::Emit(event),
            Action::Write(value) => Step::Write(value),
            Action::Fail(why) => Step::Fail(why),
        })
        .collect()
}

/// Lines at least this long may carry diffs that take milliseconds to
/// compute: they are mapped off the runtime's threads.
const OFFLOAD_BYTES: usize = 64 * 1024;

/// What a line of the agent's output means.
async fn from_agent(mapper: &mut Mapper, line: Vec<u8>) -> Vec<Action> {
    if line.len() < OFFLOAD_BYTES {
        return mapper.from_agent(&line);
    }
    let mut moved = std::mem::replace(mapper, Mapper::new(PathBuf::new(), None));
    let mapped = tokio::task::spawn_blocking(move || {
        let actions = moved.from_agent(&line);
        (moved, actions)
    })
    .await;
    match mapped {
        Ok((back, actions)) => {
            *mapper = back;
            actions
        }
        Err(e) => vec![Action::Fail(format!(
            "mapping the agent's output failed: {e}"
        ))],
    }
}

fn from_owner(mapper: &mut Mapper, command: AgentCommand) -> Vec<Action> {
    match command {
        AgentCommand::UserMessage(message) => mapper.user_message(&message.text),
        // The session refuses an edited input for this agent (see
        // `AgentTraits::takes_updated_input`); ACP has no deny reason.
        AgentCommand::Decision {
            request_id,
            decision,
            option,
            ..
        } => mapper.decision(&request_id, decision, option.as_deref()),
        AgentCommand::Interrupt => mapper.interrupt(),
        AgentCommand::SetMode { mode, by } => mapper.set_mode(mode, by),
        // The agent keeps its own rules (its `allow_always` options).
        AgentCommand::Rules(_) => Vec::new(),
    }
}
