//! Keys: looked up in the keymap for the focused pane, then acted on.

use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};

use super::text_edit::is_text;
use super::{App, Effect, Focus, Level, Modal, choices, text_edit};
use crate::protocol::{Claim, ClientMessage, Decision, Interrupt, Release, UserMessage};
use crate::tui::keymap::{Action, Context, lookup};

impl App {
    /// The keymap context of the focused pane.
    pub fn focus_context(&self) -> Context {
        if let Some(context) = self.decision_context() {
            return context;
        }
        match self.focus {
            Focus::Input if !self.completions().is_empty() => Context::Completion,
            Focus::Input => Context::Input,
            Focus::Permissions => Context::Permissions,
            Focus::Transcript => Context::Transcript,
            Focus::Participants => Context::Participants,
        }
    }

    pub(super) fn on_key(&mut self, key: KeyEvent) -> Vec<Effect> {
        if key.kind == KeyEventKind::Release {
            return Vec::new();
        }
        if let Some(effects) = self.on_modal_key(key) {
            return effects;
        }
        if let Some(effects) = self.on_decision_key(key) {
            return effects;
        }
        // Ctrl+X Ctrl+E, as in readline and zsh: the message to $EDITOR
        // (what Ctrl+O does in one key).
        let context = self.focus_context();
        let ctrl = |c: char| key.code == KeyCode::Char(c) && key.modifiers == KeyModifiers::CONTROL;
        if std::mem::take(&mut self.after_ctrl_x) && ctrl('e') {
            return self.edit_externally();
        }
        if context == Context::Input && ctrl('x') && lookup(&key, context).is_none() {
            self.after_ctrl_x = true;
            return Vec::new();
        }
        match lookup(&key, context) {
            Some(action) => self.act(action),
            None => {
                self.unbound_key(key);
                Vec::new()
            }
        }
    }

    /// A key no binding takes: text for the input box. Typed in a pane
    /// that has no use for it, it moves the focus to the box with it:
    /// nothing typed is lost silently.
    fn unbound_key(&mut self, key: KeyEvent) {
        let typing = match self.focus {
            Focus::Input => is_typing(&key),
            _ => is_text(&key),
        };
        if !typing {
            if self.focus == Focus::Input && self.can_edit_input() {
                text_edit::edit(&mut self.input, key);
            }
            return;
        }
        if !self.may_write() {
            self.say("read-only: only the owner can send messages", Level::Info);
            return;
        }
        self.focus = Focus::Input;
        if self.sending() {
            self.say("sending: the box unlocks when the host has it", Level::Info);
        } else {
            text_edit::edit(&mut self.input, key);
        }
    }

    fn act(&mut self, action: Action) -> Vec<Effect> {
        match action {
            Action::FocusNext => self.focus = self.focus.next(),
            Action::FocusPrev => self.focus = self.focus.prev(),
            Action::CycleMode => return self.cycle_mode(),
            Action::Send => return self.submit(),
            Action::NewLine => {
                if self.can_edit_input() {
                    self.input.insert_newline();
                }
            }
            Action::Allow | Action::Deny => return self.answer_selected(action == Action::Allow),
            Action::SelectUp => self.select(false),
            Action::SelectDown => self.select(true),
            Action::Interrupt => return self.escape(),
            Action::CancelOrQuit => return self.ctrl_c(),
            Action::Quit => return vec![Effect::Quit],
            Action::OpenHelp => self.modals.push(Modal::Help { scroll: 0 }),
            Action::PageUp => self.transcript.page_up(),
            Action::PageDown => self.transcript.page_down(),
            Action::ScrollToStart => return self.scroll_to_start(),
            Action::ScrollToEnd => self.back_to_live(false),
            Action::LineUp => self.transcript.scroll_up(1),
            Action::LineDown => self.transcript.scroll_down(1),
            Action::Search => {
                let query = Modal::prompt("");
                self.modals.push(Modal::Search { query });
            }
            Action::NextMatch => return self.step_match(true),
            Action::PrevMatch => return self.step_match(false),
            Action::ToggleThinking => {
                self.transcript.show_thinking = !self.transcript.show_thinking
            }
            Action::ClaimOwnership
            | Action::ReleaseOwnership
            | Action::TransferOwnership
            | Action::Confirm
            | Action::Decline => return self.act_ownership(action),
            Action::ToggleMouse => return self.toggle_mouse(),
            Action::OpenDecision => self.open_decision_on_selected(),
            // Only bound in the decision view, handled by its module.
            Action::ChooseNumbered
            | Action::ChooseHighlighted
            | Action::EditAndAllow
            | Action::AllowAlways
            | Action::PreviewUp
            | Action::PreviewDown
            | Action::PrevRequest
            | Action::NextRequest
            | Action::CloseDecision => {}
            Action::DeleteToLineStart
            | Action::HistoryPrev
            | Action::HistoryNext
            | Action::HistorySearch
            | Action::BlockUp
            | Action::BlockDown
            | Action::ToggleBlock => self.act_reading(action),
            Action::CopyBlock => return self.copy_block(),
            Action::EditExternally => return self.edit_externally(),
            Action::CompletionNext
            | Action::CompletionPrev
            | Action::CompletionAccept
            | Action::CompletionClose => self.act_completion(action),
            Action::OpenRules => self.open_rules(),
            // Only bound in modals, handled by `modal`.
            Action::CloseHelp | Action::RemoveRule | Action::CloseRules => {}
            // The deck's: it takes them before a session sees a key.
            Action::SessionList
            | Action::OpenInbox
            | Action::NewSession
            | Action::PrevSession
            | Action::NextSession
            | Action::NthSession
            | Action::JumpToSession
            | Action::LastSession
            | Action::OpenSession
            | Action::DeleteSession
            | Action::RestartSession
            | Action::ClosePanel
            | Action::PrevPreset
            | Action::NextPreset
            | Action::CreateSession => {}
        }
        Vec::new()
    }

    fn act_ownership(&mut self, action: Action) -> Vec<Effect> {
        match action {
            Action::ClaimOwnership => {
                if self.view_mode {
                    self.say("view mode never owns", Level::Info);
                } else {
                    return self.send_tracked(|id| ClientMessage::Claim(Claim { id }), None);
                }
            }
            Action::ReleaseOwnership => {
                if self.is_owner() {
                    return self.send_tracked(|id| ClientMessage::Release(Release { id }), None);
                }
                self.say("only the owner can release", Level::Info);
            }
            Action::TransferOwnership => self.ask_transfer(),
            // Confirm and Decline are only bound while a question is
            // asked, handled by `modal`.
            _ => {}
        }
        Vec::new()
    }

    /// ↑/↓ in the permissions or participants pane.
    fn select(&mut self, down: bool) {
        let step = |at: usize, len: usize| {
            if down {
                (at + 1).min(len.saturating_sub(1))
            } else {
                at.saturating_sub(1)
            }
        };
        match self.focus {
            Focus::Permissions => {
                self.selected_request = step(self.selected_request, self.pending.len());
            }
            Focus::Participants => {
                self.selected_participant =
                    step(self.selected_participant, self.participants.len());
            }
            _ => {}
        }
    }

    fn toggle_mouse(&mut self) -> Vec<Effect> {
        self.mouse_capture = !self.mouse_capture;
        let text = if self.mouse_capture {
            "mouse: the wheel scrolls the transcript (F6: select text instead)"
        } else {
            "mouse: free to select text (F6: the wheel scrolls again)"
        };
        self.say(text, Level::Info);
        vec![Effect::MouseCapture(self.mouse_capture)]
    }

    pub(super) fn submit(&mut self) -> Vec<Effect> {
        if !self.may_write() {
            self.say("read-only: only the owner can send messages", Level::Info);
            return Vec::new();
        }
        if self.sending() {
            return Vec::new();
        }
        let text = self.input.lines().join("\n");
        if text.trim().is_empty() {
            return Vec::new();
        }
        if !self.is_owner() {
            return self.claim_to_send();
        }
        if !self.pending.is_empty() && is_an_answer(&text) {
            // Meant for the request, which the agent is waiting on: sent
            // as a message it would only be refused as "busy".
            self.say(
                "not sent: a request waits for its answer (Tab to Permissions, then y or n)",
                Level::Info,
            );
            return Vec::new();
        }
        self.history.record(&text);
        let remember = Effect::Remember(text.clone());
        // What is sent is what the user wants to see answered.
        self.back_to_live(false);
        // The text stays in the box (locked) until the host acknowledges it.
        let mut effects = self.send_tracked(
            |id| {
                ClientMessage::UserMessage(UserMessage {
                    id,
                    text: text.clone(),
                })
            },
            Some(text.clone()),
        );
        effects.push(remember);
        effects
    }

    fn answer_selected(&mut self, allow: bool) -> Vec<Effect> {
        if !self.is_owner() {
            self.say("read-only: only the owner can answer requests", Level::Info);
            return Vec::new();
        }
        let Some(request) = self.pending.get(self.selected_request) else {
            return Vec::new();
        };
        let request_id = request.request_id.clone();
        if allow {
            self.decide(request_id, Decision::Allow, None)
        } else {
            let reason = Modal::prompt("reason (optional): Enter sends, Esc sends without one");
            self.modals.push(Modal::DenyReason { request_id, reason });
            Vec::new()
        }
    }

    pub(super) fn decide(
        &mut self,
        request_id: String,
        decision: Decision,
        message: Option<String>,
    ) -> Vec<Effect> {
        let Some(request) = self.pending.iter().find(|p| p.request_id == request_id) else {
            self.say("that request was already settled", Level::Info);
            return Vec::new();
        };
        let answer = match decision {
            Decision::Allow => choices::allow_once(request),
            Decision::Deny => choices::deny(request, message),
        };
        self.send_tracked(|id| answer.into_message(id), None)
    }

    fn interrupt(&mut self) -> Vec<Effect> {
        if !self.is_owner() {
            return Vec::new();
        }
        self.send_tracked(|id| ClientMessage::Interrupt(Interrupt { id }), None)
    }

    /// Esc closes what is open (the search's highlights; modals take
    /// their own Esc first) and interrupts only when nothing is.
    fn escape(&mut self) -> Vec<Effect> {
        if self.transcript.search.take().is_some() {
            return Vec::new();
        }
        self.interrupt()
    }

    /// Ctrl+C: the typed text goes first, then the running agent, then
    /// (twice) the program.
    /// Ctrl+C: the owner's clears the input, else interrupts a busy
    /// agent; for everyone, twice within a second quits (a stray press
    /// never closes every session on screen).
    fn ctrl_c(&mut self) -> Vec<Effect> {
        if self.is_owner() {
            let empty = self.input.lines().iter().all(|l| l.is_empty());
            if !empty && !self.sending() {
                self.input = super::new_input("Type a message; Enter sends");
                return Vec::new();
            }
            if self.agent_busy() {
                return self.interrupt();
            }
        }
        if self.last_ctrl_c.is_some() {
            return vec![Effect::Quit];
        }
        self.last_ctrl_c = Some(self.now);
        self.say("press Ctrl+C again to quit", Level::Info);
        Vec::new()
    }
}

/// Whether a message is only a y/n answer (meant for a pending request).
fn is_an_answer(text: &str) -> bool {
    matches!(
        text.trim().to_ascii_lowercase().as_str(),
        "y" | "n" | "yes" | "no"
    )
}

fn is_typing(key: &KeyEvent) -> bool {
    matches!(
        key.code,
        KeyCode::Char(_) | KeyCode::Enter | KeyCode::Backspace
    )
}
