//! The decision view: a pending permission request shown in full at the
//! bottom of the screen, with numbered choices built from its `options`.
//!
//! A pure state machine over [`App`]: keys in, `permission_decision`
//! messages out. For the owner it opens by itself when a request appears;
//! Esc leaves it with the request still pending (Enter in the permissions
//! pane opens it again). It is a layer over the panes: the focus underneath
//! never changes, so after the answer the user is back where they were,
//! with the text they had typed. Followers and viewers see it read-only.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use crossterm::event::{KeyCode, KeyEvent};
use ratatui_textarea::TextArea;

use super::choices::{Answer, deny, edited_command, edited_input, literal};
pub use super::choices::{Choice, choices, first_always};
use super::ownership::Ownership;
use super::text_edit::is_text;
use super::{App, Effect, Focus, Level, Pending};
use crate::protocol::{Decision, Role};
use crate::tui::keymap::{Action, Context, lookup};
use crate::tui::sanitize::sanitize_plain;

/// What a text area of the decision view holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EditorKind {
    /// The command, to allow as edited.
    Command,
    /// The tool's input as JSON, to allow as edited.
    Json,
    /// The message to the agent with a deny.
    Message,
}

#[derive(Debug)]
pub struct Editor {
    pub kind: EditorKind,
    pub request_id: String,
    pub text: TextArea<'static>,
    /// Why the last Enter sent nothing (invalid JSON, empty command).
    pub problem: Option<String>,
}

/// Lines of the decision view made ready for drawing.
#[derive(Debug, Default)]
pub struct Wrapped {
    /// The request and width they were made for.
    pub made_for: Option<(String, u16)>,
    pub header: Vec<ratatui::text::Line<'static>>,
    pub preview: Vec<ratatui::text::Line<'static>>,
}

#[derive(Debug, Default)]
pub struct DecisionView {
    /// The view has the keys.
    open: bool,
    /// The request shown (None: the oldest not yet answered).
    current: Option<String>,
    /// The highlighted choice.
    highlight: usize,
    /// The preview's first visible row (at most the layout's last).
    scroll: usize,
    /// The request's header and preview wrapped for the screen's width:
    /// made once per request and width, not per frame.
    wrapped: Wrapped,
    editor: Option<Editor>,
    /// Requests already offered: each opens the view once, by itself.
    announced: HashSet<String>,
    /// Requests answered from here, until the host settles them.
    answered: HashSet<String>,
    was_owner: bool,
    /// When a character was last typed into the input box.
    typed_at: Option<Instant>,
    /// A view that opened while the user was typing ignores answers until
    /// then: keys typed by reflex go on into the input box.
    hold_until: Option<Instant>,
}

/// Typing this recently when a request appears holds its answers…
const TYPING: Duration = Duration::from_secs(1);
/// …for this long.
const HOLD: Duration = Duration::from_millis(700);

impl DecisionView {
    /// Whether the view has the keys.
    pub fn is_open(&self) -> bool {
        self.open
    }

    pub fn highlight(&self) -> usize {
        self.highlight
    }

    /// The preview's first visible row.
    pub fn scroll(&self) -> usize {
        self.scroll
    }

    /// The text area open in the view, if any.
    pub fn editor(&self) -> Option<&Editor> {
        self.editor.as_ref()
    }

    /// The lines wrapped for the screen (`ui::decision::prepare`).
    pub fn wrapped(&self) -> &Wrapped {
        &self.wrapped
    }

    /// Keeps lines wrapped for a request and width (a cache).
    pub fn set_wrapped(&mut self, wrapped: Wrapped) {
        self.wrapped = wrapped;
    }

    /// The open text area, when the view has the keys.
    pub fn editor_mut(&mut self) -> Option<&mut Editor> {
        self.editor.as_mut().filter(|_| self.open)
    }

    fn show(&mut self, request_id: Option<String>) {
        self.open = true;
        self.current = request_id;
        self.highlight = 0;
        self.scroll = 0;
        self.editor = None;
        self.hold_until = None;
    }

    fn close(&mut self) {
        self.open = false;
        self.editor = None;
    }

    /// Whether answer keys are held at `now`: the view opened as the user
    /// was typing, and ignores keys for a moment (drawn as a notice).
    pub fn holding(&self, now: Instant) -> bool {
        self.open && self.hold_until.is_some_and(|until| now < until)
    }

    /// The requests now `pending` (oldest first), for a user who is the
    /// owner or not: settled ones are forgotten, and the view opens by
    /// itself on a new request (or for a new owner with requests
    /// waiting), holding its answer keys a moment if the user was typing.
    fn sync(&mut self, pending: &[&str], owner: bool, now: Instant) {
        let is_pending = |id: &str| pending.contains(&id);
        self.announced.retain(|id| is_pending(id));
        self.answered.retain(|id| is_pending(id));
        if self
            .editor
            .as_ref()
            .is_some_and(|e| !owner || !is_pending(&e.request_id))
        {
            self.editor = None;
        }
        if self.current.as_deref().is_some_and(|id| !is_pending(id)) {
            self.current = None;
            self.highlight = 0;
            self.scroll = 0;
        }
        let fresh = pending.iter().any(|id| !self.announced.contains(*id));
        self.announced
            .extend(pending.iter().map(|id| (*id).to_owned()));
        let became_owner = owner && !self.was_owner;
        if self.was_owner && !owner {
            self.close();
        }
        self.was_owner = owner;
        let waiting = pending.iter().any(|id| !self.answered.contains(*id));
        if pending.is_empty() {
            self.close();
        } else if owner && (fresh || became_owner) && waiting && !self.open {
            self.show(None);
            let typing = self
                .typed_at
                .is_some_and(|at| now.duration_since(at) < TYPING);
            self.hold_until = typing.then_some(now + HOLD);
        }
    }

    /// The highlight one choice up or down, of `count`.
    fn move_highlight(&mut self, down: bool, count: usize) {
        self.highlight = if down {
            (self.highlight + 1).min(count.saturating_sub(1))
        } else {
            self.highlight.saturating_sub(1)
        };
    }

    /// A page of preview up or down, as the layout's `areas` have it,
    /// stopping at its last row.
    fn scroll_page(&mut self, down: bool, areas: &crate::tui::ui::decision::Areas) {
        let scroll = self.scroll.min(areas.most_scroll());
        self.scroll = if down {
            scroll.saturating_add(areas.page()).min(areas.most_scroll())
        } else {
            scroll.saturating_sub(areas.page())
        };
    }
}

impl App {
    /// Whether the decision view is on screen: for the owner while open,
    /// for others (read-only) whenever something is pending.
    pub fn decision_shown(&self) -> bool {
        !self.pending.is_empty() && (self.decision.open || !self.is_owner())
    }

    /// Opens the decision view on `request_id` (the inbox answers it in
    /// place); false when it is not pending here.
    pub fn focus_request(&mut self, request_id: &str) -> bool {
        if !self.pending.iter().any(|p| p.request_id == request_id) {
            return false;
        }
        if self.decision.current.as_deref() != Some(request_id) || !self.decision.open {
            self.decision.show(Some(request_id.to_owned()));
        }
        true
    }

    /// The request the view shows, with its position (oldest first).
    pub fn decision_request(&self) -> Option<(usize, &Pending)> {
        let shown = |id: &String| self.pending.iter().position(|p| &p.request_id == id);
        let at = self
            .decision
            .current
            .as_ref()
            .and_then(shown)
            .or_else(|| self.first_unanswered())
            .unwrap_or(0);
        self.pending.get(at).map(|p| (at, p))
    }

    fn first_unanswered(&self) -> Option<usize> {
        self.pending
            .iter()
            .position(|p| !self.decision.answered.contains(&p.request_id))
    }

    /// Who is expected to answer, for those who cannot.
    pub fn waiting_for(&self) -> String {
        if let Some(owner) = self.participants.iter().find(|p| p.role == Role::Owner) {
            return format!("waiting for {} to answer", sanitize_plain(&owner.identity));
        }
        match self.ownership() {
            Ownership::Held { identity, .. } => {
                format!("waiting for {identity} (away; the owner slot is held)")
            }
            Ownership::Free { claimable: true } => {
                "nobody owns the session: F2 claims it to answer".to_owned()
            }
            _ => "waiting for an owner to answer".to_owned(),
        }
    }

    /// The keymap context while the view has the keys.
    pub(super) fn decision_context(&self) -> Option<Context> {
        if !self.decision.open || !self.decision_shown() {
            return None;
        }
        Some(if self.decision.editor.is_some() {
            Context::DecisionText
        } else {
            Context::Decision
        })
    }

    /// After every message: forget settled requests, and open the view by
    /// itself when a new request arrives (or the user becomes the owner
    /// with requests waiting).
    pub(super) fn sync_decision(&mut self) {
        let pending: Vec<&str> = self.pending.iter().map(|p| p.request_id.as_str()).collect();
        let owner = self.is_owner();
        self.decision.sync(&pending, owner, self.now);
    }

    /// Enter in the permissions pane: the selected request, in full.
    pub(super) fn open_decision_on_selected(&mut self) {
        let id = self
            .pending
            .get(self.selected_request)
            .map(|p| p.request_id.clone());
        if id.is_some() {
            self.decision.show(id);
        }
    }

    /// Before a key is handled: typing in the input box is noted, so that
    /// a request appearing mid-word does not take the next keys as answers.
    pub(super) fn note_key(&mut self, key: &KeyEvent) {
        if self.decision_context().is_none() && self.focus == Focus::Input && is_text(key) {
            self.decision.typed_at = Some(self.now);
        }
    }

    /// Keys while the view has them; None lets the usual handling go on
    /// (global keys, and Tab, which leaves the view first).
    pub(super) fn on_decision_key(&mut self, key: KeyEvent) -> Option<Vec<Effect>> {
        if self.decision_context()? == Context::DecisionText {
            return Some(self.on_editor_key(key));
        }
        let action = lookup(&key, Context::Decision);
        let held = self.decision.holding(self.now);
        if held && (answers(action) || is_text(&key) || key.code == KeyCode::Backspace) {
            // Typed by reflex as the request appeared: not an answer. Kept
            // nowhere either: the message box is hidden behind the view, and
            // keys sent on from there later would be a message nobody read.
            // The view says answers are held (`DecisionView::holding`).
            return Some(Vec::new());
        }
        let effects = match action {
            Some(Action::ChooseNumbered) => match key.code {
                KeyCode::Char(c @ '1'..='9') => self.choose(c as usize - '1' as usize),
                _ => Vec::new(),
            },
            Some(Action::ChooseHighlighted) => self.choose(self.decision.highlight),
            // Allow once is always the first choice.
            Some(Action::Allow) => self.choose(0),
            Some(Action::AllowAlways) => self.choose_always(),
            Some(Action::Deny) => self.deny_at_once(),
            Some(Action::EditAndAllow) => self.choose_edit(),
            Some(Action::SelectUp) => self.move_highlight(false),
            Some(Action::SelectDown) => self.move_highlight(true),
            Some(Action::PreviewUp) => self.scroll_preview(false),
            Some(Action::PreviewDown) => self.scroll_preview(true),
            Some(Action::PrevRequest) => self.step_request(false),
            Some(Action::NextRequest) => self.step_request(true),
            Some(Action::CloseDecision) => {
                self.decision.close();
                if self.is_owner() {
                    self.say(
                        "still pending: Enter on it in the permissions pane shows it again",
                        Level::Info,
                    );
                }
                Vec::new()
            }
            Some(Action::FocusNext | Action::FocusPrev) => {
                self.decision.close();
                return None;
            }
            Some(_) => return None,
            None => {
                if matches!(key.code, KeyCode::Char(_)) {
                    self.say(
                        "a permission request has the keys: y allows, n denies, Esc goes back to typing",
                        Level::Info,
                    );
                }
                Vec::new()
            }
        };
        Some(effects)
    }

    fn may_answer(&mut self) -> bool {
        if !self.is_owner() {
            self.say("read-only: only the owner can answer requests", Level::Info);
        }
        self.is_owner()
    }

    fn choose(&mut self, index: usize) -> Vec<Effect> {
        if !self.may_answer() {
            return Vec::new();
        }
        let Some((_, request)) = self.decision_request() else {
            return Vec::new();
        };
        let Some(choice) = choices(request).get(index).cloned() else {
            return Vec::new();
        };
        let request_id = request.request_id.clone();
        self.decision.highlight = index;
        match choice {
            Choice::Allow { option, .. } => self.answer(Answer {
                request_id,
                decision: Decision::Allow,
                option,
                message: None,
                updated_input: None,
            }),
            Choice::EditAndAllow => {
                self.open_editor(false);
                Vec::new()
            }
            Choice::Deny { .. } => {
                self.open_editor(true);
                Vec::new()
            }
        }
    }

    fn choose_edit(&mut self) -> Vec<Effect> {
        let at = self
            .decision_request()
            .and_then(|(_, r)| choices(r).iter().position(|c| *c == Choice::EditAndAllow));
        match at {
            Some(at) => self.choose(at),
            None => {
                self.say(
                    "this agent cannot run an edited input: allow it as it is, or deny",
                    Level::Info,
                );
                Vec::new()
            }
        }
    }

    /// `a`: the first allow-always answer (after allow once, first).
    fn choose_always(&mut self) -> Vec<Effect> {
        let at = self
            .decision_request()
            .and_then(|(_, r)| first_always(&choices(r)));
        match at {
            Some(at) => self.choose(at),
            None => {
                self.say(
                    "this request offers no always-allow: y allows once",
                    Level::Info,
                );
                Vec::new()
            }
        }
    }

    /// `n`: deny with no message.
    fn deny_at_once(&mut self) -> Vec<Effect> {
        if !self.may_answer() {
            return Vec::new();
        }
        let Some((_, request)) = self.decision_request() else {
            return Vec::new();
        };
        let answer = deny(request, None);
        self.answer(answer)
    }

    fn open_editor(&mut self, message: bool) {
        let Some((_, request)) = self.decision_request() else {
            return;
        };
        // What the agent wrote, as shown (escapes made visible): what is
        // sent is exactly what the owner saw and edited.
        let (kind, text, placeholder) = match (message, request.command()) {
            (true, _) => (
                EditorKind::Message,
                String::new(),
                "why not, or what to do instead (optional)",
            ),
            (false, Some(command)) => (EditorKind::Command, sanitize_plain(&literal(command)), ""),
            (false, None) => {
                let json = serde_json::to_string_pretty(&request.input).unwrap_or_default();
                (EditorKind::Json, sanitize_plain(&literal(&json)), "")
            }
        };
        let mut text_area = TextArea::from(text.split('\n').map(str::to_owned));
        text_area.set_placeholder_text(placeholder);
        text_area.set_cursor_line_style(ratatui::style::Style::default());
        text_area.move_cursor(ratatui_textarea::CursorMove::Bottom);
        text_area.move_cursor(ratatui_textarea::CursorMove::End);
        self.decision.editor = Some(Editor {
            kind,
            request_id: request.request_id.clone(),
            text: text_area,
            problem: None,
        });
    }

    fn on_editor_key(&mut self, key: KeyEvent) -> Vec<Effect> {
        if lookup(&key, Context::Global) == Some(Action::Quit) {
            return vec![Effect::Quit];
        }
        let action = lookup(&key, Context::DecisionText);
        let Some(editor) = self.decision.editor.as_mut() else {
            return Vec::new();
        };
        match action {
            Some(Action::CloseDecision) => self.decision.editor = None,
            Some(Action::NewLine) => editor.text.insert_newline(),
            Some(Action::Send) => return self.submit_editor(),
            _ => {
                super::text_edit::edit(&mut editor.text, key);
            }
        }
        Vec::new()
    }

    /// Enter in a text area: the answer, or why nothing is sent.
    fn submit_editor(&mut self) -> Vec<Effect> {
        let Some(editor) = self.decision.editor.as_ref() else {
            return Vec::new();
        };
        let Some(request) = self
            .pending
            .iter()
            .find(|p| p.request_id == editor.request_id)
        else {
            self.decision.editor = None;
            return Vec::new();
        };
        let text = editor.text.lines().join("\n");
        let answer = match editor.kind {
            EditorKind::Message => {
                let message = Some(text.trim().to_owned()).filter(|m| !m.is_empty());
                Ok(deny(request, message))
            }
            EditorKind::Command => edited_command(request, &text),
            EditorKind::Json => edited_input(request, &text),
        };
        match answer {
            Ok(answer) => self.answer(answer),
            Err(problem) => {
                if let Some(editor) = self.decision.editor.as_mut() {
                    editor.problem = Some(problem);
                }
                Vec::new()
            }
        }
    }

    fn answer(&mut self, answer: Answer) -> Vec<Effect> {
        self.decision.editor = None;
        self.decision.answered.insert(answer.request_id.clone());
        let effects = self.send_tracked(|id| answer.into_message(id), None);
        // On to the next request still waiting, else back where the user was.
        match self.first_unanswered() {
            Some(at) => {
                let next = self.pending[at].request_id.clone();
                self.decision.show(Some(next));
            }
            None => self.decision.close(),
        }
        effects
    }

    fn move_highlight(&mut self, down: bool) -> Vec<Effect> {
        let count = self.decision_request().map_or(0, |(_, r)| choices(r).len());
        self.decision.move_highlight(down, count);
        Vec::new()
    }

    /// PgUp/PgDn: a page of preview as the layout has it.
    fn scroll_preview(&mut self, down: bool) -> Vec<Effect> {
        if let Some(areas) = self.layout().decision {
            self.decision.scroll_page(down, &areas);
        }
        Vec::new()
    }

    fn step_request(&mut self, forward: bool) -> Vec<Effect> {
        let Some((at, _)) = self.decision_request() else {
            return Vec::new();
        };
        let to = if forward {
            (at + 1).min(self.pending.len() - 1)
        } else {
            at.saturating_sub(1)
        };
        let id = self.pending[to].request_id.clone();
        if to != at {
            self.decision.show(Some(id));
        }
        Vec::new()
    }
}

/// Whether the action answers the request (or opens a text area to).
fn answers(action: Option<Action>) -> bool {
    matches!(
        action,
        Some(
            Action::ChooseNumbered
                | Action::ChooseHighlighted
                | Action::Allow
                | Action::AllowAlways
                | Action::Deny
                | Action::EditAndAllow
        )
    )
}

#[cfg(test)]
#[path = "tests/decision.rs"]
mod tests;
