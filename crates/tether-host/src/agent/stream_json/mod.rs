//! The stream-json agent: a child process speaking the Claude Agent SDK
//! stream-json protocol on stdin/stdout (for Claude Code:
//! `claude -p --input-format stream-json --output-format stream-json
//! --verbose --permission-prompt-tool stdio`).
//!
//! This module only moves bytes; [`map::Mapper`] decides what they mean.

pub mod lines;
pub mod map;
pub(crate) mod suggestions;

use std::path::PathBuf;
use std::process::Stdio;

use crate::host::error::{Result, invalid};
use nix::sys::signal::Signal;
use tokio::io::AsyncWriteExt;
use tokio::process::ChildStdin;
use tokio::sync::mpsc;

use super::process::{TreeChild, TreeStop, child_command, forward_text, sleep_until_some};
use super::{AgentInput, EventSink};
use crate::host::preview;
use crate::host::session::AgentCommand;
use crate::protocol::{AgentState, EventKind, NoticeLevel};
use lines::{FromChild, read_stdout};
use map::{Action, Mapper};

/// Longest stdout line kept; longer ones are dropped with a notice.
pub const MAX_LINE_BYTES: usize = 8 * 1024 * 1024;

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

    pub async fn run(self, mut inbox: mpsc::UnboundedReceiver<AgentInput>, events: EventSink) {
        let _ = events.send(EventKind::status(AgentState::Starting)).await;
        let spawned = TreeChild::spawn(
            child_command(&self.command[0], &self.cwd)
                .args(&self.command[1..])
                .stdin(Stdio::piped()),
        );
        let mut child = match spawned {
            Ok(child) => child,
            Err(e) => {
                let text = format!("could not start `{}`: {e}", self.command[0]);
                let _ = events
                    .send(EventKind::notice(NoticeLevel::Error, text.clone()))
                    .await;
                let _ = events.send(EventKind::exited(text, None)).await;
                return;
            }
        };
        let pid = child.id().unwrap_or(0);
        let mut stdin = child.stdin.take();
        let (tx, mut from_child) = mpsc::channel(256);
        tokio::spawn(read_stdout(child.stdout.take(), tx.clone()));
        tokio::spawn(forward_text(child.stderr.take(), tx, FromChild::Stderr));
        // It prints nothing before its first input, so it is ready now.
        let _ = events.send(EventKind::status(AgentState::Idle)).await;

        let mut mapper = Mapper::default();
        let mut exit = None;
        let mut reading = true;
        let mut shutting_down = false;
        let mut stopping = TreeStop::new(pid);
        while exit.is_none() || reading {
            let actions = tokio::select! {
                got = from_child.recv(), if reading => match got {
                    Some(got) => from_agent(&mut mapper, got),
                    None => {
                        reading = false;
                        Vec::new()
                    }
                },
                status = child.wait(), if exit.is_none() => {
                    exit = Some(status);
                    Vec::new()
                }
                input = inbox.recv(), if !shutting_down => match input {
                    Some(AgentInput::Command(command)) => from_owner(&mut mapper, command),
                    None | Some(AgentInput::Shutdown) => {
                        shutting_down = true;
                        // Closing stdin asks it to finish; a group signal makes sure.
                        stdin = None;
                        stopping.begin(Signal::SIGTERM);
                        Vec::new()
                    }
                },
                () = sleep_until_some(stopping.due) => {
                    stopping.on_due();
                    Vec::new()
                }
            };
            for action in actions {
                self.perform(action, &mut stdin, &events).await;
            }
        }
        let (code, detail) = describe_exit(exit);
        if !shutting_down && code != Some(0) {
            let _ = events
                .send(EventKind::notice(
                    NoticeLevel::Error,
                    format!("the agent {detail}"),
                ))
                .await;
        }
        let _ = events.send(EventKind::exited(detail, code)).await;
    }
}

impl StreamJsonAgent {
    /// Emits an event (with the preview of a permission request, which
    /// needs the disk) or writes a line to the agent (`stdin` is closed
    /// for good when that fails).
    async fn perform(&self, action: Action, stdin: &mut Option<ChildStdin>, events: &EventSink) {
        match action {
            Action::Emit(mut event) => {
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
                let _ = events.send(event).await;
            }
            Action::Write(value) => {
                if let Err(e) = write_line(stdin, &value).await {
                    let _ = events
                        .send(EventKind::notice(
                            NoticeLevel::Warn,
                            format!("could not write to the agent: {e}"),
                        ))
                        .await;
                    *stdin = None;
                }
            }
        }
    }
}

/// What a piece of the agent's output means.
fn from_agent(mapper: &mut Mapper, got: FromChild) -> Vec<Action> {
    match got.side_event() {
        Ok(event) => vec![Action::Emit(event)],
        Err(line) => mapper.from_agent(&line),
    }
}

fn from_owner(mapper: &mut Mapper, command: AgentCommand) -> Vec<Action> {
    match command {
        AgentCommand::UserMessage { text } => mapper.user_message(&text),
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
    }
}

/// The exit code, if any, and how the agent ended, in words.
pub(super) fn describe_exit(
    exit: Option<std::io::Result<std::process::ExitStatus>>,
) -> (Option<i32>, String) {
    match exit {
        Some(Ok(status)) => {
            use std::os::unix::process::ExitStatusExt;
            match (status.code(), status.signal()) {
                (Some(code), _) => (Some(code), format!("exited with code {code}")),
                (None, Some(sig)) => (None, format!("killed by signal {sig}")),
                _ => (None, "exited".to_owned()),
            }
        }
        Some(Err(e)) => (None, format!("could not wait for the agent: {e}")),
        None => (None, "exited".to_owned()),
    }
}

/// Writes one whole JSON line: the agent exits on anything that is not.
pub(super) async fn write_line(
    stdin: &mut Option<ChildStdin>,
    value: &serde_json::Value,
) -> std::io::Result<()> {
    let Some(pipe) = stdin.as_mut() else {
        return Err(std::io::Error::new(
            std::io::ErrorKind::BrokenPipe,
            "stdin is closed",
        ));
    };
    let mut line = serde_json::to_vec(value).expect("JSON values serialise");
    line.push(b'\n');
    pipe.write_all(&line).await?;
    pipe.flush().await
}
