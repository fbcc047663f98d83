//! The child-process driver of the line-protocol agents (stream-json,
//! ACP): it starts the child, reads its stdout as lines and its stderr as
//! text, writes JSON lines to its stdin, takes the session's commands,
//! stops the child's tree and reports how it ended. What the lines mean
//! and which lines a command becomes is the agent's [`LineProtocol`].

pub mod lines;

use std::future::Future;
use std::path::Path;
use std::process::Stdio;

use nix::sys::signal::Signal;
use serde_json::Value;
use tokio::io::AsyncWriteExt;
use tokio::process::ChildStdin;
use tokio::sync::mpsc;

use super::process::{TreeChild, TreeStop, child_command, forward_text, sleep_until_some};
use super::{AgentInput, EventSink};
use crate::host::session::AgentCommand;
use crate::protocol::{AgentState, EventKind, NoticeLevel};
use lines::{FromChild, read_stdout};

/// Longest stdout line kept; longer ones are dropped with a notice.
pub const MAX_LINE_BYTES: usize = 8 * 1024 * 1024;

/// What the driver does for the protocol.
#[derive(Debug)]
pub enum Step {
    Emit(EventKind),
    /// A JSON value for the agent's stdin, written as one line.
    Write(Value),
    /// The connection cannot go on (why): stop the agent.
    Fail(String),
}

/// The protocol-specific half of a line-protocol agent.
pub trait LineProtocol: Send {
    /// Whether a write after stdin was closed (by a stop or a failed
    /// write) is dropped silently rather than reported like a failed one.
    const SKIPS_WRITES_AFTER_CLOSE: bool = false;

    /// What to do once the child runs.
    fn start(&mut self) -> Vec<Step>;

    /// What one line of the child's stdout means.
    fn on_line(&mut self, line: Vec<u8>) -> impl Future<Output = Vec<Step>> + Send;

    /// What a command from the session becomes.
    fn on_command(&mut self, command: AgentCommand) -> Vec<Step>;

    /// What to do once the child has exited and its output is read.
    fn end(&mut self) -> Vec<Step> {
        Vec::new()
    }

    /// An event made ready to emit (e.g. a permission request given its
    /// preview, which needs the disk).
    fn prepare(&self, event: EventKind) -> impl Future<Output = EventKind> + Send {
        std::future::ready(event)
    }
}

/// Runs `command` in `cwd` speaking `protocol` until the child has exited
/// and its output is read; reports `starting`, then the protocol's events,
/// then `exited`.
pub async fn run<P: LineProtocol>(
    command: &[String],
    cwd: &Path,
    mut protocol: P,
    mut inbox: mpsc::UnboundedReceiver<AgentInput>,
    events: EventSink,
) {
    let _ = events.send(EventKind::status(AgentState::Starting)).await;
    let Some(mut running) = Running::spawn(command, cwd, &events).await else {
        return;
    };
    let (tx, mut from_child) = mpsc::channel(256);
    tokio::spawn(read_stdout(running.child.stdout.take(), tx.clone()));
    tokio::spawn(forward_text(
        running.child.stderr.take(),
        tx,
        FromChild::Stderr,
    ));
    let start = protocol.start();
    running.perform(&protocol, start, &events).await;
    let mut reading = true;
    while running.exit.is_none() || reading {
        let steps = tokio::select! {
            got = from_child.recv(), if reading => match got {
                Some(got) => match got.side_event() {
                    Ok(event) => vec![Step::Emit(event)],
                    Err(line) => protocol.on_line(line).await,
                },
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
                Some(AgentInput::Command(command)) => protocol.on_command(command),
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
        running.perform(&protocol, steps, &events).await;
    }
    let end = protocol.end();
    running.perform(&protocol, end, &events).await;
    let (code, detail) = describe_exit(running.exit.take());
    if (!running.stopping || running.failed) && code != Some(0) {
        let text = format!("the agent {detail}");
        let _ = events
            .send(EventKind::notice(NoticeLevel::Error, text))
            .await;
    }
    let _ = events.send(EventKind::exited(detail, code)).await;
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
    /// Starts the child, or says why it could not start.
    async fn spawn(command: &[String], cwd: &Path, events: &EventSink) -> Option<Running> {
        let spawned = TreeChild::spawn(
            child_command(&command[0], cwd)
                .args(&command[1..])
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
                let text = format!("could not start `{}`: {e}", command[0]);
                let _ = events
                    .send(EventKind::notice(NoticeLevel::Error, text.clone()))
                    .await;
                let _ = events.send(EventKind::exited(text, None)).await;
                None
            }
        }
    }

    /// Closes stdin (which asks the agent to finish) and signals its
    /// group; the end of its tree follows after the grace.
    fn stop(&mut self) {
        if self.stopping {
            return;
        }
        self.stopping = true;
        self.stdin = None;
        self.ending.begin(Signal::SIGTERM);
    }

    /// Emits events and writes lines (stdin is closed for good when a
    /// write fails); a failed connection stops the agent.
    async fn perform<P: LineProtocol>(
        &mut self,
        protocol: &P,
        steps: Vec<Step>,
        events: &EventSink,
    ) {
        for step in steps {
            match step {
                Step::Emit(event) => {
                    let _ = events.send(protocol.prepare(event).await).await;
                }
                Step::Write(value) => {
                    if P::SKIPS_WRITES_AFTER_CLOSE && self.stdin.is_none() {
                        continue;
                    }
                    if let Err(e) = write_line(&mut self.stdin, &value).await {
                        let text = format!("could not write to the agent: {e}");
                        let _ = events
                            .send(EventKind::notice(NoticeLevel::Warn, text))
                            .await;
                        self.stdin = None;
                    }
                }
                Step::Fail(why) => {
                    let _ = events
                        .send(EventKind::notice(NoticeLevel::Error, why))
                        .await;
                    self.failed = true;
                    self.stop();
                }
            }
        }
    }
}

/// The exit code, if any, and how the agent ended, in words.
fn describe_exit(exit: Option<std::io::Result<std::process::ExitStatus>>) -> (Option<i32>, String) {
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
async fn write_line(stdin: &mut Option<ChildStdin>, value: &Value) -> std::io::Result<()> {
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
