//! One tool step of the demo: asked for (unless the owner's earlier answer
//! or a host rule covers it), then carried out as answered.

use serde_json::Value;

use super::script::{self, Outcome, ToolKind, ToolStep};
use super::{Demo, Flow};
use crate::host::agent::AgentInput;
use crate::host::agent::shell::{self, Stop};
use crate::host::preview;
use crate::host::session::AgentCommand;
use crate::protocol::{AgentState, Decision, EventKind, NoticeLevel};

/// The owner's answer to a request.
enum Answer {
    Allow { input: Value, edited: bool },
    Deny { reason: Option<String> },
    Interrupted,
    Stop,
}

impl Demo {
    /// Plays one tool step; how the turn goes on, and how the step ended.
    pub(super) async fn tool(&mut self, step: &ToolStep) -> (Flow, Outcome) {
        let Ok(kind) = step.kind() else {
            return (
                Flow::Go,
                Outcome::Failed("not a tool this agent has".into()),
            );
        };
        self.calls += 1;
        let id = format!("demo-{}", self.calls);
        let asked = step.input_at(self.speed);
        self.send(EventKind::ToolUse {
            tool_use_id: id.clone(),
            name: step.tool.clone(),
            input: asked.clone(),
        })
        .await;
        let unasked = script::runs_unasked(kind, &asked, self.accept_edits, &self.rules);
        let ran_unasked = unasked.is_some();
        let (input, edited) = match unasked {
            Some(why) => {
                self.send(EventKind::notice(NoticeLevel::Info, why)).await;
                (asked, false)
            }
            None => match self.ask(&id, step, kind, asked).await {
                Answer::Allow { input, edited } => (input, edited),
                Answer::Deny { reason } => {
                    let content = script::denied_result(kind, reason.as_deref());
                    self.result(&id, content, true).await;
                    self.send(EventKind::status(AgentState::Running)).await;
                    return (Flow::Go, Outcome::Denied { reason });
                }
                Answer::Interrupted => return (Flow::Interrupted, Outcome::Interrupted),
                Answer::Stop => return (Flow::Stop, Outcome::Interrupted),
            },
        };
        self.send(EventKind::status(AgentState::Running)).await;
        let (flow, done) = match kind {
            ToolKind::File => (Flow::Go, self.write(&id, &step.tool, &input).await),
            ToolKind::Command => self.command(&id, &input).await,
        };
        let outcome = match done {
            Err(why) => Outcome::Failed(why),
            Ok(()) if flow == Flow::Interrupted => Outcome::Interrupted,
            Ok(()) if edited => Outcome::DoneEdited,
            Ok(()) if ran_unasked => Outcome::DoneUnasked,
            Ok(()) => Outcome::Done,
        };
        (flow, outcome)
    }

    /// Asks the owner and waits for the answer (or an interrupt).
    async fn ask(&mut self, id: &str, step: &ToolStep, kind: ToolKind, input: Value) -> Answer {
        let preview = preview::for_request_async(&step.tool, &input, &self.cwd).await;
        self.send(EventKind::PermissionRequest {
            request_id: id.to_owned(),
            tool: step.tool.clone(),
            input: input.clone(),
            tool_use_id: Some(id.to_owned()),
            title: Some(step.tool.clone()),
            description: Some(step.what.replace('`', "")),
            preview: preview.map(Box::new),
            options: script::options(kind, &input),
        })
        .await;
        self.send(EventKind::status(AgentState::AwaitingPermission))
            .await;
        loop {
            match self.inbox.recv().await {
                None | Some(AgentInput::Shutdown) => return Answer::Stop,
                Some(AgentInput::Command(AgentCommand::Interrupt)) => {
                    self.send(EventKind::PermissionCancelled {
                        request_id: id.to_owned(),
                        reason: Some("interrupted".into()),
                    })
                    .await;
                    return Answer::Interrupted;
                }
                Some(AgentInput::Command(AgentCommand::Rules(now))) => self.rules = now,
                Some(AgentInput::Command(AgentCommand::Decision {
                    request_id,
                    decision,
                    message,
                    updated_input,
                    option,
                })) if request_id == id => {
                    if decision == Decision::Deny {
                        return Answer::Deny { reason: message };
                    }
                    if option.as_deref() == Some(script::ACCEPT_EDITS) {
                        self.accept_edits = true;
                    }
                    let (input, edited) = script::input_to_run(input, updated_input);
                    return Answer::Allow { input, edited };
                }
                Some(AgentInput::Command(_)) => {}
            }
        }
    }

    /// Carries out a file tool inside the working directory.
    async fn write(&mut self, id: &str, tool: &str, input: &Value) -> Result<(), String> {
        let (tool_name, input_owned, cwd) = (tool.to_owned(), input.clone(), self.cwd.clone());
        let written = tokio::task::spawn_blocking(move || {
            let (path, after) = preview::file_after(&tool_name, &input_owned, &cwd)?;
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent).map_err(|e| e.to_string())?;
            }
            std::fs::write(&path, &after).map_err(|e| e.to_string())?;
            let shown = path
                .strip_prefix(cwd.canonicalize().unwrap_or(cwd))
                .map(|p| p.display().to_string())
                .unwrap_or_else(|_| path.display().to_string());
            let lines = after.lines().count();
            Ok::<_, String>(format!("{shown} now holds {lines} lines"))
        })
        .await
        .unwrap_or_else(|e| Err(format!("the write failed: {e}")));
        match written {
            Ok(content) => {
                self.result(id, content, false).await;
                Ok(())
            }
            Err(why) => {
                self.result(id, why.clone(), true).await;
                Err(why)
            }
        }
    }

    /// Runs a command in the working directory, streaming its output.
    async fn command(&mut self, id: &str, input: &Value) -> (Flow, Result<(), String>) {
        let Some(command) = input.get("command").and_then(Value::as_str) else {
            let why = "the input has no command".to_owned();
            self.result(id, why.clone(), true).await;
            return (Flow::Go, Err(why));
        };
        let ran = shell::run_command(&self.cwd, command, &mut self.inbox, &self.events).await;
        let failed = ran.code != Some(0);
        self.result(id, ran.content.clone(), failed).await;
        match ran.stop {
            Some(Stop::Shutdown) => (Flow::Stop, Ok(())),
            Some(Stop::Interrupted) => (Flow::Interrupted, Ok(())),
            None if failed => (Flow::Go, Err(ran.content)),
            None => (Flow::Go, Ok(())),
        }
    }

    async fn result(&self, id: &str, content: String, is_error: bool) {
        self.send(EventKind::ToolResult {
            tool_use_id: id.to_owned(),
            content,
            is_error,
        })
        .await;
    }
}
