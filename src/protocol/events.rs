//! Session events: the sequenced history every participant sees.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// One event of a session's history as it travels in an `event` message and
/// is stored in the journal.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EventRecord {
    pub seq: u64,
    pub ts: String,
    pub event: EventKind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OutputStream {
    Stdout,
    Stderr,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Decision {
    Allow,
    Deny,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AgentState {
    Starting,
    Idle,
    Running,
    AwaitingPermission,
    Exited,
    /// A state this build does not know (sent by a newer host).
    #[serde(other)]
    Unknown,
}

impl AgentState {
    pub fn as_str(self) -> &'static str {
        match self {
            AgentState::Starting => "starting",
            AgentState::Idle => "idle",
            AgentState::Running => "running",
            AgentState::AwaitingPermission => "awaiting_permission",
            AgentState::Exited => "exited",
            AgentState::Unknown => "unknown",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TurnOutcome {
    Success,
    Error,
    Interrupted,
    Denied,
    #[serde(other)]
    Unknown,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NoticeLevel {
    Info,
    Warn,
    Error,
    #[serde(other)]
    Unknown,
}

/// What happened. Optional fields are omitted from the wire when absent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum EventKind {
    UserMessage {
        text: String,
        by: String,
    },
    Assistant {
        text: String,
    },
    AssistantDelta {
        text: String,
    },
    Thinking {
        text: String,
    },
    ToolUse {
        tool_use_id: String,
        name: String,
        input: Value,
    },
    ToolResult {
        tool_use_id: String,
        content: String,
        is_error: bool,
    },
    Output {
        stream: OutputStream,
        text: String,
    },
    PermissionRequest {
        request_id: String,
        tool: String,
        input: Value,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        tool_use_id: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        title: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        description: Option<String>,
    },
    PermissionResolved {
        request_id: String,
        decision: Decision,
        by: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        message: Option<String>,
    },
    PermissionCancelled {
        request_id: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reason: Option<String>,
    },
    Interrupt {
        by: String,
    },
    Status {
        state: AgentState,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        detail: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        exit_code: Option<i32>,
    },
    TurnEnd {
        outcome: TurnOutcome,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        duration_ms: Option<u64>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        cost_usd: Option<f64>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        num_turns: Option<u64>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        usage: Option<Value>,
    },
    Metadata {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        title: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        model: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        cwd: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        tools: Option<Vec<String>>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        agent_session_id: Option<String>,
    },
    Notice {
        level: NoticeLevel,
        text: String,
    },
    /// An event kind this build does not know; clients skip it.
    #[serde(other)]
    Unknown,
}

impl EventKind {
    pub fn status(state: AgentState) -> Self {
        EventKind::Status {
            state,
            detail: None,
            exit_code: None,
        }
    }

    /// The agent is gone: `detail` says how, with its exit code if any.
    pub fn exited(detail: impl Into<String>, exit_code: Option<i32>) -> Self {
        EventKind::Status {
            state: AgentState::Exited,
            detail: Some(detail.into()),
            exit_code,
        }
    }

    pub fn notice(level: NoticeLevel, text: impl Into<String>) -> Self {
        EventKind::Notice {
            level,
            text: text.into(),
        }
    }

    pub fn turn_end(outcome: TurnOutcome) -> Self {
        EventKind::TurnEnd {
            outcome,
            duration_ms: None,
            cost_usd: None,
            num_turns: None,
            usage: None,
        }
    }
}
