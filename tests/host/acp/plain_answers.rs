//! claude-agent-acp and `gemini --acp` list "always allow" first. A plain
//! allow (what `y` sent) must still answer the agent's allow-once option,
//! and a request with no once-option refuses a plain answer and stays open.

use serde_json::json;
use tether::protocol::{Decision, ErrorCode, EventKind, ServerMessage};

use super::{prompt, start, stop, wait_turn_end};
use crate::support::*;

/// A request as the real ACP agents order their options.
fn ask(id: u64, options: serde_json::Value) -> serde_json::Value {
    json!({"send": {"jsonrpc": "2.0", "id": id, "method": "session/request_permission",
        "params": {"sessionId": "s1", "toolCall": {"toolCallId": "t1", "title": "touch x",
            "kind": "execute"}, "options": options}}})
}

fn answered(id: u64, option: &str) -> serde_json::Value {
    json!({"expect": {"id": id, "result": {"outcome": {"outcome": "selected", "optionId": option}}}})
}

async fn first_request(owner: &mut Client) -> String {
    let request = owner
        .wait_event(|e| matches!(e, EventKind::PermissionRequest { .. }))
        .await;
    request_id(&request.event)
}

#[tokio::test]
async fn a_plain_allow_answers_allow_once_when_always_is_listed_first() {
    let real_order = json!([
        {"optionId": "allow_always", "name": "Always Allow", "kind": "allow_always"},
        {"optionId": "allow", "name": "Allow", "kind": "allow_once"},
        {"optionId": "reject", "name": "Reject", "kind": "reject_once"}]);
    let host = start(vec![
        prompt("touch x"),
        ask(3, real_order.clone()),
        answered(3, "allow"),
        stop("end_turn"),
        prompt("touch x again"),
        ask(4, real_order),
        answered(4, "reject"),
        stop("end_turn"),
    ])
    .await;
    let mut owner = host.owner().await;
    owner.request(|id| user(id, "touch x")).await;
    let asked = first_request(&mut owner).await;
    let answer = owner
        .request(decide(asked.clone(), Decision::Allow).message())
        .await;
    assert_eq!(code_of(&answer), None, "{answer:?}");
    wait_turn_end(&mut owner, 1).await;
    owner.request(|id| user(id, "touch x again")).await;
    let second = owner
        .wait_event(
            |e| matches!(e, EventKind::PermissionRequest { request_id, .. } if *request_id != asked),
        )
        .await;
    let answer = owner
        .request(decide(request_id(&second.event), Decision::Deny).message())
        .await;
    assert_eq!(code_of(&answer), None, "{answer:?}");
    wait_turn_end(&mut owner, 2).await;
}

#[tokio::test]
async fn a_plain_answer_with_no_once_option_is_refused_and_the_request_stays() {
    let host = start(vec![
        prompt("touch x"),
        ask(
            3,
            json!([
            {"optionId": "always", "name": "Always Allow", "kind": "allow_always"},
            {"optionId": "never", "name": "Never", "kind": "reject_always"}]),
        ),
        answered(3, "always"),
        stop("end_turn"),
    ])
    .await;
    let mut owner = host.owner().await;
    owner.request(|id| user(id, "touch x")).await;
    let asked = first_request(&mut owner).await;
    let refused = owner
        .request(decide(asked.clone(), Decision::Allow).message())
        .await;
    let ServerMessage::Error { code, message, .. } = &refused else {
        panic!("a plain allow was taken: {refused:?}");
    };
    assert_eq!(*code, ErrorCode::BadRequest);
    assert!(message.contains("`always` (allow_always)"), "{message}");
    // Still pending: the owner may name the broader option on purpose.
    let named = owner
        .request(
            decide(asked, Decision::Allow)
                .option(Some("always"))
                .message(),
        )
        .await;
    assert_eq!(code_of(&named), None, "{named:?}");
    assert_eq!(
        wait_turn_end(&mut owner, 1).await,
        tether::protocol::TurnOutcome::Success
    );
}
