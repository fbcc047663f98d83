//! Session events: the sequenced history every participant sees.

use super::agent::{AgentMode, PlanEntry, SlashCommand, Usage};
use super::owner::{OwnerConnection, OwnerReason};
use super::rules::{Rule, RuleSpec};
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

/// What a permission request will do if allowed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Preview {
    /// A file change: the unified diff of the file on disk now against the
    /// file after the tool runs (`new_file`: there is no file yet).
    Diff {
        path: String,
        diff: String,
        added: u64,
        removed: u64,
        new_file: bool,
    },
    /// A shell command, whole.
    Command {
        command: String,
        cwd: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        description: Option<String>,
    },
    /// Why no preview could be made (the request is still answerable).
    Unavailable { reason: String },
    /// A preview kind this build does not know.
    #[serde(other)]
    Unknown,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PermissionOptionKind {
    AllowOnce,
    AllowAlways,
    RejectOnce,
    /// Reject, and the agent remembers it (an ACP agent's own option).
    RejectAlways,
    #[serde(other)]
    Unknown,
}

impl PermissionOptionKind {
    /// The decision an answer with this option must carry.
    pub fn decision(self) -> Option<Decision> {
        match self {
            PermissionOptionKind::AllowOnce | PermissionOptionKind::AllowAlways => {
                Some(Decision::Allow)
            }
            PermissionOptionKind::RejectOnce | PermissionOptionKind::RejectAlways => {
                Some(Decision::Deny)
            }
            PermissionOptionKind::Unknown => None,
        }
    }

    /// The kind as the wire spells it.
    pub fn wire_name(self) -> &'static str {
        match self {
            PermissionOptionKind::AllowOnce => "allow_once",
            PermissionOptionKind::AllowAlways => "allow_always",
            PermissionOptionKind::RejectOnce => "reject_once",
            PermissionOptionKind::RejectAlways => "reject_always",
            PermissionOptionKind::Unknown => "unknown",
        }
    }
}

/// One answer the owner may give to a permission request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PermissionOption {
    pub id: String,
    pub kind: PermissionOptionKind,
    /// What choosing it does, in words (for `allow_always`: what will be
    /// remembered and where).
    pub label: String,
    /// For an `allow_always` the host itself keeps (not the agent): the
    /// rule it adds to the session when this option is chosen.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remember: Option<RuleSpec>,
}

impl PermissionOption {
    pub const ALLOW_ONCE: &str = "allow_once";
    pub const REJECT_ONCE: &str = "reject_once";

    pub fn new(
        id: impl Into<String>,
        kind: PermissionOptionKind,
        label: impl Into<String>,
    ) -> Self {
        PermissionOption {
            id: id.into(),
            kind,
            label: label.into(),
            remember: None,
        }
    }

    /// The two options every request offers, around any `allow_always` ones.
    pub fn standard(always: Vec<PermissionOption>) -> Vec<PermissionOption> {
        let mut options = vec![PermissionOption::new(
            Self::ALLOW_ONCE,
            PermissionOptionKind::AllowOnce,
            "allow once",
        )];
        options.extend(always);
        options.push(PermissionOption::new(
            Self::REJECT_ONCE,
            PermissionOptionKind::RejectOnce,
            "reject",
        ));
        options
    }
}

/// What happened. Optional fields are omitted from the wire when absent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum EventKind {
    UserMessage {
        text: String,
        by: String,
        /// The `id` of the client message that sent it: a resend of that
        /// id after a host restart is still known as a duplicate (the
        /// host rebuilds its idempotency window from the journal).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        msg_id: Option<String>,
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
        /// What the request will do, computed by the host (absent for
        /// tools it cannot preview). Boxed: most events have none, and
        /// every event is as large as the largest kind.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        preview: Option<Box<Preview>>,
        /// The answers the owner may give (empty from an older host).
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        options: Vec<PermissionOption>,
    },
    PermissionResolved {
        request_id: String,
        decision: Decision,
        by: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        message: Option<String>,
        /// The option applied (absent for a request without options, or
        /// from an older host).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        option: Option<String>,
        /// The input as the owner edited it: what will run instead of the
        /// request's own (absent when it runs as asked).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        updated_input: Option<Value>,
    },
    PermissionCancelled {
        request_id: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reason: Option<String>,
    },
    /// The owner made a rule the host keeps (an `allow_always` answer).
    RuleAdded {
        rule: Rule,
        by: String,
    },
    /// The owner removed a rule.
    RuleRemoved {
        rule_id: String,
        by: String,
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
    /// The agent's mode: the one it is in, and the modes it offers when
    /// they changed (absent: as before). `by`: the owner who switched it.
    Mode {
        mode: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        modes: Option<Vec<AgentMode>>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        by: Option<String>,
    },
    /// The agent's slash commands, all of them (replaces the last list).
    Commands {
        commands: Vec<SlashCommand>,
    },
    /// The agent's plan, whole (replaces the last plan; empty clears it).
    Plan {
        entries: Vec<PlanEntry>,
    },
    /// How full the agent's context is and what the session cost so far.
    Usage {
        #[serde(flatten)]
        usage: Usage,
    },
    /// Who owns the session changed: `owner` now (`None`: nobody), the
    /// connection that owned before, why, and how long the slot is held
    /// for `previous`'s identity when it is.
    OwnerChanged {
        owner: Option<OwnerConnection>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        previous: Option<OwnerConnection>,
        reason: OwnerReason,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        held_ms: Option<u64>,
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

    /// Why an answer to this permission request naming `option` with
    /// `decision` is refused; `None` when the request offers that option
    /// and its kind agrees with the decision.
    pub fn option_mismatch(&self, option: &str, decision: Decision) -> Option<String> {
        let EventKind::PermissionRequest { options, .. } = self else {
            return Some("not a permission request".into());
        };
        let Some(offered) = options.iter().find(|o| o.id == option) else {
            return Some(format!("`{option}` is not an option of this request"));
        };
        match offered.kind.decision() {
            Some(wanted) if wanted == decision => None,
            Some(Decision::Allow) => Some(format!("option `{option}` needs decision `allow`")),
            Some(Decision::Deny) => Some(format!("option `{option}` needs decision `deny`")),
            None => Some(format!(
                "option `{option}` is of a kind this host cannot apply"
            )),
        }
    }

    /// The option a decision that names none stands for: the request's
    /// `allow_once` (or `reject_once`) option, so a plain answer never
    /// remembers anything. `Ok(None)` for a request with no options at all
    /// (an older host's), and for a deny with no `reject_once` (the agent
    /// is told `cancelled`); `Err` says what the request offers instead of
    /// an `allow_once`.
    pub fn once_option(&self, decision: Decision) -> Result<Option<&str>, String> {
        let EventKind::PermissionRequest { options, .. } = self else {
            return Err("not a permission request".into());
        };
        if options.is_empty() {
            return Ok(None);
        }
        let once = match decision {
            Decision::Allow => PermissionOptionKind::AllowOnce,
            Decision::Deny => PermissionOptionKind::RejectOnce,
        };
        if let Some(option) = options.iter().find(|o| o.kind == once) {
            return Ok(Some(&option.id));
        }
        // A deny must always be possible: without a reject-once option the
        // agent is told the request was cancelled, which remembers nothing.
        if decision == Decision::Deny {
            return Ok(None);
        }
        let offered: Vec<String> = options
            .iter()
            .map(|o| format!("`{}` ({})", o.id, o.kind.wire_name()))
            .collect();
        Err(format!(
            "this request offers no {} option; name one of its options: {}",
            once.wire_name(),
            offered.join(", ")
        ))
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

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn request(preview: Option<Preview>, options: Vec<PermissionOption>) -> EventKind {
        EventKind::PermissionRequest {
            request_id: "r".into(),
            tool: "Edit".into(),
            input: json!({}),
            tool_use_id: None,
            title: None,
            description: None,
            preview: preview.map(Box::new),
            options,
        }
    }

    #[test]
    fn previews_and_options_on_the_wire() {
        let diff = Preview::Diff {
            path: "a.txt".into(),
            diff: "@@ -1 +1 @@\n-a\n+b\n".into(),
            added: 1,
            removed: 1,
            new_file: false,
        };
        let event = request(Some(diff), PermissionOption::standard(Vec::new()));
        assert_eq!(
            serde_json::to_value(&event).unwrap(),
            json!({"kind": "permission_request", "request_id": "r", "tool": "Edit", "input": {},
                "preview": {"kind": "diff", "path": "a.txt", "diff": "@@ -1 +1 @@\n-a\n+b\n",
                    "added": 1, "removed": 1, "new_file": false},
                "options": [{"id": "allow_once", "kind": "allow_once", "label": "allow once"},
                    {"id": "reject_once", "kind": "reject_once", "label": "reject"}]})
        );
        // An older host's request (neither field) and newer kinds still read.
        let old: EventKind = serde_json::from_value(
            json!({"kind": "permission_request", "request_id": "r", "tool": "Edit", "input": {}}),
        )
        .unwrap();
        assert_eq!(old, request(None, Vec::new()));
        let newer: EventKind = serde_json::from_value(json!({"kind": "permission_request",
            "request_id": "r", "tool": "Edit", "input": {}, "preview": {"kind": "image", "x": 1},
            "options": [{"id": "z", "kind": "allow_forever", "label": "?"}]}))
        .unwrap();
        let EventKind::PermissionRequest {
            preview, options, ..
        } = newer
        else {
            unreachable!()
        };
        assert_eq!(preview.as_deref(), Some(&Preview::Unknown));
        assert_eq!(options[0].kind, PermissionOptionKind::Unknown);
    }

    #[test]
    fn an_option_must_be_offered_and_agree_with_the_decision() {
        let always =
            PermissionOption::new("allow_always_1", PermissionOptionKind::AllowAlways, "x");
        let never = PermissionOption::new("never", PermissionOptionKind::RejectAlways, "y");
        let mut options = PermissionOption::standard(vec![always]);
        options.push(never);
        let event = request(None, options);
        assert_eq!(event.option_mismatch("allow_once", Decision::Allow), None);
        assert_eq!(event.option_mismatch("never", Decision::Deny), None);
        assert_eq!(
            event.option_mismatch("never", Decision::Allow).as_deref(),
            Some("option `never` needs decision `deny`")
        );
        assert_eq!(
            event.option_mismatch("allow_always_1", Decision::Allow),
            None
        );
        assert_eq!(event.option_mismatch("reject_once", Decision::Deny), None);
        assert_eq!(
            event
                .option_mismatch("reject_once", Decision::Allow)
                .as_deref(),
            Some("option `reject_once` needs decision `deny`")
        );
        assert_eq!(
            event
                .option_mismatch("allow_always_2", Decision::Allow)
                .as_deref(),
            Some("`allow_always_2` is not an option of this request")
        );
        assert!(
            request(None, Vec::new())
                .option_mismatch("allow_once", Decision::Allow)
                .is_some()
        );
    }

    #[test]
    fn a_plain_decision_stands_for_the_once_option_wherever_it_is_listed() {
        // ACP agents list "always" first: a plain allow must not pick it.
        let options = vec![
            PermissionOption::new("always", PermissionOptionKind::AllowAlways, "Always Allow"),
            PermissionOption::new("once", PermissionOptionKind::AllowOnce, "Allow"),
            PermissionOption::new("no", PermissionOptionKind::RejectOnce, "Reject"),
        ];
        let event = request(None, options);
        assert_eq!(event.once_option(Decision::Allow), Ok(Some("once")));
        assert_eq!(event.once_option(Decision::Deny), Ok(Some("no")));
        // Only broader options: refused, naming what there is.
        let broad = request(
            None,
            vec![
                PermissionOption::new("a", PermissionOptionKind::AllowAlways, "A"),
                PermissionOption::new("n", PermissionOptionKind::RejectAlways, "N"),
            ],
        );
        assert_eq!(
            broad.once_option(Decision::Allow).unwrap_err(),
            "this request offers no allow_once option; name one of its options: \
             `a` (allow_always), `n` (reject_always)"
        );
        assert_eq!(
            broad.once_option(Decision::Deny),
            Ok(None),
            "cancelled, never `never`"
        );
        // An older host's request without options: nothing to remember anyway.
        assert_eq!(
            request(None, Vec::new()).once_option(Decision::Allow),
            Ok(None)
        );
    }
}
