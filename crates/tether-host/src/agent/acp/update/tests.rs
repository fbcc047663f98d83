use serde_json::json;

use super::*;

fn transcript() -> Transcript {
    Transcript::new(PathBuf::from("/p"))
}

fn chunk(kind: &str, id: Option<&str>, text: &str) -> Value {
    json!({"sessionUpdate": kind, "messageId": id, "content": {"type": "text", "text": text}})
}

#[test]
fn message_chunks_stream_and_end_as_one_message_per_id() {
    let mut t = transcript();
    assert_eq!(
        t.update(&chunk("agent_message_chunk", Some("a"), "Hel")),
        [EventKind::AssistantDelta { text: "Hel".into() }]
    );
    t.update(&chunk("agent_message_chunk", Some("a"), "lo"));
    // A new id ends the message before it.
    assert_eq!(
        t.update(&chunk("agent_message_chunk", Some("b"), "Next")),
        [
            EventKind::Assistant {
                text: "Hello".into()
            },
            EventKind::AssistantDelta {
                text: "Next".into()
            }
        ]
    );
    assert_eq!(
        t.flush(),
        [EventKind::Assistant {
            text: "Next".into()
        }]
    );
    assert_eq!(t.flush(), []);
}

#[test]
fn thoughts_are_one_block_ended_by_anything_else() {
    let mut t = transcript();
    assert_eq!(t.update(&chunk("agent_thought_chunk", None, "a ")), []);
    assert_eq!(t.update(&chunk("agent_thought_chunk", None, "b")), []);
    assert_eq!(
        t.update(&chunk("agent_message_chunk", None, "x")),
        [
            EventKind::Thinking { text: "a b".into() },
            EventKind::AssistantDelta { text: "x".into() }
        ]
    );
}

#[test]
fn a_tool_call_is_used_once_and_its_result_shows_its_diff() {
    let mut t = transcript();
    let call = json!({"sessionUpdate": "tool_call", "toolCallId": "t", "title": "Edit",
        "kind": "edit", "status": "pending", "rawInput": {"path": "/p/a"}});
    assert_eq!(
        t.update(&call),
        [EventKind::ToolUse {
            tool_use_id: "t".into(),
            name: "Edit".into(),
            input: json!({"path": "/p/a"}),
        }]
    );
    assert_eq!(
        t.update(
            &json!({"sessionUpdate": "tool_call_update", "toolCallId": "t",
            "status": "in_progress"})
        ),
        []
    );
    let done = json!({"sessionUpdate": "tool_call_update", "toolCallId": "t",
        "status": "completed", "content": [
            {"type": "content", "content": {"type": "text", "text": "edited"}},
            {"type": "diff", "path": "/p/a", "oldText": "1\n", "newText": "2\n"}]});
    let events = t.update(&done);
    let [
        EventKind::ToolResult {
            content, is_error, ..
        },
    ] = events.as_slice()
    else {
        panic!("{events:?}")
    };
    assert!(!is_error);
    assert!(
        content.starts_with("edited\n--- a/a\n+++ b/a\n"),
        "{content}"
    );
    assert!(content.contains("-1\n+2\n"), "{content}");
    // Reported once; nothing left to close.
    assert_eq!(t.update(&done), []);
    assert_eq!(t.close_unfinished(), []);
}

#[test]
fn failed_and_unfinished_tool_calls_are_errors() {
    let mut t = transcript();
    t.update(&json!({"sessionUpdate": "tool_call", "toolCallId": "a", "title": "A"}));
    t.update(&json!({"sessionUpdate": "tool_call", "toolCallId": "b", "title": "B"}));
    let failed = t.update(
        &json!({"sessionUpdate": "tool_call_update", "toolCallId": "a",
        "status": "failed", "rawOutput": {"error": "no"}}),
    );
    assert_eq!(
        failed,
        [EventKind::ToolResult {
            tool_use_id: "a".into(),
            content: r#"{"error":"no"}"#.into(),
            is_error: true
        }]
    );
    assert_eq!(
        t.close_unfinished(),
        [EventKind::ToolResult {
            tool_use_id: "b".into(),
            content: "cancelled".into(),
            is_error: true
        }]
    );
}

#[test]
fn previews_come_from_the_diff_or_the_command() {
    let mut t = transcript();
    t.update(
        &json!({"sessionUpdate": "tool_call", "toolCallId": "e", "title": "Write",
        "content": [{"type": "diff", "path": "/p/new.txt", "newText": "x\n"}]}),
    );
    let Some(Preview::Diff { path, new_file, .. }) = t.preview("e") else {
        panic!()
    };
    assert_eq!((path.as_str(), new_file), ("new.txt", true));
    t.update(&json!({"sessionUpdate": "tool_call", "toolCallId": "r",
        "rawInput": {"command": ["git", "status"]}}));
    assert!(
        matches!(t.preview("r"), Some(Preview::Command { command, .. }) if command == "git status")
    );
    assert_eq!(t.preview("z"), None);
}

#[test]
fn plans_modes_and_unknown_kinds() {
    let mut t = transcript();
    let plan = json!({"sessionUpdate": "plan", "entries": [
        {"content": "a", "status": "completed"}, {"content": "b", "status": "pending"}]});
    let events = t.update(&plan);
    let [EventKind::Plan { entries }] = events.as_slice() else {
        panic!("not a plan")
    };
    assert_eq!(entries.len(), 2);
    assert_eq!(entries[0].status, crate::protocol::PlanStatus::Completed);
    assert_eq!(
        t.update(&json!({"sessionUpdate": "current_mode_update", "currentModeId": "code"})),
        [EventKind::Mode {
            mode: "code".into(),
            modes: None,
            by: None
        }]
    );
    let commands = json!({"sessionUpdate": "available_commands_update",
        "availableCommands": [{"name": "web", "description": "search"}]});
    assert!(matches!(t.update(&commands).as_slice(),
        [EventKind::Commands { commands }] if commands[0].name == "web"));
    let usage = json!({"sessionUpdate": "usage_update", "used": 5, "size": 10});
    assert!(matches!(t.update(&usage).as_slice(),
        [EventKind::Usage { usage }] if usage.used == 5 && usage.cost.is_none()));
    assert_eq!(
        t.update(&json!({"sessionUpdate": "weather", "sun": true})),
        []
    );
    assert_eq!(t.update(&json!("not even an object")), []);
}
