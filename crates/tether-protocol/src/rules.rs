//! Rules the owner made with an `allow_always` answer that the host keeps
//! (the shell agent's "always allow this exact command"): journaled as
//! `rule_added`/`rule_removed` events, listed in `ready.session.rules`.

use serde::{Deserialize, Serialize};

/// What a rule allows without asking.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum RuleSpec {
    /// A shell command line, exactly as typed.
    ExactCommand { command: String },
    /// A kind this build does not know (a newer host's).
    #[serde(other)]
    Unknown,
}

impl RuleSpec {
    /// What the rule allows, in words, naming the command.
    pub fn describe(&self) -> String {
        match self {
            RuleSpec::ExactCommand { command } => {
                format!("always allow `{command}` in this session")
            }
            RuleSpec::Unknown => "a rule of a kind this build does not know".into(),
        }
    }

    /// Whether this rule lets `command` run without asking.
    pub fn allows_command(&self, command: &str) -> bool {
        matches!(self, RuleSpec::ExactCommand { command: allowed } if allowed == command)
    }
}

/// A rule in force.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rule {
    /// `rule-N`, unique within the session's history.
    pub id: String,
    /// In words: what it allows and where ("always allow `ls` in this session").
    pub label: String,
    pub spec: RuleSpec,
    /// The identity that made it.
    pub made_by: String,
}
