use serde_json::json;

use super::*;

fn line(value: &Value) -> Vec<u8> {
    value.to_string().into_bytes()
}

fn writes(actions: &[Action]) -> Vec<Value> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::Write(v) => Some(v.clone()),
            _ => None,
        })
        .collect()
}

fn events(actions: &[Action]) -> Vec<EventKind> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::Emit(e) => Some(e.clone()),
            _ => None,
        })
        .collect()
}

/// A mapper past `initialize` and `session/new` (session `s`).
fn ready() -> Mapper {
    let mut m = Mapper::new(PathBuf::from("/p"), None);
    let init = writes(&m.start());
    assert_eq!(init[0]["method"], "initialize");
    assert_eq!(init[0]["params"]["clientCapabilities"], json!({}));
    let new = writes(&m.from_agent(&line(
        &json!({"jsonrpc": "2.0", "id": init[0]["id"], "result": {"protocolVersion": 1}}),
    )));
    assert_eq!(new[0]["params"], json!({"cwd": "/p", "mcpServers": []}));
    let out = m.from_agent(&line(
        &json!({"jsonrpc": "2.0", "id": new[0]["id"], "result": {"sessionId": "s"}}),
    ));
    assert!(events(&out).contains(&EventKind::status(AgentState::Idle)));
    m
}

#[test]
fn messages_wait_for_the_session_and_for_the_turn() {
    let mut m = Mapper::new(PathBuf::from("/p"), None);
    m.start();
    assert_eq!(m.user_message("early"), []);
    let mut m = ready();
    let first = writes(&m.user_message("one"));
    assert_eq!(first[0]["method"], "session/prompt");
    assert_eq!(
        first[0]["params"],
        json!({"sessionId": "s", "prompt": [{"type": "text", "text": "one"}]})
    );
    assert_eq!(m.user_message("two"), []);
    let end = m.from_agent(&line(
        &json!({"jsonrpc": "2.0", "id": first[0]["id"], "result": {"stopReason": "max_tokens"}}),
    ));
    let shown = events(&end);
    assert!(shown.contains(&EventKind::turn_end(TurnOutcome::Error)));
    assert!(matches!(&shown[0], EventKind::Notice { text, .. } if text.contains("max_tokens")));
    assert_eq!(writes(&end)[0]["params"]["prompt"][0]["text"], "two");
}

#[test]
fn permissions_answer_with_the_agents_options() {
    let mut m = ready();
    m.user_message("go");
    let ask = json!({"jsonrpc": "2.0", "id": "p1", "method": "session/request_permission",
        "params": {"sessionId": "s", "toolCall": {"toolCallId": "t", "title": "T"},
            "options": [{"optionId": "a", "name": "A", "kind": "allow_always"},
                {"optionId": "r", "name": "R", "kind": "reject_once"}]}});
    let out = m.from_agent(&line(&ask));
    let request = events(&out)
        .into_iter()
        .find(|e| matches!(e, EventKind::PermissionRequest { .. }))
        .unwrap();
    let EventKind::PermissionRequest { request_id, .. } = request else {
        unreachable!()
    };
    // The option the session settled on goes back as the agent's id.
    let answer = writes(&m.decision(&request_id, Decision::Allow, Some("a")));
    assert_eq!(
        answer,
        [json!({"jsonrpc": "2.0", "id": "p1",
            "result": {"outcome": {"outcome": "selected", "optionId": "a"}}})]
    );
    // Answered already: nothing more.
    assert_eq!(m.decision(&request_id, Decision::Deny, None), []);
}

#[test]
fn no_option_is_never_a_guess_at_the_agents_first_one() {
    let mut m = ready();
    m.user_message("go");
    let ask = json!({"jsonrpc": "2.0", "id": "p1", "method": "session/request_permission",
        "params": {"sessionId": "s", "toolCall": {"toolCallId": "t", "title": "T"},
            "options": [{"optionId": "a", "name": "A", "kind": "allow_always"}]}});
    let out = m.from_agent(&line(&ask));
    let Some(EventKind::PermissionRequest { request_id, .. }) = events(&out)
        .into_iter()
        .find(|e| matches!(e, EventKind::PermissionRequest { .. }))
    else {
        unreachable!()
    };
    let answer = writes(&m.decision(&request_id, Decision::Allow, None));
    assert_eq!(answer[0]["result"]["outcome"]["outcome"], "cancelled");
}

#[test]
fn interrupt_cancels_and_answers_open_permissions() {
    let mut m = ready();
    let prompt = writes(&m.user_message("go"));
    m.user_message("queued");
    let ask = json!({"jsonrpc": "2.0", "id": 5, "method": "session/request_permission",
        "params": {"toolCall": {"toolCallId": "t"},
            "options": [{"optionId": "y", "name": "Y", "kind": "allow_once"}]}});
    m.from_agent(&line(&ask));
    let out = m.interrupt();
    assert_eq!(
        writes(&out),
        [
            json!({"jsonrpc": "2.0", "method": "session/cancel", "params": {"sessionId": "s"}}),
            json!({"jsonrpc": "2.0", "id": 5, "result": {"outcome": {"outcome": "cancelled"}}}),
        ]
    );
    assert!(
        events(&out)
            .iter()
            .any(|e| matches!(e, EventKind::PermissionCancelled { .. }))
    );
    // An agent that fails the cancelled prompt still ends it as interrupted.
    let end = m.from_agent(&line(&json!({"jsonrpc": "2.0", "id": prompt[0]["id"],
        "error": {"code": -32603, "message": "aborted"}})));
    assert!(events(&end).contains(&EventKind::turn_end(TurnOutcome::Interrupted)));
    assert!(events(&end).contains(&EventKind::status(AgentState::Idle)));
}

#[test]
fn unknown_requests_are_refused_and_odd_lines_shown() {
    let mut m = ready();
    let out = m.from_agent(&line(
        &json!({"jsonrpc": "2.0", "id": 1, "method": "terminal/create", "params": {}}),
    ));
    assert_eq!(writes(&out)[0]["error"]["code"], -32601);
    assert_eq!(
        m.from_agent(b"oops"),
        [Action::Emit(EventKind::Output {
            stream: OutputStream::Stdout,
            text: "oops\n".into()
        })]
    );
    assert_eq!(m.from_agent(b"  "), []);
    // A response to nothing we asked is ignored.
    assert_eq!(
        m.from_agent(&line(&json!({"jsonrpc": "2.0", "id": 99, "result": {}}))),
        []
    );
}

#[test]
fn a_failed_setup_stops_the_agent() {
    let mut m = Mapper::new(PathBuf::from("/p"), None);
    let init = writes(&m.start());
    let out = m.from_agent(&line(&json!({"jsonrpc": "2.0", "id": init[0]["id"],
        "error": {"code": -32000, "message": "auth required"}})));
    assert!(matches!(&out[..], [Action::Fail(why)] if why.contains("auth required")));
}

#[test]
fn updates_for_another_session_are_dropped() {
    let mut m = ready();
    m.user_message("go");
    let foreign = json!({"jsonrpc": "2.0", "method": "session/update", "params": {
        "sessionId": "someone-else", "update": {"sessionUpdate": "agent_message_chunk",
        "content": {"type": "text", "text": "not yours"}}}});
    assert!(events(&m.from_agent(&line(&foreign))).is_empty());
    let ours = json!({"jsonrpc": "2.0", "method": "session/update", "params": {
        "sessionId": "s", "update": {"sessionUpdate": "agent_message_chunk",
        "content": {"type": "text", "text": "yours"}}}});
    assert!(!events(&m.from_agent(&line(&ours))).is_empty());
}

#[test]
fn an_interrupt_that_drops_queued_messages_ends_their_turn() {
    // Sent while the agent was still starting: queued, then interrupted.
    let mut m = Mapper::new(PathBuf::from("/p"), None);
    m.start();
    m.user_message("early");
    let shown = events(&m.interrupt());
    assert!(
        shown.contains(&EventKind::turn_end(TurnOutcome::Interrupted)),
        "{shown:?}"
    );
}
