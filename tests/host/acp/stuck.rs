//! An ACP agent that never answers `session/prompt`: an interrupt it does
//! not honour within the grace gets it stopped and started again, the
//! owner can restart it while it runs, and messages do not pile up
//! behind it without limit.

use std::time::Duration;

use serde_json::{Value, json};
use tether::protocol::{
    AgentState, ClientMessage, ErrorCode, EventKind, Interrupt, NoticeLevel, TurnOutcome,
};

use super::{has_notice, preamble, prompt, scripted, stop, wait_turn_end};
use crate::support::*;

/// A host whose agent plays `steps` after the preamble, with a short
/// interrupt grace; the script file can be rewritten for the next start.
async fn start(steps: Vec<Value>) -> (TestHost, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let all: Vec<Value> = preamble(dir.path()).into_iter().chain(steps).collect();
    let agent = scripted(dir.path(), &all);
    let mut config = crate::common::host_config(dir.path(), agent);
    config.interrupt_grace = Duration::from_millis(800);
    let script = dir.path().join("script.jsonl");
    (TestHost::start_config(config, dir).await, script)
}

fn rewrite(script: &std::path::Path, cwd: &std::path::Path, steps: Vec<Value>) {
    let all: Vec<Value> = preamble(cwd).into_iter().chain(steps).collect();
    let text: String = all.iter().map(|step| format!("{step}\n")).collect();
    std::fs::write(script, text).unwrap();
}

/// Waits for the agent to be ready for a prompt.
async fn idle(owner: &mut Client) {
    owner
        .wait_event_within(
            |e| {
                matches!(
                    e,
                    EventKind::Status {
                        state: AgentState::Idle,
                        ..
                    }
                )
            },
            Duration::from_secs(10),
        )
        .await;
}

#[tokio::test]
async fn an_interrupt_the_agent_ignores_gets_it_replaced() {
    let (host, script) = start(vec![
        prompt("hang"),
        json!({"expect": {"method": "session/cancel"}}),
        json!({"sleep_ms": 60_000}),
    ])
    .await;
    let mut owner = host.owner().await;
    idle(&mut owner).await;
    owner.request(|id| user(id, "hang")).await;
    owner
        .wait_event(|e| {
            matches!(
                e,
                EventKind::Status {
                    state: AgentState::Running,
                    ..
                }
            )
        })
        .await;
    // The next agent started answers.
    rewrite(
        &script,
        host.path(),
        vec![prompt("after"), stop("end_turn")],
    );
    owner
        .request(|id| ClientMessage::Interrupt(Interrupt { id }))
        .await;
    assert_eq!(wait_turn_end(&mut owner, 1).await, TurnOutcome::Interrupted);
    assert!(has_notice(
        &owner,
        NoticeLevel::Warn,
        "did not stop within 1 s of the interrupt"
    ));
    idle(&mut owner).await;
    owner.request(|id| user(id, "after")).await;
    assert_eq!(wait_turn_end(&mut owner, 2).await, TurnOutcome::Success);
    host.stop().await;
}

#[tokio::test]
async fn a_stuck_agent_can_be_restarted_and_its_queue_is_bounded() {
    let (host, script) = start(vec![prompt("hang"), json!({"sleep_ms": 60_000})]).await;
    let mut owner = host.owner().await;
    owner.request(|id| user(id, "hang")).await;
    // Behind the stuck turn, messages queue up to the bound, then wait.
    let mut refused = None;
    for n in 0..20 {
        let answer = owner.request(|id| user(id, &format!("more {n}"))).await;
        if let Some(code) = code_of(&answer) {
            refused = Some((n, code));
            break;
        }
    }
    assert_eq!(
        refused,
        Some((16, ErrorCode::Busy)),
        "16 wait, the 17th is refused"
    );
    rewrite(
        &script,
        host.path(),
        vec![prompt("after"), stop("end_turn")],
    );
    let addr = host_addr(&host.url);
    let (status, body) = http(
        &addr,
        "POST",
        "/v1/sessions/main/restart",
        Some(&host.control),
        None,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert!(has_notice(&owner, NoticeLevel::Warn, "restarted the agent while it was running")
        || owner
            .saw_or_wait(|e| matches!(e, EventKind::Notice { text, .. } if text.contains("while it was running")))
            .await
            .seq
            > 0);
    idle(&mut owner).await;
    let answer = owner.request(|id| user(id, "after")).await;
    assert_eq!(
        code_of(&answer),
        None,
        "the queue was cleared with the old agent"
    );
    host.stop().await;
}

#[tokio::test]
async fn an_interrupt_while_idle_changes_nothing() {
    let (host, _) = start(vec![]).await;
    let mut owner = host.owner().await;
    idle(&mut owner).await;
    owner
        .request(|id| ClientMessage::Interrupt(Interrupt { id }))
        .await;
    // Well past the grace: the idle agent was not taken for a stuck one.
    tokio::time::sleep(Duration::from_millis(1600)).await;
    owner.ping().await;
    assert!(
        !has_notice(&owner, NoticeLevel::Warn, "did not stop"),
        "{:#?}",
        owner.events
    );
    let starts = owner
        .events
        .iter()
        .filter(|r| {
            matches!(
                r.event,
                EventKind::Status {
                    state: AgentState::Starting,
                    ..
                }
            )
        })
        .count();
    assert_eq!(starts, 1, "the agent was started again");
    host.stop().await;
}
