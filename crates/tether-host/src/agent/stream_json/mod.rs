//! The stream-json agent: a child process speaking the Claude Agent SDK
//! stream-json protocol on stdin/stdout (for Claude Code:
//! `claude -p --input-format stream-json --output-format stream-json
//! --verbose --permission-prompt-tool stdio`).
//!
//! The process is [`line_process`]'s; [`map::Mapper`] decides what its
//! lines mean.

pub mod map;
pub(crate) mod suggestions;

use std::future::Future;
use std::path::PathBuf;

use tokio::sync::mpsc;

use super::line_process::{self, LineProtocol, Step};
use super::{AgentInput, EventSink};
use crate::host::error::{Result, invalid};
use crate::host::preview;
use crate::host::session::AgentCommand;
use crate::protocol::{AgentState, EventKind};
use map::{Action, Mapper};

pub struct StreamJsonAgent {
    command: Vec<String>,
    cwd: PathBuf,
}

impl StreamJsonAgent {
    pub fn new(command: Vec<String>, cwd: PathBuf) -> Result<Self> {
        if command.is_empty() {
            invalid!("the stream-json agent needs a command line after `--`");
        }
        Ok(StreamJsonAgent { command, cwd })
    }

    pub async fn run(self, inbox: mpsc::UnboundedReceiver<AgentInput>, events: EventSink) {
        let protocol = StreamJson {
            mapper: Mapper::default(),
            cwd: self.cwd.clone(),
        };
        line_process::run(&self.command, &self.cwd, protocol, inbox, events).await;
    }
}

/// The stream-json half of the agent.
struct StreamJson {
    mapper: Mapper,
    /// Where the previews of permission requests read files.
    cwd: PathBuf,
}

impl LineProtocol for StreamJson {
    fn start(&mut self) -> Vec<Step> {
        // It prints nothing before its first input, so it is ready now.
        vec![Step::Emit(EventKind::status(AgentState::Idle))]
    }

    fn on_line(&mut self, line: Vec<u8>) -> impl Future<Output = Vec<Step>> + Send {
        std::future::ready(steps(self.mapper.from_agent(&line)))
    }

    fn on_command(&mut self, command: AgentCommand) -> Vec<Step> {
        let mapper = &mut self.mapper;
        steps(match command {
            AgentCommand::UserMessage(message) => mapper.user_message(&message.text),
            AgentCommand::Decision {
                request_id,
                decision,
                message,
                updated_input,
                option,
            } => mapper.decision(
                &request_id,
                decision,
                message,
                updated_input,
                option.as_deref(),
            ),
            AgentCommand::Interrupt => mapper.interrupt(),
            AgentCommand::SetMode { mode, by } => mapper.set_mode(mode, by),
            // Claude keeps its own rules (sent as `updatedPermissions`).
            AgentCommand::Rules(_) => Vec::new(),
        })
    }

    /// A permission request gets the preview of what it would change.
    async fn prepare(&self, mut event: EventKind) -> EventKind {
        if let EventKind::PermissionRequest {
            tool,
            input,
            preview,
            ..
        } = &mut event
        {
            *preview = preview::for_request_async(tool, input, &self.cwd)
                .await
                .map(Box::new);
        }
        event
    }
}

fn steps(actions: Vec<Action>) -> Vec<Step> {
    actions
        .into_iter()
        .map(|action| match action {
            Action::Emit(event) => Step::Emit(event),
            Action::Write(value) => Step::Write(value),
        })
        .collect()
}
