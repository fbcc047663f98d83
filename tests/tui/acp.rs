//! An ACP agent's plan, modes and usage and the diff of an edit it asked
//! permission for, in the TUI.

use serde_json::{Value, json};
use tether::host::agent::AgentSpec;

use crate::support::TuiTest;

fn update(update: Value) -> Value {
    json!({"send": {"jsonrpc": "2.0", "method": "session/update",
        "params": {"sessionId": "s1", "update": update}}})
}

fn plan(first: &str, second: &str) -> Value {
    update(json!({"sessionUpdate": "plan", "entries": [
        {"content": "read the file", "status": first},
        {"content": "change the word", "status": second}]}))
}

/// The scripted agent's steps: set up with two modes, a switch to the
/// other mode (Shift+Tab), a plan, an edit that asks permission (the
/// TUI's allow picks the agent's `allow_once`), the plan again, usage.
fn script(cwd: &std::path::Path) -> String {
    let file = cwd.join("a.txt").display().to_string();
    let steps = [
        json!({"expect": {"method": "initialize"}}),
        json!({"reply": {"protocolVersion": 1}}),
        json!({"expect": {"method": "session/new"}}),
        json!({"reply": {"sessionId": "s1", "modes": {"currentModeId": "ask",
            "availableModes": [{"id": "ask", "name": "Ask"}, {"id": "code", "name": "Code"}]}}}),
        json!({"expect": {"method": "session/set_mode", "params": {"modeId": "code"}}}),
        json!({"reply": {}}),
        json!({"expect": {"method": "session/prompt"}}),
        plan("completed", "in_progress"),
        update(json!({"sessionUpdate": "tool_call", "toolCallId": "t1",
            "title": "Edit a.txt", "kind": "edit", "rawInput": {"path": file},
            "content": [{"type": "diff", "path": file,
                "oldText": "alpha\nbeta\n", "newText": "alpha\ngamma\n"}]})),
        json!({"send": {"jsonrpc": "2.0", "id": 1, "method": "session/request_permission",
            "params": {"sessionId": "s1", "toolCall": {"toolCallId": "t1"}, "options": [
                {"optionId": "yes", "name": "Allow", "kind": "allow_once"},
                {"optionId": "no", "name": "Reject", "kind": "reject_once"}]}}}),
        json!({"expect": {"id": 1, "result": {"outcome": {"outcome": "selected",
            "optionId": "yes"}}}}),
        update(
            json!({"sessionUpdate": "tool_call_update", "toolCallId": "t1",
            "status": "completed"}),
        ),
        plan("completed", "completed"),
        update(
            json!({"sessionUpdate": "usage_update", "used": 12300, "size": 200000,
            "cost": {"amount": 0.42, "currency": "USD"}}),
        ),
        update(json!({"sessionUpdate": "agent_message_chunk",
            "content": {"type": "text", "text": "edited-and-done"}})),
        json!({"reply": {"stopReason": "end_turn"}}),
    ];
    steps.iter().map(|s| format!("{s}\n")).collect()
}

/// A test whose agent is the scripted ACP test agent playing `script`
/// (written to its directory).
fn scripted(script: impl FnOnce(&std::path::Path) -> String) -> TuiTest {
    let test = TuiTest::new();
    let script_path = test.dir().join("script.jsonl");
    std::fs::write(&script_path, script(test.dir())).unwrap();
    test.agent(AgentSpec::Acp {
        command: vec![
            crate::common::TEST_AGENT.to_owned(),
            "acp".into(),
            script_path.display().to_string(),
        ],
    })
}

fn plans_on(screen: &str) -> usize {
    screen.matches("☰ Plan").count()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_plan_updates_in_place_the_mode_switches_and_the_diff_is_shown() {
    scripted(script)
        .run(|tui| {
            tui.wait_text("mode: Ask");
            tui.send(b"\x1b[Z"); // Shift+Tab: the next mode
            tui.wait_text("mode: Code");
            tui.send(b"change it\r");
            tui.wait_text("asks permission");
            tui.wait_text("[x] read the file");
            tui.wait_text("[>] change the word");
            tui.send(b"\t");
            tui.send(b"y");
            tui.wait_text("edited-and-done");
            // The same cell, redrawn: both steps done, no second plan.
            tui.wait_text("[x] change the word");
            let screen = tui.screen();
            assert_eq!(plans_on(&screen), 1, "{screen}");
            assert!(!screen.contains("[>] change the word"), "{screen}");
            tui.wait_text("12.3k/200k tok · $0.42");
            // The edit's result is its diff (this TUI does not draw request
            // previews yet).
            tui.wait_text("-beta");
            tui.wait_text("+gamma");
        })
        .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn typing_a_slash_offers_the_agents_commands_and_esc_only_closes_the_list() {
    let steps = [
        json!({"expect": {"method": "initialize"}}),
        json!({"reply": {"protocolVersion": 1}}),
        json!({"expect": {"method": "session/new"}}),
        json!({"reply": {"sessionId": "s1"}}),
        update(
            json!({"sessionUpdate": "available_commands_update", "availableCommands": [
            {"name": "web", "description": "search the web", "input": {"hint": "query"}},
            {"name": "review", "description": "review the diff"},
            {"name": "preview", "description": "show a preview"}]}),
        ),
        json!({"expect": {"method": "session/prompt", "params": {"prompt": [
            {"type": "text", "text": "/preview now"}]}}}),
        update(json!({"sessionUpdate": "agent_message_chunk",
            "content": {"type": "text", "text": "previewing-now"}})),
        json!({"reply": {"stopReason": "end_turn"}}),
    ];
    let script: String = steps.iter().map(|s| format!("{s}\n")).collect();
    scripted(|_| script)
        .run(|tui| {
            tui.send(b"/");
            tui.wait_text("Commands (3)");
            tui.wait_text("/web <query>  search the web");
            tui.send(b"rev");
            tui.wait_text("Commands (2)");
            // Esc closes the list, and nothing else: no interrupt.
            tui.send(b"\x1b");
            tui.wait_for("the list closed", |s| !s.contains("Commands ("));
            tui.send(b"i");
            tui.wait_text("Commands (2)");
            tui.send(b"\t"); // the second: /preview
            tui.send(b"\r");
            tui.wait_for("the command taken", |s| !s.contains("Commands ("));
            tui.send(b"now\r");
            tui.wait_text("previewing-now");
            assert!(!tui.screen().contains("interrupted"), "{}", tui.screen());
        })
        .await;
}
