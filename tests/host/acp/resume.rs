//! A restarted host continues its ACP agent's session: `session/resume`
//! when offered, else `session/load` (whose replay is not shown again),
//! else a new session, said so.

use serde_json::{Value, json};
use tether::protocol::{AgentInfo, EventKind, NoticeLevel, ServerMessage, TurnOutcome};

use super::{chunk, has_notice, preamble, prompt, scripted, stop, update, wait_turn_end};
use crate::support::*;

/// How the second agent answers `initialize`, and what it expects next.
enum Offers {
    Resume,
    Load,
    Nothing,
}

/// The owner of the restarted host (returned with it) after a turn on
/// each side of the restart.
async fn restart_with(offers: Offers) -> (TestHost, Client) {
    let dir = tempfile::tempdir().unwrap();
    let cwd = dir.path().to_owned();
    let journaled = |agent| {
        let mut config = crate::common::host_config(&cwd, agent);
        config.journal_dir = Some(cwd.join("journal"));
        config
    };
    let mut first = preamble(&cwd);
    first.extend([
        prompt("first"),
        update(json!({"sessionUpdate": "plan", "entries": [
            {"content": "remember me", "status": "in_progress"}]})),
        chunk("agent_message_chunk", "one"),
        stop("end_turn"),
    ]);
    let host = TestHost::start_config(journaled(scripted(&cwd, &first)), dir).await;
    let mut owner = host.owner().await;
    owner.request(|id| user(id, "first")).await;
    assert_eq!(wait_turn_end(&mut owner, 1).await, TurnOutcome::Success);
    drop(owner);
    let dir = host.stop().await;

    let params = json!({"sessionId": "s1", "cwd": cwd.display().to_string(),
        "mcpServers": []});
    let (capabilities, mut second) = match offers {
        Offers::Resume => (
            json!({"sessionCapabilities": {"resume": {}}, "loadSession": true}),
            vec![
                json!({"expect": {"method": "session/resume", "params": params}}),
                json!({"reply": {}}),
            ],
        ),
        Offers::Load => (
            json!({"loadSession": true}),
            vec![
                json!({"expect": {"method": "session/load", "params": params}}),
                chunk("user_message_chunk", "first"),
                chunk("agent_message_chunk", "REPLAYED"),
                // State, not history: it counts even while loading.
                update(json!({"sessionUpdate": "current_mode_update", "currentModeId": "code"})),
                update(json!({"sessionUpdate": "available_commands_update",
                    "availableCommands": [{"name": "web", "description": "search"}]})),
                json!({"reply": null}),
            ],
        ),
        Offers::Nothing => (
            json!({}),
            vec![
                json!({"expect": {"method": "session/new"}}),
                json!({"reply": {"sessionId": "s2"}}),
            ],
        ),
    };
    let session = if matches!(offers, Offers::Nothing) {
        "s2"
    } else {
        "s1"
    };
    let mut steps: Vec<Value> = vec![
        json!({"expect": {"method": "initialize"}}),
        json!({"reply": {"protocolVersion": 1, "agentCapabilities": capabilities}}),
    ];
    steps.append(&mut second);
    steps.extend([
        json!({"expect": {"method": "session/prompt", "params": {"sessionId": session}}}),
        // In the agent's session of now (an update for another is dropped).
        json!({"send": {"jsonrpc": "2.0", "method": "session/update", "params": {
            "sessionId": session, "update": {"sessionUpdate": "agent_message_chunk",
            "messageId": "m1", "content": {"type": "text", "text": "two"}}}}}),
        stop("end_turn"),
    ]);
    let host = TestHost::start_config(journaled(scripted(&cwd, &steps)), dir).await;
    let mut owner = host.owner().await;
    owner.request(|id| user(id, "second")).await;
    assert_eq!(wait_turn_end(&mut owner, 2).await, TurnOutcome::Success);
    (host, owner)
}

fn assistant_texts(owner: &Client) -> Vec<String> {
    owner
        .events
        .iter()
        .filter_map(|r| match &r.event {
            EventKind::Assistant { text } => Some(text.clone()),
            _ => None,
        })
        .collect()
}

/// What `ready.agent` told a client that joins the restarted host now.
async fn agent_info(host: &TestHost) -> AgentInfo {
    let mut late = Client::connect(&host.url, &host.view, "since=live").await;
    late.greeting().await;
    match late.ready {
        Some(ServerMessage::Ready {
            agent: Some(agent), ..
        }) => *agent,
        other => panic!("no agent info in {other:?}"),
    }
}

#[tokio::test]
async fn a_restart_resumes_the_agents_session_when_it_can() {
    let (host, owner) = restart_with(Offers::Resume).await;
    // The mode and the plan the journal holds, though this agent said
    // neither again.
    let agent = agent_info(&host).await;
    assert_eq!(agent.mode.as_deref(), Some("ask"));
    assert_eq!(agent.modes.len(), 2);
    assert_eq!(agent.plan[0].content, "remember me");
    assert!(has_notice(
        &owner,
        NoticeLevel::Info,
        "continued the agent's session s1"
    ));
    assert_eq!(assistant_texts(&owner), ["one", "two"]);
}

#[tokio::test]
async fn a_restart_loads_the_agents_session_without_showing_its_replay() {
    let (host, owner) = restart_with(Offers::Load).await;
    let agent = agent_info(&host).await;
    assert_eq!(agent.mode.as_deref(), Some("code"));
    assert_eq!(agent.commands[0].name, "web");
    assert!(has_notice(
        &owner,
        NoticeLevel::Info,
        "continued the agent's session s1"
    ));
    // History once, from the journal; the agent's replay is not shown.
    assert_eq!(assistant_texts(&owner), ["one", "two"]);
}

#[tokio::test]
async fn a_restart_says_so_when_the_agent_cannot_continue() {
    let (_host, owner) = restart_with(Offers::Nothing).await;
    assert!(has_notice(
        &owner,
        NoticeLevel::Warn,
        "cannot continue its session s1"
    ));
    assert_eq!(assistant_texts(&owner), ["one", "two"]);
}

#[tokio::test]
async fn a_restart_resumes_a_stream_json_agent_with_its_session_id() {
    let dir = tempfile::tempdir().unwrap();
    let cwd = dir.path().to_owned();
    let log = cwd.join("args.log");
    // Records the arguments the host adds, then plays Claude Code's hello.
    let wrapper = format!(
        "echo \"$*\" >> {}; exec {} trace {} --timeout-ms 10000",
        log.display(),
        crate::common::TEST_AGENT,
        fixture("hello.jsonl").display()
    );
    let agent = tether::host::agent::AgentSpec::StreamJson {
        command: vec!["sh".into(), "-c".into(), wrapper, "sh".into()],
    };
    let journaled = |agent| {
        let mut config = crate::common::host_config(&cwd, agent);
        config.journal_dir = Some(cwd.join("journal"));
        config
    };
    let host = TestHost::start_config(journaled(agent.clone()), dir).await;
    let mut owner = host.owner().await;
    owner.request(|id| user(id, "hello")).await;
    assert_eq!(wait_turn_end(&mut owner, 1).await, TurnOutcome::Success);
    drop(owner);
    let dir = host.stop().await;
    let host = TestHost::start_config(journaled(agent), dir).await;
    let mut owner = host.owner().await;
    owner.request(|id| user(id, "hello")).await;
    assert_eq!(wait_turn_end(&mut owner, 2).await, TurnOutcome::Success);
    let args = std::fs::read_to_string(&log).unwrap();
    assert_eq!(
        args.lines().collect::<Vec<_>>(),
        ["", "--resume c6d00794-28c3-41dd-9462-d5b0d8b1aca4"]
    );
}
