//! The built-in shell agent: each user message is a command line that runs
//! only after the owner allows it.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Instant;

use nix::sys::signal::Signal;
use serde_json::json;
use tokio::sync::mpsc;

use super::output_batch::OutputBatch;
use super::paced_pipe::forward_text_paced;
use super::process::{TreeChild, TreeStop, child_command, sleep_until_some};
use super::{AgentInput, EventSink};
use crate::host::preview;
use crate::host::session::AgentCommand;
use crate::protocol::{
    AgentState, Decision, EventKind, NoticeLevel, OutputStream, PermissionOption,
    PermissionOptionKind, Rule, RuleSpec, TurnOutcome,
};

/// The shell agent's `allow_always` option: a session rule the host keeps.
pub const ALWAYS_THIS_COMMAND: &str = "always_this_command";

/// How long output is still collected after the shell exits, for a
/// background job that keeps its pipes open.
const DRAIN_AFTER_EXIT: std::time::Duration = std::time::Duration::from_millis(200);

/// Why a turn ended before its command finished normally.
pub(super) enum Stop {
    Interrupted,
    Shutdown,
}

pub async fn run(cwd: PathBuf, mut inbox: mpsc::UnboundedReceiver<AgentInput>, events: EventSink) {
    let cwd_text = cwd.display().to_string();
    let _ = events
        .send(EventKind::Metadata {
            title: None,
            model: None,
            cwd: Some(cwd_text.clone()),
            tools: Some(vec!["shell".into()]),
            agent_session_id: None,
        })
        .await;
    let _ = events.send(EventKind::status(AgentState::Idle)).await;
    let mut turn = 0u64;
    let mut rules: Vec<Rule> = Vec::new();
    while let Some(input) = inbox.recv().await {
        let text = match input {
            AgentInput::Shutdown => break,
            AgentInput::Command(AgentCommand::UserMessage(message)) => message.text,
            AgentInput::Command(AgentCommand::Rules(now)) => {
                rules = now;
                continue;
            }
            // Decisions and interrupts outside a turn have nothing to act on.
            AgentInput::Command(_) => continue,
        };
        turn += 1;
        let request_id = format!("sh-{turn}-{:08x}", rand::random::<u32>());
        let mut turn = Turn {
            cwd: &cwd,
            cwd_text: &cwd_text,
            request_id: &request_id,
            rules: &mut rules,
            inbox: &mut inbox,
            events: &events,
        };
        let stop = turn.run(text).await;
        if matches!(stop, Some(Stop::Shutdown)) {
            break;
        }
        let _ = events.send(EventKind::status(AgentState::Idle)).await;
    }
    let _ = events
        .send(EventKind::exited("shell agent stopped", None))
        .await;
}

/// One command's turn and what it needs.
struct Turn<'a> {
    cwd: &'a Path,
    cwd_text: &'a str,
    request_id: &'a str,
    /// Rules in force; updated if the session sends new ones meanwhile.
    rules: &'a mut Vec<Rule>,
    inbox: &'a mut mpsc::UnboundedReceiver<AgentInput>,
    events: &'a EventSink,
}

impl Turn<'_> {
    /// Runs the command if a rule allows it, else asks for permission
    /// first. Returns why it stopped early.
    async fn run(&mut self, command: String) -> Option<Stop> {
        let started = Instant::now();
        let allowed_by = self.rules.iter().find(|r| r.spec.allows_command(&command));
        let command = match allowed_by {
            Some(rule) => {
                let text = format!(
                    "runs without asking: {} ({}), made by {}",
                    rule.id, rule.label, rule.made_by
                );
                let _ = self
                    .events
                    .send(EventKind::notice(NoticeLevel::Info, text))
                    .await;
                command
            }
            None => match self.ask(command, started).await {
                Ok(command) => command,
                Err(stop) => return stop,
            },
        };
        let _ = self
            .events
            .send(EventKind::ToolUse {
                tool_use_id: self.request_id.to_owned(),
                name: "shell".into(),
                input: json!({ "command": command, "cwd": self.cwd_text }),
            })
            .await;
        let _ = self
            .events
            .send(EventKind::status(AgentState::Running))
            .await;
        let (cwd, request_id) = (self.cwd, self.request_id);
        execute(cwd, request_id, &command, self.inbox, self.events, started).await
    }

    /// Asks the owner; the command to run (perhaps edited), or how the
    /// turn ended without running it.
    async fn ask(&mut self, command: String, started: Instant) -> Result<String, Option<Stop>> {
        let (request_id, events) = (self.request_id, self.events);
        let _ = events.send(self.request(&command)).await;
        let _ = events
            .send(EventKind::status(AgentState::AwaitingPermission))
            .await;
        loop {
            match self.inbox.recv().await {
                None | Some(AgentInput::Shutdown) => return Err(Some(Stop::Shutdown)),
                Some(AgentInput::Command(AgentCommand::Interrupt)) => {
                    let _ = events
                        .send(EventKind::PermissionCancelled {
                            request_id: request_id.to_owned(),
                            reason: Some("interrupted".into()),
                        })
                        .await;
                    end_turn(events, TurnOutcome::Interrupted, started).await;
                    return Err(Some(Stop::Interrupted));
                }
                Some(AgentInput::Command(AgentCommand::Rules(now))) => *self.rules = now,
                Some(AgentInput::Command(AgentCommand::Decision {
                    request_id: answered,
                    decision,
                    updated_input,
                    ..
                })) if answered == request_id => {
                    if decision == Decision::Deny {
                        end_turn(events, TurnOutcome::Denied, started).await;
                        return Err(None);
                    }
                    // The owner may have edited the command before allowing it.
                    let edited = updated_input
                        .as_ref()
                        .and_then(|v| v.get("command"))
                        .and_then(|c| c.as_str())
                        .map(str::to_owned);
                    return Ok(edited.unwrap_or(command));
                }
                Some(AgentInput::Command(_)) => {}
            }
        }
    }

    /// The permission request for `command`, with its preview and the
    /// option to always allow exactly this command in this session.
    fn request(&self, command: &str) -> EventKind {
        let always = PermissionOption {
            remember: Some(RuleSpec::ExactCommand {
                command: command.to_owned(),
            }),
            ..PermissionOption::new(
                ALWAYS_THIS_COMMAND,
                PermissionOptionKind::AllowAlways,
                "always allow this exact command in this session",
            )
        };
        EventKind::PermissionRequest {
            request_id: self.request_id.to_owned(),
            tool: "shell".into(),
            input: json!({ "command": command, "cwd": self.cwd_text }),
            tool_use_id: Some(self.request_id.to_owned()),
            title: Some("Run a shell command".into()),
            description: Some(command.to_owned()),
            preview: Some(Box::new(preview::command(command, self.cwd, None))),
            options: PermissionOption::standard(vec![always]),
        }
    }
}

async fn execute(
    cwd: &Path,
    request_id: &str,
    command: &str,
    inbox: &mut mpsc::UnboundedReceiver<AgentInput>,
    events: &EventSink,
    started: Instant,
) -> Option<Stop> {
    let ran = run_command(cwd, command, inbox, events).await;
    let outcome = match (&ran.stop, ran.code) {
        (Some(_), _) => TurnOutcome::Interrupted,
        (None, Some(0)) => TurnOutcome::Success,
        _ => TurnOutcome::Error,
    };
    let _ = events
        .send(EventKind::ToolResult {
            tool_use_id: request_id.to_owned(),
            content: ran.content,
            is_error: ran.code != Some(0),
        })
        .await;
    end_turn(events, outcome, started).await;
    ran.stop
}

/// How a command ended: in words, its exit code, and whether an
/// interrupt or a shutdown stopped it.
pub(super) struct Ran {
    pub content: String,
    pub code: Option<i32>,
    pub stop: Option<Stop>,
}

/// Runs `command` with `sh -c` in `cwd`, streaming its output as `output`
/// events; an interrupt stops its process tree (SIGINT), a shutdown too
/// (SIGTERM). Other inputs meanwhile are dropped. The caller reports the
/// result: the shell agent ends its turn with it, the demo agent goes on.
pub(super) async fn run_command(
    cwd: &Path,
    command: &str,
    inbox: &mut mpsc::UnboundedReceiver<AgentInput>,
    events: &EventSink,
) -> Ran {
    let spawned = TreeChild::spawn(
        child_command("sh", cwd)
            .arg("-c")
            .arg(command)
            .stdin(Stdio::null()),
    );
    let child = match spawned {
        Ok(child) => child,
        Err(e) => {
            return Ran {
                content: format!("could not start the command: {e}"),
                code: None,
                stop: None,
            };
        }
    };
    let (status, stop) = supervise(child, inbox, events).await;
    let (content, code) = match status {
        Some(Ok(status)) => describe_exit(status),
        Some(Err(e)) => (format!("could not wait for the command: {e}"), None),
        None => ("the command did not report its exit".into(), None),
    };
    Ran {
        content,
        code,
        stop,
    }
}

type ExitResult = std::io::Result<std::process::ExitStatus>;

/// Streams a running command's output and passes on interrupts, until the
/// shell has exited and its pipes are closed. A stray background job that
/// keeps a pipe open is not waited for.
async fn supervise(
    mut child: TreeChild,
    inbox: &mut mpsc::UnboundedReceiver<AgentInput>,
    events: &EventSink,
) -> (Option<ExitResult>, Option<Stop>) {
    let pid = child.id().unwrap_or(0);
    let (chunks_tx, mut chunks) = mpsc::channel(64);
    // Each pipe is read by a thread of its own, at the batches' pace; it
    // ends at the end of its stream, or once `chunks` is dropped.
    let stdout = child
        .stdout
        .take()
        .and_then(|pipe| pipe.into_owned_fd().ok());
    let stderr = child
        .stderr
        .take()
        .and_then(|pipe| pipe.into_owned_fd().ok());
    forward_text_paced(stdout, chunks_tx.clone(), |text| {
        (OutputStream::Stdout, text)
    });
    forward_text_paced(stderr, chunks_tx, |text| (OutputStream::Stderr, text));
    let mut stop = None;
    let mut stopping = TreeStop::new(pid);
    let mut status = None;
    let mut streams_open = true;
    let mut drain_until: Option<tokio::time::Instant> = None;
    let mut batch = OutputBatch::default();
    loop {
        tokio::select! {
            chunk = chunks.recv(), if streams_open => match chunk {
                Some((stream, text)) => {
                    send_output(events, batch.push(stream, text, Instant::now())).await;
                }
                None => streams_open = false,
            },
            () = sleep_until_some(batch.due().map(tokio::time::Instant::from_std)) => {
                send_output(events, batch.take(Instant::now())).await;
            }
            exit = child.wait(), if status.is_none() => {
                status = Some(exit);
                drain_until = Some(tokio::time::Instant::now() + DRAIN_AFTER_EXIT);
            },
            input = inbox.recv(), if stop.is_none() => match input {
                Some(AgentInput::Command(AgentCommand::Interrupt)) => {
                    stopping.begin(Signal::SIGINT);
                    stop = Some(Stop::Interrupted);
                }
                None | Some(AgentInput::Shutdown) => {
                    stopping.begin(Signal::SIGTERM);
                    stop = Some(Stop::Shutdown);
                }
                Some(AgentInput::Command(_)) => {}
            },
            () = sleep_until_some(stopping.due) => stopping.on_due(),
            () = sleep_until_some(drain_until) => break,
        }
        if status.is_some() && !streams_open {
            break;
        }
    }
    while let Ok((stream, text)) = chunks.try_recv() {
        send_output(events, batch.push(stream, text, Instant::now())).await;
    }
    send_output(events, batch.take(Instant::now())).await;
    (status, stop)
}

/// Text of one `output` event at most: with its escapes and envelope it
/// still fits the one WebSocket frame the host sends it in (64 KiB), so
/// clients take it whole instead of gathering fragments.
const EVENT_TEXT_MAX: usize = 48 * 1024;

async fn send_output(events: &EventSink, output: impl IntoIterator<Item = (OutputStream, String)>) {
    for (stream, text) in output {
        for text in split_at_lines(text, EVENT_TEXT_MAX) {
            let _ = events.send(EventKind::Output { stream, text }).await;
        }
    }
}

/// `text` in pieces of at most `max` bytes, each ending after a newline
/// where there is one (else at a character boundary).
fn split_at_lines(text: String, max: usize) -> Vec<String> {
    if text.len() <= max {
        return vec![text];
    }
    let mut pieces = Vec::new();
    let mut rest = text.as_str();
    while rest.len() > max {
        let mut end = max;
        while !rest.is_char_boundary(end) {
            end -= 1;
        }
        if let Some(newline) = rest[..end].rfind('\n') {
            end = newline + 1;
        }
        let (piece, tail) = rest.split_at(end);
        pieces.push(piece.to_owned());
        rest = tail;
    }
    pieces.push(rest.to_owned());
    pieces
}

fn describe_exit(status: std::process::ExitStatus) -> (String, Option<i32>) {
    use std::os::unix::process::ExitStatusExt;
    match (status.code(), status.signal()) {
        (Some(code), _) => (format!("exit code {code}"), Some(code)),
        (None, Some(signal)) => {
            let name = Signal::try_from(signal)
                .map(|s| s.as_str().to_owned())
                .unwrap_or_else(|_| signal.to_string());
            (format!("killed by {name}"), None)
        }
        (None, None) => ("exited".into(), None),
    }
}

async fn end_turn(events: &EventSink, outcome: TurnOutcome, started: Instant) {
    let _ = events
        .send(EventKind::TurnEnd {
            outcome,
            duration_ms: Some(started.elapsed().as_millis() as u64),
            cost_usd: None,
            num_turns: None,
            usage: None,
        })
        .await;
}

#[cfg(test)]
mod tests {
    use super::split_at_lines;

    #[test]
    fn large_output_is_split_after_newlines_and_nothing_is_lost() {
        let text: String = (0..1000).map(|i| format!("line {i} é\n")).collect();
        let pieces = split_at_lines(text.clone(), 100);
        assert!(pieces.iter().all(|p| p.len() <= 100 && p.ends_with('\n')));
        assert_eq!(pieces.concat(), text);
        // No newline: cut at a character boundary.
        let long = "é".repeat(100);
        let pieces = split_at_lines(long.clone(), 15);
        assert!(pieces.iter().all(|p| p.len() <= 15));
        assert_eq!(pieces.concat(), long);
        assert_eq!(split_at_lines("short".into(), 100), ["short"]);
    }
}
