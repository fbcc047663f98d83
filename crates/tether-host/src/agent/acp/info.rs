//! What an ACP agent says about itself (modes, slash commands, plan,
//! usage) as tether events. Pure: JSON in, events out; anything missing or
//! of the wrong type is left out rather than refused.

use serde_json::Value;

use crate::protocol::{
    AgentMode, EventKind, PlanEntry, PlanPriority, PlanStatus, SlashCommand, Usage,
};

fn text(value: &Value, key: &str) -> Option<String> {
    value.get(key).and_then(Value::as_str).map(str::to_owned)
}

fn list<'a>(value: &'a Value, key: &str) -> impl Iterator<Item = &'a Value> {
    value
        .get(key)
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
}

/// A `SessionModeState` (`session/new`'s `modes`): the current mode and
/// the modes offered.
pub fn modes(state: &Value) -> Option<EventKind> {
    let mode = text(state, "currentModeId")?;
    let modes = list(state, "availableModes")
        .filter_map(|m| {
            let id = text(m, "id")?;
            Some(AgentMode {
                name: text(m, "name").unwrap_or_else(|| id.clone()),
                description: text(m, "description").filter(|d| !d.is_empty()),
                id,
            })
        })
        .collect();
    Some(EventKind::Mode {
        mode,
        modes: Some(modes),
        by: None,
    })
}

/// `current_mode_update`: the mode the agent switched to.
pub fn current_mode(update: &Value) -> Option<EventKind> {
    let mode = text(update, "currentModeId").or_else(|| text(update, "modeId"))?;
    Some(EventKind::Mode {
        mode,
        modes: None,
        by: None,
    })
}

/// `available_commands_update`: every command, replacing the last list.
pub fn commands(update: &Value) -> EventKind {
    let commands = list(update, "availableCommands")
        .filter_map(|c| {
            Some(SlashCommand {
                name: text(c, "name")?.trim_start_matches('/').to_owned(),
                description: text(c, "description").unwrap_or_default(),
                input_hint: c
                    .get("input")
                    .and_then(|i| text(i, "hint"))
                    .filter(|h| !h.is_empty()),
            })
        })
        .collect();
    EventKind::Commands { commands }
}

/// `plan`: the whole plan, replacing the last one.
pub fn plan(update: &Value) -> EventKind {
    let entries = list(update, "entries")
        .map(|e| PlanEntry {
            content: text(e, "content").unwrap_or_default(),
            priority: e
                .get("priority")
                .cloned()
                .and_then(|p| serde_json::from_value::<PlanPriority>(p).ok()),
            status: e
                .get("status")
                .cloned()
                .and_then(|s| serde_json::from_value(s).ok())
                .unwrap_or(PlanStatus::Pending),
        })
        .collect();
    EventKind::Plan { entries }
}

/// `usage_update`: tokens in the context, its size, and the cost so far.
pub fn usage(update: &Value) -> Option<EventKind> {
    let used = update.get("used").and_then(Value::as_u64)?;
    let size = update.get("size").and_then(Value::as_u64)?;
    let cost = update.get("cost").filter(|c| !c.is_null());
    Some(EventKind::Usage {
        usage: Usage {
            used,
            size,
            cost: cost.and_then(|c| c.get("amount")).and_then(Value::as_f64),
            currency: cost.and_then(|c| text(c, "currency")),
        },
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn modes_commands_plan_and_usage_read_leniently() {
        let state = json!({"currentModeId": "ask", "availableModes": [
            {"id": "ask", "name": "Ask", "description": "asks first"}, {"id": "code"}, {"name": "x"}]});
        let Some(EventKind::Mode {
            mode,
            modes: Some(modes),
            ..
        }) = modes(&state)
        else {
            panic!()
        };
        assert_eq!(mode, "ask");
        assert_eq!(modes.len(), 2);
        assert_eq!(modes[1].name, "code");
        assert_eq!(modes[0].description.as_deref(), Some("asks first"));
        assert_eq!(current_mode(&json!({"x": 1})), None);
        let listed = commands(&json!({"availableCommands": [
            {"name": "web", "description": "search", "input": {"hint": "query"}},
            {"name": "/plan", "description": "plan", "input": null}, {"description": "nameless"}]}));
        assert_eq!(
            serde_json::to_value(&listed).unwrap(),
            json!({"kind": "commands", "commands": [
                {"name": "web", "description": "search", "input_hint": "query"},
                {"name": "plan", "description": "plan"}]})
        );
        let EventKind::Plan { entries } = plan(&json!({"entries": [
            {"content": "a", "priority": "high", "status": "in_progress"},
            {"content": "b", "priority": "urgent"}]}))
        else {
            panic!()
        };
        assert_eq!(entries[0].status, PlanStatus::InProgress);
        assert_eq!(entries[0].priority, Some(PlanPriority::High));
        assert_eq!(entries[1].priority, Some(PlanPriority::Unknown));
        assert_eq!(entries[1].status, PlanStatus::Pending);
        let used = usage(&json!({"used": 12300, "size": 200000,
            "cost": {"amount": 0.42, "currency": "USD"}}));
        assert_eq!(
            serde_json::to_value(used.unwrap()).unwrap(),
            json!({"kind": "usage", "used": 12300, "size": 200000, "cost": 0.42,
                "currency": "USD"})
        );
        assert_eq!(usage(&json!({"used": 1})), None);
    }
}
