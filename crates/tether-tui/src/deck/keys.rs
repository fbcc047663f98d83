//! The deck's keys: its own chords (session list, inbox, switching), the
//! picker's and the inbox's; every other key goes to the session on
//! screen (or, in the inbox, to the highlighted request's decision).

use std::time::{Instant, SystemTime};

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::manage::SessionOp;
use super::{Deck, DeckEffect, Panel, SIDEBAR_MIN_WIDTH, SessionKey};
use crate::tui::app::Msg;
use crate::tui::keymap::{Action, Context, lookup};

/// Whether `filter` matches `name` as a fuzzy filter does: its characters
/// appear in order, case ignored.
pub fn fuzzy_matches(filter: &str, name: &str) -> bool {
    let mut chars = name.chars().flat_map(char::to_lowercase);
    filter
        .chars()
        .flat_map(char::to_lowercase)
        .all(|wanted| chars.any(|c| c == wanted))
}

impl Deck {
    pub(super) fn on_key(
        &mut self,
        key: KeyEvent,
        now: Instant,
        wall: SystemTime,
    ) -> Vec<DeckEffect> {
        // Quit works over every panel, as over every modal.
        if self.panel.is_some() && lookup(&key, Context::Global) == Some(Action::Quit) {
            self.quit = true;
            return Vec::new();
        }
        match self.panel.clone() {
            Some(Panel::Picker { filter, selected }) => self.picker_key(key, filter, selected),
            Some(Panel::Inbox { selected }) => self.inbox_key(key, selected, now, wall),
            Some(Panel::NewSession(form)) => self.new_session_key(key, form),
            Some(Panel::Manage(manage)) => self.manage_key(key, manage),
            None => match lookup(&key, Context::Sessions).or_else(|| {
                self.typing_goes_nowhere()
                    .then(|| lookup(&key, Context::ReadOnly))
                    .flatten()
            }) {
                Some(action) => self.deck_chord(action, &key),
                None => self.pass_to_active(Msg::Key(key), now, wall),
            },
        }
    }

    /// Whether a character typed now would be text nowhere: the session on
    /// screen is read-only to this client (--view, owned by someone else,
    /// no control), or there is none. Then `:` can be a deck chord.
    fn typing_goes_nowhere(&self) -> bool {
        let Some(tab) = self.tabs.get(self.active) else {
            return true;
        };
        let app = &tab.app;
        let in_panes = matches!(
            app.key_context(),
            Context::Input
                | Context::Completion
                | Context::Transcript
                | Context::Permissions
                | Context::Participants
        );
        in_panes && !app.may_write()
    }

    fn deck_chord(&mut self, action: Action, key: &KeyEvent) -> Vec<DeckEffect> {
        let listed = self.listed();
        let current = self
            .tabs
            .get(self.active)
            .and_then(|t| listed.iter().position(|k| *k == t.key))
            .unwrap_or(0);
        let go = |at: usize| listed.get(at).cloned();
        let target = match action {
            Action::SessionList => {
                if self.screen.width >= SIDEBAR_MIN_WIDTH {
                    self.sidebar = Some(!self.sidebar_shown());
                } else {
                    self.panel = Some(Panel::Picker {
                        filter: String::new(),
                        selected: current,
                    });
                }
                None
            }
            Action::JumpToSession => {
                self.panel = Some(Panel::Picker {
                    filter: String::new(),
                    selected: current,
                });
                None
            }
            Action::LastSession => self.previous.clone().filter(|key| listed.contains(key)),
            Action::OpenInbox => return self.open_inbox(),
            Action::NewSession => return self.open_new_session(),
            Action::PrevSession => go((current + listed.len().max(1) - 1) % listed.len().max(1)),
            Action::NextSession => go((current + 1) % listed.len().max(1)),
            // Alt+1 is the first.
            Action::NthSession => match key.code {
                KeyCode::Char(c @ '1'..='9') => go(c as usize - '1' as usize),
                _ => None,
            },
            // Only the Sessions context's actions are looked up here.
            _ => None,
        };
        target.map(|key| self.switch_to(key)).unwrap_or_default()
    }

    /// The sessions the picker's filter admits, in list order.
    pub fn picked(&self, filter: &str) -> Vec<SessionKey> {
        self.listed()
            .into_iter()
            .filter(|key| {
                // The host's name is only worth matching among several.
                let name = match self.hosts.len() {
                    1 => key.id.clone(),
                    _ => format!("{} {}", self.hosts[key.host].name, key.id),
                };
                fuzzy_matches(filter, &name)
            })
            .collect()
    }

    fn picker_key(
        &mut self,
        key: KeyEvent,
        mut filter: String,
        mut selected: usize,
    ) -> Vec<DeckEffect> {
        let matches = self.picked(&filter);
        match lookup(&key, Context::Picker) {
            Some(Action::ClosePanel) => {
                self.panel = None;
                return Vec::new();
            }
            Some(Action::OpenSession) => {
                self.panel = None;
                return matches
                    .get(selected)
                    .cloned()
                    .map(|key| self.switch_to(key))
                    .unwrap_or_default();
            }
            Some(action @ (Action::DeleteSession | Action::RestartSession)) => {
                if let Some(key) = matches.get(selected).cloned() {
                    let op = match action {
                        Action::DeleteSession => SessionOp::Delete,
                        _ => SessionOp::Restart,
                    };
                    self.ask_session_op(op, key, (filter, selected));
                    return Vec::new();
                }
            }
            Some(Action::SelectUp) => selected = selected.saturating_sub(1),
            Some(Action::SelectDown) => {
                selected = (selected + 1).min(matches.len().saturating_sub(1));
            }
            // Typing edits the filter.
            _ => match key.code {
                KeyCode::Backspace => {
                    filter.pop();
                    selected = 0;
                }
                KeyCode::Char(c) if !key.modifiers.contains(KeyModifiers::CONTROL) => {
                    filter.push(c);
                    selected = 0;
                }
                _ => {}
            },
        }
        self.panel = Some(Panel::Picker { filter, selected });
        Vec::new()
    }
}
