//! What an ACP agent says about itself (modes, slash commands, plan,
//! usage) reaches every client, late joiners through `ready.agent`.

use serde_json::json;
use tether::host::agent::AgentSpec;
use tether::protocol::{
    ClientMessage, ErrorCode, EventKind, NoticeLevel, PlanStatus, ServerMessage, SetMode,
    TurnOutcome,
};

use super::{prompt, start, stop, update, wait_turn_end};
use crate::support::*;

fn plan(statuses: [&str; 2]) -> serde_json::Value {
    update(json!({"sessionUpdate": "plan", "entries": [
        {"content": "read", "priority": "high", "status": statuses[0]},
        {"content": "write", "priority": "low", "status": statuses[1]}]}))
}

#[tokio::test]
async fn a_late_joiner_learns_the_mode_commands_plan_and_usage_from_ready() {
    let host = start(vec![
        update(
            json!({"sessionUpdate": "available_commands_update", "availableCommands": [
            {"name": "web", "description": "search the web", "input": {"hint": "query"}},
            {"name": "init", "description": "write AGENTS.md"}]}),
        ),
        prompt("go"),
        plan(["in_progress", "pending"]),
        plan(["completed", "in_progress"]),
        update(
            json!({"sessionUpdate": "usage_update", "used": 12300, "size": 200000,
            "cost": {"amount": 0.42, "currency": "USD"}}),
        ),
        stop("end_turn"),
    ])
    .await;
    let mut owner = host.owner().await;
    owner.request(|id| user(id, "go")).await;
    assert_eq!(wait_turn_end(&mut owner, 1).await, TurnOutcome::Success);
    let plans = owner
        .events
        .iter()
        .filter(|r| matches!(r.event, EventKind::Plan { .. }))
        .count();
    assert_eq!(plans, 2, "each plan is an event");
    // Joined after all that, with no replay: `ready` has the latest of each.
    let late = Client::connect(&host.url, &host.view, "since=live").await;
    let mut late = late;
    late.greeting().await;
    let Some(ServerMessage::Ready {
        agent: Some(agent), ..
    }) = &late.ready
    else {
        panic!("no agent in ready: {:?}", late.ready)
    };
    assert_eq!(agent.mode.as_deref(), Some("ask"));
    assert_eq!(agent.mode_name(), Some("Ask"));
    let names: Vec<&str> = agent.commands.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["web", "init"]);
    assert_eq!(agent.commands[0].input_hint.as_deref(), Some("query"));
    let statuses: Vec<PlanStatus> = agent.plan.iter().map(|e| e.status).collect();
    assert_eq!(statuses, [PlanStatus::Completed, PlanStatus::InProgress]);
    let usage = agent.usage.as_ref().expect("usage");
    assert_eq!((usage.used, usage.size), (12300, 200000));
    assert_eq!(usage.cost, Some(0.42));
    assert_eq!(usage.currency.as_deref(), Some("USD"));
}

fn set_mode(mode: &str) -> impl FnOnce(String) -> ClientMessage {
    let mode = mode.to_owned();
    move |id| ClientMessage::SetMode(SetMode { id, mode })
}

fn is_mode(event: &EventKind, want: &str) -> bool {
    matches!(event, EventKind::Mode { mode, .. } if mode == want)
}

#[tokio::test]
async fn the_owner_switches_the_agents_mode_and_followers_see_it() {
    let host = start(vec![
        json!({"expect": {"method": "session/set_mode",
            "params": {"sessionId": "s1", "modeId": "code"}}}),
        json!({"reply": {}}),
        json!({"expect": {"method": "session/set_mode",
            "params": {"sessionId": "s1", "modeId": "ask"}}}),
        json!({"reply_error": {"code": -32000, "message": "not now"}}),
    ])
    .await;
    let mut owner = host.owner().await;
    owner.saw_or_wait(|e| is_mode(e, "ask")).await;
    let mut follower = host.follower().await;
    // A follower may not; nor may anyone pick a mode the agent lacks.
    let refused = follower.request(set_mode("code")).await;
    assert_eq!(code_of(&refused), Some(ErrorCode::NotOwner), "{refused:?}");
    let unknown = owner.request(set_mode("yolo")).await;
    assert_eq!(
        code_of(&unknown),
        Some(ErrorCode::BadRequest),
        "{unknown:?}"
    );
    let ServerMessage::Error { message, .. } = &unknown else {
        unreachable!()
    };
    assert!(message.contains("ask, code"), "{message}");
    let answer = owner.request(set_mode("code")).await;
    assert_eq!(code_of(&answer), None, "{answer:?}");
    let switched = follower.wait_event(|e| is_mode(e, "code")).await;
    let EventKind::Mode { by, .. } = &switched.event else {
        unreachable!()
    };
    assert!(by.is_some(), "the switch names who made it");
    // The agent may refuse: the mode stays, the owner is told.
    owner.request(set_mode("ask")).await;
    owner
        .wait_event(|e| {
            matches!(e, EventKind::Notice { level: NoticeLevel::Warn, text }
                if text.contains("did not switch to mode `ask`") && text.contains("not now"))
        })
        .await;
    let mut late = Client::connect(&host.url, &host.view, "since=live").await;
    late.greeting().await;
    let Some(ServerMessage::Ready {
        agent: Some(agent), ..
    }) = &late.ready
    else {
        panic!("no agent in ready")
    };
    assert_eq!(agent.mode.as_deref(), Some("code"));
}

#[tokio::test]
async fn an_agent_without_modes_refuses_set_mode() {
    let host = TestHost::start(AgentSpec::Shell).await;
    let mut owner = host.owner().await;
    let refused = owner.request(set_mode("plan")).await;
    assert_eq!(
        code_of(&refused),
        Some(ErrorCode::BadRequest),
        "{refused:?}"
    );
    let ServerMessage::Error { message, .. } = &refused else {
        unreachable!()
    };
    assert!(message.contains("no modes"), "{message}");
}

#[tokio::test]
async fn claude_codes_permission_modes_switch_with_set_permission_mode() {
    // Claude Code's hello (its init says `permissionMode: default`), then
    // the switch tether must ask for and Claude Code's answer to it.
    let hello = std::fs::read_to_string(fixture("hello.jsonl")).unwrap();
    let switch = [
        json!({"dir": "in", "t": 1.0, "msg": {"type": "control_request", "request_id": "m1",
            "request": {"subtype": "set_permission_mode", "mode": "plan"}}}),
        json!({"dir": "out", "t": 1.1, "msg": {"type": "control_response",
            "response": {"subtype": "success", "request_id": "m1"}}}),
    ];
    let dir = tempfile::tempdir().unwrap();
    let trace = dir.path().join("trace.jsonl");
    let text: String = switch.iter().map(|l| format!("{l}\n")).collect();
    std::fs::write(&trace, format!("{hello}{text}")).unwrap();
    let agent = trace_agent(&trace, &[]);
    let host = TestHost::start_config(crate::common::host_config(dir.path(), agent), dir).await;
    let mut owner = host.owner().await;
    // No modes before Claude Code's first init.
    let early = owner.request(set_mode("plan")).await;
    assert_eq!(code_of(&early), Some(ErrorCode::BadRequest), "{early:?}");
    owner.request(|id| user(id, "hello")).await;
    let first = owner.wait_event(|e| is_mode(e, "default")).await;
    let EventKind::Mode { modes, .. } = &first.event else {
        unreachable!()
    };
    let ids: Vec<&str> = modes.iter().flatten().map(|m| m.id.as_str()).collect();
    assert_eq!(ids, ["default", "acceptEdits", "plan", "bypassPermissions"]);
    assert_eq!(wait_turn_end(&mut owner, 1).await, TurnOutcome::Success);
    let mut follower = host.follower().await;
    let answer = owner.request(set_mode("plan")).await;
    assert_eq!(code_of(&answer), None, "{answer:?}");
    follower.wait_event(|e| is_mode(e, "plan")).await;
}
