//! Claude Code's `permission_suggestions` as `allow_always` options: each
//! suggestion is one option whose label says what will be remembered and
//! where; choosing it sends the suggestion back as `updatedPermissions`.

use serde_json::Value;

use crate::protocol::{PermissionOption, PermissionOptionKind};

/// The option id of the `index`th suggestion.
pub fn option_id(index: usize) -> String {
    format!("allow_always_{}", index + 1)
}

/// Which suggestion an option id names.
pub fn index_of(option: &str) -> Option<usize> {
    let n: usize = option.strip_prefix("allow_always_")?.parse().ok()?;
    n.checked_sub(1)
}

/// The options for a request carrying `suggestions` (may be absent).
pub fn options(suggestions: &[Value]) -> Vec<PermissionOption> {
    let always = suggestions
        .iter()
        .enumerate()
        .map(|(i, s)| {
            PermissionOption::new(option_id(i), PermissionOptionKind::AllowAlways, label(s))
        })
        .collect();
    PermissionOption::standard(always)
}

fn field<'a>(value: &'a Value, name: &str) -> &'a str {
    value.get(name).and_then(Value::as_str).unwrap_or("")
}

/// Where a setting is kept, in words (Claude Code's settings destinations).
fn place(destination: &str) -> String {
    match destination {
        "localSettings" => "in this project".into(),
        "projectSettings" => "in this project's shared settings".into(),
        "userSettings" => "in all your projects".into(),
        "session" => "for this session".into(),
        "cliArg" => "for this run".into(),
        other => format!("in {other}"),
    }
}

/// `Tool(content)`, or `Tool` for a rule on the whole tool.
fn rule(rule: &Value) -> String {
    match (
        field(rule, "toolName"),
        rule.get("ruleContent").and_then(Value::as_str),
    ) {
        (tool, Some(content)) => format!("{tool}({content})"),
        (tool, None) => tool.to_owned(),
    }
}

fn mode(mode: &str) -> String {
    match mode {
        "acceptEdits" => "accept edits".into(),
        "bypassPermissions" => "bypass all permission checks".into(),
        "plan" => "plan only (no changes)".into(),
        "default" => "ask as by default".into(),
        "dontAsk" => "deny what is not allowed, without asking".into(),
        other => format!("switch to mode {other}"),
    }
}

fn list(value: &Value, name: &str, each: impl Fn(&Value) -> String) -> String {
    value
        .get(name)
        .and_then(Value::as_array)
        .map(|items| items.iter().map(each).collect::<Vec<_>>().join(", "))
        .unwrap_or_default()
}

/// What choosing `suggestion` remembers, and where.
pub fn label(suggestion: &Value) -> String {
    let place = place(field(suggestion, "destination"));
    let text = |v: &Value| v.as_str().map_or_else(|| v.to_string(), str::to_owned);
    match field(suggestion, "type") {
        "addRules" | "replaceRules" => {
            let verb = match field(suggestion, "behavior") {
                "deny" => "always deny",
                "ask" => "always ask before",
                _ => "always allow",
            };
            let rules = list(suggestion, "rules", rule);
            let replacing = if field(suggestion, "type") == "replaceRules" {
                " (replacing the existing rules)"
            } else {
                ""
            };
            format!("{verb} {rules} {place}{replacing}")
        }
        "removeRules" => format!(
            "forget the rules {} {place}",
            list(suggestion, "rules", rule)
        ),
        "addDirectories" => format!(
            "allow access to {} {place}",
            list(suggestion, "directories", text)
        ),
        "removeDirectories" => format!(
            "stop allowing access to {} {place}",
            list(suggestion, "directories", text)
        ),
        "setMode" => format!("{} {place}", mode(field(suggestion, "mode"))),
        _ => format!("apply {suggestion}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn labels_say_what_is_remembered_and_where() {
        // The shapes of allow-always.jsonl's can_use_tool request.
        let suggestions = [
            json!({"type":"addRules","rules":[{"toolName":"Bash","ruleContent":"touch always.txt"}],"behavior":"allow","destination":"localSettings"}),
            json!({"type":"addDirectories","directories":["/work/project"],"destination":"session"}),
            json!({"type":"setMode","mode":"acceptEdits","destination":"session"}),
            json!({"type":"addRules","rules":[{"toolName":"Read"},{"toolName":"Grep"}],"behavior":"deny","destination":"userSettings"}),
            json!({"type":"somethingNew","x":1}),
        ];
        let labels: Vec<String> = suggestions.iter().map(label).collect();
        assert_eq!(
            labels,
            [
                "always allow Bash(touch always.txt) in this project",
                "allow access to /work/project for this session",
                "accept edits for this session",
                "always deny Read, Grep in all your projects",
                r#"apply {"type":"somethingNew","x":1}"#,
            ]
        );
    }

    #[test]
    fn options_wrap_suggestions_between_allow_once_and_reject() {
        let options =
            options(&[json!({"type":"setMode","mode":"acceptEdits","destination":"session"})]);
        let ids: Vec<(&str, PermissionOptionKind)> =
            options.iter().map(|o| (o.id.as_str(), o.kind)).collect();
        assert_eq!(
            ids,
            [
                ("allow_once", PermissionOptionKind::AllowOnce),
                ("allow_always_1", PermissionOptionKind::AllowAlways),
                ("reject_once", PermissionOptionKind::RejectOnce),
            ]
        );
        assert_eq!(index_of("allow_always_1"), Some(0));
        assert_eq!(index_of("allow_always_0"), None);
        assert_eq!(index_of("allow_once"), None);
    }
}
