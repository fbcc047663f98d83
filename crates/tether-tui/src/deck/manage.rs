//! Deleting and restarting a session from the list: Ctrl+D and Ctrl+R on
//! the picker's highlighted session ask y/n, then the host's lobby carries
//! the request (the host decides who may: admins delete; admins and
//! whoever may own the session restart) and its answer is shown in place.

use crossterm::event::KeyEvent;

use super::{Deck, DeckEffect, Panel, SessionKey};
use crate::protocol::{LobbyMessage, LobbyRequest};
use crate::tui::keymap::{Action, Context, lookup};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionOp {
    Delete,
    Restart,
}

impl SessionOp {
    /// The question's verb (`delete api?`).
    pub fn verb(self) -> &'static str {
        match self {
            SessionOp::Delete => "delete",
            SessionOp::Restart => "restart",
        }
    }

    /// What it does, said under the question.
    pub fn consequence(self) -> &'static str {
        match self {
            SessionOp::Delete => {
                "its agent stops, everyone connected is disconnected and its history is retired"
            }
            SessionOp::Restart => "its agent is stopped if running and started again",
        }
    }
}

/// The question about one session, then its answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Manage {
    pub op: SessionOp,
    pub key: SessionKey,
    /// The picker to go back to.
    pub filter: String,
    pub selected: usize,
    /// Where it stands: asked y/n, on its way, or answered.
    pub state: ManageState,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ManageState {
    Asking,
    /// The request's id, while waiting for the host's answer.
    Sent(String),
    Done,
    Refused(String),
}

impl Deck {
    /// Ctrl+D / Ctrl+R on the picker's highlighted session: the question
    /// (who may is the host's to say: the lobby does not tell admins).
    pub(super) fn ask_session_op(
        &mut self,
        op: SessionOp,
        key: SessionKey,
        (filter, selected): (String, usize),
    ) {
        self.panel = Some(Panel::Manage(Manage {
            op,
            key,
            filter,
            selected,
            state: ManageState::Asking,
        }));
    }

    /// y sends the request; n, Esc (or any key once answered) goes back
    /// to the picker.
    pub(super) fn manage_key(&mut self, key: KeyEvent, mut manage: Manage) -> Vec<DeckEffect> {
        let action = lookup(&key, Context::Question);
        match (&manage.state, action) {
            (ManageState::Asking, Some(Action::Confirm)) => {
                self.requests += 1;
                let id = format!("manage-{}", self.requests);
                let session = manage.key.id.clone();
                let request = match manage.op {
                    SessionOp::Delete => LobbyRequest::DeleteSession {
                        id: id.clone(),
                        session,
                    },
                    SessionOp::Restart => LobbyRequest::RestartSession {
                        id: id.clone(),
                        session,
                    },
                };
                let host = manage.key.host;
                manage.state = ManageState::Sent(id);
                self.panel = Some(Panel::Manage(manage));
                vec![DeckEffect::Lobby { host, request }]
            }
            // Waiting for the host: only Esc leaves (the answer then comes
            // unseen; the list shows what it did).
            (ManageState::Sent(_), action) if action != Some(Action::Decline) => Vec::new(),
            _ => {
                self.back_to_picker(manage);
                Vec::new()
            }
        }
    }

    fn back_to_picker(&mut self, manage: Manage) {
        self.panel = Some(Panel::Picker {
            filter: manage.filter,
            selected: manage.selected,
        });
    }

    /// The host's answer to the question's request, shown in place.
    pub(super) fn on_manage_answer(&mut self, host: usize, message: &LobbyMessage) -> bool {
        let Some(Panel::Manage(manage)) = &mut self.panel else {
            return false;
        };
        let ManageState::Sent(asked) = &manage.state else {
            return false;
        };
        if manage.key.host != host {
            return false;
        }
        match message {
            LobbyMessage::Done { id } if id == asked => manage.state = ManageState::Done,
            LobbyMessage::Refused { id, message, .. } if id == asked => {
                manage.state = ManageState::Refused(message.clone());
            }
            _ => return false,
        }
        true
    }
}
