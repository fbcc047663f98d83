//! Server messages applied to the state: one method per message and per
//! event kind. What an event looks like is [`cells`]' business.

use std::time::SystemTime;

use serde_json::Value;

use super::participant_labels::ParticipantLabels;
use super::{App, ConnState, Effect, Level, Pending};
use crate::protocol::{
    AgentState, ClientMessage, ErrorCode, EventKind, EventRecord, NoticeLevel, OutputStream,
    ParticipantInfo, Resume, Role, ServerMessage, SessionDescription, TurnOutcome, You,
};
use crate::tui::cells;
use crate::tui::cells::sequence::Plan;
use crate::tui::text::StyledText;
use crate::tui::transcript::{Block, BlockKind};

pub use crate::tui::cells::{format_duration_ms, summarize_input};

impl App {
    pub(super) fn on_server(&mut self, message: ServerMessage) -> Vec<Effect> {
        if self.awaiting_ready && !matches!(message, ServerMessage::Ready { .. }) {
            return Vec::new();
        }
        match message {
            ServerMessage::Ready {
                session,
                you,
                state,
                pending,
                agent,
                features,
                ..
            } => {
                self.agent = agent.map(|a| *a).unwrap_or_default();
                self.note_features(&features);
                return self.on_ready(session, you, state, pending);
            }
            ServerMessage::Role { role, reason } => self.on_role(role, reason),
            ServerMessage::Participants {
                participants,
                unlisted,
                ..
            } => {
                self.unlisted_participants = unlisted;
                self.on_participants(participants);
            }
            ServerMessage::Event(record) => return self.in_live(|app| app.on_event(record)),
            ServerMessage::CaughtUp { .. } => self.resuming = false,
            ServerMessage::Ack { id, .. } => self.on_ack(&id),
            ServerMessage::Error {
                id, code, message, ..
            } => self.in_live(|app| app.on_error(id, code, &message)),
            ServerMessage::History(page) => return self.on_history(page),
            ServerMessage::Skipped { from, to } => return self.on_skipped(from, to),
            ServerMessage::Pong { .. } | ServerMessage::Unknown => {}
        }
        Vec::new()
    }

    fn on_ready(
        &mut self,
        session: SessionDescription,
        you: You,
        state: AgentState,
        pending: Vec<EventRecord>,
    ) -> Vec<Effect> {
        self.awaiting_ready = false;
        let new_history = self
            .session
            .as_ref()
            .is_some_and(|known| known.epoch != session.epoch);
        if new_history {
            // A host restarted without its journal: start over.
            self.back_to_live(false);
            self.transcript.clear();
            self.tool_order = Default::default();
            self.new_plan_cell();
            self.tool_order = Default::default();
            self.order.clear();
            self.pending.clear();
            self.set_last_applied(0);
            self.session = Some(session);
            self.awaiting_ready = true;
            self.push_notice(
                NoticeLevel::Warn,
                "the host started a new history (new epoch): the transcript starts over",
                0,
            );
            return vec![Effect::Reconnect];
        }
        self.session = Some(session);
        self.me = Some(you);
        self.label_participants();
        self.greeting_role = true;
        self.agent_state = state;
        self.pending.clear();
        for record in pending {
            if let Some(request) = Pending::from_event(record.event, &record.ts) {
                let (id, tool, summary) = (&request.request_id, &request.tool, &request.summary);
                self.order.note_request(id, tool, summary, &request.options);
                self.track_pending(request);
            }
        }
        Vec::new()
    }

    fn on_role(&mut self, role: Role, reason: Option<String>) {
        let greeting = std::mem::take(&mut self.greeting_role);
        if self.role != role && !greeting {
            let why = reason.map(|r| format!(" ({r})")).unwrap_or_default();
            let label = match role {
                Role::Owner => "you are now the owner",
                Role::Follower => "you are now a read-only follower",
            };
            self.say(format!("{label}{why}"), Level::Info);
        }
        self.role = role;
    }

    fn on_participants(&mut self, participants: Vec<ParticipantInfo>) {
        self.participants = participants;
        self.label_participants();
        self.selected_participant = self
            .selected_participant
            .min(self.participants.len().saturating_sub(1));
    }

    fn label_participants(&mut self) {
        let me = self.me.as_ref().map(|m| m.participant.as_str());
        self.participant_labels = ParticipantLabels::new(&self.participants, me);
    }

    fn on_ack(&mut self, id: &str) {
        if let Some(done) = self.take_in_flight(id)
            && done.text.is_some()
        {
            self.input = super::new_input("Type a message; Enter sends");
        }
    }

    fn on_error(&mut self, id: Option<String>, code: ErrorCode, message: &str) {
        if let Some(id) = &id {
            self.history_refused(id);
        }
        let refused = id.and_then(|id| self.take_in_flight(&id));
        if let Some(text) = refused.and_then(|f| f.text) {
            // Nothing typed is lost: the text goes back in the box.
            self.input = super::new_input("Type a message; Enter sends");
            self.input.insert_str(text);
        }
        if code != ErrorCode::Gap {
            self.say(format!("refused: {message}"), Level::Error);
        } else {
            self.push_notice(NoticeLevel::Warn, message, 0);
        }
    }

    fn take_in_flight(&mut self, id: &str) -> Option<super::InFlight> {
        let at = self.in_flight.iter().position(|(i, _)| i == id)?;
        self.in_flight.remove(at).map(|(_, f)| f)
    }

    fn on_event(&mut self, record: EventRecord) -> Vec<Effect> {
        let last = self.last_applied();
        if record.seq <= last {
            return Vec::new(); // a replay of something already applied
        }
        if record.seq > last + 1 {
            return self.resume_after_gap();
        }
        self.set_last_applied(record.seq);
        self.apply_event(record);
        self.keep_window();
        Vec::new()
    }

    /// Events were missed: asks for them instead of skipping them.
    pub(super) fn resume_after_gap(&mut self) -> Vec<Effect> {
        if self.resuming {
            return Vec::new();
        }
        self.resuming = true;
        let resume = ClientMessage::Resume(Resume {
            id: None,
            since: self.last_applied(),
        });
        if matches!(self.conn, ConnState::Connected { .. }) {
            vec![Effect::Send(resume)]
        } else {
            Vec::new()
        }
    }

    fn track_pending(&mut self, mut request: Pending) {
        request.editable = self
            .session
            .as_ref()
            .is_none_or(|session| session.takes_updated_input);
        if self
            .pending
            .iter()
            .any(|p| p.request_id == request.request_id)
        {
            return;
        }
        self.pending.push(request);
    }

    /// The line settling a request, with what it was about and what an
    /// allow-always answer remembers (the sequencer knows both).
    fn on_permission_resolved(&mut self, seq: u64, resolved: EventKind, plan: &Plan) {
        let EventKind::PermissionResolved {
            request_id,
            decision,
            by,
            message,
            updated_input,
            ..
        } = resolved
        else {
            return;
        };
        self.settle_pending(&request_id);
        let settled = plan.settled.clone();
        let cell = cells::permission_resolved(
            decision,
            &by,
            settled
                .as_ref()
                .map_or(request_id.as_str(), |s| s.subject.as_str()),
            message.as_deref(),
            updated_input.as_ref(),
            settled.as_ref().and_then(|s| s.always.as_deref()),
        );
        self.answer_in_place(&request_id, seq, cell);
    }

    /// The answer takes the request's line: one line says what was asked
    /// and how it was answered.
    fn answer_in_place(&mut self, request_id: &str, seq: u64, cell: StyledText) {
        let block = Block::new(BlockKind::Permission, seq, cell);
        match self.tool_order.take_request(request_id) {
            Some(at) if at < self.transcript.len() => {
                self.transcript.replace(at, block);
            }
            _ => self.transcript.push(block),
        }
    }

    /// Forgets a settled request.
    fn settle_pending(&mut self, request_id: &str) {
        let Some(at) = self.pending.iter().position(|p| p.request_id == request_id) else {
            return;
        };
        self.pending.remove(at);
        self.selected_request = self
            .selected_request
            .min(self.pending.len().saturating_sub(1));
        // The deny-reason prompt for a request someone else settled closes.
        self.modals.retain(
            |o| !matches!(o, super::Modal::DenyReason { request_id: r, .. } if r == request_id),
        );
    }

    fn push(&mut self, kind: BlockKind, seq: u64, cell: StyledText) {
        self.transcript.push(Block::new(kind, seq, cell));
    }

    fn push_notice(&mut self, level: NoticeLevel, text: &str, seq: u64) {
        self.push(BlockKind::Notice, seq, cells::notice(level, text));
    }

    /// A command's output is over: show any held tail and forget styles.
    pub(super) fn end_streams(&mut self, seq: u64) {
        self.flush_streams(seq);
        let cut = self.take_output_cut();
        if std::mem::take(&mut self.output_open) && !cut {
            self.fold_output();
        }
    }

    /// Shows what the streams hold back (half a sequence) and forgets
    /// their styles.
    pub(super) fn flush_streams(&mut self, seq: u64) {
        for (stream, kind) in [
            (OutputStream::Stdout, BlockKind::Stdout),
            (OutputStream::Stderr, BlockKind::Stderr),
        ] {
            let tail = self.streams.get_mut(stream);
            if let Some(cell) = tail.finish(cells::stream_base(stream)) {
                self.transcript.push_or_extend(kind, seq, cell);
            }
        }
    }

    /// The output just ended, when long, shows its ends until opened.
    fn fold_output(&mut self) {
        let blocks = self.transcript.len();
        for at in blocks.saturating_sub(2)..blocks {
            let Some(block) = self.transcript.blocks().get(at) else {
                continue;
            };
            let output = matches!(block.kind, BlockKind::Stdout | BlockKind::Stderr);
            if !output || block.is_collapsible() {
                continue;
            }
            if let Some(fold) = cells::detail::output_fold(block.text(), block.line_starts()) {
                self.transcript.fold(at, fold);
            }
        }
    }

    pub(super) fn apply_event(&mut self, record: EventRecord) {
        let EventRecord { seq, ts, event } = record;
        let plan = self.order.plan(&event);
        if plan.ends_streams {
            self.end_streams(seq);
        }
        self.apply_cell(seq, &ts, event, &plan);
        self.release_tool_use(&plan);
    }

    fn apply_cell(&mut self, seq: u64, ts: &str, event: EventKind, plan: &Plan) {
        match event {
            EventKind::UserMessage { text, by, .. } => self.on_user_message(seq, &by, &text),
            EventKind::Assistant { text } => self.on_assistant(seq, text),
            EventKind::AssistantDelta { text } => self.on_assistant_delta(seq, &text),
            EventKind::Thinking { text } => self.on_thinking(seq, &text),
            EventKind::ToolUse { name, input, .. } => self.on_tool_use(seq, &name, &input, plan),
            EventKind::ToolResult {
                content, is_error, ..
            } => self.on_tool_result(seq, &content, is_error),
            EventKind::Output { stream, text } => self.on_output(seq, stream, &text),
            EventKind::PermissionRequest { .. } => {
                self.order_tool_use(plan);
                self.on_permission_request(seq, ts, event)
            }
            resolved @ EventKind::PermissionResolved { .. } => {
                self.on_permission_resolved(seq, resolved, plan);
            }
            EventKind::PermissionCancelled { request_id, reason } => {
                self.on_permission_cancelled(seq, &request_id, reason, plan)
            }
            EventKind::Interrupt { by } => self.push(BlockKind::Notice, seq, cells::interrupt(&by)),
            EventKind::RuleAdded { rule, by } => {
                self.rule_added(&rule);
                self.push(BlockKind::Notice, seq, cells::rule_added(&rule, &by))
            }
            EventKind::RuleRemoved { rule_id, by } => {
                self.rule_removed(&rule_id);
                self.push(BlockKind::Notice, seq, cells::rule_removed(&rule_id, &by))
            }
            EventKind::Status {
                state,
                detail,
                exit_code,
            } => self.on_status(seq, state, detail, exit_code),
            EventKind::TurnEnd {
                outcome,
                duration_ms,
                cost_usd,
                num_turns,
                ..
            } => self.on_turn_end(seq, outcome, duration_ms, cost_usd, num_turns),
            EventKind::Metadata { title, model, .. } => self.on_metadata(title, model),
            EventKind::Notice { level, text } => self.push_notice(level, &text, seq),
            EventKind::OwnerChanged {
                owner,
                previous,
                reason,
                held_ms,
            } => {
                let change = cells::owner::OwnerChange {
                    owner: owner.as_ref(),
                    previous: previous.as_ref(),
                    reason,
                    held_ms,
                };
                let me = self.me.as_ref().and_then(|me| {
                    let mine = self.participants.iter().find(|p| p.id == me.participant)?;
                    Some((me.participant.as_str(), mine.connected_at.as_str()))
                });
                let cell = cells::owner::owner_changed(change, me);
                self.push(BlockKind::Notice, seq, cell);
            }
            EventKind::Mode { .. }
            | EventKind::Commands { .. }
            | EventKind::Plan { .. }
            | EventKind::Usage { .. } => self.on_agent_info(seq, &event),
            EventKind::Unknown => {}
        }
    }

    fn on_user_message(&mut self, seq: u64, by: &str, text: &str) {
        self.new_plan_cell();
        self.push(BlockKind::User, seq, cells::user_message(by, text));
    }

    /// The text is moved, not copied: plain prose becomes the cell's text.
    /// A reply with a table keeps its text to lay the table out again
    /// for the pane's width.
    fn on_assistant(&mut self, seq: u64, text: String) {
        let block = if crate::tui::markdown::has_table(&text) {
            let width = self.transcript.layout_width();
            let cell = cells::assistant_at(&text, width);
            Block::new(BlockKind::Assistant, seq, cell).laid_out(text, width, cells::assistant_at)
        } else {
            Block::new(BlockKind::Assistant, seq, cells::assistant(text))
        };
        self.transcript.finish_stream(block);
    }

    fn on_assistant_delta(&mut self, seq: u64, text: &str) {
        let width = self.transcript.layout_width();
        self.transcript
            .stream_delta(seq, text, |raw| cells::assistant_at(raw, width));
    }

    fn on_thinking(&mut self, seq: u64, text: &str) {
        self.push(BlockKind::Thinking, seq, cells::thinking(text));
    }

    /// A one-line summary; Enter in the transcript shows the whole input.
    /// Shown at once; a permission request for it moves it after the
    /// answer (`hold_tool_use`).
    fn on_tool_use(&mut self, seq: u64, name: &str, input: &Value, plan: &Plan) {
        let full = cells::detail::tool_use_detail(name, input);
        let block = Block::collapsible(BlockKind::ToolUse, seq, full, cells::tool_use(name, input));
        self.call_in_answer(plan, block);
    }

    /// A long result shows its head until opened.
    fn on_tool_result(&mut self, seq: u64, content: &str, is_error: bool) {
        let cell = cells::tool_result(content, is_error);
        let block = match cells::detail::tool_result_head(content, is_error) {
            Some(head) => Block::collapsible(BlockKind::ToolResult, seq, cell, head),
            None => Block::new(BlockKind::ToolResult, seq, cell),
        };
        self.transcript.push(block);
    }

    /// Chunks continue the block of the same stream, and its colours; a
    /// sequence cut in two waits for its other half.
    fn on_output(&mut self, seq: u64, stream: OutputStream, text: &str) {
        let kind = match stream {
            OutputStream::Stdout => BlockKind::Stdout,
            OutputStream::Stderr => BlockKind::Stderr,
        };
        self.output_open = true;
        let tail = self.streams.get_mut(stream);
        self.transcript.push_or_extend_with(kind, seq, |out| {
            tail.feed_onto(out, text, cells::stream_base(stream));
        });
    }

    fn on_permission_request(&mut self, seq: u64, ts: &str, event: EventKind) {
        let Some(request) = Pending::from_event(event, ts) else {
            return;
        };
        let cell = cells::permission_request(&request.tool, &request.input);
        let at = self.transcript.len();
        let diff = match request.preview.as_deref() {
            Some(preview @ crate::protocol::Preview::Diff { .. }) => {
                let mut diff = StyledText::default();
                for (n, line) in cells::preview::preview_texts(Some(preview), &request.input)
                    .iter()
                    .enumerate()
                {
                    if n > 0 {
                        diff.push("\n", Default::default());
                    }
                    diff.push("  ", Default::default());
                    diff.append(line);
                }
                Some(diff)
            }
            _ => None,
        };
        self.tool_order.note_request(&request.request_id, at, diff);
        self.track_pending(request);
        self.push(BlockKind::Permission, seq, cell);
    }

    fn on_permission_cancelled(
        &mut self,
        seq: u64,
        request_id: &str,
        reason: Option<String>,
        plan: &Plan,
    ) {
        self.settle_pending(request_id);
        let subject = plan
            .settled
            .as_ref()
            .map_or(request_id, |s| s.subject.as_str());
        let cell = cells::permission_cancelled(subject, reason.as_deref());
        self.answer_in_place(request_id, seq, cell);
    }

    fn on_status(
        &mut self,
        seq: u64,
        state: AgentState,
        detail: Option<String>,
        exit_code: Option<i32>,
    ) {
        self.agent_state = state;
        if state != AgentState::Exited {
            return;
        }
        let block = Block::new(
            BlockKind::Notice,
            seq,
            cells::agent_exited(exit_code, detail.as_deref()),
        );
        // Agents announce a failed exit with a notice too: one line says it.
        let repeated = self.transcript.last().is_some_and(|last| {
            last.kind == BlockKind::Notice
                && last
                    .text()
                    .text
                    .strip_prefix("[error] ")
                    .is_some_and(|notice| cells::notice_repeats_exit(notice, detail.as_deref()))
        });
        if repeated {
            self.transcript.replace_last(block);
        } else {
            self.transcript.push(block);
        }
    }

    fn on_turn_end(
        &mut self,
        seq: u64,
        outcome: TurnOutcome,
        duration_ms: Option<u64>,
        cost_usd: Option<f64>,
        num_turns: Option<u64>,
    ) {
        let cell = cells::turn_end(outcome, duration_ms, cost_usd, num_turns);
        self.push(BlockKind::TurnEnd, seq, cell);
    }

    fn on_metadata(&mut self, title: Option<String>, model: Option<String>) {
        if let Some(model) = model {
            self.model = Some(crate::tui::sanitize::sanitize_plain(&model));
        }
        if let (Some(title), Some(session)) = (title, self.session.as_mut()) {
            session.title = title;
        }
    }
}

/// "12s" / "3m" since `then`.
pub fn waited(now: SystemTime, then: Option<SystemTime>) -> String {
    let Some(then) = then else {
        return String::new();
    };
    let secs = now.duration_since(then).unwrap_or_default().as_secs();
    if secs < 60 {
        format!("{secs}s")
    } else if secs < 3600 {
        format!("{}m", secs / 60)
    } else {
        format!("{}h", secs / 3600)
    }
}
