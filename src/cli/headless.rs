//! Headless attach: the transcript as plain text, for scripts and pipes.
//!
//! The lines are the transcript's own cells without their styles
//! ([`PlainTranscript`]); this module only connects, answers permission
//! requests for `--prompt` and decides the exit code.

use std::io::{IsTerminal, Write};
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use tether::client::{self, ConnCommand, ConnEvent, Resume, Since, Target};
use tether::protocol::{
    AgentState, ClientMessage, Decision, EventKind, Role, ServerMessage, TurnOutcome,
};
use tether::tui::cells::plain::PlainTranscript;
use tether::tui::cells::{sanitize_name, summarize_input};

// `--prompt`'s exit codes (README, Attaching; `tether attach --help`).
/// The turn ended with outcome `success` and no request in it was denied.
const TURN_SUCCEEDED: u8 = 0;
/// The turn ran and did not succeed: it failed, was denied (or a request
/// in it was), was interrupted, the agent exited, or the host refused
/// the message.
const TURN_FAILED: u8 = 1;
/// No turn could run: bad usage, cannot connect, the connection broke,
/// or someone else owns the session.
const CANNOT_RUN: u8 = 2;

fn write(text: &str) {
    if text.is_empty() {
        return;
    }
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(text.as_bytes());
    let _ = out.flush();
}

/// `--plain`: prints the transcript (history, then live) until Ctrl+C.
/// Watching never owns: it connects as a viewer (`mode=view`), so the
/// owner slot stays free for whoever means to act.
pub async fn watch(target: Target) -> ExitCode {
    let target = Target {
        view: true,
        ..target
    };
    let socket = match client::connect_once(&target, Since::Seq(0)).await {
        Ok(socket) => socket,
        Err(e) => return super::attach::connect_failure(&target, &e),
    };
    let last = Arc::new(AtomicU64::new(0));
    let mut connection = client::spawn(target, Some(socket), Resume::After(last.clone()));
    let mut transcript = PlainTranscript::new();
    let code = loop {
        tokio::select! {
            _ = tokio::signal::ctrl_c() => break ExitCode::SUCCESS,
            event = connection.events.recv() => match event {
                None => break ExitCode::from(CANNOT_RUN),
                Some(ConnEvent::Failed(e)) => {
                    eprintln!("tether: {e}");
                    break ExitCode::from(CANNOT_RUN);
                }
                Some(ConnEvent::Lost { reason, retry_in }) => {
                    eprintln!("tether: {reason}; reconnecting in {:.1}s", retry_in.as_secs_f64());
                }
                Some(ConnEvent::Message(ServerMessage::Event(record))) => {
                    let seen = last.load(Ordering::Acquire);
                    if record.seq == seen + 1 {
                        last.store(record.seq, Ordering::Release);
                        write(&transcript.event(&record));
                    } else if record.seq > seen + 1 {
                        let _ = connection.commands.send(ConnCommand::Send(ClientMessage::Resume { id: None, since: seen }));
                    }
                }
                Some(_) => {}
            }
        }
    };
    write(&transcript.finish());
    code
}

/// Asks on the terminal whether to allow a request.
async fn ask(question: String) -> bool {
    tokio::task::spawn_blocking(move || {
        eprint!("{question} [y/N] ");
        let _ = std::io::stderr().flush();
        let mut answer = String::new();
        std::io::stdin().read_line(&mut answer).is_ok()
            && matches!(answer.trim(), "y" | "Y" | "yes")
    })
    .await
    .unwrap_or(false)
}

/// How a `--prompt` turn is going: the exit code once it is over.
#[derive(Debug, Default)]
struct TurnVerdict {
    /// A request in the turn was denied (Claude Code still reports such a
    /// turn a success: it answered without the tool).
    denied: bool,
}

impl TurnVerdict {
    /// Follows one event of the turn; Some(exit code) when it ends it.
    fn observe(&mut self, event: &EventKind) -> Option<u8> {
        match event {
            EventKind::PermissionResolved {
                decision: Decision::Deny,
                ..
            } => self.denied = true,
            EventKind::TurnEnd { outcome, .. } => {
                let succeeded = *outcome == TurnOutcome::Success && !self.denied;
                return Some(if succeeded {
                    TURN_SUCCEEDED
                } else {
                    TURN_FAILED
                });
            }
            EventKind::Status {
                state: AgentState::Exited,
                ..
            } => return Some(TURN_FAILED),
            _ => {}
        }
        None
    }
}

/// The answer to a permission request: --allow-all, else asked on the
/// terminal, else denied (there is no one to ask).
async fn decide(
    tool: &str,
    input: &serde_json::Value,
    allow_all: bool,
) -> (Decision, Option<String>) {
    if allow_all {
        return (Decision::Allow, None);
    }
    if std::io::stdin().is_terminal() {
        let what = format!("allow {} {}?", sanitize_name(tool), summarize_input(input));
        let decision = if ask(what).await {
            Decision::Allow
        } else {
            Decision::Deny
        };
        return (decision, None);
    }
    eprintln!("tether: no terminal to ask on: denying (pass --allow-all to allow)");
    (
        Decision::Deny,
        Some("denied: no terminal to ask on".to_owned()),
    )
}

/// `--prompt TEXT`: one turn, printed as plain text; the exit code says
/// how it went (see the constants above).
pub async fn prompt(target: Target, text: &str, allow_all: bool) -> ExitCode {
    let socket = match client::connect_once(&target, Since::Live).await {
        Ok(socket) => socket,
        Err(e) => return super::attach::connect_failure(&target, &e),
    };
    let mut connection = client::spawn(target, Some(socket), Resume::Live);
    let mut transcript = PlainTranscript::new();
    let code = run_turn(&mut connection, &mut transcript, text, allow_all).await;
    write(&transcript.finish());
    ExitCode::from(code)
}

async fn run_turn(
    connection: &mut client::Connection,
    transcript: &mut PlainTranscript,
    text: &str,
    allow_all: bool,
) -> u8 {
    let id = format!("prompt-{:08x}", rand::random::<u32>());
    // A closed connection shows up as the stream ending.
    let send = |message| {
        let _ = connection.commands.send(ConnCommand::Send(message));
    };
    let mut sent = false;
    let mut started = false;
    let mut role = None;
    let mut verdict = TurnVerdict::default();
    while let Some(event) = connection.events.recv().await {
        let message = match event {
            ConnEvent::Message(message) => message,
            ConnEvent::Failed(e) => {
                eprintln!("tether: {e}");
                return CANNOT_RUN;
            }
            ConnEvent::Lost { reason, .. } => {
                eprintln!("tether: {reason}");
                return CANNOT_RUN;
            }
            _ => continue,
        };
        match message {
            ServerMessage::Role { role: r, .. } => role = Some(r),
            ServerMessage::CaughtUp { .. } if !sent => {
                if role != Some(Role::Owner) {
                    eprintln!(
                        "tether: cannot send: this connection is a read-only follower (someone else owns the session)"
                    );
                    return CANNOT_RUN;
                }
                let message = ClientMessage::UserMessage {
                    id: id.clone(),
                    text: text.to_owned(),
                };
                send(message);
                sent = true;
            }
            ServerMessage::Error {
                id: Some(got),
                message,
                ..
            } if got == id => {
                eprintln!("tether: refused: {message}");
                return TURN_FAILED;
            }
            ServerMessage::Event(record) => {
                started |=
                    matches!(&record.event, EventKind::UserMessage { text: t, .. } if t == text);
                if !started {
                    continue;
                }
                write(&transcript.event(&record));
                if let EventKind::PermissionRequest {
                    request_id,
                    tool,
                    input,
                    ..
                } = &record.event
                {
                    let (decision, note) = decide(tool, input, allow_all).await;
                    send(ClientMessage::PermissionDecision {
                        id: format!("{id}-{request_id}"),
                        request_id: request_id.clone(),
                        decision,
                        message: note,
                        updated_input: None,
                        option: None,
                    });
                }
                if let Some(code) = verdict.observe(&record.event) {
                    return code;
                }
            }
            _ => {}
        }
    }
    CANNOT_RUN
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_successful_turn_with_nothing_denied_exits_zero() {
        let deny = EventKind::PermissionResolved {
            request_id: "r".into(),
            decision: Decision::Deny,
            by: "alice".into(),
            message: None,
        };
        let end = |outcome| EventKind::turn_end(outcome);
        assert_eq!(
            TurnVerdict::default().observe(&end(TurnOutcome::Success)),
            Some(0)
        );
        for outcome in [
            TurnOutcome::Error,
            TurnOutcome::Denied,
            TurnOutcome::Interrupted,
            TurnOutcome::Unknown,
        ] {
            assert_eq!(TurnVerdict::default().observe(&end(outcome)), Some(1));
        }
        let mut verdict = TurnVerdict::default();
        assert_eq!(verdict.observe(&deny), None);
        assert_eq!(verdict.observe(&end(TurnOutcome::Success)), Some(1));
        assert_eq!(
            TurnVerdict::default().observe(&EventKind::exited("gone", Some(0))),
            Some(1)
        );
    }
}
