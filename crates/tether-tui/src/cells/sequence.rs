//! The order events read in, the same for the full-screen transcript and
//! the plain (headless) output: which events end an output stream, a tool
//! call held until its permission request is answered (it runs only
//! then, and never when denied), and what a settled request was about.
//!
//! A pure state machine: each event in, a [`Plan`] out, which each
//! transcript carries out its own way (the full-screen one moves a block
//! already shown; the plain one holds a line back before printing it).

use std::collections::HashMap;

use crate::protocol::{Decision, EventKind, PermissionOption, PermissionOptionKind};

/// What one event does to the order, besides its own cell.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Plan {
    /// Output streams end before this event's cell (their held tails
    /// are shown, their styles forgotten).
    pub ends_streams: bool,
    /// The tool call announced just before this permission request (its
    /// `tool_use_id`) waits for the answer: it has not run yet.
    pub hold_call: Option<String>,
    /// A held call's request was settled: the call (by its
    /// `tool_use_id`) now runs (`true`), or never will (`false`).
    pub release_call: Option<(String, bool)>,
    /// The settled request, for the line that settles it.
    pub settled: Option<Settled>,
    /// This tool call (its `tool_use_id`) is the one the answer just
    /// before allowed, announced only now (the shell agent runs what it
    /// asked for): the answer's line already says it.
    pub call_answered: Option<String>,
}

/// What the line settling a request says it was about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settled {
    /// "Bash rm -rf build", or the request's id when it was never seen.
    pub subject: String,
    /// The label of the allow-always option chosen: what is remembered.
    pub always: Option<String>,
}

/// A request open in the transcript.
#[derive(Debug, Clone)]
struct Open {
    subject: String,
    always: Vec<(String, String)>,
    /// The call held for it.
    call: Option<String>,
    /// The call it asks for (`tool_use_id`), announced or not.
    for_call: Option<String>,
}

#[derive(Debug, Default)]
pub struct Sequencer {
    /// The tool call announced last, while nothing else was shown.
    announced: Option<String>,
    /// The call an allow answered just now, not yet announced.
    allowed_call: Option<String>,
    open: HashMap<String, Open>,
}

impl Sequencer {
    /// A request the session says is open (`ready` lists them when a
    /// client attaches after they were raised).
    pub fn note_request(
        &mut self,
        request_id: &str,
        tool: &str,
        summary: &str,
        options: &[PermissionOption],
    ) {
        let always = options
            .iter()
            .filter(|o| o.kind == PermissionOptionKind::AllowAlways)
            .map(|o| (o.id.clone(), o.label.clone()))
            .collect();
        let known = self.open.get(request_id);
        let call = known.and_then(|o| o.call.clone());
        let for_call = known.and_then(|o| o.for_call.clone());
        let open = Open {
            subject: super::request_subject(tool, summary),
            always,
            call,
            for_call,
        };
        self.open.insert(request_id.to_owned(), open);
    }

    /// Starting over (a new history).
    pub fn clear(&mut self) {
        *self = Sequencer::default();
    }

    /// Whether `event` leaves a call announced before it the last thing
    /// said: a status that is not the exit, metadata, a streamed part of
    /// a reply (the reply itself counts), an unknown event.
    pub fn shows_nothing(event: &EventKind) -> bool {
        match event {
            EventKind::Status { state, .. } => *state != crate::protocol::AgentState::Exited,
            EventKind::Metadata { .. } | EventKind::AssistantDelta { .. } | EventKind::Unknown => {
                true
            }
            _ => false,
        }
    }

    pub fn plan(&mut self, event: &EventKind) -> Plan {
        let mut plan = Plan {
            ends_streams: !matches!(
                event,
                EventKind::Output { .. } | EventKind::Status { .. } | EventKind::Metadata { .. }
            ),
            ..Plan::default()
        };
        let (announced, allowed_call) = if Self::shows_nothing(event) {
            (None, None)
        } else {
            (self.announced.take(), self.allowed_call.take())
        };
        match event {
            EventKind::ToolUse { tool_use_id, .. }
                if allowed_call.as_ref() == Some(tool_use_id) =>
            {
                plan.call_answered = allowed_call;
            }
            EventKind::ToolUse { tool_use_id, .. } => self.announced = Some(tool_use_id.clone()),
            EventKind::PermissionRequest {
                request_id,
                tool,
                input,
                options,
                tool_use_id,
                ..
            } => {
                let summary = super::summarize_input(input);
                self.note_request(request_id, tool, &summary, options);
                if let Some(open) = self.open.get_mut(request_id) {
                    open.for_call = tool_use_id.clone();
                }
                if announced.is_some() && announced == *tool_use_id {
                    if let Some(open) = self.open.get_mut(request_id) {
                        open.call = announced.clone();
                    }
                    plan.hold_call = announced;
                }
            }
            EventKind::PermissionResolved {
                request_id,
                decision,
                option,
                ..
            } => {
                let open = self.open.remove(request_id);
                let allowed = *decision == Decision::Allow;
                // A call not announced yet runs now: it may follow.
                if allowed && let Some(open) = open.as_ref().filter(|o| o.call.is_none()) {
                    self.allowed_call = open.for_call.clone();
                }
                plan.settle(open, request_id, allowed, option.as_deref());
            }
            EventKind::PermissionCancelled { request_id, .. } => {
                plan.settle(self.open.remove(request_id), request_id, false, None)
            }
            _ => {}
        }
        plan
    }
}

impl Plan {
    fn settle(
        &mut self,
        open: Option<Open>,
        request_id: &str,
        allowed: bool,
        option: Option<&str>,
    ) {
        let Some(open) = open else {
            self.settled = Some(Settled {
                subject: request_id.to_owned(),
                always: None,
            });
            return;
        };
        let always = open
            .always
            .into_iter()
            .find(|(id, _)| Some(id.as_str()) == option)
            .map(|(_, label)| label);
        self.release_call = open.call.map(|call| (call, allowed));
        self.settled = Some(Settled {
            subject: open.subject,
            always,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::{AgentState, OutputStream};
    use serde_json::json;

    fn call(id: &str) -> EventKind {
        EventKind::ToolUse {
            name: "Bash".into(),
            input: json!({"command": "ls"}),
            tool_use_id: id.into(),
        }
    }

    fn request(id: &str, for_call: Option<&str>) -> EventKind {
        EventKind::PermissionRequest {
            request_id: id.into(),
            tool: "Bash".into(),
            input: json!({"command": "ls"}),
            tool_use_id: for_call.map(str::to_owned),
            title: None,
            description: None,
            preview: None,
            options: PermissionOption::standard(vec![PermissionOption::new(
                "always",
                PermissionOptionKind::AllowAlways,
                "always allow ls",
            )]),
        }
    }

    fn resolved(id: &str, decision: Decision, option: Option<&str>) -> EventKind {
        EventKind::PermissionResolved {
            request_id: id.into(),
            decision,
            by: "alice".into(),
            message: None,
            updated_input: None,
            option: option.map(str::to_owned),
        }
    }

    #[test]
    fn a_call_waits_for_its_request_and_runs_only_when_allowed() {
        let mut order = Sequencer::default();
        assert_eq!(order.plan(&call("t1")).hold_call, None);
        // A status change between them shows nothing: still the call's.
        let busy = EventKind::Status {
            state: AgentState::AwaitingPermission,
            detail: None,
            exit_code: None,
        };
        assert!(!order.plan(&busy).ends_streams);
        assert_eq!(
            order.plan(&request("r1", Some("t1"))).hold_call.as_deref(),
            Some("t1")
        );
        let plan = order.plan(&resolved("r1", Decision::Allow, Some("always")));
        assert_eq!(plan.release_call, Some(("t1".into(), true)));
        let settled = plan.settled.unwrap();
        assert_eq!(settled.subject, "Bash ls");
        assert_eq!(settled.always.as_deref(), Some("always allow ls"));

        order.plan(&call("t2"));
        order.plan(&request("r2", Some("t2")));
        let plan = order.plan(&EventKind::PermissionCancelled {
            request_id: "r2".into(),
            reason: None,
        });
        assert_eq!(plan.release_call, Some(("t2".into(), false)));
    }

    #[test]
    fn a_request_for_another_call_or_after_other_lines_holds_nothing() {
        let mut order = Sequencer::default();
        order.plan(&call("t1"));
        assert_eq!(order.plan(&request("r1", Some("t9"))).hold_call, None);
        order.plan(&call("t2"));
        let out = EventKind::Output {
            stream: OutputStream::Stdout,
            text: "x".into(),
        };
        let plan = order.plan(&out);
        assert!(!plan.ends_streams, "output continues its stream");
        assert_eq!(order.plan(&request("r2", Some("t2"))).hold_call, None);
        // Settled without having been seen: its id says what.
        let plan = order.plan(&resolved("r7", Decision::Deny, None));
        assert_eq!(plan.settled.unwrap().subject, "r7");
        assert_eq!(plan.release_call, None);
    }

    #[test]
    fn a_call_announced_after_its_answer_is_the_answers() {
        // The shell agent asks, then announces the call it runs.
        let mut order = Sequencer::default();
        order.plan(&request("r1", Some("r1")));
        let plan = order.plan(&resolved("r1", Decision::Allow, None));
        assert_eq!(plan.release_call, None, "nothing was held");
        assert_eq!(order.plan(&call("r1")).call_answered.as_deref(), Some("r1"));
        // Denied, or another call: a call of its own.
        order.plan(&request("r2", Some("r2")));
        order.plan(&resolved("r2", Decision::Deny, None));
        assert_eq!(order.plan(&call("r2")).call_answered, None);
        order.plan(&request("r3", Some("r3")));
        order.plan(&resolved("r3", Decision::Allow, None));
        assert_eq!(order.plan(&call("t9")).call_answered, None);
    }

    #[test]
    fn a_request_known_from_ready_is_settled_by_its_subject() {
        let mut order = Sequencer::default();
        order.note_request(
            "r1",
            "Edit",
            "src/main.rs",
            &PermissionOption::standard(Vec::new()),
        );
        let plan = order.plan(&resolved("r1", Decision::Deny, None));
        assert_eq!(plan.settled.unwrap().subject, "Edit src/main.rs");
    }
}
