//! The transcript as plain text, for headless output: the same cells as
//! the full-screen transcript, without their styles.

use std::collections::HashMap;

use crate::protocol::{AgentState, EventKind, EventRecord, NoticeLevel};
use crate::tui::text::StyledText;

use super::StreamTails;
use super::sequence::{Plan, Sequencer};

/// Turns events, in order, into the text to print.
#[derive(Debug, Default)]
pub struct PlainTranscript {
    streams: StreamTails,
    /// The order events read in (shared with the full-screen transcript).
    order: Sequencer,
    /// Output left the cursor mid-line: the next cell starts a new one.
    mid_line: bool,
    /// An error notice, which may only announce the exit that follows:
    /// printed when the next event is not that exit.
    exit_notice: Option<String>,
    /// The tool call just announced, held back (id, line) in case its
    /// permission request follows: the request reads first.
    announced_call: Option<(String, String)>,
    /// Calls waiting for their request's answer, by `tool_use_id`.
    calls_awaiting: HashMap<String, String>,
}

impl PlainTranscript {
    pub fn new() -> Self {
        Self::default()
    }

    /// The text `record` adds (possibly nothing).
    pub fn event(&mut self, record: &EventRecord) -> String {
        let mut out = String::new();
        let exit_detail = match &record.event {
            EventKind::Status {
                state: AgentState::Exited,
                detail,
                ..
            } => Some(detail.as_deref()),
            _ => None,
        };
        let plan = self.order.plan(&record.event);
        let call = self.take_announced_call(&record.event, &plan);
        if let Some(call) = call {
            self.line(&mut out, &StyledText::plain(call, Default::default()));
        }
        if let Some(notice) = self.exit_notice.take()
            && !exit_detail.is_some_and(|d| super::notice_repeats_exit(&notice, d))
        {
            self.line(&mut out, &super::notice(NoticeLevel::Error, &notice));
        }
        if plan.ends_streams {
            self.end_streams(&mut out);
        }
        match &record.event {
            EventKind::Output { stream, text } => {
                let base = super::stream_base(*stream);
                let cell = self.streams.get_mut(*stream).feed(text, base);
                self.output(&mut out, &cell);
            }
            EventKind::Notice {
                level: NoticeLevel::Error,
                text,
            } => self.exit_notice = Some(text.clone()),
            // The answer just printed says what runs.
            EventKind::ToolUse { .. } if plan.call_answered.is_some() => {}
            EventKind::ToolUse {
                name,
                input,
                tool_use_id,
            } => {
                let call = super::tool_use(name, input).text;
                self.announced_call = Some((tool_use_id.clone(), call));
            }
            event => {
                if let Some(cell) = self.cell(event, &plan) {
                    self.line(&mut out, &cell);
                }
                self.settle_call(&plan);
            }
        }
        out
    }

    /// A tool call held back, printed when nothing else came after it for
    /// a while (a call that needs no permission is running).
    pub fn flush_held_call(&mut self) -> String {
        let mut out = String::new();
        if let Some((_, call)) = self.announced_call.take() {
            self.line(&mut out, &StyledText::plain(call, Default::default()));
        }
        out
    }

    /// Whether a tool call is held back (see [`Self::flush_held_call`]).
    pub fn holds_call(&self) -> bool {
        self.announced_call.is_some()
    }

    /// The held call, to print before `event`; a permission request for
    /// it keeps it back until the request is answered.
    fn take_announced_call(&mut self, event: &EventKind, plan: &Plan) -> Option<String> {
        if Sequencer::shows_nothing(event) {
            return None;
        }
        let (id, call) = self.announced_call.take()?;
        if plan.hold_call.as_ref() == Some(&id) {
            self.calls_awaiting.insert(id, call);
            return None;
        }
        Some(call)
    }

    /// After a request's answer: the call held for it is not printed,
    /// run or not (the answer's line said what runs, as the full-screen
    /// transcript's one line does).
    fn settle_call(&mut self, plan: &Plan) {
        if let Some((id, _)) = &plan.release_call {
            self.calls_awaiting.remove(id);
        }
    }

    /// What is still held back, at the end.
    pub fn finish(&mut self) -> String {
        let mut out = self.flush_held_call();
        if let Some(notice) = self.exit_notice.take() {
            self.line(&mut out, &super::notice(NoticeLevel::Error, &notice));
        }
        self.end_streams(&mut out);
        if self.mid_line {
            out.push('\n');
            self.mid_line = false;
        }
        out
    }

    fn cell(&mut self, event: &EventKind, plan: &Plan) -> Option<StyledText> {
        let settled = plan.settled.clone();
        let subject = settled.as_ref().map_or("", |s| s.subject.as_str());
        let always = settled.as_ref().and_then(|s| s.always.as_deref());
        Some(match event {
            EventKind::UserMessage { text, by, .. } => super::user_message(by, text),
            EventKind::Assistant { text } => super::assistant_partial(text),
            EventKind::Thinking { text } => super::thinking(text),
            EventKind::ToolResult {
                content, is_error, ..
            } => super::tool_result(content, *is_error),
            EventKind::PermissionRequest { tool, input, .. } => {
                super::permission_request(tool, input)
            }
            EventKind::PermissionResolved {
                decision,
                by,
                message,
                updated_input,
                ..
            } => super::permission_resolved(
                *decision,
                by,
                subject,
                message.as_deref(),
                updated_input.as_ref(),
                always,
            ),
            EventKind::PermissionCancelled { reason, .. } => {
                super::permission_cancelled(subject, reason.as_deref())
            }
            EventKind::Interrupt { by } => super::interrupt(by),
            EventKind::RuleAdded { rule, by } => super::rule_added(rule, by),
            EventKind::RuleRemoved { rule_id, by } => super::rule_removed(rule_id, by),
            EventKind::Status {
                state: AgentState::Exited,
                detail,
                exit_code,
            } => super::agent_exited(*exit_code, detail.as_deref()),
            EventKind::TurnEnd {
                outcome,
                duration_ms,
                cost_usd,
                num_turns,
                ..
            } => super::turn_end(*outcome, *duration_ms, *cost_usd, *num_turns),
            EventKind::Notice { level, text } => super::notice(*level, text),
            EventKind::Plan { entries } => super::plan::plan(entries),
            EventKind::OwnerChanged {
                owner,
                previous,
                reason,
                held_ms,
            } => super::owner::owner_changed(
                super::owner::OwnerChange {
                    owner: owner.as_ref(),
                    previous: previous.as_ref(),
                    reason: *reason,
                    held_ms: *held_ms,
                },
                None,
            ),
            _ => return None,
        })
    }

    fn end_streams(&mut self, out: &mut String) {
        for (stream, tail) in [
            (
                crate::protocol::OutputStream::Stdout,
                &mut self.streams.stdout,
            ),
            (
                crate::protocol::OutputStream::Stderr,
                &mut self.streams.stderr,
            ),
        ] {
            if let Some(cell) = tail.finish(super::stream_base(stream)) {
                out.push_str(&cell.text);
                self.mid_line = !cell.text.ends_with('\n');
            }
        }
    }

    fn output(&mut self, out: &mut String, cell: &StyledText) {
        if !cell.text.is_empty() {
            out.push_str(&cell.text);
            self.mid_line = !cell.text.ends_with('\n');
        }
    }

    /// A whole cell, on lines of its own.
    fn line(&mut self, out: &mut String, cell: &StyledText) {
        if self.mid_line {
            out.push('\n');
            self.mid_line = false;
        }
        out.push_str(&cell.text);
        out.push('\n');
    }
}
