//! Claude Code's permission modes: reported from `init`, switched with
//! the `set_permission_mode` control request.

use serde_json::{Value, json};

use super::{Action, Mapper, control_response, text_of};
use crate::protocol::{AgentMode, EventKind};

/// Claude Code's permission modes, as `--permission-mode` names them.
const CLAUDE_MODES: [(&str, &str); 4] = [
    ("default", "Default"),
    ("acceptEdits", "Accept edits"),
    ("plan", "Plan"),
    ("bypassPermissions", "Bypass permissions"),
];

impl Mapper {
    /// Claude Code's `set_permission_mode` control request; the mode is
    /// reported once it answers with success.
    pub fn set_mode(&mut self, mode: String, by: String) -> Vec<Action> {
        self.next_request += 1;
        let request_id = format!("tether_mode_{}", self.next_request);
        let line = json!({
            "type": "control_request",
            "request_id": request_id,
            "request": { "subtype": "set_permission_mode", "mode": mode },
        });
        self.mode_requests.insert(request_id, (mode, by));
        vec![Action::Write(line)]
    }

    /// `init`'s `permissionMode`, as a `mode` event when it changed (the
    /// first one with the modes Claude Code offers).
    pub(super) fn init_mode(&mut self, message: &Value) -> Option<Action> {
        let mode = message.get("permissionMode").and_then(text_of)?;
        if self.last_mode.as_ref() == Some(&mode) {
            return None;
        }
        let modes = self.last_mode.is_none().then(|| {
            CLAUDE_MODES
                .iter()
                .map(|(id, name)| AgentMode {
                    id: (*id).into(),
                    name: (*name).into(),
                    description: None,
                })
                .collect()
        });
        self.last_mode = Some(mode.clone());
        Some(Action::Emit(EventKind::Mode {
            mode,
            modes,
            by: None,
        }))
    }

    /// The answer to one of our control requests: a mode switch made, or
    /// a refusal shown.
    pub(super) fn control_response(&mut self, message: &Value) -> Vec<Action> {
        let response = message.get("response").unwrap_or(&Value::Null);
        let asked = response
            .get("request_id")
            .and_then(Value::as_str)
            .and_then(|id| self.mode_requests.remove(id));
        match asked {
            Some((mode, by))
                if response.get("subtype").and_then(Value::as_str) == Some("success") =>
            {
                self.last_mode = Some(mode.clone());
                vec![Action::Emit(EventKind::Mode {
                    mode,
                    modes: None,
                    by: Some(by),
                })]
            }
            _ => control_response(message),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn emitted(actions: &[Action]) -> Vec<&EventKind> {
        actions
            .iter()
            .filter_map(|a| match a {
                Action::Emit(e) => Some(e),
                Action::Write(_) => None,
            })
            .collect()
    }

    fn init(mode: &str) -> Vec<u8> {
        json!({"type": "system", "subtype": "init", "session_id": "s", "permissionMode": mode})
            .to_string()
            .into_bytes()
    }

    #[test]
    fn the_permission_mode_is_reported_and_switched_by_control_request() {
        let mut mapper = Mapper::default();
        let first = mapper.from_agent(&init("default"));
        let modes = emitted(&first).into_iter().find_map(|e| match e {
            EventKind::Mode { mode, modes, .. } => Some((mode.clone(), modes.clone())),
            _ => None,
        });
        let (mode, modes) = modes.expect("a mode event");
        assert_eq!(mode, "default");
        assert_eq!(modes.map(|m| m.len()), Some(4));
        // init repeats at every turn: an unchanged mode is no news.
        let again = mapper.from_agent(&init("default"));
        assert!(
            !emitted(&again)
                .iter()
                .any(|e| matches!(e, EventKind::Mode { .. }))
        );
        let asked = mapper.set_mode("plan".into(), "alice".into());
        let [Action::Write(line)] = asked.as_slice() else {
            panic!("{asked:?}")
        };
        assert_eq!(
            line["request"],
            json!({"subtype": "set_permission_mode", "mode": "plan"})
        );
        let id = line["request_id"].as_str().unwrap();
        let refused = json!({"type": "control_response", "response": {"subtype": "error",
            "request_id": "other", "error": "nope"}});
        assert!(matches!(
            emitted(&mapper.from_agent(refused.to_string().as_bytes()))[..],
            [EventKind::Notice { .. }]
        ));
        let done = json!({"type": "control_response", "response": {"subtype": "success",
            "request_id": id}});
        assert_eq!(
            emitted(&mapper.from_agent(done.to_string().as_bytes())),
            [&EventKind::Mode {
                mode: "plan".into(),
                modes: None,
                by: Some("alice".into())
            }]
        );
    }
}
