use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tether::host::agent::AgentSpec;
use tether::protocol::{
    AgentState, ClientMessage, Decision, ErrorCode, EventKind, EventRecord, Interrupt, NoticeLevel,
    OutputStream, TurnOutcome,
};

use crate::support::*;

fn outcome(record: &EventRecord) -> TurnOutcome {
    match record.event {
        EventKind::TurnEnd { outcome, .. } => outcome,
        _ => panic!("not a turn end"),
    }
}

fn stdout_text(events: &[EventRecord]) -> String {
    events
        .iter()
        .filter_map(|r| match &r.event {
            EventKind::Output {
                stream: OutputStream::Stdout,
                text,
            } => Some(text.as_str()),
            _ => None,
        })
        .collect()
}

#[tokio::test]
async fn shell_runs_an_allowed_command_and_streams_its_output() {
    let host = TestHost::start(AgentSpec::Shell).await;
    let mut owner = host.owner().await;
    let request = ask(&mut owner, "echo first; sleep 1; echo second >&2; exit 3").await;
    // A second command while one is pending is refused.
    let busy = owner.request(|id| user(id, "ls")).await;
    assert_eq!(code_of(&busy), Some(ErrorCode::Busy));
    owner
        .request(decide(request, Decision::Allow).message())
        .await;
    let first = owner
        .wait_event(|e| matches!(e, EventKind::Output { text, .. } if text.contains("first")))
        .await;
    let first_at = Instant::now();
    let end = owner
        .wait_event(|e| matches!(e, EventKind::TurnEnd { .. }))
        .await;
    assert!(
        first_at.elapsed() > Duration::from_millis(500),
        "output streamed before the command ended"
    );
    assert!(first.seq < end.seq);
    assert_eq!(outcome(&end), TurnOutcome::Error);
    let result = owner
        .events
        .iter()
        .find_map(|r| match &r.event {
            EventKind::ToolResult {
                content, is_error, ..
            } => Some((content.clone(), *is_error)),
            _ => None,
        })
        .unwrap();
    assert_eq!(result, ("exit code 3".into(), true));
    assert!(owner.events.iter().any(|r| matches!(&r.event, EventKind::Output { stream: OutputStream::Stderr, text } if text.contains("second"))));
    owner
        .wait_event(|e| {
            matches!(
                e,
                EventKind::Status {
                    state: AgentState::Idle,
                    ..
                }
            )
        })
        .await;
    host.stop().await;
}

#[tokio::test]
async fn shell_denied_commands_do_not_run_and_edited_ones_run_as_edited() {
    let host = TestHost::start(AgentSpec::Shell).await;
    let mut owner = host.owner().await;
    let request = ask(&mut owner, "touch denied.txt").await;
    owner
        .request(decide(request, Decision::Deny).reason(Some("no")).message())
        .await;
    let end = owner
        .wait_event(|e| matches!(e, EventKind::TurnEnd { .. }))
        .await;
    assert_eq!(outcome(&end), TurnOutcome::Denied);
    assert!(!host.path().join("denied.txt").exists());

    let request = ask(&mut owner, "echo original").await;
    let edited = json!({"command": "echo edited"});
    owner
        .request(
            decide(request, Decision::Allow)
                .input(Some(edited))
                .message(),
        )
        .await;
    let end = owner
        .wait_event(|e| matches!(e, EventKind::TurnEnd { .. }))
        .await;
    assert_eq!(outcome(&end), TurnOutcome::Success);
    assert_eq!(stdout_text(&owner.events), "edited\n");
    host.stop().await;
}

#[tokio::test]
async fn shell_interrupt_kills_the_process_group_within_two_seconds() {
    let host = TestHost::start(AgentSpec::Shell).await;
    let mut owner = host.owner().await;
    // The shell ignores SIGINT and so does its background child: only the
    // SIGKILL that follows after the grace can stop them.
    let request = ask(
        &mut owner,
        "trap '' INT; sleep 60 & echo $! > child.pid; echo started; wait",
    )
    .await;
    owner
        .request(decide(request, Decision::Allow).message())
        .await;
    owner
        .wait_event(|e| matches!(e, EventKind::Output { text, .. } if text.contains("started")))
        .await;
    let child: i32 = std::fs::read_to_string(host.path().join("child.pid"))
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert!(alive(child));
    let asked = Instant::now();
    owner
        .request(|id| ClientMessage::Interrupt(Interrupt { id }))
        .await;
    let end = owner
        .wait_event(|e| matches!(e, EventKind::TurnEnd { .. }))
        .await;
    let took = asked.elapsed();
    assert_eq!(outcome(&end), TurnOutcome::Interrupted);
    assert!(took < Duration::from_millis(3000), "took {took:?}");
    let deadline = Instant::now() + Duration::from_secs(2);
    while alive(child) && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(
        !alive(child),
        "the background child was killed with its group"
    );
    assert!(
        owner
            .events
            .iter()
            .any(|r| matches!(r.event, EventKind::Interrupt { .. }))
    );
    host.stop().await;
}

#[tokio::test]
async fn shell_interrupt_while_asking_cancels_the_request() {
    let host = TestHost::start(AgentSpec::Shell).await;
    let mut owner = host.owner().await;
    let request = ask(&mut owner, "echo never").await;
    owner
        .request(|id| ClientMessage::Interrupt(Interrupt { id }))
        .await;
    let cancelled = owner
        .wait_event(|e| matches!(e, EventKind::PermissionCancelled { .. }))
        .await;
    let EventKind::PermissionCancelled { request_id, .. } = cancelled.event else {
        unreachable!()
    };
    assert_eq!(request_id, request);
    let end = owner
        .wait_event(|e| matches!(e, EventKind::TurnEnd { .. }))
        .await;
    assert_eq!(outcome(&end), TurnOutcome::Interrupted);
    let late = owner
        .request(decide(request, Decision::Allow).message())
        .await;
    assert_eq!(code_of(&late), Some(ErrorCode::AlreadyResolved));
    host.stop().await;
}

// ---- stream-json, driven by the real Claude Code traces -------------------

fn meta_exit_code(scenario: &str) -> i64 {
    let meta: Value = serde_json::from_str(
        &std::fs::read_to_string(fixture(&format!("meta/{scenario}.json"))).unwrap(),
    )
    .unwrap();
    meta["exit_code"].as_i64().unwrap()
}

/// Plays a trace through the host: sends each recorded input as the owner
/// would (user text, decisions, interrupts) and returns every event up to
/// the agent's exit. The trace agent exits non-zero on any input that does
/// not match the recording, which this asserts against.
async fn run_trace(trace: &Path, exit_code: i64) -> Vec<EventRecord> {
    let host = TestHost::start(trace_agent(trace, &["--exit-code", &exit_code.to_string()])).await;
    let mut owner = host.owner().await;
    let text = std::fs::read_to_string(trace).unwrap();
    for line in text.lines() {
        let entry: Value = serde_json::from_str(line).unwrap();
        if entry["dir"] != "in" {
            continue;
        }
        let message = &entry["msg"];
        match message["type"].as_str() {
            Some("user") => {
                let content = &message["message"]["content"];
                let text = match content {
                    Value::String(s) => s.clone(),
                    Value::Array(blocks) => {
                        blocks.iter().filter_map(|b| b["text"].as_str()).collect()
                    }
                    _ => panic!("user content {content}"),
                };
                let answer = owner.request(|id| user(id, &text)).await;
                assert_eq!(code_of(&answer), None, "{answer:?}");
            }
            Some("control_request") => {
                assert_eq!(message["request"]["subtype"], "interrupt");
                owner
                    .request(|id| ClientMessage::Interrupt(Interrupt { id }))
                    .await;
            }
            Some("control_response") => {
                let response = &message["response"];
                let wanted = response["request_id"].as_str().unwrap().to_owned();
                let request = owner
                    .wait_event(|e| matches!(e, EventKind::PermissionRequest { request_id, .. } if *request_id == wanted))
                    .await;
                let EventKind::PermissionRequest { input, .. } = &request.event else {
                    unreachable!()
                };
                let body = &response["response"];
                let answer = if body["behavior"] == "allow" {
                    // Only an edited input is sent; otherwise the host must
                    // fill in the original, which the trace agent checks.
                    let edited =
                        (body["updatedInput"] != *input).then(|| body["updatedInput"].clone());
                    owner
                        .request(decide(wanted, Decision::Allow).input(edited).message())
                        .await
                } else {
                    let why = body["message"].as_str();
                    owner
                        .request(decide(wanted, Decision::Deny).reason(why).message())
                        .await
                };
                assert_eq!(code_of(&answer), None, "{answer:?}");
            }
            other => panic!("trace input {other:?} is not something an owner sends"),
        }
    }
    let (code, detail) = owner.wait_exit().await;
    assert_eq!(
        code.map(i64::from),
        Some(exit_code),
        "trace agent: {detail:?} (3 = input did not match the recording, 4 = input missing)"
    );
    let events = owner.events.clone();
    host.stop().await;
    events
}

async fn scenario(name: &str) -> Vec<EventRecord> {
    run_trace(&fixture(&format!("{name}.jsonl")), meta_exit_code(name)).await
}

fn kinds(events: &[EventRecord]) -> impl Iterator<Item = &EventKind> {
    events.iter().map(|r| &r.event)
}

fn outcomes(events: &[EventRecord]) -> Vec<TurnOutcome> {
    kinds(events)
        .filter_map(|e| match e {
            EventKind::TurnEnd { outcome, .. } => Some(*outcome),
            _ => None,
        })
        .collect()
}

fn tool_results(events: &[EventRecord]) -> Vec<(String, bool)> {
    kinds(events)
        .filter_map(|e| match e {
            EventKind::ToolResult {
                content, is_error, ..
            } => Some((content.clone(), *is_error)),
            _ => None,
        })
        .collect()
}

#[tokio::test]
async fn stream_json_hello_maps_metadata_text_and_result() {
    let events = scenario("hello").await;
    assert!(kinds(&events).any(|e| matches!(e, EventKind::Metadata { model: Some(m), agent_session_id: Some(_), .. } if m.starts_with("claude"))));
    assert!(kinds(&events).any(|e| matches!(e, EventKind::Assistant { .. })));
    let end = kinds(&events).find_map(|e| match e {
        EventKind::TurnEnd {
            outcome,
            duration_ms,
            cost_usd,
            num_turns,
            ..
        } => Some((
            *outcome,
            duration_ms.is_some(),
            cost_usd.is_some(),
            *num_turns,
        )),
        _ => None,
    });
    assert_eq!(end, Some((TurnOutcome::Success, true, true, Some(1))));
}

#[tokio::test]
async fn stream_json_permission_allow_passes_the_original_input() {
    let events = scenario("permission-allow").await;
    assert!(kinds(&events).any(|e| matches!(e, EventKind::PermissionRequest { tool, tool_use_id: Some(_), .. } if tool == "Bash")));
    assert!(kinds(&events).any(|e| matches!(e, EventKind::ToolUse { name, .. } if name == "Bash")));
    assert!(
        tool_results(&events)
            .iter()
            .any(|(c, err)| c.contains("hi-from-tool") && !err)
    );
    assert_eq!(outcomes(&events), [TurnOutcome::Success]);
}

#[tokio::test]
async fn stream_json_permission_allow_with_an_edited_input() {
    let events = scenario("permission-allow-modified").await;
    assert_eq!(outcomes(&events), [TurnOutcome::Success]);
}

#[tokio::test]
async fn stream_json_permission_allow_with_partial_messages_streams_deltas() {
    let events = scenario("permission-allow-partial").await;
    assert!(kinds(&events).any(|e| matches!(e, EventKind::AssistantDelta { .. })));
    assert_eq!(outcomes(&events), [TurnOutcome::Success]);
}

#[tokio::test]
async fn stream_json_permission_deny_carries_the_message() {
    let events = scenario("permission-deny").await;
    assert!(tool_results(&events).contains(&("not allowed".into(), true)));
    assert_eq!(outcomes(&events), [TurnOutcome::Success]);
    let events = scenario("permission-deny-interrupt").await;
    assert_eq!(outcomes(&events), [TurnOutcome::Denied]);
}

#[tokio::test]
async fn stream_json_interrupt_with_a_pending_request_cancels_it() {
    let events = scenario("cancel").await;
    assert!(kinds(&events).any(|e| matches!(e, EventKind::PermissionCancelled { reason: Some(r), .. } if r.contains("withdrawn"))));
    assert!(!kinds(&events).any(|e| matches!(e, EventKind::PermissionResolved { .. })));
    assert_eq!(outcomes(&events), [TurnOutcome::Interrupted]);
}

#[tokio::test]
async fn stream_json_interrupts_mid_stream_and_mid_tool() {
    let events = scenario("interrupt").await;
    assert_eq!(
        outcomes(&events),
        [TurnOutcome::Interrupted, TurnOutcome::Success]
    );
    assert!(kinds(&events).any(|e| matches!(e, EventKind::AssistantDelta { .. })));
    let events = scenario("interrupt-tool").await;
    assert_eq!(outcomes(&events), [TurnOutcome::Interrupted]);
}

#[tokio::test]
async fn stream_json_multi_turn_and_queued_messages() {
    let events = scenario("multi-turn").await;
    assert_eq!(outcomes(&events), [TurnOutcome::Success; 3]);
    let events = scenario("queued-message").await;
    assert_eq!(outcomes(&events), [TurnOutcome::Success; 2]);
    let users = kinds(&events)
        .filter(|e| matches!(e, EventKind::UserMessage { .. }))
        .count();
    assert_eq!(users, 2);
}

#[tokio::test]
async fn stream_json_other_recorded_behaviours() {
    for name in ["readonly-autoallow", "eof-after-send"] {
        assert_eq!(
            outcomes(&scenario(name).await),
            [TurnOutcome::Success],
            "{name}"
        );
    }
    let events = scenario("replay-user-messages").await;
    let users = kinds(&events)
        .filter(|e| matches!(e, EventKind::UserMessage { .. }))
        .count();
    assert_eq!(users, 1, "the agent's echo is not a second user message");
    let events = scenario("no-permission-prompt-tool").await;
    assert!(kinds(&events).any(|e| matches!(e, EventKind::Notice { level: NoticeLevel::Warn, text } if text.contains("without asking"))));
}

#[tokio::test]
async fn stream_json_pending_requests_are_cancelled_when_the_agent_exits() {
    let events = scenario("permission-unanswered").await;
    let request = kinds(&events).find_map(|e| match e {
        EventKind::PermissionRequest { request_id, .. } => Some(request_id.clone()),
        _ => None,
    });
    let cancelled = kinds(&events).find_map(|e| match e {
        EventKind::PermissionCancelled { request_id, reason } => {
            Some((request_id.clone(), reason.clone()))
        }
        _ => None,
    });
    let (id, reason) = cancelled.expect("cancelled");
    assert_eq!(Some(id), request);
    assert!(reason.unwrap().contains("exited"));
}

#[tokio::test]
async fn stream_json_unsupported_control_requests_are_answered_with_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let trace = dir.path().join("unsupported.jsonl");
    let lines = [
        json!({"dir": "in", "msg": {"type": "user", "message": {"role": "user", "content": "go"}}}),
        json!({"dir": "out", "msg": {"type": "control_request", "request_id": "hk_1", "request": {"subtype": "hook_callback", "callback_id": "x"}}}),
        json!({"dir": "in", "msg": {"type": "control_response", "response": {"subtype": "error", "request_id": "hk_1"}}}),
        json!({"dir": "out", "msg": {"type": "assistant", "message": {"content": [{"type": "text", "text": "after"}]}}}),
        json!({"dir": "out", "msg": {"type": "result", "subtype": "success", "is_error": false, "duration_ms": 5, "num_turns": 1}}),
    ];
    let text: String = lines.iter().map(|l| format!("{l}\n")).collect();
    std::fs::write(&trace, text).unwrap();
    // The trace agent waits at most 10 s for the answer and exits 4 if none.
    let host = TestHost::start(AgentSpec::StreamJson {
        command: vec![
            crate::common::TEST_AGENT.into(),
            "trace".into(),
            trace.display().to_string(),
            "--timeout-ms".into(),
            "2000".into(),
        ],
    })
    .await;
    let mut owner = host.owner().await;
    let started = Instant::now();
    owner.request(|id| user(id, "go")).await;
    let end = owner
        .wait_event(|e| matches!(e, EventKind::TurnEnd { .. }))
        .await;
    assert_eq!(outcome(&end), TurnOutcome::Success);
    assert!(started.elapsed() < Duration::from_secs(2));
    assert_eq!(owner.wait_exit().await.0, Some(0));
    host.stop().await;
}

#[tokio::test]
async fn stream_json_agent_crash_is_an_event_not_a_host_failure() {
    let host = TestHost::start(AgentSpec::StreamJson {
        command: vec![
            "sh".into(),
            "-c".into(),
            "read line; echo 'not json at all'; echo oops >&2; exit 7".into(),
        ],
    })
    .await;
    let mut owner = host.owner().await;
    owner.request(|id| user(id, "hi")).await;
    assert_eq!(owner.wait_exit().await.0, Some(7));
    assert!(
        owner.events.iter().any(
            |r| matches!(&r.event, EventKind::Output { text, .. } if text.contains("not json"))
        )
    );
    assert!(owner.events.iter().any(|r| matches!(
        &r.event,
        EventKind::Notice {
            level: NoticeLevel::Error,
            ..
        }
    )));
    let refused = owner.request(|id| user(id, "again")).await;
    assert_eq!(code_of(&refused), Some(ErrorCode::AgentExited));
    // The host still serves the history.
    let mut late = host.viewer().await;
    assert!(late.events.len() >= owner.events.len());
    late.ping().await;
    host.stop().await;
}

// ---- replay ---------------------------------------------------------------

#[tokio::test]
async fn stream_json_huge_lines_and_a_hanging_agent_end_cleanly() {
    // Reads a turn, prints a 10 MB line, asks for permission, then hangs.
    let script = r#"read line
head -c 10000000 /dev/zero | tr '\0' x; echo
echo '{"type":"control_request","request_id":"q1","request":{"subtype":"can_use_tool","tool_name":"Bash","input":{"command":"ls"}}}'
exec sleep 600"#;
    let host = TestHost::start(AgentSpec::StreamJson {
        command: vec!["sh".into(), "-c".into(), script.into()],
    })
    .await;
    let mut owner = host.owner().await;
    owner.request(|id| user(id, "go")).await;
    let notice = owner
        .wait_event(|e| matches!(e, EventKind::Notice { text, .. } if text.contains("dropped an agent output line")))
        .await;
    let EventKind::Notice { text, .. } = notice.event else {
        unreachable!()
    };
    assert!(text.contains("10000001 bytes"), "{text}");
    owner
        .wait_event(|e| matches!(e, EventKind::PermissionRequest { .. }))
        .await;
    // The agent hangs: an interrupt reaches it but changes nothing.
    owner
        .request(|id| ClientMessage::Interrupt(Interrupt { id }))
        .await;
    let mut watcher = host.viewer().await;
    // Stopping the host stops the agent; the pending request is cancelled
    // with a reason and the agent's exit is the last thing anyone sees.
    let stop = tokio::spawn(host.stop());
    let cancelled = watcher
        .wait_event(|e| matches!(e, EventKind::PermissionCancelled { .. }))
        .await;
    assert!(
        matches!(cancelled.event, EventKind::PermissionCancelled { reason: Some(ref r), .. } if r.contains("exited"))
    );
    watcher.wait_event(is_exit).await;
    stop.await.unwrap();
}
