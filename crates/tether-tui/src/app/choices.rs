//! What the owner may answer to a request: the numbered choices built
//! from its `options`, and the `permission_decision` each one sends.

use serde_json::Value;

use super::Pending;
use crate::protocol::{
    ClientMessage, Decision, EventKind, PermissionDecision, PermissionOptionKind, Preview,
};
use crate::tui::cells::summarize_input;
use crate::tui::sanitize::sanitize_plain;

/// One numbered answer of the decision view.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Choice {
    /// Allow, naming `option` (none from a host that offers no options).
    Allow {
        option: Option<String>,
        label: String,
    },
    /// Edit the command (or the input as JSON) in a text area, then allow.
    EditAndAllow,
    /// Type a message to the agent in a text area, then deny.
    Deny { option: Option<String> },
}

impl Choice {
    pub fn label(&self) -> String {
        match self {
            Choice::Allow { label, .. } => label.clone(),
            Choice::EditAndAllow => "Edit, then allow…".to_owned(),
            Choice::Deny { .. } => "Deny, with a message to the agent…".to_owned(),
        }
    }
}

/// The choices for a request: allow once, each allow-always option (its
/// label says what is remembered and where), edit and allow, deny.
/// Which of `choices` `a` picks: the first allow after allow once (an
/// always-allow), if any.
pub fn first_always(choices: &[Choice]) -> Option<usize> {
    (1..choices.len()).find(|i| matches!(choices[*i], Choice::Allow { .. }))
}

pub fn choices(request: &Pending) -> Vec<Choice> {
    let offered = |kind| {
        request
            .options
            .iter()
            .find(|o| o.kind == kind)
            .map(|o| o.id.clone())
    };
    let mut choices = vec![Choice::Allow {
        option: offered(PermissionOptionKind::AllowOnce),
        label: "Allow once".to_owned(),
    }];
    choices.extend(
        request
            .options
            .iter()
            .filter(|o| o.kind == PermissionOptionKind::AllowAlways)
            .map(|o| Choice::Allow {
                option: Some(o.id.clone()),
                label: capitalized(&sanitize_plain(&o.label)),
            }),
    );
    if request.editable {
        choices.push(Choice::EditAndAllow);
    }
    choices.push(Choice::Deny {
        option: offered(PermissionOptionKind::RejectOnce),
    });
    choices
}

fn capitalized(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// One `permission_decision` to send.
pub(super) struct Answer {
    pub request_id: String,
    pub decision: Decision,
    pub option: Option<String>,
    pub message: Option<String>,
    pub updated_input: Option<Value>,
}

impl Pending {
    /// The pending request a `permission_request` event describes.
    pub fn from_event(event: EventKind, ts: &str) -> Option<Pending> {
        let EventKind::PermissionRequest {
            request_id,
            tool,
            input,
            title,
            description,
            preview,
            options,
            ..
        } = event
        else {
            return None;
        };
        Some(Pending {
            request_id,
            tool,
            summary: summarize_input(&input),
            input,
            raised: humantime::parse_rfc3339_weak(ts).ok(),
            title,
            description,
            preview,
            options,
            editable: true,
        })
    }

    /// The command of a command preview.
    pub fn command(&self) -> Option<&str> {
        match self.preview.as_deref() {
            Some(Preview::Command { command, .. }) => Some(command),
            _ => None,
        }
    }
}

impl Answer {
    /// The `permission_decision` that carries this answer.
    pub fn into_message(self, id: String) -> ClientMessage {
        ClientMessage::PermissionDecision(PermissionDecision {
            id,
            request_id: self.request_id,
            decision: self.decision,
            message: self.message,
            updated_input: self.updated_input,
            option: self.option,
        })
    }
}

/// Allow once, naming the request's own `allow_once` option, so that the
/// answer can never be taken for a broader one.
pub(super) fn allow_once(request: &Pending) -> Answer {
    let option = choices(request).into_iter().find_map(|c| match c {
        Choice::Allow { option, .. } => option,
        _ => None,
    });
    Answer {
        request_id: request.request_id.clone(),
        decision: Decision::Allow,
        option,
        message: None,
        updated_input: None,
    }
}

pub(super) fn deny(request: &Pending, message: Option<String>) -> Answer {
    let option = choices(request).into_iter().find_map(|c| match c {
        Choice::Deny { option } => option,
        _ => None,
    });
    Answer {
        request_id: request.request_id.clone(),
        decision: Decision::Deny,
        option,
        message,
        updated_input: None,
    }
}

pub(super) fn allow_edited(request: &Pending, input: Value) -> Answer {
    Answer {
        updated_input: Some(input),
        ..allow_once(request)
    }
}

/// The request's input with its command replaced.
pub(super) fn edited_command(request: &Pending, text: &str) -> Result<Answer, String> {
    if text.trim().is_empty() {
        return Err("the command is empty: nothing sent (Esc goes back)".to_owned());
    }
    let mut input = match &request.input {
        Value::Object(fields) => fields.clone(),
        _ => serde_json::Map::new(),
    };
    input.insert("command".to_owned(), Value::String(text.to_owned()));
    Ok(allow_edited(request, Value::Object(input)))
}

pub(super) fn edited_input(request: &Pending, text: &str) -> Result<Answer, String> {
    match serde_json::from_str::<Value>(text) {
        Ok(input @ Value::Object(_)) => Ok(allow_edited(request, input)),
        Ok(_) => Err("the input must be a JSON object: nothing sent".to_owned()),
        Err(e) => Err(format!("not valid JSON ({e}): nothing sent")),
    }
}

pub use crate::tui::cells::preview::literal;
