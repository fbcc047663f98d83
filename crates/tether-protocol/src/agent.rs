//! What an agent says about itself beyond its transcript: the modes it can
//! run in, its slash commands, its plan and its context usage. Each has
//! an event kind that replaces what was known; `ready.agent` holds the
//! latest of each for a client that joins late.

use serde::{Deserialize, Serialize};

/// One mode an agent can run in (ACP's session modes; Claude Code's
/// permission modes).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgentMode {
    pub id: String,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

/// A slash command the agent takes in a user message (`/name input`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SlashCommand {
    /// Without the leading `/`.
    pub name: String,
    #[serde(default)]
    pub description: String,
    /// What to type after the name, when it takes input.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input_hint: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PlanStatus {
    Pending,
    InProgress,
    Completed,
    #[serde(other)]
    Unknown,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PlanPriority {
    High,
    Medium,
    Low,
    #[serde(other)]
    Unknown,
}

/// One step of the agent's plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanEntry {
    pub content: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priority: Option<PlanPriority>,
    pub status: PlanStatus,
}

/// How full the agent's context is, and what the session cost so far.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Usage {
    /// Tokens in the context now.
    pub used: u64,
    /// The context window, in tokens.
    pub size: u64,
    /// The session's cost so far, when the agent says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cost: Option<f64>,
    /// The currency of `cost` (ISO 4217, `USD` when absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub currency: Option<String>,
}

/// The latest of what the agent said about itself (`ready.agent`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AgentInfo {
    /// The id of the mode it is in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub modes: Vec<AgentMode>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub commands: Vec<SlashCommand>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub plan: Vec<PlanEntry>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub usage: Option<Usage>,
}

impl AgentInfo {
    pub fn is_empty(&self) -> bool {
        *self == AgentInfo::default()
    }

    /// Takes what one event says; whether it said anything of this kind.
    pub fn apply(&mut self, event: &super::EventKind) -> bool {
        use super::EventKind;
        match event {
            EventKind::Mode { mode, modes, .. } => {
                self.mode = Some(mode.clone());
                if let Some(modes) = modes {
                    self.modes = modes.clone();
                }
            }
            EventKind::Commands { commands } => self.commands = commands.clone(),
            EventKind::Plan { entries } => self.plan = entries.clone(),
            EventKind::Usage { usage } => self.usage = Some(usage.clone()),
            _ => return false,
        }
        true
    }

    /// The mode after `current` in the list (wrapping), for cycling.
    pub fn next_mode(&self) -> Option<&AgentMode> {
        let at = self
            .modes
            .iter()
            .position(|m| Some(&m.id) == self.mode.as_ref());
        let next = at.map_or(0, |at| (at + 1) % self.modes.len());
        self.modes.get(next)
    }

    /// The current mode's name (its id when it is not listed).
    pub fn mode_name(&self) -> Option<&str> {
        let id = self.mode.as_deref()?;
        Some(
            self.modes
                .iter()
                .find(|m| m.id == id)
                .map_or(id, |m| m.name.as_str()),
        )
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::EventKind;

    #[test]
    fn events_replace_what_was_known_and_old_readers_skip_them() {
        let mut info = AgentInfo::default();
        let modes = vec![
            AgentMode {
                id: "ask".into(),
                name: "Ask".into(),
                description: None,
            },
            AgentMode {
                id: "code".into(),
                name: "Code".into(),
                description: None,
            },
        ];
        assert!(info.apply(&EventKind::Mode {
            mode: "ask".into(),
            modes: Some(modes),
            by: None,
        }));
        assert_eq!(info.next_mode().map(|m| m.id.as_str()), Some("code"));
        info.apply(&EventKind::Mode {
            mode: "code".into(),
            modes: None,
            by: None,
        });
        assert_eq!(info.modes.len(), 2, "absent modes leave the list");
        assert_eq!(info.mode_name(), Some("Code"));
        assert_eq!(info.next_mode().map(|m| m.id.as_str()), Some("ask"));
        let plan: EventKind = serde_json::from_value(json!({"kind": "plan", "entries": [
            {"content": "a", "status": "completed", "priority": "high"},
            {"content": "b", "status": "blocked"}]}))
        .unwrap();
        info.apply(&plan);
        assert_eq!(info.plan[1].status, PlanStatus::Unknown);
        info.apply(&EventKind::Plan {
            entries: Vec::new(),
        });
        assert!(info.plan.is_empty(), "an empty plan clears it");
        assert!(!info.apply(&EventKind::notice(crate::NoticeLevel::Info, "x")));
        assert_eq!(
            serde_json::to_value(&info).unwrap(),
            json!({"mode": "code", "modes": [{"id": "ask", "name": "Ask"},
                {"id": "code", "name": "Code"}]})
        );
    }
}
