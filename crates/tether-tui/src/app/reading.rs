//! Reading what happened: the transcript's block cursor and search, the
//! help's scrolling, the input box's history and line editing, and the
//! order in which a tool call and its permission request read.

use ratatui_textarea::CursorMove;

use super::{App, Effect, Level};

/// The most OSC 52 carries: terminals drop larger copies (xterm's limit,
/// and tmux's default buffer, are about this).
const COPY_LIMIT: usize = 74 * 1024;
use crate::tui::cells::sequence::Plan;
use crate::tui::keymap::Action;
use crate::tui::text::StyledText;
use crate::tui::transcript::{Block, BlockKind, Transcript};

impl App {
    pub(super) fn act_reading(&mut self, action: Action) {
        match action {
            Action::DeleteToLineStart if self.can_edit_input() => {
                self.input.delete_line_by_head();
            }
            Action::HistoryPrev => self.history_back(),
            Action::HistoryNext => self.history_forward(),
            Action::HistorySearch if self.can_edit_input() => {
                let query = super::Modal::prompt("type to search what you sent");
                let found = self.history.find("", None).map(|(at, _)| at);
                self.modals
                    .push(super::Modal::HistorySearch { query, found });
            }
            Action::BlockUp => self.transcript.select_block(false),
            Action::BlockDown => self.transcript.select_block(true),
            Action::ToggleBlock => self.toggle_block(),
            _ => {}
        }
    }

    /// Ctrl+O: the message to the user's editor (the owner's box only).
    pub(super) fn edit_externally(&mut self) -> Vec<Effect> {
        if !self.can_edit_input() {
            self.say("read-only: only the owner can write messages", Level::Info);
            return Vec::new();
        }
        vec![Effect::EditExternally(self.input.lines().join("\n"))]
    }

    /// The editor's text replaces the box's (kept as it was when the
    /// editor failed, which the log tells).
    pub(super) fn take_edited(&mut self, text: Option<String>) {
        match text {
            Some(text) if self.can_edit_input() => self.replace_input(&text),
            Some(_) => self.say(
                "the box is locked: the edited text was not kept",
                Level::Error,
            ),
            None => self.say("the editor failed: the message is as it was", Level::Error),
        }
    }

    /// `c` on a selected block: all of its text (expanded or not, no
    /// styles) goes to the terminal's clipboard.
    pub(super) fn copy_block(&mut self) -> Vec<Effect> {
        let Some(block) = self
            .transcript
            .selected()
            .and_then(|at| self.transcript.blocks().get(at))
        else {
            self.say("nothing to copy: ↑/↓ select a block first", Level::Info);
            return Vec::new();
        };
        let text = block.text().text.trim_end_matches('\n').to_owned();
        if text.len() > COPY_LIMIT {
            let size = text.len() / 1024;
            self.say(
                format!("too long to copy through the terminal ({size} KiB)"),
                Level::Error,
            );
            return Vec::new();
        }
        let lines = text.lines().count();
        let noun = if lines == 1 { "line" } else { "lines" };
        self.say(
            format!("copied {lines} {noun} to the clipboard"),
            Level::Info,
        );
        vec![Effect::Copy(text)]
    }

    fn toggle_block(&mut self) {
        if !self.transcript.toggle_selected() {
            let text = "nothing to expand: ↑/↓ select a tool call or a long result";
            self.say(text, Level::Info);
        }
    }

    /// ↑ on an empty box or its first line: the message sent before.
    fn history_back(&mut self) {
        if !self.can_edit_input() {
            return;
        }
        if self.input.cursor().0 > 0 {
            self.input.move_cursor(CursorMove::Up);
            return;
        }
        let current = self.input.lines().join("\n");
        if let Some(text) = self.history.back(&current).map(str::to_owned) {
            self.replace_input(&text);
        }
    }

    /// ↓ on the last line while walking: the message after, then the draft.
    fn history_forward(&mut self) {
        if !self.can_edit_input() {
            return;
        }
        let last_line = self.input.cursor().0 + 1 >= self.input.lines().len();
        if !last_line || !self.history.walking() {
            self.input.move_cursor(CursorMove::Down);
            return;
        }
        if let Some(text) = self.history.forward() {
            self.replace_input(&text);
        }
    }

    pub(super) fn replace_input(&mut self, text: &str) {
        self.input = super::new_input("Type a message; Enter sends");
        self.input.insert_str(text);
    }

    /// Enter in the search prompt: an empty query changes nothing. No
    /// match in what is held searches the older history on the host, then
    /// what lies between pages of history shown and the live transcript,
    /// then the live transcript.
    pub(super) fn run_search(&mut self, text: &str) -> Vec<Effect> {
        if text.trim().is_empty() {
            return Vec::new();
        }
        if self.transcript.search(text) > 0 {
            return Vec::new();
        }
        if self.history_beyond() {
            return self.search_history(text);
        }
        if self.history_unheld() {
            return self.search_between(text);
        }
        if !self.show_live_match(text, false) {
            self.say(format!("no match for {text:?}"), Level::Info);
        }
        Vec::new()
    }

    /// n / N: the next match, newer or older; past the oldest held, the
    /// host searches the older history; past the newest of older pages
    /// shown, the live transcript's.
    pub(super) fn step_match(&mut self, newer: bool) -> Vec<Effect> {
        let query = self.transcript.search.as_ref().map(|s| s.query.clone());
        let Some(query) = query.filter(|q| !q.is_empty()) else {
            return Vec::new();
        };
        if !newer && self.transcript.at_first_match() && self.history_beyond() {
            return self.search_history(&query);
        }
        if newer && self.transcript.at_last_match() && self.reading_history() {
            if self.unheld_after_pages().is_some() {
                return self.search_next(&query);
            }
            self.back_to_live(true);
            self.transcript.search(&query);
            return Vec::new();
        }
        self.transcript.step_match(newer);
        Vec::new()
    }

    /// The order of a tool call and its request (see [`ToolOrder`]).
    pub(super) fn order_tool_use(&mut self, plan: &Plan) {
        self.tool_order.hold(plan, &mut self.transcript);
    }

    pub(super) fn release_tool_use(&mut self, plan: &Plan) {
        self.tool_order.release(plan, &mut self.transcript);
    }

    /// A call the answer just before allowed: it takes the answer's line
    /// (which says what runs; Enter shows its whole input), if that line
    /// is still the last one.
    pub(super) fn call_in_answer(&mut self, plan: &Plan, call: Block) {
        let last = self.transcript.len().checked_sub(1);
        let answer = last
            .filter(|_| plan.call_answered.is_some())
            .filter(|at| self.tool_order.last_answer == Some(*at))
            .and_then(|at| Some((at, self.transcript.blocks().get(at)?.text().clone())));
        match answer {
            Some((at, line)) => {
                let seq = call.seq;
                let detail = self.tool_order.call_detail(&call);
                let block = Block::collapsible(BlockKind::ToolUse, seq, detail, line);
                self.transcript.replace(at, block);
            }
            None => self.transcript.push(call),
        }
    }
}

/// Tool calls and their permission requests, so they read in order.
#[derive(Debug, Default)]
pub struct ToolOrder {
    /// Calls waiting for their request's answer, by `tool_use_id`.
    held: Vec<(String, Block)>,
    /// Where each open request's line is (its answer takes it), with its
    /// preview's diff.
    requests: std::collections::HashMap<String, (usize, Option<StyledText>)>,
    /// The diff of the request answered last.
    answered_diff: Option<StyledText>,
    /// The line of the answer just given: an allowed call is shown there
    /// (expandable to its whole input).
    answered: Option<usize>,
    /// The line of the last answer, for a call announced after it.
    last_answer: Option<usize>,
}

impl ToolOrder {
    /// A permission request for the call shown last: the call moves after
    /// the request's answer, where it really runs (the sequencer says
    /// which call; it moves only if nothing was shown after it).
    fn hold(&mut self, plan: &Plan, transcript: &mut Transcript) {
        let Some(call) = &plan.hold_call else {
            return;
        };
        let is_last_call = transcript
            .last()
            .is_some_and(|b| b.kind == BlockKind::ToolUse);
        if is_last_call && let Some(block) = transcript.take_last() {
            self.held.push((call.clone(), block));
        }
    }

    /// The `n` oldest blocks of the transcript went: the lines kept here
    /// move with the rest (a request whose line went is answered on a
    /// new line).
    pub(super) fn drop_front(&mut self, n: usize) {
        self.requests.retain(|_, (at, _)| match at.checked_sub(n) {
            Some(moved) => {
                *at = moved;
                true
            }
            None => false,
        });
        self.answered = self.answered.and_then(|at| at.checked_sub(n));
        self.last_answer = self.last_answer.and_then(|at| at.checked_sub(n));
    }

    /// A request's line is at `at`; `diff` is what its preview showed of
    /// an edit (with the file's lines around it).
    pub(super) fn note_request(&mut self, request_id: &str, at: usize, diff: Option<StyledText>) {
        self.requests.insert(request_id.to_owned(), (at, diff));
    }

    /// Where the request's line is, now that its answer takes it.
    pub(super) fn take_request(&mut self, request_id: &str) -> Option<usize> {
        let (at, diff) = self.requests.remove(request_id).unzip();
        self.answered = at;
        self.last_answer = at;
        self.answered_diff = diff.flatten();
        self.answered
    }

    /// The call's whole input as its line opens to: with the edit as the
    /// request's preview showed it (the file's lines around it), if any.
    fn call_detail(&self, call: &Block) -> StyledText {
        let Some(diff) = &self.answered_diff else {
            return call.text().clone();
        };
        let text = call.text();
        let first_line = text.text.find('\n').unwrap_or(text.text.len());
        let mut detail = text.slice(0, first_line);
        detail.push("\n", ratatui::style::Style::default());
        detail.append(diff);
        detail
    }

    /// The request is settled: an allowed call runs now, and the answer's
    /// line stands for it (Enter shows its whole input); a denied or
    /// withdrawn one never ran.
    fn release(&mut self, plan: &Plan, transcript: &mut Transcript) {
        let answered = self.answered.take();
        let Some((call, allowed)) = &plan.release_call else {
            return;
        };
        let Some(at) = self.held.iter().position(|(c, _)| c == call) else {
            return;
        };
        let (_, block) = self.held.remove(at);
        if !*allowed {
            return;
        }
        let answer = answered.and_then(|at| Some((at, transcript.blocks().get(at)?)));
        match answer {
            Some((at, line)) => {
                let call = Block::collapsible(
                    BlockKind::ToolUse,
                    line.seq,
                    self.call_detail(&block),
                    line.text().clone(),
                );
                transcript.replace(at, call);
            }
            None => transcript.push(block),
        }
    }
}
