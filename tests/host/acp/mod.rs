//! The ACP agent through the real host, against `tether-test-agent acp`
//! playing a script: the script checks every message tether sends it and
//! exits non-zero on a mismatch, so a wrong answer fails the test.

use std::path::Path;

use serde_json::{Value, json};
use tether::host::agent::AgentSpec;
use tether::protocol::{
    AgentState, ClientMessage, Decision, ErrorCode, EventKind, Interrupt, NoticeLevel,
    OutputStream, PermissionOptionKind, PlanStatus, Preview, TurnOutcome,
};

use crate::support::*;

mod agent_info;
mod plain_answers;
mod presets;
mod resume;
mod stuck;

/// `initialize` and `session/new` as tether must send them.
fn preamble(cwd: &Path) -> Vec<Value> {
    vec![
        json!({"expect": {"jsonrpc": "2.0", "method": "initialize", "params": {
                "protocolVersion": 1, "clientInfo": {"name": "tether"}}},
            "absent": ["/params/clientCapabilities/fs", "/params/clientCapabilities/terminal"]}),
        json!({"reply": {"protocolVersion": 1, "agentCapabilities": {},
            "agentInfo": {"name": "scripted", "version": "0.1"}}}),
        json!({"expect": {"method": "session/new", "params": {
            "cwd": cwd.display().to_string(), "mcpServers": []}}}),
        json!({"reply": {"sessionId": "s1", "modes": {"currentModeId": "ask",
            "availableModes": [{"id": "ask", "name": "Ask"}, {"id": "code", "name": "Code"}]}}}),
    ]
}

fn update(update: Value) -> Value {
    json!({"send": {"jsonrpc": "2.0", "method": "session/update",
        "params": {"sessionId": "s1", "update": update}}})
}

fn chunk(kind: &str, text: &str) -> Value {
    update(json!({"sessionUpdate": kind, "messageId": "m1",
        "content": {"type": "text", "text": text}}))
}

fn prompt(text: &str) -> Value {
    json!({"expect": {"method": "session/prompt", "params": {"sessionId": "s1",
        "prompt": [{"type": "text", "text": text}]}}})
}

fn stop(reason: &str) -> Value {
    json!({"reply": {"stopReason": reason}})
}

/// A host whose ACP agent plays the preamble then `steps`.
async fn start(steps: Vec<Value>) -> TestHost {
    start_in(|_| steps).await
}

/// [`start`], with steps that name paths in the host's directory.
async fn start_in(steps: impl FnOnce(&Path) -> Vec<Value>) -> TestHost {
    let dir = tempfile::tempdir().unwrap();
    let steps: Vec<Value> = preamble(dir.path())
        .into_iter()
        .chain(steps(dir.path()))
        .collect();
    let agent = scripted(dir.path(), &steps);
    let config = crate::common::host_config(dir.path(), agent);
    TestHost::start_config(config, dir).await
}

/// The scripted agent playing `steps` (written to `dir/script.jsonl`).
fn scripted(dir: &Path, steps: &[Value]) -> AgentSpec {
    let script = dir.join("script.jsonl");
    let text: String = steps.iter().map(|step| format!("{step}\n")).collect();
    std::fs::write(&script, text).unwrap();
    AgentSpec::Acp {
        command: vec![
            crate::common::TEST_AGENT.to_owned(),
            "acp".into(),
            script.display().to_string(),
        ],
    }
}

fn turn_end(owner: &Client) -> Vec<TurnOutcome> {
    owner
        .events
        .iter()
        .filter_map(|r| match r.event {
            EventKind::TurnEnd { outcome, .. } => Some(outcome),
            _ => None,
        })
        .collect()
}

/// The outcome of the `n`th turn (from 1), once it ended.
async fn wait_turn_end(owner: &mut Client, n: usize) -> TurnOutcome {
    while turn_end(owner).len() < n {
        owner.recv().await;
    }
    turn_end(owner)[n - 1]
}

fn has_notice(owner: &Client, level: NoticeLevel, part: &str) -> bool {
    owner.events.iter().any(|r| {
        matches!(&r.event, EventKind::Notice { level: l, text } if *l == level && text.contains(part))
    })
}

#[tokio::test]
async fn a_text_turn_streams_the_message_and_queues_the_next_prompt() {
    let host = start(vec![
        prompt("hello"),
        chunk("agent_thought_chunk", "Let me "),
        chunk("agent_thought_chunk", "think."),
        chunk("agent_message_chunk", "Hi "),
        chunk("agent_message_chunk", "there"),
        json!({"sleep_ms": 500}),
        stop("end_turn"),
        prompt("again"),
        chunk("agent_message_chunk", "Once more"),
        stop("end_turn"),
    ])
    .await;
    let mut owner = host.owner().await;
    owner
        .saw_or_wait(|e| {
            matches!(
                e,
                EventKind::Status {
                    state: AgentState::Idle,
                    ..
                }
            )
        })
        .await;
    owner.request(|id| user(id, "hello")).await;
    // Sent while the first turn runs: queued, prompted after it.
    let queued = owner.request(|id| user(id, "again")).await;
    assert_eq!(code_of(&queued), None, "{queued:?}");
    wait_turn_end(&mut owner, 2).await;
    assert_eq!(turn_end(&owner), [TurnOutcome::Success; 2]);
    let kinds: Vec<&EventKind> = owner.events.iter().map(|r| &r.event).collect();
    assert!(kinds.contains(&&EventKind::Thinking {
        text: "Let me think.".into()
    }));
    let deltas: Vec<&str> = kinds
        .iter()
        .filter_map(|e| match e {
            EventKind::AssistantDelta { text } => Some(text.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(deltas, ["Hi ", "there", "Once more"]);
    let messages: Vec<&str> = kinds
        .iter()
        .filter_map(|e| match e {
            EventKind::Assistant { text } => Some(text.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(messages, ["Hi there", "Once more"]);
    assert!(kinds.iter().any(|e| matches!(e,
        EventKind::Metadata { agent_session_id: Some(s), .. } if s == "s1")));
    assert!(kinds.iter().any(|e| matches!(e,
        EventKind::Mode { mode, modes: Some(modes), .. } if mode == "ask" && modes.len() == 2)));
    // The queued message was taken during the first turn.
    let position =
        |pred: &dyn Fn(&EventKind) -> bool| owner.events.iter().position(|r| pred(&r.event));
    let again = position(&|e| matches!(e, EventKind::UserMessage { text, .. } if text == "again"));
    let first_end = position(&|e| matches!(e, EventKind::TurnEnd { .. }));
    assert!(again < first_end, "not queued: {again:?} {first_end:?}");
    owner
        .saw_or_wait(|e| {
            matches!(
                e,
                EventKind::Status {
                    state: AgentState::Idle,
                    ..
                }
            )
        })
        .await;
}

/// A tool call whose edit asks permission; the owner answers `decision`
/// with `option`; the agent must receive `expected`.
async fn permission_case(decision: Decision, option: Option<&str>, expected: &str) {
    let host = start_in(|cwd: &Path| {
        let file = cwd.join("a.txt").display().to_string();
        vec![
            prompt("edit it"),
            update(json!({"sessionUpdate": "tool_call", "toolCallId": "t1",
                "title": "Edit a.txt", "kind": "edit", "status": "pending",
                "rawInput": {"path": file},
                "content": [{"type": "diff", "path": file,
                    "oldText": "one\ntwo\n", "newText": "one\nTWO\n"}]})),
            json!({"send": {"jsonrpc": "2.0", "id": 7, "method": "session/request_permission",
                "params": {"sessionId": "s1", "toolCall": {"toolCallId": "t1"}, "options": [
                    {"optionId": "yes", "name": "Allow", "kind": "allow_once"},
                    {"optionId": "always", "name": "Always allow", "kind": "allow_always"},
                    {"optionId": "no", "name": "Reject", "kind": "reject_once"},
                    {"optionId": "never", "name": "Never", "kind": "reject_always"}]}}}),
            json!({"expect": {"id": 7, "result": {"outcome": {
                "outcome": "selected", "optionId": expected}}}}),
            update(
                json!({"sessionUpdate": "tool_call_update", "toolCallId": "t1",
                "status": "completed"}),
            ),
            stop("end_turn"),
        ]
    })
    .await;
    let mut owner = host.owner().await;
    owner.request(|id| user(id, "edit it")).await;
    let request = owner
        .wait_event(|e| matches!(e, EventKind::PermissionRequest { .. }))
        .await;
    let EventKind::PermissionRequest {
        tool,
        title,
        tool_use_id,
        preview,
        options,
        ..
    } = &request.event
    else {
        unreachable!()
    };
    assert_eq!(tool, "edit");
    assert_eq!(title.as_deref(), Some("Edit a.txt"));
    assert_eq!(tool_use_id.as_deref(), Some("t1"));
    let Some(Preview::Diff {
        path, diff, added, ..
    }) = preview.as_deref()
    else {
        panic!("no diff preview: {preview:?}")
    };
    assert_eq!(path, "a.txt");
    assert!(diff.contains("-two\n+TWO\n"), "{diff}");
    assert_eq!(*added, 1);
    let offered: Vec<(&str, PermissionOptionKind)> =
        options.iter().map(|o| (o.id.as_str(), o.kind)).collect();
    assert_eq!(
        offered,
        [
            ("yes", PermissionOptionKind::AllowOnce),
            ("always", PermissionOptionKind::AllowAlways),
            ("no", PermissionOptionKind::RejectOnce),
            ("never", PermissionOptionKind::RejectAlways),
        ]
    );
    // ACP cannot carry an edited input: refused, the request stays open.
    let edited = owner
        .request(
            decide(request_id(&request.event), Decision::Allow)
                .input(Some(json!({"path": "b.txt"})))
                .message(),
        )
        .await;
    assert_eq!(code_of(&edited), Some(ErrorCode::BadRequest), "{edited:?}");
    let answer = owner
        .request(
            decide(request_id(&request.event), decision)
                .option(option)
                .message(),
        )
        .await;
    assert_eq!(code_of(&answer), None, "{answer:?}");
    assert_eq!(wait_turn_end(&mut owner, 1).await, TurnOutcome::Success);
    let result = owner
        .saw_or_wait(|e| matches!(e, EventKind::ToolResult { .. }))
        .await;
    let EventKind::ToolResult {
        content, is_error, ..
    } = &result.event
    else {
        unreachable!()
    };
    assert!(!is_error);
    assert!(content.contains("+TWO"), "{content}");
}

#[tokio::test]
async fn allow_once_sends_the_agents_option() {
    permission_case(Decision::Allow, Some("yes"), "yes").await;
}

#[tokio::test]
async fn allow_always_sends_the_agents_option() {
    permission_case(Decision::Allow, Some("always"), "always").await;
}

#[tokio::test]
async fn reject_sends_the_agents_option() {
    permission_case(Decision::Deny, Some("never"), "never").await;
}

#[tokio::test]
async fn a_decision_without_option_is_the_once_option() {
    permission_case(Decision::Deny, None, "no").await;
}

fn permission_request(id: u64) -> Value {
    json!({"send": {"jsonrpc": "2.0", "id": id, "method": "session/request_permission",
        "params": {"sessionId": "s1", "toolCall": {"toolCallId": "t9", "title": "Run ls",
            "kind": "execute", "rawInput": {"command": "ls"}},
        "options": [{"optionId": "ok", "name": "Allow", "kind": "allow_once"},
            {"optionId": "no", "name": "Reject", "kind": "reject_once"}]}}})
}

/// A permission request for the tool call already reported as `tool_call`.
fn permission_request_for(tool_call: &str, id: u64) -> Value {
    json!({"send": {"jsonrpc": "2.0", "id": id, "method": "session/request_permission",
        "params": {"sessionId": "s1", "toolCall": {"toolCallId": tool_call},
        "options": [{"optionId": "ok", "name": "Allow", "kind": "allow_once"},
            {"optionId": "no", "name": "Reject", "kind": "reject_once"}]}}})
}

#[tokio::test]
async fn interrupt_cancels_the_turn_and_answers_the_pending_permission() {
    let host = start(vec![
        prompt("list"),
        permission_request(9),
        json!({"expect": {"method": "session/cancel", "params": {"sessionId": "s1"}},
            "absent": ["/id"]}),
        json!({"expect": {"id": 9, "result": {"outcome": {"outcome": "cancelled"}}}}),
        stop("cancelled"),
        prompt("and now"),
        stop("end_turn"),
    ])
    .await;
    let mut owner = host.owner().await;
    owner.request(|id| user(id, "list")).await;
    let request = owner
        .wait_event(|e| matches!(e, EventKind::PermissionRequest { .. }))
        .await;
    let EventKind::PermissionRequest { preview, .. } = &request.event else {
        unreachable!()
    };
    assert!(
        matches!(preview.as_deref(), Some(Preview::Command { command, .. }) if command == "ls"),
        "{preview:?}"
    );
    owner
        .request(|id| ClientMessage::Interrupt(Interrupt { id }))
        .await;
    let cancelled = owner
        .wait_event(|e| matches!(e, EventKind::PermissionCancelled { .. }))
        .await;
    let asked = request_id(&request.event);
    assert!(
        matches!(&cancelled.event, EventKind::PermissionCancelled { request_id: id, .. }
            if *id == asked)
    );
    assert_eq!(wait_turn_end(&mut owner, 1).await, TurnOutcome::Interrupted);
    // The tool call that never ran is closed as cancelled.
    assert!(owner.events.iter().any(|r| matches!(&r.event,
        EventKind::ToolResult { tool_use_id, is_error: true, .. } if tool_use_id == "t9")));
    // The agent took all that as it must: the next turn runs.
    owner.request(|id| user(id, "and now")).await;
    assert_eq!(wait_turn_end(&mut owner, 2).await, TurnOutcome::Success);
    assert_eq!(
        turn_end(&owner),
        [TurnOutcome::Interrupted, TurnOutcome::Success]
    );
}

#[tokio::test]
async fn plans_modes_unknown_updates_requests_and_lines_never_break_the_turn() {
    let host = start(vec![
        prompt("go"),
        update(json!({"sessionUpdate": "plan", "entries": [
            {"content": "read", "priority": "high", "status": "completed"},
            {"content": "write", "priority": "medium", "status": "in_progress"},
            {"content": "test", "priority": "low", "status": "pending"}]})),
        update(json!({"sessionUpdate": "current_mode_update", "currentModeId": "code"})),
        update(json!({"sessionUpdate": "hologram_update", "x": 1})),
        json!({"send": {"jsonrpc": "2.0", "id": "f1", "method": "fs/read_text_file",
            "params": {"sessionId": "s1", "path": "/etc/passwd"}}}),
        json!({"expect": {"id": "f1", "error": {"code": -32601}}}),
        json!({"send": "this is not JSON"}),
        chunk("agent_message_chunk", "done"),
        stop("end_turn"),
    ])
    .await;
    let mut owner = host.owner().await;
    owner.request(|id| user(id, "go")).await;
    assert_eq!(wait_turn_end(&mut owner, 1).await, TurnOutcome::Success);
    assert!(owner.events.iter().any(|r| matches!(&r.event,
        EventKind::Plan { entries } if entries.len() == 3
            && entries[1].status == PlanStatus::InProgress)));
    assert!(owner.events.iter().any(|r| matches!(&r.event,
        EventKind::Mode { mode, modes: None, .. } if mode == "code")));
    assert!(owner.events.iter().any(|r| r.event
        == EventKind::Output {
            stream: OutputStream::Stdout,
            text: "this is not JSON\n".into()
        }));
    assert!(owner.events.iter().any(|r| r.event
        == EventKind::Assistant {
            text: "done".into()
        }));
    assert!(!has_notice(&owner, NoticeLevel::Error, ""));
}

#[tokio::test]
async fn a_crash_mid_turn_ends_cleanly() {
    let host = start(vec![
        prompt("work"),
        chunk("agent_message_chunk", "partial"),
        permission_request(4),
        json!({"sleep_ms": 200}),
        json!({"exit": 7}),
    ])
    .await;
    let mut owner = host.owner().await;
    owner.request(|id| user(id, "work")).await;
    owner
        .wait_event(|e| matches!(e, EventKind::PermissionRequest { .. }))
        .await;
    let (code, _) = owner.wait_exit().await;
    assert_eq!(code, Some(7));
    assert!(owner.events.iter().any(|r| r.event
        == EventKind::Assistant {
            text: "partial".into()
        }));
    owner
        .saw_or_wait(|e| matches!(e, EventKind::PermissionCancelled { .. }))
        .await;
    assert!(has_notice(&owner, NoticeLevel::Error, "exited with code 7"));
    // The session refuses new messages, not the host.
    let refused = owner.request(|id| user(id, "more")).await;
    assert!(code_of(&refused).is_some());
}

#[tokio::test]
async fn an_agent_of_another_protocol_version_is_stopped() {
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("script.jsonl");
    std::fs::write(
        &script,
        format!(
            "{}\n{}\n",
            json!({"expect": {"method": "initialize"}}),
            json!({"reply": {"protocolVersion": 2}})
        ),
    )
    .unwrap();
    let agent = AgentSpec::Acp {
        command: vec![
            crate::common::TEST_AGENT.to_owned(),
            "acp".into(),
            script.display().to_string(),
        ],
    };
    let host = TestHost::start_config(crate::common::host_config(dir.path(), agent), dir).await;
    let mut owner = host.owner().await;
    owner.saw_or_wait(is_exit).await;
    assert!(has_notice(&owner, NoticeLevel::Error, "ACP version 2"));
}

#[tokio::test]
async fn a_large_edit_is_previewed_and_shown() {
    // Over the size at which lines are mapped off the runtime's threads.
    let old: String = (0..20_000).map(|n| format!("line {n}\n")).collect();
    let new = old.replace("line 10000\n", "changed\n");
    let host = start_in(|cwd: &Path| {
        let file = cwd.join("big.txt").display().to_string();
        vec![
            prompt("big"),
            update(
                json!({"sessionUpdate": "tool_call", "toolCallId": "b", "title": "Edit big",
                "kind": "edit", "content": [{"type": "diff", "path": file,
                    "oldText": old, "newText": new}]}),
            ),
            permission_request_for("b", 3),
            json!({"expect": {"id": 3, "result": {"outcome": {"outcome": "selected",
                "optionId": "ok"}}}}),
            update(
                json!({"sessionUpdate": "tool_call_update", "toolCallId": "b",
                "status": "completed"}),
            ),
            stop("end_turn"),
        ]
    })
    .await;
    let mut owner = host.owner().await;
    owner.request(|id| user(id, "big")).await;
    let request = owner
        .wait_event(|e| matches!(e, EventKind::PermissionRequest { .. }))
        .await;
    let EventKind::PermissionRequest { preview, .. } = &request.event else {
        unreachable!()
    };
    assert!(
        matches!(preview.as_deref(), Some(Preview::Diff { path, added: 1, removed: 1, .. })
            if path == "big.txt"),
        "{preview:?}"
    );
    owner
        .request(decide(request_id(&request.event), Decision::Allow).message())
        .await;
    assert_eq!(wait_turn_end(&mut owner, 1).await, TurnOutcome::Success);
    assert!(owner.events.iter().any(|r| matches!(&r.event,
        EventKind::ToolResult { content, .. } if content.contains("-line 10000\n+changed\n"))));
}
