//! The ACP agent: a child process speaking the Agent Client Protocol
//! (JSON-RPC 2.0, one message per line) on stdin/stdout, with tether as
//! its client. Gemini CLI (`gemini --acp`), Claude Code through
//! `claude-agent-acp`, `codex-acp`, `opencode acp` and others speak it.
//!
//! This module only moves bytes; [`map::Mapper`] decides what they mean,
//! [`rpc`] is the JSON-RPC framing and [`update`] the meaning of
//! `session/update` notifications.

pub mod info;
pub mod map;
pub mod rpc;
pub mod update;

use std::path::PathBuf;
use std::process::Stdio;

use nix::sys::signal::Signal;
use tokio::process::ChildStdin;
use tokio::sync::mpsc;

use super::process::{TreeChild, TreeStop, child_command, forward_text, sleep_until_some};
use super::stream_json::lines::{FromChild, read_stdout};
use super::stream_json::{describe_exit, write_line};
use super::{AgentInput, EventSink};
use crate::host::error::{Result, invalid};
use crate::host::session::AgentCommand;
use crate::protocol::{AgentState, EventKind, NoticeLevel};
use map::{Action, Mapper};

pub struct AcpAgent {
    command: Vec<String>,
    cwd: PathBuf,
    /// The agent session to continue (a restarted host's).
    resume: Option<String>,
}

/// The child and what the loop knows of its end.
struct Running {
    child: TreeChild,
    stdin: Option<ChildStdin>,
    exit: Option<std::io::Result<std::process::ExitStatus>>,
    stopping: bool,
    /// Stopped because the connection failed (not asked to).
    failed: bool,
    /// The steps that end the agent's process tree, once begun.
    ending: TreeStop,
}

impl Running {
    /// Closes stdin (which asks the agent to finish) and signals its
    /// group; SIGKILL follows after the grace.
    fn stop(&mut self) {
        if self.stopping {
            return;
        }
        self.stopping = true;
        self.stdin = None;
        self.ending.begin(Signal::SIGTERM);
    }
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

    pub async fn run(self, mut inbox: mpsc::UnboundedReceiver<AgentInput>, events: EventSink) {
        let _ = events.send(EventKind::status(AgentState::Starting)).await;
        let Some(mut running) = self.spawn(&events).await else {
            return;
        };
        let (tx, mut from_child) = mpsc::channel(256);
        tokio::spawn(read_stdout(running.child.stdout.take(), tx.clone()));
        tokio::spawn(forward_text(
            running.child.stderr.take(),
            tx,
            FromChild::Stderr,
        ));
        let mut mapper = Mapper::new(self.cwd.clone(), self.resume.clone());
        let start = mapper.start();
        perform(start, &mut running, &events).await;
        let mut reading = true;
        while running.exit.is_none() || reading {
            let actions = tokio::select! {
                got = from_child.recv(), if reading => match got {
                    Some(got) => from_agent(&mut mapper, got).await,
                    None => {
                        reading = false;
                        Vec::new()
                    }
                },
                status = running.child.wait(), if running.exit.is_none() => {
                    running.exit = Some(status);
                    Vec::new()
                }
                input = inbox.recv(), if !running.stopping => match input {
                    Some(AgentInput::Command(command)) => from_owner(&mut mapper, command),
                    None | Some(AgentInput::Shutdown) => {
                        running.stop();
                        Vec::new()
                    }
                },
                () = sleep_until_some(running.ending.due) => {
                    running.ending.on_due();
                    Vec::new()
                }
            };
            perform(actions, &mut running, &events).await;
        }
        perform(mapper.end(), &mut running, &events).await;
        let (code, detail) = describe_exit(running.exit.take());
        if (!running.stopping || running.failed) && code != Some(0) {
            let text = format!("the agent {detail}");
            let _ = events
                .send(EventKind::notice(NoticeLevel::Error, text))
                .await;
        }
        let _ = events.send(EventKind::exited(detail, code)).await;
    }

    /// Starts the child, or says why it could not start.
    async fn spawn(&self, events: &EventSink) -> Option<Running> {
        let spawned = TreeChild::spawn(
            child_command(&self.command[0], &self.cwd)
                .args(&self.command[1..])
                .stdin(Stdio::piped()),
        );
        match spawned {
            Ok(mut child) => Some(Running {
                ending: TreeStop::new(child.id().unwrap_or(0)),
                stdin: child.stdin.take(),
                child,
                exit: None,
                stopping: false,
                failed: false,
            }),
            Err(e) => {
                let text = format!("could not start `{}`: {e}", self.command[0]);
                let _ = events
                    .send(EventKind::notice(NoticeLevel::Error, text.clone()))
                    .await;
                let _ = events.send(EventKind::exited(text, None)).await;
                None
            }
        }
    }
}

/// Emits events and writes messages (stdin is closed for good when a
/// write fails); a failed connection stops the agent.
async fn perform(actions: Vec<Action>, running: &mut Running, events: &EventSink) {
    for action in actions {
        match action {
            Action::Emit(event) => {
                let _ = events.send(event).await;
            }
            Action::Write(value) => {
                if running.stdin.is_none() {
                    continue;
                }
                if let Err(e) = write_line(&mut running.stdin, &value).await {
                    let text = format!("could not write to the agent: {e}");
                    let _ = events
                        .send(EventKind::notice(NoticeLevel::Warn, text))
                        .await;
                    running.stdin = None;
                }
            }
            Action::Fail(why) => {
                let _ = events
                    .send(EventKind::notice(NoticeLevel::Error, why))
                    .await;
                running.failed = true;
                running.stop();
            }
        }
    }
}

/// Lines at least this long may carry diffs that take milliseconds to
/// compute: they are mapped off the runtime's threads.
const OFFLOAD_BYTES: usize = 64 * 1024;

/// What a piece of the agent's output means.
async fn from_agent(mapper: &mut Mapper, got: FromChild) -> Vec<Action> {
    let line = match got.side_event() {
        Ok(event) => return vec![Action::Emit(event)],
        Err(line) => line,
    };
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
        AgentCommand::UserMessage { text } => mapper.user_message(&text),
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
