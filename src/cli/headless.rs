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
    AgentState, ClientMessage, Decision, EventKind, PermissionDecision, PermissionOption,
    PermissionOptionKind, Preview, Release, Role, ServerMessage, TurnOutcome, UserMessage,
};
use tether::tui::cells::plain::PlainTranscript;
use tether::tui::cells::{sanitize_name, summarize_input};
use tether::tui::sanitize::sanitize_plain;

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

/// How long a tool call is held back waiting for its permission request
/// (agents ask right after announcing the call); a call still held after
/// this is running without one and is printed.
const HELD_CALL_WAIT: std::time::Duration = std::time::Duration::from_millis(500);

/// How long a finished `--prompt` waits for the host to take back the
/// owner slot before it closes anyway (the grace then frees it).
const RELEASE_WAIT: std::time::Duration = std::time::Duration::from_secs(2);

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
        Err(e) => return super::failure::connect_failure(&target, &e),
    };
    let last = Arc::new(AtomicU64::new(0));
    let mut connection = client::spawn(target, Some(socket), Resume::After(last.clone()));
    let mut transcript = PlainTranscript::new();
    let code = loop {
        tokio::select! {
            _ = tokio::signal::ctrl_c() => break ExitCode::SUCCESS,
            _ = tokio::time::sleep(HELD_CALL_WAIT), if transcript.holds_call() => {
                write(&transcript.flush_held_call());
            }
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
                        let _ = connection.commands.send(ConnCommand::Send(ClientMessage::Resume(tether::protocol::Resume { id: None, since: seen })));
                    }
                }
                Some(_) => {}
            }
        }
    };
    write(&transcript.finish());
    code
}

/// Asks `question` on the terminal; the line typed, trimmed.
pub(super) async fn ask(question: String) -> String {
    tokio::task::spawn_blocking(move || {
        eprint!("{question} ");
        let _ = std::io::stderr().flush();
        let mut answer = String::new();
        match std::io::stdin().read_line(&mut answer) {
            Ok(_) => answer.trim().to_owned(),
            Err(_) => String::new(),
        }
    })
    .await
    .unwrap_or_default()
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

/// A permission request as `--prompt` answers it.
struct Request<'a> {
    tool: &'a str,
    input: &'a serde_json::Value,
    preview: Option<&'a Preview>,
    options: &'a [PermissionOption],
}

/// The answer to a permission request: --allow-all, else asked on the
/// terminal (after its preview), else denied (there is no one to ask).
/// The decision, the option it names, and a message to the agent.
async fn decide(
    request: Request<'_>,
    allow_all: bool,
) -> (Decision, Option<String>, Option<String>) {
    let once = offered(request.options, PermissionOptionKind::AllowOnce);
    if allow_all {
        return (Decision::Allow, once, None);
    }
    let reject = offered(request.options, PermissionOptionKind::RejectOnce);
    if std::io::stdin().is_terminal() {
        eprint!("{}", preview_text(request.preview, request.input));
        let keys = answer_keys(request.options);
        let what = format!(
            "allow {} {}? {}",
            sanitize_name(request.tool),
            summarize_input(request.input),
            question(&keys)
        );
        let answer = ask(what).await;
        return match keys
            .iter()
            .find(|(key, _, _)| *key == answer.to_lowercase())
        {
            Some((_, option, _)) => (Decision::Allow, option.clone(), None),
            None if answer == "yes" => (Decision::Allow, once, None),
            None => (Decision::Deny, reject, None),
        };
    }
    eprintln!("tether: no terminal to ask on: denying (pass --allow-all to allow)");
    (
        Decision::Deny,
        reject,
        Some("denied: no terminal to ask on".to_owned()),
    )
}

fn offered(options: &[PermissionOption], kind: PermissionOptionKind) -> Option<String> {
    options
        .iter()
        .find(|o| o.kind == kind)
        .map(|o| o.id.clone())
}

/// The keys that allow: `y` once (with the `allow_once` option when the
/// host offers options), then `a`, `b`, … for each allow-always option.
fn answer_keys(options: &[PermissionOption]) -> Vec<(String, Option<String>, String)> {
    let mut keys = vec![(
        "y".to_owned(),
        offered(options, PermissionOptionKind::AllowOnce),
        "allow once".to_owned(),
    )];
    let letters = ('a'..='z').filter(|c| !matches!(c, 'n' | 'y'));
    let always = options
        .iter()
        .filter(|o| o.kind == PermissionOptionKind::AllowAlways);
    for (letter, option) in letters.zip(always) {
        keys.push((
            letter.to_string(),
            Some(option.id.clone()),
            sanitize_plain(&option.label),
        ));
    }
    keys
}

/// `[y] allow once  [a] accept edits for this session  [N] deny:`
fn question(keys: &[(String, Option<String>, String)]) -> String {
    let mut text: Vec<String> = keys
        .iter()
        .map(|(key, _, label)| format!("[{key}] {label}"))
        .collect();
    text.push("[N] deny:".to_owned());
    text.join("  ")
}

/// What a request will do, in plain text (sanitised): the decision
/// view's preview, without its styles.
fn preview_text(preview: Option<&Preview>, input: &serde_json::Value) -> String {
    tether::tui::cells::preview::plain_preview(preview, input)
}

/// `--prompt TEXT`: one turn, printed as plain text; the exit code says
/// how it went (see the constants above).
pub async fn prompt(target: Target, text: &str, allow_all: bool) -> ExitCode {
    let socket = match client::connect_once(&target, Since::Live).await {
        Ok(socket) => socket,
        Err(e) => return super::failure::connect_failure(&target, &e),
    };
    let mut connection = client::spawn(target, Some(socket), Resume::Live);
    let mut transcript = PlainTranscript::new();
    let code = run_turn(&mut connection, &mut transcript, text, allow_all).await;
    write(&transcript.finish());
    release_the_session(&mut connection).await;
    ExitCode::from(code)
}

/// Finishing a `--prompt` is quitting on purpose: the owner slot is given
/// back at once (and the host says so), not held for the grace that covers
/// a lost connection. Waits briefly for the host's answer; a follower's
/// `release` is simply refused.
async fn release_the_session(connection: &mut client::Connection) {
    let id = format!("release-{:08x}", rand::random::<u32>());
    let release = ClientMessage::Release(Release { id: id.clone() });
    if connection
        .commands
        .send(ConnCommand::Send(release))
        .is_err()
    {
        return;
    }
    let answered = async {
        while let Some(event) = connection.events.recv().await {
            if let ConnEvent::Message(
                ServerMessage::Ack { id: got, .. } | ServerMessage::Error { id: Some(got), .. },
            ) = event
                && got == id
            {
                return;
            }
        }
    };
    let _ = tokio::time::timeout(RELEASE_WAIT, answered).await;
}

/// The `permission_decision` for a permission request event.
async fn answer_request(event: &EventKind, id: &str, allow_all: bool) -> Option<ClientMessage> {
    let EventKind::PermissionRequest {
        request_id,
        tool,
        input,
        preview,
        options,
        ..
    } = event
    else {
        return None;
    };
    let request = Request {
        tool,
        input,
        preview: preview.as_deref(),
        options,
    };
    let (decision, option, message) = decide(request, allow_all).await;
    Some(ClientMessage::PermissionDecision(PermissionDecision {
        id: format!("{id}-{request_id}"),
        request_id: request_id.clone(),
        decision,
        message,
        updated_input: None,
        option,
    }))
}

/// The connection's next event; prints a held tool call that waited
/// [`HELD_CALL_WAIT`] for it.
async fn next_event(
    events: &mut tokio::sync::mpsc::Receiver<ConnEvent>,
    transcript: &mut PlainTranscript,
) -> Option<ConnEvent> {
    loop {
        if !transcript.holds_call() {
            return events.recv().await;
        }
        match tokio::time::timeout(HELD_CALL_WAIT, events.recv()).await {
            Ok(event) => return event,
            Err(_) => write(&transcript.flush_held_call()),
        }
    }
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
    let mut standing = super::not_owner::Standing::default();
    let mut verdict = TurnVerdict::default();
    while let Some(event) = next_event(&mut connection.events, transcript).await {
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
            ServerMessage::Ready { you, .. } => standing.you = Some(you),
            ServerMessage::Role { role, reason } => {
                standing.role = Some(role);
                standing.reason = reason;
            }
            ServerMessage::Participants {
                participants,
                owner_slot,
                ..
            } => {
                standing.participants = participants;
                standing.owner_slot = owner_slot;
            }
            ServerMessage::CaughtUp { .. } if !sent => {
                if standing.role != Some(Role::Owner) {
                    eprintln!("{}", standing.refusal(std::time::SystemTime::now()));
                    return CANNOT_RUN;
                }
                let message = ClientMessage::UserMessage(UserMessage {
                    id: id.clone(),
                    text: text.to_owned(),
                });
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
                if let Some(answer) = answer_request(&record.event, &id, allow_all).await {
                    send(answer);
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
    fn the_question_offers_each_allow_always_option_by_letter() {
        let options = PermissionOption::standard(vec![PermissionOption::new(
            "allow_always_1",
            PermissionOptionKind::AllowAlways,
            "accept edits for this session",
        )]);
        let keys = answer_keys(&options);
        assert_eq!(
            question(&keys),
            "[y] allow once  [a] accept edits for this session  [N] deny:"
        );
        assert_eq!(keys[1].1.as_deref(), Some("allow_always_1"));
        // An older host offers no options: y alone, naming none.
        assert_eq!(answer_keys(&[]), [("y".into(), None, "allow once".into())]);
    }

    #[test]
    fn the_preview_is_plain_sanitised_text() {
        let diff = Preview::Diff {
            path: "a.txt".into(),
            diff: "@@ -1 +1 @@\n-a\n+b\u{1b}]0;pwned\u{7}\n".into(),
            added: 1,
            removed: 1,
            new_file: false,
        };
        let input = serde_json::json!({});
        // The full-screen view's preview, without its styles: the line
        // numbers, the escape made visible.
        assert_eq!(
            preview_text(Some(&diff), &input),
            "a.txt  +1 -1\n@@ -1 +1 @@\n1   - a\n  1 + b␛]0;pwned␇\n"
        );
        let command = Preview::Command {
            command: "ls\nrm x".into(),
            cwd: "/w".into(),
            description: None,
        };
        assert_eq!(
            preview_text(Some(&command), &input),
            "$ ls\n  rm x\nin /w\n"
        );
    }

    #[test]
    fn only_a_successful_turn_with_nothing_denied_exits_zero() {
        let deny = EventKind::PermissionResolved {
            request_id: "r".into(),
            decision: Decision::Deny,
            by: "alice".into(),
            message: None,
            option: None,
            updated_input: None,
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
