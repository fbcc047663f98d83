//! Headless attach: plain text for scripts and pipes.

use std::io::{IsTerminal, Write};
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use tether::client::{self, ConnCommand, ConnEvent, Target};
use tether::protocol::{
    ClientMessage, Decision, EventKind, EventRecord, Role, ServerMessage, TurnOutcome,
};
use tether::tui::app::apply::summarize_input;
use tether::tui::sanitize::sanitize_plain;

/// One event as plain, safe text (None for events not worth a line).
pub fn event_line(record: &EventRecord) -> Option<String> {
    let clean = |s: &str| sanitize_plain(s);
    Some(match &record.event {
        EventKind::UserMessage { text, by } => format!("> {}: {}", clean(by), clean(text)),
        EventKind::Assistant { text } => clean(text),
        EventKind::Thinking { text } => format!("(thinking) {}", clean(text)),
        EventKind::ToolUse { name, input, .. } => {
            format!("[tool] {} {}", clean(name), summarize_input(input))
        }
        EventKind::ToolResult {
            content, is_error, ..
        } => {
            format!(
                "[result{}] {}",
                if *is_error { " error" } else { "" },
                clean(content.trim_end())
            )
        }
        EventKind::Output { text, .. } => clean(text.strip_suffix('\n').unwrap_or(text)),
        EventKind::PermissionRequest { tool, input, .. } => {
            format!("[permission] {} {}", clean(tool), summarize_input(input))
        }
        EventKind::PermissionResolved {
            decision,
            by,
            message,
            ..
        } => {
            let verb = if *decision == Decision::Allow {
                "allowed"
            } else {
                "denied"
            };
            let why = message
                .as_deref()
                .map(|m| format!(": {}", clean(m)))
                .unwrap_or_default();
            format!("[permission] {verb} by {}{why}", clean(by))
        }
        EventKind::PermissionCancelled { reason, .. } => {
            format!(
                "[permission] withdrawn{}",
                reason
                    .as_deref()
                    .map(|r| format!(" ({})", clean(r)))
                    .unwrap_or_default()
            )
        }
        EventKind::Interrupt { by } => format!("[interrupted by {}]", clean(by)),
        EventKind::TurnEnd { outcome, .. } => format!("[turn {}]", outcome_word(*outcome)),
        EventKind::Notice { text, .. } => format!("[notice] {}", clean(text)),
        EventKind::Status {
            state: tether::protocol::AgentState::Exited,
            detail,
            ..
        } => {
            format!(
                "[agent exited] {}",
                detail.as_deref().map(clean).unwrap_or_default()
            )
        }
        _ => return None,
    })
}

fn outcome_word(outcome: TurnOutcome) -> &'static str {
    match outcome {
        TurnOutcome::Success => "succeeded",
        TurnOutcome::Error => "failed",
        TurnOutcome::Interrupted => "interrupted",
        TurnOutcome::Denied => "denied",
        TurnOutcome::Unknown => "ended",
    }
}

fn print(record: &EventRecord) {
    if let Some(line) = event_line(record) {
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "{line}");
        let _ = out.flush();
    }
}

/// `--plain`: prints the transcript (history, then live) until Ctrl+C.
pub async fn watch(target: Target) -> ExitCode {
    let socket = match client::connect_once(&target, 0).await {
        Ok(socket) => socket,
        Err(e) => return super::attach::connect_failure(&target, &e),
    };
    let last = Arc::new(AtomicU64::new(0));
    let mut connection = client::spawn(target, Some(socket), last.clone());
    loop {
        tokio::select! {
            _ = tokio::signal::ctrl_c() => return ExitCode::SUCCESS,
            event = connection.events.recv() => match event {
                None => return ExitCode::from(1),
                Some(ConnEvent::Failed(e)) => {
                    eprintln!("tether: {e}");
                    return ExitCode::from(1);
                }
                Some(ConnEvent::Lost { reason, retry_in }) => {
                    eprintln!("tether: {reason}; reconnecting in {:.1}s", retry_in.as_secs_f64());
                }
                Some(ConnEvent::Message(ServerMessage::Event(record))) => {
                    let seen = last.load(Ordering::Acquire);
                    if record.seq == seen + 1 {
                        last.store(record.seq, Ordering::Release);
                        print(&record);
                    } else if record.seq > seen + 1 {
                        let _ = connection.commands.send(ConnCommand::Send(ClientMessage::Resume { id: None, since: seen }));
                    }
                }
                Some(_) => {}
            }
        }
    }
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

/// `--prompt TEXT`: one turn, printed as plain text.
pub async fn prompt(target: Target, text: &str, allow_all: bool) -> ExitCode {
    let socket = match client::connect_once(&target, u64::MAX).await {
        Ok(socket) => socket,
        Err(e) => return super::attach::connect_failure(&target, &e),
    };
    let last = Arc::new(AtomicU64::new(u64::MAX));
    let mut connection = client::spawn(target, Some(socket), last);
    let interactive = std::io::stdin().is_terminal();
    let id = format!("prompt-{:08x}", rand::random::<u32>());
    let mut sent = false;
    let mut started = false;
    let mut role = None;
    while let Some(event) = connection.events.recv().await {
        let message = match event {
            ConnEvent::Message(message) => message,
            ConnEvent::Failed(e) => {
                eprintln!("tether: {e}");
                return ExitCode::from(1);
            }
            ConnEvent::Lost { reason, .. } => {
                eprintln!("tether: {reason}");
                return ExitCode::from(1);
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
                    return ExitCode::from(1);
                }
                let message = ClientMessage::UserMessage {
                    id: id.clone(),
                    text: text.to_owned(),
                };
                let _ = connection.commands.send(ConnCommand::Send(message));
                sent = true;
            }
            ServerMessage::Error {
                id: Some(got),
                message,
                ..
            } if got == id => {
                eprintln!("tether: refused: {message}");
                return ExitCode::from(1);
            }
            ServerMessage::Event(record) => {
                if let EventKind::UserMessage { text: t, .. } = &record.event
                    && t == text
                {
                    started = true;
                }
                if !started {
                    continue;
                }
                print(&record);
                match &record.event {
                    EventKind::PermissionRequest {
                        request_id,
                        tool,
                        input,
                        ..
                    } => {
                        let what =
                            format!("allow {} {}?", sanitize_plain(tool), summarize_input(input));
                        let (decision, note) = if allow_all {
                            (Decision::Allow, None)
                        } else if interactive {
                            (
                                if ask(what).await {
                                    Decision::Allow
                                } else {
                                    Decision::Deny
                                },
                                None,
                            )
                        } else {
                            eprintln!(
                                "tether: no terminal to ask on: denying (pass --allow-all to allow)"
                            );
                            (
                                Decision::Deny,
                                Some("denied: no terminal to ask on".to_owned()),
                            )
                        };
                        let answer = ClientMessage::PermissionDecision {
                            id: format!("{id}-{request_id}"),
                            request_id: request_id.clone(),
                            decision,
                            message: note,
                            updated_input: None,
                            option: None,
                        };
                        let _ = connection.commands.send(ConnCommand::Send(answer));
                    }
                    EventKind::TurnEnd { outcome, .. } => {
                        return if *outcome == TurnOutcome::Success {
                            ExitCode::SUCCESS
                        } else {
                            ExitCode::from(1)
                        };
                    }
                    EventKind::Status {
                        state: tether::protocol::AgentState::Exited,
                        ..
                    } => return ExitCode::from(1),
                    _ => {}
                }
            }
            _ => {}
        }
    }
    ExitCode::from(1)
}
