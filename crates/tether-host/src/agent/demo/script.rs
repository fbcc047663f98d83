//! The demo agent's script and what its answers mean, pure: which steps it
//! plays, what it asks, what runs without asking, what it says about each
//! outcome and the closing summary. The I/O is in `demo/mod.rs`.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::Value;

use crate::host::error::{Error, Result};
use crate::protocol::{PermissionOption, PermissionOptionKind, Rule, RuleSpec};

/// The script `tether demo` plays (`assets/demo/script.json`).
pub const BUILT_IN: &str = include_str!("../../../../../assets/demo/script.json");

/// The option that makes the agent itself run every later file edit
/// without asking (as Claude Code's "accept edits" does: the agent keeps
/// it, not the host).
pub const ACCEPT_EDITS: &str = "accept_edits";

/// How long a scripted command's `{pause}` is at speed 1, in seconds.
const COMMAND_PAUSE: f64 = 0.25;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Script {
    /// Said when the agent starts, before any message.
    pub greeting: String,
    /// Files made in the working directory at start (those not there yet).
    #[serde(default)]
    pub files: BTreeMap<String, String>,
    /// The task: the first message starts it; an interrupt stops it and
    /// the next message carries on with the step after.
    pub task: Vec<Step>,
    /// Played for every message once the task is done, then `closing`.
    #[serde(default)]
    pub again: Vec<Step>,
    pub closing: String,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(untagged)]
pub enum Step {
    Say { say: String },
    Tool(ToolStep),
}

/// A tool call that needs permission.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ToolStep {
    /// `Write`, `Edit` (a file in the working directory) or `Bash`.
    pub tool: String,
    /// What it does, as an infinitive ("write the plan to `notes/plan.md`").
    pub what: String,
    /// As Claude Code's tools take it; a command's `{pause}` is filled in
    /// from the speed.
    pub input: Value,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ToolKind {
    File,
    Command,
}

impl Script {
    pub fn parse(text: &str) -> Result<Script> {
        let script: Script = serde_json::from_str(text)
            .map_err(|e| Error::Invalid(format!("the demo script: {e}")))?;
        for step in script.task.iter().chain(&script.again) {
            if let Step::Tool(step) = step {
                step.kind()?;
            }
        }
        Ok(script)
    }
}

impl ToolStep {
    pub fn kind(&self) -> Result<ToolKind> {
        match (self.tool.as_str(), self.input.get("command")) {
            ("Write" | "Edit", _) => Ok(ToolKind::File),
            ("Bash", Some(Value::String(_))) => Ok(ToolKind::Command),
            _ => Err(Error::Invalid(format!(
                "the demo script: a {} step the demo agent cannot run",
                self.tool
            ))),
        }
    }

    /// The input to ask for at `speed` (0: as fast as possible).
    pub fn input_at(&self, speed: f64) -> Value {
        let mut input = self.input.clone();
        if let Some(Value::String(command)) = input.get_mut("command") {
            let pause = if speed > 0.0 {
                ((COMMAND_PAUSE / speed) * 1000.0).round() / 1000.0
            } else {
                0.0
            };
            *command = command.replace("{pause}", &pause.to_string());
        }
        input
    }
}

/// The answers a request offers: once, always (edits: kept by the agent;
/// a command: a rule the host keeps, as the shell agent's), reject.
pub fn options(kind: ToolKind, input: &Value) -> Vec<PermissionOption> {
    let always = match (kind, input.get("command").and_then(Value::as_str)) {
        (ToolKind::Command, Some(command)) => PermissionOption {
            remember: Some(RuleSpec::ExactCommand {
                command: command.to_owned(),
            }),
            ..PermissionOption::new(
                super::super::shell::ALWAYS_THIS_COMMAND,
                PermissionOptionKind::AllowAlways,
                "always allow this exact command in this session",
            )
        },
        _ => PermissionOption::new(
            ACCEPT_EDITS,
            PermissionOptionKind::AllowAlways,
            "accept edits for this session",
        ),
    };
    PermissionOption::standard(vec![always])
}

/// Why a step runs without asking, if it does: edits once the owner chose
/// to accept them, a command a host rule allows.
pub fn runs_unasked(
    kind: ToolKind,
    input: &Value,
    accept_edits: bool,
    rules: &[Rule],
) -> Option<String> {
    match kind {
        ToolKind::File if accept_edits => {
            Some("runs without asking: you accepted edits for this session".into())
        }
        ToolKind::File => None,
        ToolKind::Command => {
            let command = input.get("command").and_then(Value::as_str)?;
            let rule = rules.iter().find(|r| r.spec.allows_command(command))?;
            Some(format!(
                "runs without asking: {} ({}), made by {}",
                rule.id, rule.label, rule.made_by
            ))
        }
    }
}

/// How a step ended.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    Done,
    /// Allowed with the owner's edited input.
    DoneEdited,
    /// Run without asking (accepted edits, a rule).
    DoneUnasked,
    Denied {
        reason: Option<String>,
    },
    Failed(String),
    Interrupted,
}

/// What the agent says right after a step, if anything.
pub fn remark(what: &str, outcome: &Outcome) -> Option<String> {
    match outcome {
        // An interrupt ends the turn: its end says so.
        Outcome::Done | Outcome::DoneUnasked | Outcome::Interrupted => None,
        Outcome::DoneEdited => Some("Done, with your edit instead of mine.".into()),
        Outcome::Denied { reason: None } => Some(format!("You said no, so I did not {what}.")),
        Outcome::Denied {
            reason: Some(reason),
        } => Some(format!(
            "You said no (\u{201c}{reason}\u{201d}), so I did not {what}."
        )),
        Outcome::Failed(why) => Some(format!("I could not {what}: {why}")),
    }
}

/// The `tool_result` of a denied step.
pub fn denied_result(kind: ToolKind, reason: Option<&str>) -> String {
    let what = match kind {
        ToolKind::File => "the file was left as it was",
        ToolKind::Command => "the command did not run",
    };
    match reason {
        Some(reason) => format!("denied by the user ({reason}): {what}"),
        None => format!("denied by the user: {what}"),
    }
}

/// The closing summary, in markdown: each step of the task and how it
/// ended, and where to check.
pub fn summary(outcomes: &[(String, Outcome)], cwd: &str) -> String {
    let mut text = String::from("## What happened\n\n");
    for (what, outcome) in outcomes {
        let how = match outcome {
            Outcome::Done => "**done**".to_owned(),
            Outcome::DoneEdited => "**done, with your edit**".to_owned(),
            Outcome::DoneUnasked => {
                "**done without asking** (you allowed it for the session)".into()
            }
            Outcome::Denied { .. } => "**denied** by you: not done, nothing changed".into(),
            Outcome::Failed(why) => format!("**failed**: {why}"),
            Outcome::Interrupted => "**interrupted** by you".into(),
        };
        text.push_str(&format!("- {what}: {how}\n"));
    }
    text.push_str(&format!(
        "\nThe files are in `{cwd}`: look, they are as this list says."
    ));
    text
}

/// The input to run: the owner's edit when there is one.
pub fn input_to_run(asked: Value, edited: Option<Value>) -> (Value, bool) {
    match edited {
        Some(edited) if edited != asked => (edited, true),
        _ => (asked, false),
    }
}

#[cfg(test)]
mod tests;
