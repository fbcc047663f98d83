//! The client side of an ACP connection as a pure state machine: feed it
//! the agent's lines and the owner's actions, it returns tether events to
//! emit and JSON-RPC messages to write. No process, no I/O.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::path::PathBuf;

use serde_json::{Value, json};

use super::rpc::{self, Incoming, RpcError};
use super::update::Transcript;
use crate::protocol::{
    AgentState, Decision, EventKind, NoticeLevel, OutputStream, PermissionOption,
    PermissionOptionKind, TurnOutcome,
};

/// The ACP major version this client speaks.
pub const PROTOCOL_VERSION: u64 = 1;

/// One thing to do.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    Emit(EventKind),
    /// A JSON-RPC message for the agent's stdin.
    Write(Value),
    /// The connection cannot go on (why): stop the agent.
    Fail(String),
}

/// What one of our requests was for.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Call {
    Initialize,
    NewSession,
    /// `session/resume` or `session/load` of the session a restarted host
    /// had.
    Continue,
    Prompt,
    /// `session/set_mode`, asked by the owner `by`.
    SetMode {
        mode: String,
        by: String,
    },
}

/// A `session/request_permission` the owner has not answered.
#[derive(Debug)]
struct OpenPermission {
    /// The agent's id for the request.
    rpc_id: Value,
    options: Vec<PermissionOption>,
}

#[derive(Debug)]
pub struct Mapper {
    cwd: PathBuf,
    next_id: u64,
    calls: HashMap<u64, Call>,
    /// The agent's session, once `session/new` answered.
    session_id: Option<String>,
    /// The agent session to continue (a restarted host's), until tried.
    resume: Option<String>,
    /// A `session/load` runs: the history it replays is already in the
    /// journal, so its updates are not shown again.
    loading: bool,
    /// User messages waiting for the session or for the turn to end.
    queue: VecDeque<String>,
    prompting: bool,
    cancelling: bool,
    /// Open permission requests by our request id.
    permissions: BTreeMap<String, OpenPermission>,
    next_permission: u64,
    transcript: Transcript,
}

fn emit(event: EventKind) -> Action {
    Action::Emit(event)
}

fn selected(option_id: &str) -> Value {
    json!({"outcome": {"outcome": "selected", "optionId": option_id}})
}

fn cancelled() -> Value {
    json!({"outcome": {"outcome": "cancelled"}})
}

impl Mapper {
    /// A client for a session in `cwd`; `resume` is the agent session a
    /// restarted host had, to continue if the agent can.
    pub fn new(cwd: PathBuf, resume: Option<String>) -> Self {
        Mapper {
            resume,
            loading: false,
            transcript: Transcript::new(cwd.clone()),
            cwd,
            next_id: 0,
            calls: HashMap::new(),
            session_id: None,
            queue: VecDeque::new(),
            prompting: false,
            cancelling: false,
            permissions: BTreeMap::new(),
            next_permission: 0,
        }
    }

    /// Opens the connection: `initialize`, advertising no client
    /// capability (we serve neither files nor terminals).
    pub fn start(&mut self) -> Vec<Action> {
        let params = json!({
            "protocolVersion": PROTOCOL_VERSION,
            "clientCapabilities": {},
            "clientInfo": {"name": "tether", "version": env!("CARGO_PKG_VERSION")},
        });
        vec![self.call(Call::Initialize, "initialize", params)]
    }

    fn call(&mut self, call: Call, method: &str, params: Value) -> Action {
        self.next_id += 1;
        self.calls.insert(self.next_id, call);
        Action::Write(rpc::request(self.next_id, method, params))
    }

    /// A user turn: prompted now, or queued behind the session's start or
    /// the turn in progress.
    pub fn user_message(&mut self, text: &str) -> Vec<Action> {
        self.queue.push_back(text.to_owned());
        self.next_prompt()
    }

    fn next_prompt(&mut self) -> Vec<Action> {
        if self.prompting {
            return Vec::new();
        }
        let Some(session_id) = self.session_id.clone() else {
            return Vec::new();
        };
        let Some(text) = self.queue.pop_front() else {
            return vec![emit(EventKind::status(AgentState::Idle))];
        };
        self.prompting = true;
        self.cancelling = false;
        let params = json!({
            "sessionId": session_id,
            "prompt": [{"type": "text", "text": text}],
        });
        vec![
            self.call(Call::Prompt, "session/prompt", params),
            emit(EventKind::status(AgentState::Running)),
        ]
    }

    /// The owner's answer: the option chosen, else the agent's first
    /// option of the decision's kind. ACP carries neither a deny reason
    /// nor an edited input.
    pub fn decision(
        &mut self,
        request_id: &str,
        decision: Decision,
        option: Option<&str>,
    ) -> Vec<Action> {
        let Some(open) = self.permissions.remove(request_id) else {
            return Vec::new();
        };
        // The session has already turned a plain decision into the
        // request's once-option (never the agent's first, broader one);
        // no option here means the agent offered none.
        let chosen = option
            .and_then(|id| open.options.iter().find(|o| o.id == id))
            .filter(|o| o.kind.decision() == Some(decision));
        let mut out = Vec::new();
        let outcome = match chosen {
            Some(option) => selected(&option.id),
            None => {
                out.push(emit(EventKind::notice(
                    NoticeLevel::Warn,
                    "the agent offers no option for that decision: answered as cancelled",
                )));
                cancelled()
            }
        };
        out.push(Action::Write(rpc::result(&open.rpc_id, outcome)));
        out.push(emit(EventKind::status(self.busy_state())));
        out
    }

    fn busy_state(&self) -> AgentState {
        if self.permissions.is_empty() {
            AgentState::Running
        } else {
            AgentState::AwaitingPermission
        }
    }

    /// The owner's switch to one of the agent's modes (the session checked
    /// that the agent offers it); reported once the agent made it.
    pub fn set_mode(&mut self, mode: String, by: String) -> Vec<Action> {
        let Some(session_id) = self.session_id.clone() else {
            return vec![emit(EventKind::notice(
                NoticeLevel::Warn,
                format!("the agent has no session yet: mode `{mode}` was not set"),
            ))];
        };
        let params = json!({"sessionId": session_id, "modeId": mode});
        vec![self.call(Call::SetMode { mode, by }, "session/set_mode", params)]
    }

    /// `session/cancel`, and every open permission answered `cancelled`
    /// (the protocol requires it); queued messages are dropped.
    pub fn interrupt(&mut self) -> Vec<Action> {
        let mut out = Vec::new();
        if !self.queue.is_empty() {
            let n = std::mem::take(&mut self.queue).len();
            out.push(emit(EventKind::notice(
                NoticeLevel::Info,
                format!("dropped {n} queued message(s)"),
            )));
            if !self.prompting {
                // Nothing runs to end the turn those messages opened.
                out.push(emit(EventKind::turn_end(TurnOutcome::Interrupted)));
            }
        }
        let Some(session_id) = self.session_id.clone().filter(|_| self.prompting) else {
            return out;
        };
        self.cancelling = true;
        out.push(Action::Write(rpc::notification(
            "session/cancel",
            json!({"sessionId": session_id}),
        )));
        out.extend(self.cancel_permissions("the turn was interrupted"));
        out
    }

    fn cancel_permissions(&mut self, reason: &str) -> Vec<Action> {
        let mut out = Vec::new();
        for (request_id, open) in std::mem::take(&mut self.permissions) {
            out.push(Action::Write(rpc::result(&open.rpc_id, cancelled())));
            out.push(emit(EventKind::PermissionCancelled {
                request_id,
                reason: Some(reason.to_owned()),
            }));
        }
        out
    }

    /// The agent is gone: the text it was streaming, as far as it got.
    pub fn end(&mut self) -> Vec<Action> {
        self.transcript.flush().into_iter().map(emit).collect()
    }

    /// One line the agent printed on stdout.
    pub fn from_agent(&mut self, line: &[u8]) -> Vec<Action> {
        if line.iter().all(u8::is_ascii_whitespace) {
            return Vec::new();
        }
        match rpc::parse(line) {
            Incoming::Response { id, outcome } => self.response(&id, outcome),
            Incoming::Request { id, method, params } => self.request(id, &method, &params),
            Incoming::Notification { method, params } => {
                // An update for another session (the agent runs several,
                // or is confused) is not this session's to show.
                let named = params.get("sessionId").and_then(Value::as_str);
                if let (Some(named), Some(ours)) = (named, self.session_id.as_deref())
                    && named != ours
                {
                    tracing::debug!(named, ours, "dropped an ACP update for another session");
                    return Vec::new();
                }
                let update = params.get("update").unwrap_or(&Value::Null);
                // A load replays history the journal has; the agent's
                // state (mode, commands, usage) is news all the same.
                let shown = !self.loading || super::update::is_state(update);
                if method == "session/update" && shown {
                    self.transcript
                        .update(update)
                        .into_iter()
                        .map(emit)
                        .collect()
                } else {
                    tracing::debug!(method, "ignored an ACP notification");
                    Vec::new()
                }
            }
            Incoming::Malformed(_) => {
                // Not protocol: show it as the raw output it is.
                let mut text = String::from_utf8_lossy(line).into_owned();
                text.push('\n');
                vec![emit(EventKind::Output {
                    stream: OutputStream::Stdout,
                    text,
                })]
            }
        }
    }

    fn response(&mut self, id: &Value, outcome: Result<Value, RpcError>) -> Vec<Action> {
        let Some(call) = id.as_u64().and_then(|id| self.calls.remove(&id)) else {
            return Vec::new();
        };
        match (call, outcome) {
            (Call::Initialize, Ok(result)) => self.initialized(&result),
            (Call::Initialize, Err(e)) => vec![Action::Fail(format!(
                "the agent refused to initialize: {e}"
            ))],
            (Call::NewSession, Ok(result)) => match result.get("sessionId").and_then(Value::as_str)
            {
                Some(id) => self.session_started(id.to_owned(), &result),
                None => vec![Action::Fail("the agent's session has no id".into())],
            },
            (Call::NewSession, Err(e)) => vec![Action::Fail(format!(
                "the agent could not start a session: {e}"
            ))],
            (Call::Continue, outcome) => self.continued(outcome),
            (Call::Prompt, outcome) => self.prompt_ended(outcome),
            (Call::SetMode { mode, by }, outcome) => mode_switched(mode, by, outcome),
        }
    }

    fn initialized(&mut self, result: &Value) -> Vec<Action> {
        let version = result.get("protocolVersion").and_then(Value::as_u64);
        if version != Some(PROTOCOL_VERSION) {
            let shown = version.map_or_else(|| "no".to_owned(), |v| v.to_string());
            return vec![Action::Fail(format!(
                "the agent speaks ACP version {shown}; tether speaks version {PROTOCOL_VERSION}"
            ))];
        }
        let mut out = Vec::new();
        if let Some(info) = result.get("agentInfo") {
            let name = info.get("name").and_then(Value::as_str).unwrap_or("agent");
            let version = info.get("version").and_then(Value::as_str).unwrap_or("");
            out.push(emit(EventKind::notice(
                NoticeLevel::Info,
                format!("ACP agent {name} {version}").trim_end().to_owned(),
            )));
        }
        let capabilities = result.get("agentCapabilities").unwrap_or(&Value::Null);
        out.extend(self.open_session(capabilities));
        out
    }

    /// Continues the restarted host's agent session: `session/resume` when
    /// the agent offers it (nothing is replayed), else `session/load` (its
    /// replay is not shown: the journal has it), else a new session.
    fn open_session(&mut self, capabilities: &Value) -> Vec<Action> {
        let Some(resume) = self.resume.clone() else {
            return vec![self.new_session()];
        };
        let params = json!({"sessionId": resume, "cwd": self.cwd.display().to_string(),
            "mcpServers": []});
        let resumable = capabilities
            .pointer("/sessionCapabilities/resume")
            .is_some_and(|r| !r.is_null());
        if resumable {
            return vec![self.call(Call::Continue, "session/resume", params)];
        }
        if capabilities.get("loadSession") == Some(&Value::Bool(true)) {
            self.loading = true;
            return vec![self.call(Call::Continue, "session/load", params)];
        }
        self.resume = None;
        vec![
            emit(EventKind::notice(
                NoticeLevel::Warn,
                format!("the agent cannot continue its session {resume}: a new one starts"),
            )),
            self.new_session(),
        ]
    }

    fn new_session(&mut self) -> Action {
        let params = json!({"cwd": self.cwd.display().to_string(), "mcpServers": []});
        self.call(Call::NewSession, "session/new", params)
    }

    fn continued(&mut self, outcome: Result<Value, RpcError>) -> Vec<Action> {
        self.loading = false;
        let resume = self.resume.take().unwrap_or_default();
        match outcome {
            Ok(result) => {
                let mut out = vec![emit(EventKind::notice(
                    NoticeLevel::Info,
                    format!("continued the agent's session {resume}"),
                ))];
                out.extend(self.session_started(resume, &result));
                out
            }
            Err(e) => vec![
                emit(EventKind::notice(
                    NoticeLevel::Warn,
                    format!(
                        "the agent could not continue its session {resume} ({e}): a new one starts"
                    ),
                )),
                self.new_session(),
            ],
        }
    }

    fn session_started(&mut self, session_id: String, result: &Value) -> Vec<Action> {
        self.session_id = Some(session_id.clone());
        let mut out = vec![emit(EventKind::Metadata {
            title: None,
            model: None,
            cwd: Some(self.cwd.display().to_string()),
            tools: None,
            agent_session_id: Some(session_id),
        })];
        if let Some(modes) = result.get("modes").and_then(super::info::modes) {
            out.push(emit(modes));
        }
        out.extend(self.next_prompt());
        out
    }

    fn prompt_ended(&mut self, outcome: Result<Value, RpcError>) -> Vec<Action> {
        self.prompting = false;
        let mut out: Vec<Action> = self.transcript.flush().into_iter().map(emit).collect();
        out.extend(self.transcript.close_unfinished().into_iter().map(emit));
        out.extend(self.cancel_permissions("the turn ended"));
        let (outcome, problem) = match outcome {
            Ok(result) => stop_reason(result.get("stopReason").and_then(Value::as_str)),
            Err(_) if self.cancelling => (TurnOutcome::Interrupted, None),
            Err(e) => (TurnOutcome::Error, Some(format!("the prompt failed: {e}"))),
        };
        self.cancelling = false;
        if let Some(problem) = problem {
            out.push(emit(EventKind::notice(NoticeLevel::Error, problem)));
        }
        out.push(emit(EventKind::turn_end(outcome)));
        out.extend(self.next_prompt());
        out
    }

    fn request(&mut self, id: Value, method: &str, params: &Value) -> Vec<Action> {
        if method == "session/request_permission" {
            return self.permission(id, params);
        }
        // Answered at once, so the agent never waits on us.
        tracing::debug!(method, "refused an ACP request");
        vec![Action::Write(rpc::error(
            &id,
            rpc::METHOD_NOT_FOUND,
            &format!("tether does not implement {method}"),
        ))]
    }

    fn permission(&mut self, rpc_id: Value, params: &Value) -> Vec<Action> {
        let tool_call = params.get("toolCall").cloned().unwrap_or_else(|| json!({}));
        let options = params
            .get("options")
            .and_then(Value::as_array)
            .map(|o| o.iter().filter_map(option).collect::<Vec<_>>())
            .unwrap_or_default();
        let mut out: Vec<Action> = self.transcript.flush().into_iter().map(emit).collect();
        out.extend(self.transcript.tool_call(&tool_call).into_iter().map(emit));
        if options.is_empty() {
            out.push(emit(EventKind::notice(
                NoticeLevel::Warn,
                "the agent asked permission without options: answered as cancelled",
            )));
            out.push(Action::Write(rpc::result(&rpc_id, cancelled())));
            return out;
        }
        self.next_permission += 1;
        let request_id = format!("acp-{}", self.next_permission);
        let tool_use_id = tool_call
            .get("toolCallId")
            .and_then(Value::as_str)
            .map(str::to_owned);
        let known = tool_use_id
            .as_deref()
            .and_then(|id| self.transcript.tool(id));
        let event = EventKind::PermissionRequest {
            request_id: request_id.clone(),
            tool: known
                .map(|c| c.kind.clone())
                .filter(|k| !k.is_empty())
                .unwrap_or_else(|| "tool".into()),
            input: tool_use_id
                .as_deref()
                .map_or(Value::Null, |id| self.transcript.input(id)),
            title: known.map(|c| c.title.clone()).filter(|t| !t.is_empty()),
            description: None,
            preview: tool_use_id
                .as_deref()
                .and_then(|id| self.transcript.preview(id))
                .map(Box::new),
            tool_use_id,
            options: options.clone(),
        };
        self.permissions
            .insert(request_id, OpenPermission { rpc_id, options });
        out.push(emit(event));
        out.push(emit(EventKind::status(AgentState::AwaitingPermission)));
        out
    }
}

/// The agent's answer to `session/set_mode`: the new mode, or why not.
fn mode_switched(mode: String, by: String, outcome: Result<Value, RpcError>) -> Vec<Action> {
    match outcome {
        Ok(_) => vec![emit(EventKind::Mode {
            mode,
            modes: None,
            by: Some(by),
        })],
        Err(e) => vec![emit(EventKind::notice(
            NoticeLevel::Warn,
            format!("the agent did not switch to mode `{mode}`: {e}"),
        ))],
    }
}

/// One of the agent's permission options, as ours (same id and kind).
fn option(value: &Value) -> Option<PermissionOption> {
    let id = value.get("optionId")?.as_str()?;
    let kind = value
        .get("kind")
        .cloned()
        .and_then(|k| serde_json::from_value(k).ok())
        .unwrap_or(PermissionOptionKind::Unknown);
    let label = value.get("name").and_then(Value::as_str).unwrap_or(id);
    Some(PermissionOption::new(id, kind, label))
}

/// The turn's outcome for a `stopReason`, and what to tell the owner.
fn stop_reason(reason: Option<&str>) -> (TurnOutcome, Option<String>) {
    match reason {
        Some("end_turn") => (TurnOutcome::Success, None),
        Some("cancelled") => (TurnOutcome::Interrupted, None),
        Some(other) => (
            TurnOutcome::Error,
            Some(format!("the agent stopped the turn: {other}")),
        ),
        None => (
            TurnOutcome::Error,
            Some("the agent ended the turn without a stop reason".into()),
        ),
    }
}

#[cfg(test)]
mod tests;
