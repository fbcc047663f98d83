//! One alert: what the notifier decided to tell about one session, and
//! the two bodies it leaves the host as (a webhook's JSON, ntfy's JSON
//! publish). Every piece of agent text goes through [`clean`] here, the one
//! place bodies are made.

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::text::clean;

/// Requests an alert lists by name; beyond, it counts them.
pub const MAX_LISTED: usize = 10;
/// Requests the text of a message names (the JSON lists up to
/// [`MAX_LISTED`]).
const MESSAGE_LISTED: usize = 3;
/// Characters kept of a tool's name, a request's title, a session's title.
const NAME_CHARS: usize = 80;
/// Characters kept of a command, a file name, an exit's detail.
const SUBJECT_CHARS: usize = 200;

/// What a permission request is about, as the session's event told it
/// (agent text: cleaned only when a body is made).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestInfo {
    pub id: String,
    pub tool: String,
    pub title: Option<String>,
    /// The command it runs (its first line), from its preview.
    pub command: Option<String>,
    /// The file it changes, from its preview.
    pub file: Option<String>,
}

/// A request an alert tells of, with when it was raised (its age is
/// counted when the alert leaves).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Waiting {
    pub info: RequestInfo,
    pub raised: Instant,
}

/// Why an alert is sent; the most pressing reason names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum AlertKind {
    TurnEnd,
    PermissionRequest,
    AgentExit,
}

impl AlertKind {
    pub fn as_str(self) -> &'static str {
        match self {
            AlertKind::TurnEnd => "turn_end",
            AlertKind::PermissionRequest => "permission_request",
            AlertKind::AgentExit => "agent_exit",
        }
    }
}

/// What one alert says about one session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Alert {
    pub session: Arc<str>,
    pub session_title: String,
    /// The requests this alert is the one alert of, oldest first (at most
    /// [`MAX_LISTED`]).
    pub requests: Vec<Waiting>,
    /// Requests it is the alert of, listed or not.
    pub new_requests: usize,
    /// Requests of the session still unanswered when it was made.
    pub waiting: usize,
    /// A turn that ended with no owner attached: its outcome.
    pub turn_end: Option<String>,
    /// An agent that exited with an error: how.
    pub exit: Option<String>,
}

impl Alert {
    pub fn kind(&self) -> AlertKind {
        if self.exit.is_some() {
            AlertKind::AgentExit
        } else if self.new_requests > 0 {
            AlertKind::PermissionRequest
        } else {
            AlertKind::TurnEnd
        }
    }

    /// Takes in a newer alert of the same session (one held back by a
    /// destination's rate limit absorbs the next).
    pub fn merge(&mut self, newer: Alert) {
        debug_assert_eq!(self.session, newer.session);
        self.session_title = newer.session_title;
        self.new_requests += newer.new_requests;
        let room = MAX_LISTED.saturating_sub(self.requests.len());
        self.requests.extend(newer.requests.into_iter().take(room));
        self.waiting = newer.waiting;
        if newer.turn_end.is_some() {
            self.turn_end = newer.turn_end;
        }
        if newer.exit.is_some() {
            self.exit = newer.exit;
        }
    }

    /// The alert's one-line title.
    pub fn title(&self) -> String {
        let session = clean(&self.session, NAME_CHARS);
        match self.kind() {
            AlertKind::AgentExit => format!(
                "{session}: the agent exited ({})",
                clean(self.exit.as_deref().unwrap_or_default(), SUBJECT_CHARS)
            ),
            AlertKind::PermissionRequest if self.waiting <= 1 && self.new_requests == 1 => {
                let tool = self.requests.first().map_or("a tool", |r| &r.info.tool);
                format!(
                    "{session}: permission request ({})",
                    clean(tool, NAME_CHARS)
                )
            }
            AlertKind::PermissionRequest => format!(
                "{session}: {} permission requests waiting",
                self.waiting.max(self.new_requests)
            ),
            AlertKind::TurnEnd => format!(
                "{session}: turn ended ({})",
                clean(self.turn_end.as_deref().unwrap_or("over"), NAME_CHARS)
            ),
        }
    }
}

/// Where the alert's session can be opened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Opening {
    /// This machine's name.
    pub host: String,
    /// `tether attach ws://…/v1/sessions/ID` (with `--auth FILE` when the
    /// host's auth file is not the default one).
    pub attach: String,
    /// The session's URL.
    pub url: String,
    /// Said when the host listens on loopback only.
    pub note: Option<String>,
}

/// A request as both bodies list it (agent text cleaned and cut).
fn request_json(request: &Waiting, at: Instant) -> Value {
    let info = &request.info;
    let cut = |text: &Option<String>, chars| text.as_deref().map(|t| clean(t, chars));
    json!({
        "tool": clean(&info.tool, NAME_CHARS),
        "title": cut(&info.title, NAME_CHARS),
        "command": cut(&info.command, SUBJECT_CHARS),
        "file": cut(&info.file, SUBJECT_CHARS),
        "age_secs": age(request, at).as_secs(),
    })
}

fn age(request: &Waiting, at: Instant) -> Duration {
    at.saturating_duration_since(request.raised)
}

/// The alert in a few lines of plain text (ntfy's message, the webhook's
/// `message`), ending with the command that opens the session.
pub fn message(alert: &Alert, at: Instant, opening: &Opening) -> String {
    let mut lines = Vec::new();
    let title = clean(&alert.session_title, NAME_CHARS);
    if !title.is_empty() && title != *alert.session {
        lines.push(title);
    }
    if let Some(exit) = &alert.exit {
        lines.push(format!("The agent exited: {}", clean(exit, SUBJECT_CHARS)));
    }
    for request in alert.requests.iter().take(MESSAGE_LISTED) {
        let info = &request.info;
        let what = info
            .command
            .as_ref()
            .or(info.file.as_ref())
            .or(info.title.as_ref());
        let mut line = clean(&info.tool, NAME_CHARS);
        if let Some(what) = what {
            line.push_str(": ");
            line.push_str(&clean(what, SUBJECT_CHARS));
        }
        line.push_str(&format!(" (waiting {})", short(age(request, at))));
        lines.push(line);
    }
    let unnamed = alert.new_requests.saturating_sub(MESSAGE_LISTED);
    if unnamed > 0 {
        lines.push(format!("and {unnamed} more"));
    }
    if let Some(outcome) = &alert.turn_end {
        lines.push(format!(
            "A turn ended ({}) with no owner attached.",
            clean(outcome, NAME_CHARS)
        ));
    }
    lines.push(opening.attach.clone());
    if let Some(note) = &opening.note {
        lines.push(note.clone());
    }
    lines.join("\n")
}

/// `45 s`, `3 min`, `2 h`.
fn short(age: Duration) -> String {
    match age.as_secs() {
        s if s < 120 => format!("{s} s"),
        s if s < 7200 => format!("{} min", s / 60),
        s => format!("{} h", s / 3600),
    }
}

/// The webhook's JSON body.
pub fn webhook_body(alert: &Alert, at: Instant, opening: &Opening) -> Value {
    let requests: Vec<Value> = alert.requests.iter().map(|r| request_json(r, at)).collect();
    json!({
        "host": opening.host,
        "session": clean(&alert.session, NAME_CHARS),
        "session_title": clean(&alert.session_title, NAME_CHARS),
        "title": alert.title(),
        "kind": alert.kind().as_str(),
        "message": message(alert, at, opening),
        "request": requests.first(),
        "requests": requests,
        "new_requests": alert.new_requests,
        "requests_waiting": alert.waiting,
        "turn_outcome": alert.turn_end.as_deref().map(|t| clean(t, NAME_CHARS)),
        "exit_detail": alert.exit.as_deref().map(|t| clean(t, SUBJECT_CHARS)),
        "attach": opening.attach,
        "attach_note": opening.note,
        "url": opening.url,
    })
}

/// ntfy's JSON publish (<https://docs.ntfy.sh/publish/#publish-as-json>).
pub fn ntfy_body(alert: &Alert, at: Instant, opening: &Opening, topic: &str) -> Value {
    let (priority, tag) = match alert.kind() {
        AlertKind::AgentExit => (4, "rotating_light"),
        AlertKind::PermissionRequest => (4, "question"),
        AlertKind::TurnEnd => (3, "checkered_flag"),
    };
    json!({
        "topic": topic,
        "title": alert.title(),
        "message": message(alert, at, opening),
        "priority": priority,
        "tags": [tag, "tether"],
        "click": opening.url,
    })
}

#[cfg(test)]
mod tests;
