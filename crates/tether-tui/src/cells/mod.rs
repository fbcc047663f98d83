//! Transcript cells: what each event looks like, as styled text.
//!
//! Pure functions from an event's fields to a [`StyledText`]. The
//! full-screen transcript stores them as blocks; headless output prints
//! the same cells without their styles ([`plain`]), so there is one
//! rendering of events, not two. Everything agent- or user-supplied is
//! sanitised here.

pub mod detail;
pub mod owner;
pub mod plain;
pub mod plan;
pub mod preview;
pub mod sequence;

use ratatui::style::Style;
use serde_json::Value;

use crate::protocol::{AgentState, Decision, NoticeLevel, OutputStream, TurnOutcome};
use crate::tui::markdown::render_markdown;
use crate::tui::sanitize::{
    sanitize_from, sanitize_from_into, sanitize_into, sanitize_plain, unfinished_escape,
};
use crate::tui::text::StyledText;
use crate::tui::theme;

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
    sanitize_plain(&one_line)
}

/// Identities and tool names are short labels: one line, no controls.
pub fn sanitize_name(name: &str) -> String {
    let plain = sanitize_plain(&name.replace('\n', " "));
    plain.chars().take(40).collect()
}

/// What a permission request is about, for the lines that settle it:
/// "Bash rm -rf build" (sanitised where it is shown).
pub fn request_subject(tool: &str, summary: &str) -> String {
    format!("{tool} {summary}")
}

/// An agent state in words for people ("awaiting approval", not the wire
/// name `awaiting_permission`).
pub fn state_word(state: AgentState) -> &'static str {
    match state {
        AgentState::Starting => "starting",
        AgentState::Idle => "idle",
        AgentState::Running => "running",
        AgentState::AwaitingPermission => "awaiting approval",
        AgentState::Exited => "exited",
        AgentState::Unknown => "unknown",
    }
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

/// `▶ alice text`
pub fn user_message(by: &str, text: &str) -> StyledText {
    let mut cell = StyledText::default();
    cell.push(&format!("▶ {} ", sanitize_name(by)), theme::USER);
    sanitize_into(&mut cell, text, Style::default());
    cell
}

/// A complete assistant reply (markdown). Takes the text so plain prose
/// becomes the cell's text without a copy.
pub fn assistant(text: String) -> StyledText {
    render_markdown(text, theme::ASSISTANT)
}

/// The assistant reply streamed so far.
pub fn assistant_partial(text: &str) -> StyledText {
    render_markdown(text, theme::ASSISTANT)
}

/// An assistant reply with its tables laid out for `width` columns.
pub fn assistant_at(text: &str, width: usize) -> StyledText {
    crate::tui::markdown::render_markdown_at(text, theme::ASSISTANT, width)
}

/// `✻ thinking` and the thoughts: the label stays when it is expanded.
pub fn thinking(text: &str) -> StyledText {
    let mut cell = StyledText::plain("✻ thinking\n", theme::DIM.patch(theme::BOLD));
    sanitize_into(&mut cell, text, theme::DIM);
    cell
}

/// `⚙ Bash ls -la`
pub fn tool_use(name: &str, input: &Value) -> StyledText {
    let mut cell = StyledText::default();
    cell.push(&format!("⚙ {} ", sanitize_name(name)), theme::TOOL);
    cell.push(&summarize_input(input), theme::BOLD);
    cell
}

/// `↳ content`, red for errors.
pub fn tool_result(content: &str, is_error: bool) -> StyledText {
    let style = if is_error { theme::ERROR } else { theme::DIM };
    let mut cell = StyledText::default();
    cell.push("↳ ", style);
    sanitize_into(&mut cell, content.trim_end(), style);
    cell
}

/// `⚠ Bash asks permission: rm -rf build`
pub fn permission_request(tool: &str, input: &Value) -> StyledText {
    let mut cell = StyledText::default();
    cell.push(
        &format!("⚠ {} asks permission: ", sanitize_name(tool)),
        theme::WARN,
    );
    cell.push(&summarize_input(input), theme::BOLD);
    cell
}

/// `✔ allowed by alice: Bash ls — reason`; `subject` is the request's
/// [`request_subject`], or its id when it is not known. An input the owner
/// edited is what runs, so it is what the line names:
/// `✔ allowed by alice, edited: pwd; whoami`.
pub fn permission_resolved(
    decision: Decision,
    by: &str,
    subject: &str,
    message: Option<&str>,
    edited: Option<&Value>,
    always: Option<&str>,
) -> StyledText {
    let (verb, style) = match (decision, always) {
        (Decision::Allow, None) => ("✔ allowed by", theme::OK),
        // What the owner chose to have remembered, said where it is read.
        (Decision::Allow, Some(_)) => ("✔ always allowed by", theme::OK),
        (Decision::Deny, _) => ("✘ denied by", theme::ERROR),
    };
    let mut cell = StyledText::default();
    let by = sanitize_name(by);
    match edited {
        Some(input) => {
            cell.push(&format!("{verb} {by}, edited: "), style);
            cell.push(&summarize_input(input), theme::BOLD);
        }
        None => {
            cell.push(&format!("{verb} {by}: "), style);
            cell.push(&sanitize_plain(subject), theme::DIM);
        }
    }
    if let Some(reason) = message {
        cell.push(" — ", theme::DIM);
        sanitize_into(&mut cell, reason, theme::DIM);
    }
    if let Some(remembered) = always.filter(|_| decision == Decision::Allow) {
        cell.push(" — ", theme::DIM);
        cell.push(&sanitize_plain(remembered), theme::DIM);
    }
    cell
}

/// `⊘ request withdrawn: Bash ls (reason)`.
pub fn permission_cancelled(subject: &str, reason: Option<&str>) -> StyledText {
    let mut cell = StyledText::default();
    cell.push("⊘ request withdrawn: ", theme::WARN);
    cell.push(&sanitize_plain(subject), theme::DIM);
    if let Some(reason) = reason {
        cell.push(&format!(" ({})", sanitize_plain(reason)), theme::DIM);
    }
    cell
}

/// `⏹ interrupted by alice`
pub fn interrupt(by: &str) -> StyledText {
    StyledText::plain(
        format!("⏹ interrupted by {}", sanitize_name(by)),
        theme::WARN,
    )
}

/// `⚑ alice made rule-1: always allow `ls` in this session`.
pub fn rule_added(rule: &crate::protocol::Rule, by: &str) -> StyledText {
    StyledText::plain(
        format!(
            "⚑ {} made {}: {}",
            sanitize_name(by),
            sanitize_name(&rule.id),
            sanitize_plain(&rule.label.replace('\n', " "))
        ),
        theme::INFO,
    )
}

pub fn rule_removed(rule_id: &str, by: &str) -> StyledText {
    StyledText::plain(
        format!("⚑ {} removed {}", sanitize_name(by), sanitize_name(rule_id)),
        theme::INFO,
    )
}

/// The one line shown when the agent stops: `■ agent stopped: exited with
/// code 1`. The detail usually says how already; the code is added only
/// when it does not.
pub fn agent_exited(exit_code: Option<i32>, detail: Option<&str>) -> StyledText {
    let detail = detail
        .map(|d| sanitize_plain(&d.replace('\n', " ")))
        .filter(|d| !d.trim().is_empty());
    let code = exit_code
        .map(|c| c.to_string())
        .filter(|c| detail.as_deref().is_none_or(|d| !d.contains(c.as_str())));
    let mut line = "■ agent stopped".to_owned();
    if let Some(detail) = &detail {
        line.push_str(": ");
        line.push_str(detail.trim());
    }
    if let Some(code) = code {
        line.push_str(&format!(" (exit code {code})"));
    }
    StyledText::plain(line, theme::WARN)
}

/// Whether an error notice only announces the exit that [`agent_exited`]
/// says too (agents send both: the notice for clients that ignore
/// states): "the agent exited with code 1", or the detail itself.
pub fn notice_repeats_exit(text: &str, detail: Option<&str>) -> bool {
    detail
        .is_some_and(|d| !d.is_empty() && (text == d || text.strip_prefix("the agent ") == Some(d)))
}

pub fn outcome_word(outcome: TurnOutcome) -> &'static str {
    match outcome {
        TurnOutcome::Success => "done",
        TurnOutcome::Error => "failed",
        TurnOutcome::Interrupted => "interrupted",
        TurnOutcome::Denied => "denied",
        TurnOutcome::Unknown => "ended",
    }
}

/// `── done · 1.2 s · $0.0012 · 2 turns ──`
pub fn turn_end(
    outcome: TurnOutcome,
    duration_ms: Option<u64>,
    cost_usd: Option<f64>,
    num_turns: Option<u64>,
) -> StyledText {
    let style = match outcome {
        TurnOutcome::Success => theme::OK,
        TurnOutcome::Error => theme::ERROR,
        TurnOutcome::Interrupted | TurnOutcome::Denied => theme::WARN,
        TurnOutcome::Unknown => theme::DIM,
    };
    let mut parts = vec![outcome_word(outcome).to_owned()];
    if let Some(ms) = duration_ms {
        parts.push(format_duration_ms(ms));
    }
    if let Some(cost) = cost_usd {
        parts.push(format!("${cost:.4}"));
    }
    match num_turns {
        Some(1) => parts.push("1 turn".to_owned()),
        Some(turns) => parts.push(format!("{turns} turns")),
        None => {}
    }
    StyledText::plain(format!("── {} ──", parts.join(" · ")), style)
}

/// `[warning] text`
pub fn notice(level: NoticeLevel, text: &str) -> StyledText {
    let (label, style) = match level {
        NoticeLevel::Error => ("error", theme::ERROR),
        NoticeLevel::Warn => ("warning", theme::WARN),
        _ => ("note", theme::INFO),
    };
    let mut cell = StyledText::default();
    cell.push(&format!("[{label}] "), style);
    sanitize_into(&mut cell, text, theme::DIM);
    cell
}

/// The style a stream's text starts in.
pub fn stream_base(stream: OutputStream) -> Style {
    match stream {
        OutputStream::Stdout => Style::default(),
        OutputStream::Stderr => theme::STDERR,
    }
}

/// One output stream between chunks: the tail of an escape sequence cut
/// in two (it waits for its other half) and the SGR style the last chunk
/// left (the next continues in it).
#[derive(Debug, Clone, Default)]
pub struct StreamTail {
    pub held: String,
    pub style: Style,
}

impl StreamTail {
    /// The cell text for the next chunk of this stream.
    pub fn feed(&mut self, text: &str, base: Style) -> StyledText {
        let mut out = StyledText::default();
        self.feed_onto(&mut out, text, base);
        out
    }

    /// [`StreamTail::feed`], appending onto the end of `out`.
    pub fn feed_onto(&mut self, out: &mut StyledText, text: &str, base: Style) {
        let joined;
        let input = if self.held.is_empty() {
            text
        } else {
            self.held.push_str(text);
            joined = std::mem::take(&mut self.held);
            joined.as_str()
        };
        let cut = input.len() - unfinished_escape(input);
        self.held = input[cut..].to_owned();
        // Sized once for the chunk (sanitised text is about as long, and
        // each colour sequence starts a style run at most): a block grown
        // by each piece reallocated its text and runs several times a
        // chunk, a fifth of the ingest of short output events.
        out.text.reserve(cut);
        out.runs
            .reserve(memchr::memchr_iter(0x1b, &input.as_bytes()[..cut]).count());
        self.style = sanitize_from_into(out, &input[..cut], base, self.style);
    }

    /// The command's output is over: what was held, and styles forgotten.
    pub fn finish(&mut self, base: Style) -> Option<StyledText> {
        let StreamTail { held, style } = std::mem::take(self);
        (!held.is_empty()).then(|| sanitize_from(&held, base, style).0)
    }
}

/// stdout's and stderr's [`StreamTail`].
#[derive(Debug, Clone, Default)]
pub struct StreamTails {
    pub stdout: StreamTail,
    pub stderr: StreamTail,
}

impl StreamTails {
    pub fn get_mut(&mut self, stream: OutputStream) -> &mut StreamTail {
        match stream {
            OutputStream::Stdout => &mut self.stdout,
            OutputStream::Stderr => &mut self.stderr,
        }
    }
}

#[cfg(test)]
mod tests;
