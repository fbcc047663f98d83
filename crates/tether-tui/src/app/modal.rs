//! The modals: popups, prompts and y/n questions over the panes, in one
//! stack (`App::modals`, innermost last). The innermost takes every key
//! (Ctrl+Q still quits), names the keymap context its hints come from,
//! and is drawn last (`ui::modals`). The decision view is not one of them:
//! it is the bottom pane while a request waits, under any modal.

use crossterm::event::KeyEvent;
use ratatui_textarea::TextArea;

use super::ownership::TransferAsk;
use super::rules::RulesView;
use super::{App, Effect, text_edit};
use crate::protocol::Decision;
use crate::tui::keymap::{Action, Context, lookup};

#[derive(Debug)]
pub enum Modal {
    /// The keys, with the first row shown.
    Help { scroll: u16 },
    /// Typing the reason for denying `request_id`.
    DenyReason {
        request_id: String,
        reason: TextArea<'static>,
    },
    /// Typing a transcript search.
    Search { query: TextArea<'static> },
    /// Searching the messages sent: the query and the entry it found.
    HistorySearch {
        query: TextArea<'static>,
        found: Option<usize>,
    },
    /// The rules in force.
    Rules(RulesView),
    /// A y/n question, asked in the footer.
    Question(Question),
}

/// What a y/n question asks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Question {
    /// Transfer ownership to this participant?
    Transfer(TransferAsk),
    /// Remove this rule (its id)?
    RemoveRule { rule: String },
}

impl Modal {
    /// The keymap context while it is the innermost: its keys and hints.
    pub fn context(&self) -> Context {
        match self {
            Modal::Help { .. } => Context::HelpOverlay,
            Modal::DenyReason { .. } => Context::DenyReason,
            Modal::Search { .. } => Context::SearchPrompt,
            Modal::HistorySearch { .. } => Context::HistorySearch,
            Modal::Rules(_) => Context::RulesOverlay,
            Modal::Question(_) => Context::Question,
        }
    }

    /// A one-line text area with no highlighted line.
    pub fn prompt(placeholder: &str) -> TextArea<'static> {
        super::new_input(placeholder)
    }
}

/// Rows PgUp/PgDn move the help.
const HELP_PAGE: u16 = 10;

impl App {
    /// Rows of help below its last row on screen, scrolled to the top
    /// (how far it scrolls), by the layout.
    fn help_rows_below(&mut self) -> u16 {
        self.layout().help.map_or(0, |areas| areas.most_scroll())
    }

    /// Keys for the innermost modal; None when none is open.
    pub(super) fn on_modal_key(&mut self, key: KeyEvent) -> Option<Vec<Effect>> {
        let context = self.modals.last()?.context();
        if lookup(&key, Context::Global) == Some(Action::Quit) {
            return Some(vec![Effect::Quit]);
        }
        let action = lookup(&key, context);
        let help_below = match context {
            Context::HelpOverlay => self.help_rows_below(),
            _ => 0,
        };
        let Some(modal) = self.modals.last_mut() else {
            return Some(Vec::new());
        };
        let effects = match modal {
            Modal::Help { scroll } => {
                on_help_key(action, scroll, help_below);
                if action == Some(Action::CloseHelp) {
                    self.modals.pop();
                }
                Vec::new()
            }
            Modal::Rules(_) => self.on_rules_key(action),
            Modal::DenyReason { request_id, reason } => match action {
                Some(Action::Send | Action::Decline) => {
                    let request_id = request_id.clone();
                    let text = reason.lines().join(" ").trim().to_owned();
                    let message =
                        (action == Some(Action::Send) && !text.is_empty()).then_some(text);
                    self.modals.pop();
                    self.decide(request_id, Decision::Deny, message)
                }
                _ => {
                    text_edit::edit(reason, key);
                    Vec::new()
                }
            },
            Modal::Search { query } => match action {
                Some(Action::Send) => {
                    let text = query.lines().join(" ");
                    self.modals.pop();
                    self.run_search(&text)
                }
                Some(Action::Decline) => {
                    // Leaving a search never reaches the agent; it clears.
                    self.modals.pop();
                    self.transcript.search = None;
                    Vec::new()
                }
                _ => {
                    text_edit::edit(query, key);
                    Vec::new()
                }
            },
            Modal::HistorySearch { .. } => self.on_history_search_key(action, key),
            Modal::Question(_) => match action {
                Some(Action::Confirm) => self.answer_question(true),
                Some(Action::Decline) => self.answer_question(false),
                _ => Vec::new(),
            },
        };
        Some(effects)
    }

    /// Ctrl+R's keys: typing searches, Ctrl+R finds the match before,
    /// Enter takes the match into the box, Esc leaves the box as it was.
    fn on_history_search_key(&mut self, action: Option<Action>, key: KeyEvent) -> Vec<Effect> {
        let Some(Modal::HistorySearch { query, found }) = self.modals.last_mut() else {
            return Vec::new();
        };
        let text = query.lines().join(" ");
        match action {
            Some(Action::Send) => {
                let taken = found
                    .and_then(|at| self.history.entry(at))
                    .map(str::to_owned);
                self.modals.pop();
                if let Some(taken) = taken {
                    self.replace_input(&taken);
                }
            }
            Some(Action::Decline) => {
                self.modals.pop();
            }
            Some(Action::HistorySearch) => {
                let older = self.history.find(&text, *found).map(|(at, _)| at);
                *found = older.or(*found);
            }
            _ => {
                text_edit::edit(query, key);
                let text = query.lines().join(" ");
                *found = self.history.find(&text, None).map(|(at, _)| at);
            }
        }
        Vec::new()
    }

    /// The innermost question, taken off the stack, answered.
    fn answer_question(&mut self, yes: bool) -> Vec<Effect> {
        let Some(Modal::Question(question)) = self.modals.pop() else {
            return Vec::new();
        };
        match question {
            Question::Transfer(ask) => self.answer_transfer(ask, yes),
            Question::RemoveRule { rule } => self.answer_remove_rule(rule, yes),
        }
    }

    /// The sent message the history search found, while it is open.
    pub fn history_match(&self) -> Option<&str> {
        self.modals.iter().rev().find_map(|m| match m {
            Modal::HistorySearch { found, .. } => found.and_then(|at| self.history.entry(at)),
            _ => None,
        })
    }

    /// The question waiting for its y/n, if it is the innermost modal.
    pub fn question(&self) -> Option<&Question> {
        match self.modals.last() {
            Some(Modal::Question(question)) => Some(question),
            _ => None,
        }
    }

    /// The keymap context of whatever has the keys: the innermost modal,
    /// else the decision view, else the focused pane.
    pub fn key_context(&self) -> Context {
        match self.modals.last() {
            Some(modal) => modal.context(),
            None => self.focus_context(),
        }
    }
}

/// The help's scroll after a key; `below`: rows that lie under the
/// screen's last one when scrolled to the top (the layout's figure).
fn on_help_key(action: Option<Action>, scroll: &mut u16, below: u16) {
    *scroll = match action {
        Some(Action::LineUp) => scroll.saturating_sub(1),
        Some(Action::LineDown) => scroll.saturating_add(1),
        Some(Action::PageUp) => scroll.saturating_sub(HELP_PAGE),
        Some(Action::PageDown) => scroll.saturating_add(HELP_PAGE),
        _ => *scroll,
    }
    .min(below);
}
