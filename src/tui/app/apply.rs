//! Server messages applied to the state.

use std::time::SystemTime;

use serde_json::Value;

use super::{App, ConnState, Effect, Level, Pending};
use crate::protocol::{
    ClientMessage, Decision, ErrorCode, EventKind, EventRecord, NoticeLevel, OutputStream,
    ServerMessage, TurnOutcome,
};
use crate::tui::markdown::render_markdown;
use crate::tui::sanitize::{sanitize, sanitize_from, sanitize_into, unfinished_escape};
use crate::tui::text::StyledText;
use crate::tui::theme;
use crate::tui::transcript::{Block, BlockKind, styled};

/// A one-line, readable summary of a tool's input (the command for shells).
pub fn summarize_input(input: &Value) -> String {
    let pick = |keys: &[&str]| {
        keys.iter()
            .find_map(|k| input.get(*k).and_then(Value::as_str))
    };
    let text = match pick(&[
        "command",
        "file_path",
        "path",
        "url",
        "pattern",
        "query",
        "description",
    ]) {
        Some(text) => text.to_owned(),
        None if input.is_null() => String::new(),
        None => input.to_string(),
    };
    let one_line = text.replace('\n', " ⏎ ");
    crate::tui::sanitize::sanitize_plain(&one_line)
}

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
                ..
            } => {
                self.awaiting_ready = false;
                let new_history = self
                    .session
                    .as_ref()
                    .is_some_and(|known| known.epoch != session.epoch);
                if new_history {
                    // A host restarted without its journal: start over.
                    self.transcript.clear();
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
                self.greeting_role = true;
                self.agent_state = state;
                self.pending.clear();
                for record in pending {
                    self.track_pending(&record);
                }
                Vec::new()
            }
            ServerMessage::Role { role, reason } => {
                let greeting = std::mem::take(&mut self.greeting_role);
                if self.role != role && !greeting {
                    let why = reason.map(|r| format!(" ({r})")).unwrap_or_default();
                    let label = match role {
                        crate::protocol::Role::Owner => "you are now the owner",
                        crate::protocol::Role::Follower => "you are now a read-only follower",
                    };
                    self.say(format!("{label}{why}"), Level::Info);
                }
                self.role = role;
                Vec::new()
            }
            ServerMessage::Participants { participants, .. } => {
                self.participants = participants;
                self.selected_participant = self
                    .selected_participant
                    .min(self.participants.len().saturating_sub(1));
                Vec::new()
            }
            ServerMessage::Event(record) => self.on_event(record),
            ServerMessage::CaughtUp { .. } => {
                self.resuming = false;
                Vec::new()
            }
            ServerMessage::Ack { id, .. } => {
                if let Some(done) = self.take_in_flight(&id)
                    && done.text.is_some()
                {
                    self.input = super::new_input("Type a message; Enter sends");
                }
                Vec::new()
            }
            ServerMessage::Error {
                id, code, message, ..
            } => {
                let refused = id.and_then(|id| self.take_in_flight(&id));
                if let Some(text) = refused.and_then(|f| f.text) {
                    // Nothing typed is lost: the text goes back in the box.
                    self.input = super::new_input("Type a message; Enter sends");
                    self.input.insert_str(text);
                }
                if code != ErrorCode::Gap {
                    self.say(format!("refused: {message}"), Level::Error);
                } else {
                    self.push_notice(NoticeLevel::Warn, &message, 0);
                }
                Vec::new()
            }
            ServerMessage::Pong { .. } | ServerMessage::Unknown => Vec::new(),
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
            // A gap: ask for what is missing instead of skipping it.
            if self.resuming {
                return Vec::new();
            }
            self.resuming = true;
            let resume = ClientMessage::Resume {
                id: None,
                since: last,
            };
            return if matches!(self.conn, ConnState::Connected { .. }) {
                vec![Effect::Send(resume)]
            } else {
                Vec::new()
            };
        }
        self.set_last_applied(record.seq);
        self.apply_event(record);
        Vec::new()
    }

    fn track_pending(&mut self, record: &EventRecord) {
        if let EventKind::PermissionRequest {
            request_id,
            tool,
            input,
            ..
        } = &record.event
        {
            if self.pending.iter().any(|p| p.request_id == *request_id) {
                return;
            }
            self.pending.push(Pending {
                request_id: request_id.clone(),
                tool: tool.clone(),
                summary: summarize_input(input),
                input: input.clone(),
                raised: humantime::parse_rfc3339_weak(&record.ts).ok(),
            });
        }
    }

    fn settle_pending(&mut self, request_id: &str) -> Option<Pending> {
        let at = self
            .pending
            .iter()
            .position(|p| p.request_id == request_id)?;
        let gone = self.pending.remove(at);
        self.selected_request = self
            .selected_request
            .min(self.pending.len().saturating_sub(1));
        // The deny-reason prompt for a request someone else settled closes.
        self.overlays.retain(
            |o| !matches!(o, super::Overlay::DenyReason { request_id: r, .. } if r == request_id),
        );
        Some(gone)
    }

    fn push_notice(&mut self, level: NoticeLevel, text: &str, seq: u64) {
        let (label, style) = match level {
            NoticeLevel::Error => ("error", theme::ERROR),
            NoticeLevel::Warn => ("warning", theme::WARN),
            _ => ("note", theme::INFO),
        };
        let mut block = StyledText::default();
        block.push(&format!("[{label}] "), style);
        sanitize_into(&mut block, text, theme::DIM);
        self.transcript
            .push(Block::new(BlockKind::Notice, seq, block));
    }

    /// A command's output is over: show any held tail and forget styles.
    fn end_streams(&mut self, seq: u64) {
        for (index, kind, base) in [
            (0, BlockKind::Stdout, ratatui::style::Style::default()),
            (1, BlockKind::Stderr, theme::STDERR),
        ] {
            let (held, current) = std::mem::take(&mut self.streams[index]);
            if !held.is_empty() {
                let (styled, _) = sanitize_from(&held, base, current);
                self.transcript.push_or_extend(kind, seq, styled);
            }
        }
    }

    fn apply_event(&mut self, mut record: EventRecord) {
        let seq = record.seq;
        if !matches!(
            record.event,
            EventKind::Output { .. } | EventKind::Status { .. } | EventKind::Metadata { .. }
        ) {
            self.end_streams(seq);
        }
        let push = |app: &mut App, kind, text| app.transcript.push(Block::new(kind, seq, text));
        match &record.event {
            EventKind::UserMessage { text, by } => {
                let mut block = StyledText::default();
                block.push(&format!("▶ {} ", sanitize_name(by)), theme::USER);
                sanitize_into(&mut block, text, ratatui::style::Style::default());
                push(self, BlockKind::User, block);
            }
            EventKind::Assistant { .. } => {
                // Re-borrowed mutably so the text can be taken, not copied:
                // plain prose becomes the block's text as it is.
                let EventKind::Assistant { text } = &mut record.event else {
                    unreachable!("matched as an assistant event")
                };
                let text = std::mem::take(text);
                let block = Block::new(
                    BlockKind::Assistant,
                    seq,
                    render_markdown(text, theme::ASSISTANT),
                );
                self.transcript.finish_stream(block);
            }
            EventKind::AssistantDelta { text } => {
                self.transcript
                    .stream_delta(seq, text, |raw| render_markdown(raw, theme::ASSISTANT));
            }
            EventKind::Thinking { text } => {
                push(self, BlockKind::Thinking, sanitize(text, theme::DIM))
            }
            EventKind::ToolUse { name, input, .. } => {
                let mut block = StyledText::default();
                block.push(&format!("⚙ {} ", sanitize_name(name)), theme::TOOL);
                block.push(&summarize_input(input), theme::BOLD);
                push(self, BlockKind::ToolUse, block);
            }
            EventKind::ToolResult {
                content, is_error, ..
            } => {
                let style = if *is_error { theme::ERROR } else { theme::DIM };
                let mut block = StyledText::default();
                block.push("↳ ", style);
                sanitize_into(&mut block, content.trim_end(), style);
                push(self, BlockKind::ToolResult, block);
            }
            EventKind::Output { stream, text } => {
                let (kind, base, index) = match stream {
                    OutputStream::Stdout => {
                        (BlockKind::Stdout, ratatui::style::Style::default(), 0)
                    }
                    OutputStream::Stderr => (BlockKind::Stderr, theme::STDERR, 1),
                };
                // Chunks continue the block of the same stream, and its
                // colours; a sequence cut in two waits for its other half.
                let (held, current) = &mut self.streams[index];
                let joined;
                let input = if held.is_empty() {
                    text.as_str()
                } else {
                    held.push_str(text);
                    joined = std::mem::take(held);
                    joined.as_str()
                };
                let cut = input.len() - unfinished_escape(input);
                *held = input[cut..].to_owned();
                let (styled, left) = sanitize_from(&input[..cut], base, *current);
                *current = left;
                self.transcript.push_or_extend(kind, seq, styled);
            }
            EventKind::PermissionRequest { tool, input, .. } => {
                self.track_pending(&record);
                let mut block = StyledText::default();
                block.push(
                    &format!("⚠ {} asks permission: ", sanitize_name(tool)),
                    theme::WARN,
                );
                block.push(&summarize_input(input), theme::BOLD);
                push(self, BlockKind::Permission, block);
            }
            EventKind::PermissionResolved {
                request_id,
                decision,
                by,
                message,
            } => {
                let what = self
                    .settle_pending(request_id)
                    .map(|p| format!("{} {}", p.tool, p.summary))
                    .unwrap_or_else(|| request_id.clone());
                let (verb, style) = match decision {
                    Decision::Allow => ("✔ allowed by", theme::OK),
                    Decision::Deny => ("✘ denied by", theme::ERROR),
                };
                let mut block = StyledText::default();
                block.push(&format!("{verb} {}: ", sanitize_name(by)), style);
                block.push(&crate::tui::sanitize::sanitize_plain(&what), theme::DIM);
                if let Some(reason) = message {
                    block.push(" — ", theme::DIM);
                    sanitize_into(&mut block, reason, theme::DIM);
                }
                push(self, BlockKind::Permission, block);
            }
            EventKind::PermissionCancelled { request_id, reason } => {
                let what = self
                    .settle_pending(request_id)
                    .map(|p| format!("{} {}", p.tool, p.summary))
                    .unwrap_or_else(|| request_id.clone());
                let mut block = StyledText::default();
                block.push("⊘ request withdrawn: ", theme::WARN);
                block.push(&crate::tui::sanitize::sanitize_plain(&what), theme::DIM);
                if let Some(reason) = reason {
                    block.push(
                        &format!(" ({})", crate::tui::sanitize::sanitize_plain(reason)),
                        theme::DIM,
                    );
                }
                push(self, BlockKind::Permission, block);
            }
            EventKind::Interrupt { by } => {
                push(
                    self,
                    BlockKind::Notice,
                    styled(
                        format!("⏹ interrupted by {}", sanitize_name(by)),
                        theme::WARN,
                    ),
                );
            }
            EventKind::Status {
                state,
                detail,
                exit_code,
            } => {
                self.agent_state = *state;
                if *state == crate::protocol::AgentState::Exited {
                    let code = exit_code
                        .map(|c| format!(", exit code {c}"))
                        .unwrap_or_default();
                    let detail = detail
                        .as_deref()
                        .map(crate::tui::sanitize::sanitize_plain)
                        .unwrap_or_default();
                    push(
                        self,
                        BlockKind::Notice,
                        styled(format!("■ agent exited{code} {detail}"), theme::WARN),
                    );
                }
            }
            EventKind::TurnEnd {
                outcome,
                duration_ms,
                cost_usd,
                num_turns,
                ..
            } => {
                let (label, style) = match outcome {
                    TurnOutcome::Success => ("done", theme::OK),
                    TurnOutcome::Error => ("failed", theme::ERROR),
                    TurnOutcome::Interrupted => ("interrupted", theme::WARN),
                    TurnOutcome::Denied => ("denied", theme::WARN),
                    TurnOutcome::Unknown => ("ended", theme::DIM),
                };
                let mut parts = vec![label.to_owned()];
                if let Some(ms) = duration_ms {
                    parts.push(format_duration_ms(*ms));
                }
                if let Some(cost) = cost_usd {
                    parts.push(format!("${cost:.4}"));
                }
                if let Some(turns) = num_turns {
                    parts.push(format!("{turns} turns"));
                }
                push(
                    self,
                    BlockKind::TurnEnd,
                    styled(format!("── {} ──", parts.join(" · ")), style),
                );
            }
            EventKind::Metadata { title, model, .. } => {
                if let Some(model) = model {
                    self.model = Some(crate::tui::sanitize::sanitize_plain(model));
                }
                if let (Some(title), Some(session)) = (title, self.session.as_mut()) {
                    session.title = title.clone();
                }
            }
            EventKind::Notice { level, text } => self.push_notice(*level, text, seq),
            EventKind::Unknown => {}
        }
    }
}

/// Identities and tool names are short labels: one line, no controls.
fn sanitize_name(name: &str) -> String {
    let plain = crate::tui::sanitize::sanitize_plain(&name.replace('\n', " "));
    plain.chars().take(40).collect()
}

pub fn format_duration_ms(ms: u64) -> String {
    if ms < 1000 {
        format!("{ms} ms")
    } else if ms < 60_000 {
        format!("{:.1} s", ms as f64 / 1000.0)
    } else {
        format!("{}m{:02}s", ms / 60_000, (ms % 60_000) / 1000)
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
