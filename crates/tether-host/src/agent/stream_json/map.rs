//! The pure translation between Claude Agent SDK stream-json messages and
//! tether events (docs/protocol.md section 7). No process, no I/O: feed it lines
//! and owner actions, it returns events to emit and JSON lines to write.

use std::collections::HashMap;

use serde_json::{Value, json};

use super::suggestions;

mod modes;
use crate::protocol::{
    AgentState, Decision, EventKind, NoticeLevel, OutputStream, PermissionOption, TurnOutcome,
};

/// One thing to do for a message.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    Emit(EventKind),
    /// A JSON line for the agent's stdin (always a whole JSON value).
    Write(Value),
}

/// An open `can_use_tool` request.
#[derive(Debug)]
struct Outstanding {
    /// The input the agent proposed.
    input: Value,
    /// Its `permission_suggestions`, one per `allow_always` option.
    suggestions: Vec<Value>,
}

#[derive(Debug, Default)]
pub struct Mapper {
    /// Open `can_use_tool` requests by request id.
    outstanding: HashMap<String, Outstanding>,
    interrupt_requested: bool,
    denied: bool,
    next_request: u64,
    last_metadata: Option<EventKind>,
    /// The permission mode the last `init` reported.
    last_mode: Option<String>,
    /// Our `set_permission_mode` requests by id: the mode and who asked.
    mode_requests: HashMap<String, (String, String)>,
}

fn text_of(value: &Value) -> Option<String> {
    value.as_str().map(str::to_owned)
}

/// Flattens tool-result content (a string, or a list of text blocks).
fn content_text(content: &Value) -> String {
    match content {
        Value::String(s) => s.clone(),
        Value::Array(blocks) => blocks
            .iter()
            .filter_map(|b| match b.get("type").and_then(Value::as_str) {
                Some("text") => b.get("text").and_then(Value::as_str).map(str::to_owned),
                Some(other) => Some(format!("[{other}]")),
                None => None,
            })
            .collect::<Vec<_>>()
            .join("\n"),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

impl Mapper {
    /// A user turn for the agent.
    pub fn user_message(&mut self, text: &str) -> Vec<Action> {
        self.interrupt_requested = false;
        self.denied = false;
        vec![
            Action::Write(json!({
                "type": "user",
                "message": { "role": "user", "content": text },
            })),
            Action::Emit(EventKind::status(AgentState::Running)),
        ]
    }

    /// The owner's answer to a `can_use_tool` request. Nothing is written
    /// for a request the agent withdrew or never made. An `allow_always`
    /// `option` sends its suggestion back as `updatedPermissions`, which
    /// Claude Code applies (the session has checked the option is offered;
    /// one that names no suggestion allows once, with a notice).
    pub fn decision(
        &mut self,
        request_id: &str,
        decision: Decision,
        message: Option<String>,
        updated_input: Option<Value>,
        option: Option<&str>,
    ) -> Vec<Action> {
        let Some(original) = self.outstanding.remove(request_id) else {
            return Vec::new();
        };
        let mut out = Vec::new();
        let response = match decision {
            Decision::Allow => {
                let mut response = json!({
                    "behavior": "allow",
                    "updatedInput": updated_input.unwrap_or(original.input),
                });
                match remembered(&original.suggestions, option) {
                    Ok(Some(suggestion)) => {
                        response["updatedPermissions"] = json!([suggestion]);
                    }
                    Ok(None) => {}
                    Err(why) => out.push(Action::Emit(EventKind::notice(NoticeLevel::Warn, why))),
                }
                response
            }
            Decision::Deny => {
                self.denied = true;
                json!({
                    "behavior": "deny",
                    "message": message.unwrap_or_else(|| "The user denied this request.".into()),
                })
            }
        };
        let state = if self.outstanding.is_empty() {
            AgentState::Running
        } else {
            AgentState::AwaitingPermission
        };
        out.push(Action::Write(json!({
            "type": "control_response",
            "response": {
                "subtype": "success",
                "request_id": request_id,
                "response": response,
            },
        })));
        out.push(Action::Emit(EventKind::status(state)));
        out
    }

    pub fn interrupt(&mut self) -> Vec<Action> {
        self.interrupt_requested = true;
        self.next_request += 1;
        vec![Action::Write(json!({
            "type": "control_request",
            "request_id": format!("tether_int_{}", self.next_request),
            "request": { "subtype": "interrupt" },
        }))]
    }

    /// One line the agent printed on stdout.
    pub fn from_agent(&mut self, line: &[u8]) -> Vec<Action> {
        if line.iter().all(u8::is_ascii_whitespace) {
            return Vec::new();
        }
        let Ok(message) = serde_json::from_slice::<Value>(line) else {
            // Not protocol: show it as the raw output it is.
            let mut text = String::from_utf8_lossy(line).into_owned();
            text.push('\n');
            return vec![Action::Emit(EventKind::Output {
                stream: OutputStream::Stdout,
                text,
            })];
        };
        let kind = message.get("type").and_then(Value::as_str).unwrap_or("");
        match kind {
            "system" => self.system(&message),
            "assistant" => assistant(&message),
            "user" => user(&message),
            "stream_event" => stream_event(&message),
            "control_request" => self.control_request(&message),
            "control_cancel_request" => self.control_cancel(&message),
            "control_response" => self.control_response(&message),
            "result" => self.result(&message),
            _ => Vec::new(), // command_lifecycle and kinds newer than us
        }
    }

    fn system(&mut self, message: &Value) -> Vec<Action> {
        match message.get("subtype").and_then(Value::as_str) {
            Some("init") => {
                let tools = message
                    .get("tools")
                    .and_then(Value::as_array)
                    .map(|tools| tools.iter().filter_map(text_of).collect::<Vec<_>>());
                let metadata = EventKind::Metadata {
                    title: None,
                    model: message.get("model").and_then(text_of),
                    cwd: message.get("cwd").and_then(text_of),
                    tools,
                    agent_session_id: message.get("session_id").and_then(text_of),
                };
                let mut out = Vec::new();
                // init repeats at every turn; only a change is news.
                if self.last_metadata.as_ref() != Some(&metadata) {
                    self.last_metadata = Some(metadata.clone());
                    out.push(Action::Emit(metadata));
                }
                out.extend(self.init_mode(message));
                out.push(Action::Emit(EventKind::status(AgentState::Running)));
                out
            }
            Some("permission_denied") => {
                let tool = message
                    .get("tool_name")
                    .and_then(Value::as_str)
                    .unwrap_or("a tool");
                let why = message.get("message").and_then(Value::as_str).unwrap_or("");
                vec![Action::Emit(EventKind::notice(
                    NoticeLevel::Warn,
                    format!("the agent denied {tool} without asking: {why}"),
                ))]
            }
            _ => Vec::new(),
        }
    }

    fn control_request(&mut self, message: &Value) -> Vec<Action> {
        let request_id = message
            .get("request_id")
            .and_then(text_of)
            .unwrap_or_default();
        let request = message.get("request").cloned().unwrap_or(Value::Null);
        let subtype = request.get("subtype").and_then(Value::as_str).unwrap_or("");
        if subtype == "can_use_tool" && !request_id.is_empty() {
            let input = request.get("input").cloned().unwrap_or_else(|| json!({}));
            let suggestions = request
                .get("permission_suggestions")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            let options = suggestions::options(&suggestions);
            let outstanding = Outstanding {
                input: input.clone(),
                suggestions,
            };
            self.outstanding.insert(request_id.clone(), outstanding);
            let description = request
                .get("description")
                .or_else(|| request.get("decision_reason"))
                .and_then(text_of);
            return vec![
                Action::Emit(EventKind::PermissionRequest {
                    request_id,
                    tool: request
                        .get("tool_name")
                        .and_then(text_of)
                        .unwrap_or_else(|| "tool".into()),
                    input,
                    tool_use_id: request.get("tool_use_id").and_then(text_of),
                    title: request
                        .get("title")
                        .or_else(|| request.get("display_name"))
                        .and_then(text_of),
                    description,
                    // Made by the agent's run loop: it needs the disk.
                    preview: None,
                    options,
                }),
                Action::Emit(EventKind::status(AgentState::AwaitingPermission)),
            ];
        }
        // Answer anything else at once so the agent never waits on us.
        let shown = if subtype.is_empty() {
            "(none)"
        } else {
            subtype
        };
        vec![Action::Write(json!({
            "type": "control_response",
            "response": {
                "subtype": "error",
                "request_id": request_id,
                "error": format!("Unsupported control request subtype: {shown}"),
            },
        }))]
    }

    fn control_cancel(&mut self, message: &Value) -> Vec<Action> {
        let Some(request_id) = message.get("request_id").and_then(text_of) else {
            return Vec::new();
        };
        if self.outstanding.remove(&request_id).is_none() {
            return Vec::new();
        }
        vec![Action::Emit(EventKind::PermissionCancelled {
            request_id,
            reason: Some("withdrawn by the agent".into()),
        })]
    }

    fn result(&mut self, message: &Value) -> Vec<Action> {
        let is_error = message
            .get("is_error")
            .and_then(Value::as_bool)
            .unwrap_or(false);
        let aborted = message
            .get("terminal_reason")
            .and_then(Value::as_str)
            .is_some_and(|r| r.starts_with("aborted"));
        let outcome = match (is_error, aborted) {
            (false, _) => TurnOutcome::Success,
            (true, true) if self.denied && !self.interrupt_requested => TurnOutcome::Denied,
            (true, true) => TurnOutcome::Interrupted,
            (true, false) => TurnOutcome::Error,
        };
        self.interrupt_requested = false;
        self.denied = false;
        let mut out = Vec::new();
        if outcome == TurnOutcome::Error {
            let errors = message
                .get("errors")
                .and_then(Value::as_array)
                .map(|e| {
                    e.iter()
                        .filter_map(Value::as_str)
                        .collect::<Vec<_>>()
                        .join("; ")
                })
                .unwrap_or_default();
            let subtype = message
                .get("subtype")
                .and_then(Value::as_str)
                .unwrap_or("error");
            out.push(Action::Emit(EventKind::notice(
                NoticeLevel::Error,
                format!("the turn failed ({subtype}) {errors}")
                    .trim_end()
                    .to_owned(),
            )));
        }
        out.push(Action::Emit(EventKind::TurnEnd {
            outcome,
            duration_ms: message.get("duration_ms").and_then(Value::as_u64),
            cost_usd: message.get("total_cost_usd").and_then(Value::as_f64),
            num_turns: message.get("num_turns").and_then(Value::as_u64),
            usage: message.get("usage").cloned(),
        }));
        out.push(Action::Emit(EventKind::status(AgentState::Idle)));
        out
    }
}

fn assistant(message: &Value) -> Vec<Action> {
    let blocks = message
        .pointer("/message/content")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    blocks
        .iter()
        .filter_map(|block| {
            let event = match block.get("type").and_then(Value::as_str)? {
                "text" => EventKind::Assistant {
                    text: block.get("text").and_then(text_of)?,
                },
                "thinking" => EventKind::Thinking {
                    text: block.get("thinking").and_then(text_of)?,
                },
                "redacted_thinking" => EventKind::Thinking {
                    text: "[redacted thinking]".into(),
                },
                "tool_use" => EventKind::ToolUse {
                    tool_use_id: block.get("id").and_then(text_of)?,
                    name: block.get("name").and_then(text_of)?,
                    input: block.get("input").cloned().unwrap_or(Value::Null),
                },
                _ => return None,
            };
            Some(Action::Emit(event))
        })
        .collect()
}

fn user(message: &Value) -> Vec<Action> {
    // Echoes of our own input (--replay-user-messages) are already events.
    if message.get("isReplay").and_then(Value::as_bool) == Some(true) {
        return Vec::new();
    }
    let content = message
        .pointer("/message/content")
        .cloned()
        .unwrap_or(Value::Null);
    let blocks = match content {
        Value::String(text) => vec![json!({"type": "text", "text": text})],
        Value::Array(blocks) => blocks,
        _ => Vec::new(),
    };
    blocks
        .iter()
        .filter_map(|block| match block.get("type").and_then(Value::as_str)? {
            "tool_result" => Some(Action::Emit(EventKind::ToolResult {
                tool_use_id: block.get("tool_use_id").and_then(text_of)?,
                content: content_text(block.get("content").unwrap_or(&Value::Null)),
                is_error: block
                    .get("is_error")
                    .and_then(Value::as_bool)
                    .unwrap_or(false),
            })),
            // Synthetic markers such as "[Request interrupted by user]".
            "text" => {
                let text = block.get("text").and_then(Value::as_str)?;
                text.starts_with('[').then(|| {
                    Action::Emit(EventKind::notice(NoticeLevel::Info, text.trim().to_owned()))
                })
            }
            _ => None,
        })
        .collect()
}

fn stream_event(message: &Value) -> Vec<Action> {
    let event = message.get("event").unwrap_or(&Value::Null);
    if event.get("type").and_then(Value::as_str) != Some("content_block_delta") {
        return Vec::new();
    }
    let delta = event.get("delta").unwrap_or(&Value::Null);
    match delta.get("type").and_then(Value::as_str) {
        Some("text_delta") => delta
            .get("text")
            .and_then(text_of)
            .map(|text| vec![Action::Emit(EventKind::AssistantDelta { text })])
            .unwrap_or_default(),
        _ => Vec::new(),
    }
}

/// The suggestion an allowing `option` asks to remember: `None` for a plain
/// allow, `Err` for an option id that names no suggestion of the request.
fn remembered<'a>(
    suggestions: &'a [Value],
    option: Option<&str>,
) -> Result<Option<&'a Value>, String> {
    let Some(option) = option else {
        return Ok(None);
    };
    if option == PermissionOption::ALLOW_ONCE {
        return Ok(None);
    }
    suggestions::index_of(option)
        .and_then(|i| suggestions.get(i))
        .map(Some)
        .ok_or_else(|| format!("`{option}` is not an option of that request: allowed once"))
}

fn control_response(message: &Value) -> Vec<Action> {
    let response = message.get("response").unwrap_or(&Value::Null);
    if response.get("subtype").and_then(Value::as_str) != Some("error") {
        return Vec::new();
    }
    let error = response
        .get("error")
        .and_then(Value::as_str)
        .unwrap_or("unknown error");
    vec![Action::Emit(EventKind::notice(
        NoticeLevel::Warn,
        format!("the agent refused a control request: {error}"),
    ))]
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn asked(mapper: &mut Mapper, suggestions: Value) -> Vec<crate::protocol::PermissionOption> {
        let line = json!({"type": "control_request", "request_id": "q1", "request": {
            "subtype": "can_use_tool", "tool_name": "Bash", "input": {"command": "ls"},
            "permission_suggestions": suggestions}});
        let actions = mapper.from_agent(line.to_string().as_bytes());
        match &actions[0] {
            Action::Emit(EventKind::PermissionRequest {
                options, preview, ..
            }) => {
                assert_eq!(*preview, None, "the run loop makes previews");
                options.clone()
            }
            other => panic!("{other:?}"),
        }
    }

    fn written(actions: &[Action]) -> Value {
        actions
            .iter()
            .find_map(|a| match a {
                Action::Write(v) => Some(v["response"]["response"].clone()),
                Action::Emit(_) => None,
            })
            .expect("an answer to the agent")
    }

    #[test]
    fn an_allow_always_option_sends_its_suggestion_as_updated_permissions() {
        let rule = json!({"type": "addRules", "rules": [{"toolName": "Bash", "ruleContent": "ls"}],
            "behavior": "allow", "destination": "localSettings"});
        let mode = json!({"type": "setMode", "mode": "acceptEdits", "destination": "session"});
        let mut mapper = Mapper::default();
        let options = asked(&mut mapper, json!([rule, mode]));
        assert_eq!(options.len(), 4);
        assert_eq!(options[1].label, "always allow Bash(ls) in this project");
        let answer = mapper.decision("q1", Decision::Allow, None, None, Some(&options[2].id));
        assert_eq!(
            written(&answer),
            json!({"behavior": "allow", "updatedInput": {"command": "ls"}, "updatedPermissions": [mode]})
        );
        // allow_once, or no option at all, remembers nothing.
        for option in [Some("allow_once"), None] {
            asked(&mut mapper, json!([rule]));
            let answer = mapper.decision("q1", Decision::Allow, None, None, option);
            assert_eq!(written(&answer).get("updatedPermissions"), None);
        }
    }

    #[test]
    fn an_option_that_names_no_suggestion_allows_once_with_a_notice() {
        let mut mapper = Mapper::default();
        asked(&mut mapper, json!(null));
        let answer = mapper.decision("q1", Decision::Allow, None, None, Some("allow_always_3"));
        assert!(matches!(
            &answer[0],
            Action::Emit(EventKind::Notice {
                level: NoticeLevel::Warn,
                ..
            })
        ));
        assert_eq!(written(&answer)["behavior"], "allow");
        assert_eq!(written(&answer).get("updatedPermissions"), None);
    }
}
