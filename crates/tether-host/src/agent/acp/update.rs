//! What an ACP agent's `session/update` notifications mean in tether
//! events. Pure: it keeps the message being streamed and the tool calls
//! seen so far, and turns each update into events.

use std::collections::HashMap;
use std::path::PathBuf;

use serde_json::Value;

use super::info;
use crate::host::preview;
use crate::protocol::{EventKind, Preview};

/// A tool call as its updates have described it so far.
#[derive(Debug, Clone, Default)]
pub struct ToolCall {
    pub title: String,
    pub kind: String,
    pub raw_input: Option<Value>,
    /// Its content items as text, rendered once when they arrive (a diff
    /// is work: never redone for later updates).
    shown: Vec<String>,
    /// The preview of its first `diff` content item.
    first_diff: Option<Preview>,
    /// Its result was reported (completed or failed).
    finished: bool,
}

#[derive(Debug)]
pub struct Transcript {
    cwd: PathBuf,
    /// The agent message being streamed, and its `messageId` if any.
    message: String,
    message_id: Option<String>,
    /// Thought chunks so far (shown as one block when the thought ends).
    thought: String,
    tools: HashMap<String, ToolCall>,
}

fn text(value: &Value, key: &str) -> Option<String> {
    value.get(key).and_then(Value::as_str).map(str::to_owned)
}

/// A content block as text (non-text blocks by their type).
fn block_text(block: &Value) -> String {
    match block.get("type").and_then(Value::as_str) {
        Some("text") => text(block, "text").unwrap_or_default(),
        Some("resource_link") => format!("[{}]", text(block, "uri").unwrap_or_default()),
        Some(other) => format!("[{other}]"),
        None => String::new(),
    }
}

impl Transcript {
    pub fn new(cwd: PathBuf) -> Self {
        Transcript {
            cwd,
            message: String::new(),
            message_id: None,
            thought: String::new(),
            tools: HashMap::new(),
        }
    }

    /// The events one update (the `update` object) means. Kinds this
    /// build does not know, or does not show yet, mean nothing.
    pub fn update(&mut self, update: &Value) -> Vec<EventKind> {
        let kind = update
            .get("sessionUpdate")
            .and_then(Value::as_str)
            .unwrap_or("");
        match kind {
            "agent_message_chunk" => self.message_chunk(update),
            "agent_thought_chunk" => {
                let out = self.end_message();
                if let Some(content) = update.get("content") {
                    self.thought.push_str(&block_text(content));
                }
                out
            }
            "tool_call" | "tool_call_update" => {
                let mut out = self.flush();
                out.extend(self.tool_call(update));
                out
            }
            "plan" => {
                let mut out = self.flush();
                out.push(info::plan(update));
                out
            }
            "current_mode_update" => info::current_mode(update).into_iter().collect(),
            "available_commands_update" => vec![info::commands(update)],
            "usage_update" => info::usage(update).into_iter().collect(),
            // Echoes of our own prompt, and what the UI does not show yet.
            "user_message_chunk" | "session_info_update" | "config_option_update" => Vec::new(),
            other => {
                tracing::debug!(kind = other, "ignored an ACP session update");
                Vec::new()
            }
        }
    }

    fn message_chunk(&mut self, update: &Value) -> Vec<EventKind> {
        let mut out = self.end_thought();
        let id = text(update, "messageId");
        if id.is_some() && id != self.message_id {
            out.extend(self.end_message());
            self.message_id = id;
        }
        let chunk = update.get("content").map(block_text).unwrap_or_default();
        if !chunk.is_empty() {
            self.message.push_str(&chunk);
            out.push(EventKind::AssistantDelta { text: chunk });
        }
        out
    }

    /// Ends the message or thought in progress: its whole text as one event.
    pub fn flush(&mut self) -> Vec<EventKind> {
        let mut out = self.end_thought();
        out.extend(self.end_message());
        out
    }

    fn end_message(&mut self) -> Vec<EventKind> {
        self.message_id = None;
        if self.message.is_empty() {
            return Vec::new();
        }
        vec![EventKind::Assistant {
            text: std::mem::take(&mut self.message),
        }]
    }

    fn end_thought(&mut self) -> Vec<EventKind> {
        if self.thought.is_empty() {
            return Vec::new();
        }
        vec![EventKind::Thinking {
            text: std::mem::take(&mut self.thought),
        }]
    }

    /// Merges a tool call (or an update of one) into what is known of it;
    /// reports its use when it is new and its result when it is done.
    pub fn tool_call(&mut self, update: &Value) -> Vec<EventKind> {
        let Some(id) = text(update, "toolCallId") else {
            return Vec::new();
        };
        let mut out = Vec::new();
        let known = self.tools.contains_key(&id);
        let rendered = update
            .get("content")
            .and_then(Value::as_array)
            .map(|content| self.render(content));
        let call = self.tools.entry(id.clone()).or_default();
        merge(call, update, rendered);
        if !known {
            out.push(EventKind::ToolUse {
                tool_use_id: id.clone(),
                name: tool_name(call),
                input: call.raw_input.clone().unwrap_or(Value::Null),
            });
        }
        let status = update.get("status").and_then(Value::as_str);
        if let Some(status @ ("completed" | "failed")) = status
            && !call.finished
        {
            call.finished = true;
            let content = result_text(call, update);
            out.push(EventKind::ToolResult {
                tool_use_id: id,
                content,
                is_error: status == "failed",
            });
        }
        out
    }

    /// A tool call's content items as text (a diff as its unified diff, a
    /// terminal by its id: we do not run terminals), and the preview of
    /// its first diff.
    fn render(&self, content: &[Value]) -> Rendered {
        let mut rendered = Rendered::default();
        for item in content {
            let shown = match item.get("type").and_then(Value::as_str) {
                Some("content") => item.get("content").map(block_text).unwrap_or_default(),
                Some("diff") => {
                    let diff = self.diff(item);
                    let shown = match &diff {
                        Some(Preview::Diff { diff, .. }) => diff.clone(),
                        Some(Preview::Unavailable { reason }) => format!("[diff: {reason}]"),
                        _ => "[diff]".into(),
                    };
                    if rendered.first_diff.is_none() {
                        rendered.first_diff = diff;
                    }
                    shown
                }
                Some("terminal") => {
                    format!(
                        "[terminal {}]",
                        text(item, "terminalId").unwrap_or_default()
                    )
                }
                _ => String::new(),
            };
            rendered.shown.push(shown);
        }
        rendered
    }

    fn diff(&self, content: &Value) -> Option<Preview> {
        let path = text(content, "path")?;
        let new = content.get("newText").and_then(Value::as_str)?;
        // The Gemini CLI marks a new file (`_meta.kind: "add"`): still new
        // when its update comes after the file was written.
        let added = content.pointer("/_meta/kind").and_then(Value::as_str) == Some("add");
        let old = content
            .get("oldText")
            .and_then(Value::as_str)
            .filter(|_| !added);
        Some(preview::of_texts(&self.cwd, &path, old, new))
    }

    /// What a permission request for the known tool call `id` will do:
    /// its first diff, else the command it runs, from what the agent
    /// really sends: `rawInput.command` (claude-agent-acp, opencode), or
    /// for an `execute` call without one the title, which is the whole
    /// command line (the Gemini CLI); its text content (a description, or
    /// Gemini's working directory) goes with it.
    pub fn preview(&self, id: &str) -> Option<Preview> {
        let call = self.tools.get(id)?;
        if let Some(diff) = &call.first_diff {
            return Some(diff.clone());
        }
        let command = command_of(call)?;
        let said = call
            .shown
            .iter()
            .map(|s| s.trim())
            .filter(|s| !s.is_empty());
        let description = said.collect::<Vec<_>>().join("\n");
        let description =
            (!description.is_empty() && description != command).then_some(description);
        Some(preview::command(&command, &self.cwd, description))
    }

    /// The input a permission request for the known tool call `id` shows:
    /// its `rawInput`, else what stands for it (the command an `execute`
    /// call runs, the file a diff changes), else null.
    pub fn input(&self, id: &str) -> Value {
        let Some(call) = self.tools.get(id) else {
            return Value::Null;
        };
        if let Some(input) = call.raw_input.as_ref().filter(|v| !is_empty_object(v)) {
            return input.clone();
        }
        if let Some(command) = command_of(call) {
            return serde_json::json!({ "command": command });
        }
        match &call.first_diff {
            Some(Preview::Diff { path, .. }) => serde_json::json!({ "path": path }),
            _ => Value::Null,
        }
    }

    /// Known tool call by id.
    pub fn tool(&self, id: &str) -> Option<&ToolCall> {
        self.tools.get(id)
    }

    /// At the end of a turn: the tool calls that never finished, reported
    /// as cancelled (the protocol asks clients to mark them so).
    pub fn close_unfinished(&mut self) -> Vec<EventKind> {
        let mut ids = Vec::new();
        for (id, call) in &mut self.tools {
            if !call.finished {
                call.finished = true;
                ids.push(id.clone());
            }
        }
        ids.sort();
        ids.into_iter()
            .map(|tool_use_id| EventKind::ToolResult {
                tool_use_id,
                content: "cancelled".into(),
                is_error: true,
            })
            .collect()
    }
}

/// The command a tool call runs: its `rawInput.command` (a string, or
/// words), else an `execute` call's title.
fn command_of(call: &ToolCall) -> Option<String> {
    match call
        .raw_input
        .as_ref()
        .and_then(|input| input.get("command"))
    {
        Some(Value::String(s)) => return Some(s.clone()),
        Some(Value::Array(words)) => {
            let words: Vec<&str> = words.iter().filter_map(Value::as_str).collect();
            return Some(words.join(" "));
        }
        _ => {}
    }
    (call.kind == "execute" && !call.title.trim().is_empty()).then(|| call.title.clone())
}

fn is_empty_object(value: &Value) -> bool {
    value.as_object().is_some_and(serde_json::Map::is_empty)
}

/// Whether an update tells the agent's current state (its mode, commands
/// or usage) rather than a piece of the conversation.
pub fn is_state(update: &Value) -> bool {
    matches!(
        update.get("sessionUpdate").and_then(Value::as_str),
        Some("current_mode_update" | "available_commands_update" | "usage_update")
    )
}

/// A tool call's content, rendered.
#[derive(Debug, Default)]
struct Rendered {
    shown: Vec<String>,
    first_diff: Option<Preview>,
}

fn merge(call: &mut ToolCall, update: &Value, rendered: Option<Rendered>) {
    if let Some(title) = text(update, "title") {
        call.title = title;
    }
    if let Some(kind) = text(update, "kind") {
        call.kind = kind;
    }
    if let Some(input) = update.get("rawInput").filter(|v| !v.is_null()) {
        call.raw_input = Some(input.clone());
    }
    if let Some(rendered) = rendered {
        call.shown = rendered.shown;
        call.first_diff = rendered.first_diff;
    }
}

/// What a finished tool call shows: its content, else its `rawOutput`.
fn result_text(call: &ToolCall, update: &Value) -> String {
    if !call.shown.is_empty() {
        return call.shown.join("\n");
    }
    match update.get("rawOutput") {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Null) | None => String::new(),
        Some(other) => other.to_string(),
    }
}

fn tool_name(call: &ToolCall) -> String {
    match (call.title.is_empty(), call.kind.is_empty()) {
        (false, _) => call.title.clone(),
        (true, false) => call.kind.clone(),
        (true, true) => "tool".into(),
    }
}

#[cfg(test)]
mod real_agents;
#[cfg(test)]
mod tests;
