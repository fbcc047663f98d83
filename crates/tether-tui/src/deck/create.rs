//! Making a session from the UI (admins): a directory under the host's
//! workspaces (the first field: the form opens on it), one of its presets
//! and, if wanted, a name; the host's lobby carries the request and its
//! answer. A directory that does not exist is made on a second Enter.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::{Deck, DeckEffect, Panel, SessionKey};
use crate::protocol::{LobbyMessage, LobbyRequest};
use crate::tui::keymap::{Action, Context, lookup};

/// The new-session form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewSession {
    pub host: usize,
    /// The preset chosen, an index into the host's presets.
    pub preset: usize,
    /// Relative to the host's first workspace, or absolute (`~/` works).
    pub dir: String,
    /// The session's id; empty: named after its directory.
    pub name: String,
    pub field: Field,
    /// The request on its way (its id), while waiting for the answer.
    pub asked: Option<String>,
    /// The host's refusal, shown until the next change.
    pub error: Option<String>,
    /// The host said the directory does not exist: Enter asks it to make
    /// it (until the directory is edited).
    pub missing: bool,
}

/// The form's fields, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    Dir,
    Preset,
    Name,
}

impl NewSession {
    /// Pasted text, into the field being edited (a preset is chosen, not
    /// typed).
    pub fn paste(&mut self, text: &str) {
        match self.field {
            Field::Dir => self.dir.push_str(text),
            Field::Name => self
                .name
                .extend(text.chars().filter(|c| !c.is_whitespace())),
            Field::Preset => {}
        }
    }
}

impl Deck {
    /// Opens the form for the host of the session on screen (or the first
    /// host that lets this token create sessions).
    pub(super) fn open_new_session(&mut self) -> Vec<DeckEffect> {
        if self.view_mode {
            if let Some(tab) = self.tabs.get_mut(self.active) {
                tab.app
                    .note_error("read-only (--view): no new sessions from here");
            }
            return Vec::new();
        }
        let current = self.tabs.get(self.active).map_or(0, |t| t.key.host);
        let host = std::iter::once(current)
            .chain(0..self.hosts.len())
            .find(|h| self.hosts.get(*h).is_some_and(|v| !v.presets.is_empty()));
        match host {
            Some(host) => {
                let preset = self.hosts[host]
                    .presets
                    .iter()
                    .position(|p| p == "shell")
                    .unwrap_or(0);
                self.panel = Some(Panel::NewSession(NewSession {
                    host,
                    preset,
                    dir: String::new(),
                    name: String::new(),
                    field: Field::Dir,
                    asked: None,
                    error: None,
                    missing: false,
                }));
            }
            None => {
                let app = &mut self.tabs.get_mut(self.active);
                if let Some(tab) = app {
                    tab.app.note_error(
                        "this token cannot create sessions here (it needs the admin grant)",
                    );
                }
            }
        }
        Vec::new()
    }

    pub(super) fn new_session_key(
        &mut self,
        key: KeyEvent,
        mut form: NewSession,
    ) -> Vec<DeckEffect> {
        let presets = self.hosts[form.host].presets.len().max(1);
        let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
        form.error = None;
        let dir_before = form.dir.clone();
        let on_preset = form.field == Field::Preset;
        match lookup(&key, Context::NewSession) {
            Some(Action::ClosePanel) => {
                self.panel = None;
                return Vec::new();
            }
            Some(Action::FocusNext) => form.field = next(form.field),
            Some(Action::FocusPrev) => form.field = next(next(form.field)),
            Some(Action::PrevPreset) if on_preset => {
                form.preset = (form.preset + presets - 1) % presets;
            }
            Some(Action::NextPreset) if on_preset => form.preset = (form.preset + 1) % presets,
            Some(Action::CreateSession) if form.asked.is_none() => return self.ask_for(form),
            // Typing edits the field (a preset key elsewhere is text too).
            _ => match (key.code, form.field) {
                (KeyCode::Backspace, Field::Dir) => drop(form.dir.pop()),
                (KeyCode::Backspace, Field::Name) => drop(form.name.pop()),
                (KeyCode::Char(c), Field::Dir) if !ctrl => form.dir.push(c),
                (KeyCode::Char(c), Field::Name) if !ctrl && !c.is_whitespace() => form.name.push(c),
                _ => {}
            },
        }
        if form.dir != dir_before {
            form.missing = false;
        }
        self.panel = Some(Panel::NewSession(form));
        Vec::new()
    }

    fn ask_for(&mut self, mut form: NewSession) -> Vec<DeckEffect> {
        let host = &self.hosts[form.host];
        let Some(agent) = host.presets.get(form.preset).cloned() else {
            return Vec::new();
        };
        self.requests += 1;
        let id = format!("new-{}", self.requests);
        let request = LobbyRequest::CreateSession {
            id: id.clone(),
            agent,
            session: Some(form.name.clone()).filter(|n| !n.is_empty()),
            cwd: Some(form.dir.trim().to_owned()).filter(|d| !d.is_empty()),
            title: None,
            create_dir: form.missing,
        };
        form.asked = Some(id);
        let host = form.host;
        self.panel = Some(Panel::NewSession(form));
        vec![DeckEffect::Lobby { host, request }]
    }

    /// The host's answer to the form's request: the new session is shown,
    /// or the refusal stays on the form.
    pub(super) fn on_answer(&mut self, host: usize, message: &LobbyMessage) -> Vec<DeckEffect> {
        let Some(Panel::NewSession(form)) = &mut self.panel else {
            return Vec::new();
        };
        match message {
            LobbyMessage::Created { id, session } if form.asked.as_ref() == Some(id) => {
                let key = SessionKey {
                    host,
                    id: session.id.clone(),
                };
                self.panel = None;
                self.switch_to(key)
            }
            LobbyMessage::Refused {
                id,
                message,
                missing_dir,
                ..
            } if form.asked.as_ref() == Some(id) => {
                form.asked = None;
                form.missing = *missing_dir;
                form.error = Some(if *missing_dir {
                    format!("{message}: Enter makes it")
                } else {
                    message.clone()
                });
                Vec::new()
            }
            _ => Vec::new(),
        }
    }
}

fn next(field: Field) -> Field {
    match field {
        Field::Dir => Field::Preset,
        Field::Preset => Field::Name,
        Field::Name => Field::Dir,
    }
}
