//! What a session reports to the notifier (`host::notify`): requests as
//! they open and close (read from the session after each input, when what
//! the lobby shows changed), turns that end (with whether an owner is
//! attached), and an agent that exits with an error. Reporting never
//! waits; a session with no notifier, or one playing a recording, reports
//! nothing.
//!
//! An exit is an error when the agent exited by itself with a code other
//! than 0, or without a code right after an error notice (killed by a
//! signal, could not start), or when it could not be started at all. A
//! stop the host asks for (shutdown, restart, a stuck agent replaced) is
//! not: its events are taken while stopping, which reports nothing.

use std::collections::BTreeSet;
use std::sync::Arc;

use crate::host::agent::AgentSpec;
use crate::host::notify::alert::RequestInfo;
use crate::host::notify::{AlertSink, Input};
use crate::host::session::Session;
use crate::protocol::{AgentState, EventKind, NoticeLevel, Preview};

pub struct AlertFeed {
    sink: Option<AlertSink>,
    session: Arc<str>,
    /// The session's lobby generation when its requests were last read.
    read_generation: Option<u64>,
    /// The requests reported open.
    open: BTreeSet<String>,
    /// The agent's last event was an error notice.
    after_error: bool,
}

impl AlertFeed {
    pub fn new(sink: Option<AlertSink>, session: &str, agent: &AgentSpec) -> Self {
        let replay = matches!(agent, AgentSpec::Replay { .. });
        AlertFeed {
            sink: sink.filter(|_| !replay),
            session: session.into(),
            read_generation: None,
            open: BTreeSet::new(),
            after_error: false,
        }
    }

    fn send(&self, input: Input) {
        if let Some(sink) = &self.sink {
            sink.send(input);
        }
    }

    /// Reports the requests opened and closed since the last call.
    pub fn after_input(&mut self, session: &Session) {
        if self.sink.is_none() || self.read_generation == Some(session.lobby_generation()) {
            return;
        }
        self.read_generation = Some(session.lobby_generation());
        let mut now_open = BTreeSet::new();
        for record in session.open_requests() {
            let Some(info) = request_info(&record.event) else {
                continue;
            };
            now_open.insert(info.id.clone());
            if !self.open.contains(&info.id) {
                self.send(Input::Raised {
                    session: self.session.clone(),
                    title: session.title().to_owned(),
                    request: info,
                });
            }
        }
        for gone in self.open.difference(&now_open) {
            self.send(Input::Closed {
                session: self.session.clone(),
                request_id: gone.clone(),
            });
        }
        self.open = now_open;
    }

    /// Notes an event of the running agent, before the session takes it.
    pub fn agent_event(&mut self, event: &EventKind, session: &Session) {
        if self.sink.is_none() {
            return;
        }
        match event {
            EventKind::TurnEnd { outcome, .. } => self.send(Input::TurnEnded {
                session: self.session.clone(),
                title: session.title().to_owned(),
                outcome: serde_json::to_value(outcome)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_owned))
                    .unwrap_or_else(|| "over".into()),
                owner_attached: session.roster().owner().is_some(),
            }),
            EventKind::Status {
                state: AgentState::Exited,
                detail,
                exit_code,
            } if exit_code.map_or(self.after_error, |code| code != 0) => {
                let detail = detail.clone().unwrap_or_else(|| "exited".into());
                self.agent_failed(&detail, session);
            }
            _ => {}
        }
        self.after_error = matches!(
            event,
            EventKind::Notice {
                level: NoticeLevel::Error,
                ..
            }
        );
    }

    /// The agent could not start, or its task ended without a word.
    pub fn agent_failed(&self, detail: &str, session: &Session) {
        self.send(Input::AgentExited {
            session: self.session.clone(),
            title: session.title().to_owned(),
            detail: detail.to_owned(),
        });
    }

    /// The session task ends: the notifier forgets it.
    pub fn gone(&self) {
        self.send(Input::Gone {
            session: self.session.clone(),
        });
    }
}

/// A permission request as alerts tell of it.
fn request_info(event: &EventKind) -> Option<RequestInfo> {
    let EventKind::PermissionRequest {
        request_id,
        tool,
        title,
        preview,
        ..
    } = event
    else {
        return None;
    };
    let (command, file) = match preview.as_deref() {
        Some(Preview::Command { command, .. }) => (
            Some(command.lines().next().unwrap_or_default().to_owned()),
            None,
        ),
        Some(Preview::Diff { path, .. }) => (None, Some(path.clone())),
        _ => (None, None),
    };
    Some(RequestInfo {
        id: request_id.clone(),
        tool: tool.clone(),
        title: title.clone(),
        command,
        file,
    })
}
