//! Tool calls as the real agents send them (recorded from
//! claude-agent-acp 0.49 and the Gemini CLI 0.61 against a scripted model):
//! every one must preview the command it runs or the change it makes.

use serde_json::json;

use super::*;

/// Gemini's shell request: no `tool_call` before it, no `rawInput`, the
/// command only as the title, the working directory in a text block.
fn gemini_execute(dir: &str) -> Value {
    json!({"toolCallId": "run_shell_command__run_shell_command_1796607608006_0",
        "status": "pending", "title": "touch x.txt",
        "content": [{"type": "content", "content": {"type": "text",
            "text": format!("[current working directory {dir}] (run command)")}}],
        "locations": [], "kind": "execute"})
}

#[test]
fn gemini_shell_requests_preview_the_title_as_the_whole_command() {
    let dir = tempfile::tempdir().unwrap();
    let mut t = Transcript::new(dir.path().to_owned());
    let call = gemini_execute(&dir.path().display().to_string());
    t.tool_call(&call);
    let id = "run_shell_command__run_shell_command_1796607608006_0";
    let Some(Preview::Command {
        command,
        description,
        ..
    }) = t.preview(id)
    else {
        panic!("no command preview: {:?}", t.preview(id))
    };
    assert_eq!(command, "touch x.txt");
    assert!(description.unwrap().contains("current working directory"));
    assert_eq!(t.input(id), json!({"command": "touch x.txt"}));
}

#[test]
fn claude_agent_acp_commands_come_from_raw_input_once_it_arrives() {
    let mut t = Transcript::new(PathBuf::from("/p"));
    // First a placeholder with an empty input, then the input.
    t.tool_call(&json!({"sessionUpdate": "tool_call", "toolCallId": "toolu_1",
        "title": "Terminal", "kind": "execute", "status": "pending", "rawInput": {}, "content": []}));
    assert_eq!(t.input("toolu_1"), json!({"command": "Terminal"}));
    t.tool_call(
        &json!({"sessionUpdate": "tool_call_update", "toolCallId": "toolu_1",
        "title": "touch x.txt", "kind": "execute",
        "rawInput": {"command": "touch x.txt", "description": "run command"},
        "content": [{"type": "content", "content": {"type": "text", "text": "run command"}}]}),
    );
    let Some(Preview::Command {
        command,
        description,
        ..
    }) = t.preview("toolu_1")
    else {
        panic!()
    };
    assert_eq!(
        (command.as_str(), description.as_deref()),
        ("touch x.txt", Some("run command"))
    );
    assert_eq!(t.input("toolu_1")["command"], "touch x.txt");
}

#[test]
fn a_new_file_is_new_whether_old_text_is_null_or_empty_and_the_disk_agrees() {
    let dir = tempfile::tempdir().unwrap();
    let cwd = dir.path().canonicalize().unwrap();
    let plan = cwd.join("plan.md").display().to_string();
    let mut t = Transcript::new(cwd.clone());
    // Gemini: `oldText: ""` and `_meta.kind: "add"`.
    t.tool_call(
        &json!({"toolCallId": "w1", "status": "pending", "title": "Writing to plan.md",
        "kind": "edit", "content": [{"type": "diff", "path": plan, "oldText": "",
        "newText": "hello", "_meta": {"kind": "add"}}], "locations": [{"path": plan}]}),
    );
    // claude-agent-acp: `oldText: null`.
    t.tool_call(
        &json!({"toolCallId": "w2", "kind": "edit", "title": "Write plan.md",
        "content": [{"type": "diff", "path": plan, "oldText": null, "newText": "hello"}]}),
    );
    for id in ["w1", "w2"] {
        let Some(Preview::Diff {
            path,
            new_file,
            diff,
            ..
        }) = t.preview(id)
        else {
            panic!("{id}: {:?}", t.preview(id))
        };
        assert_eq!((path.as_str(), new_file), ("plan.md", true), "{id}");
        assert!(!diff.contains("a/plan.md"), "{id}: {diff}");
        assert_eq!(
            t.input(id)["path"],
            "plan.md",
            "{id}: a file stands for the input"
        );
    }
    // Gemini's update after the write still says it made the file.
    std::fs::write(cwd.join("plan.md"), "hello").unwrap();
    t.tool_call(&json!({"toolCallId": "w4", "kind": "edit",
        "content": [{"type": "diff", "path": plan, "oldText": "",
        "newText": "hello", "_meta": {"kind": "add"}}]}));
    assert!(matches!(
        t.preview("w4"),
        Some(Preview::Diff { new_file: true, .. })
    ));
    // An empty file that exists is edited, not created.
    std::fs::write(cwd.join("empty.md"), "").unwrap();
    let empty = cwd.join("empty.md").display().to_string();
    t.tool_call(&json!({"toolCallId": "w3", "kind": "edit",
        "content": [{"type": "diff", "path": empty, "oldText": "", "newText": "x"}]}));
    assert!(matches!(
        t.preview("w3"),
        Some(Preview::Diff {
            new_file: false,
            ..
        })
    ));
}
