//! The demo agent (`tether demo`) through a real host: it plays its script
//! live and does what the owner answered, in its own directory.

use std::path::Path;

use serde_json::{Value, json};
use tether::host::agent::AgentSpec;
use tether::protocol::{ClientMessage, Decision, EventKind, Interrupt, ServerMessage, TurnOutcome};

use crate::support::*;

/// A demo host whose owner is `alice` (the auth file of [`write_auth`]).
async fn demo(speed: f64) -> TestHost {
    TestHost::start_with(AgentSpec::Demo { speed }, |config| {
        write_auth(&config.auth_path);
    })
    .await
}

/// Sends a message as the owner.
async fn start(owner: &mut Client, text: &str) {
    let answer = owner.request(|id| user(id, text)).await;
    assert_eq!(code_of(&answer), None, "{answer:?}");
}

/// The first permission request not yet answered, as (id, tool, input),
/// waited for if there is none.
async fn next_request(owner: &mut Client) -> (String, String, Value) {
    loop {
        let settled = |id: &str| {
            owner.events.iter().any(|r| match &r.event {
                EventKind::PermissionResolved { request_id, .. }
                | EventKind::PermissionCancelled { request_id, .. } => request_id == id,
                _ => false,
            })
        };
        let open = owner.events.iter().find_map(|r| match &r.event {
            EventKind::PermissionRequest {
                request_id,
                tool,
                input,
                ..
            } if !settled(request_id) => Some((request_id.clone(), tool.clone(), input.clone())),
            _ => None,
        });
        if let Some(open) = open {
            return open;
        }
        owner
            .wait_event(|e| matches!(e, EventKind::PermissionRequest { .. }))
            .await;
    }
}

/// Answers request `id`, and waits for the session to say it was.
async fn answer(owner: &mut Client, id: &str, answer: Answer) {
    let reply = owner.request(answer.message()).await;
    assert_eq!(code_of(&reply), None, "{reply:?}");
    owner
        .saw_or_wait(
            |e| matches!(e, EventKind::PermissionResolved { request_id, .. } if request_id == id),
        )
        .await;
}

fn assistant_said(owner: &Client, part: &str) -> bool {
    owner
        .events
        .iter()
        .any(|r| matches!(&r.event, EventKind::Assistant { text } if text.contains(part)))
}

async fn wait_said(owner: &mut Client, part: &str) {
    owner
        .saw_or_wait(|e| matches!(e, EventKind::Assistant { text } if text.contains(part)))
        .await;
}

fn read(dir: &Path, name: &str) -> Option<String> {
    std::fs::read_to_string(dir.join(name)).ok()
}

#[tokio::test]
async fn a_denial_leaves_the_file_alone_and_the_agent_says_so() {
    let host = demo(0.0).await;
    let mut owner = host.owner().await;
    start(&mut owner, "go").await;
    let (write, tool, _) = next_request(&mut owner).await;
    assert_eq!(tool, "Write");
    answer(&mut owner, &write, decide(&write, Decision::Deny)).await;
    let (edit, tool, _) = next_request(&mut owner).await;
    assert_eq!(tool, "Edit");
    assert!(
        assistant_said(&owner, "You said no, so I did not write the plan"),
        "{:?}",
        owner.events
    );
    assert_eq!(read(host.path(), "notes/plan.md"), None);
    // The denied call's result says nothing was written.
    assert!(owner.events.iter().any(|r| matches!(&r.event,
        EventKind::ToolResult { is_error: true, content, .. } if content.contains("left as it was"))));
    answer(
        &mut owner,
        &edit,
        decide(&edit, Decision::Deny).reason(Some("keep it")),
    )
    .await;
    wait_said(&mut owner, "so I did not change `beta`").await;
    assert_eq!(
        read(host.path(), "notes.txt").as_deref(),
        Some("alpha\nbeta\ngamma\n")
    );
    host.stop().await;
}

#[tokio::test]
async fn accepted_edits_are_not_asked_again_and_really_happen() {
    let host = demo(0.0).await;
    let mut owner = host.owner().await;
    start(&mut owner, "go").await;
    let (write, _, _) = next_request(&mut owner).await;
    answer(
        &mut owner,
        &write,
        decide(&write, Decision::Allow).option(Some("accept_edits")),
    )
    .await;
    // The next request is the command: the edit ran without one.
    let (_, tool, _) = next_request(&mut owner).await;
    assert_eq!(tool, "Bash");
    let asked: Vec<String> = owner
        .events
        .iter()
        .filter_map(|r| match &r.event {
            EventKind::PermissionRequest { tool, .. } => Some(tool.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(asked, ["Write", "Bash"]);
    assert!(owner.events.iter().any(|r| matches!(&r.event,
        EventKind::Notice { text, .. } if text.contains("accepted edits"))));
    assert_eq!(
        read(host.path(), "notes/plan.md").as_deref(),
        Some("# Plan\n\n- first step\n- second step\n")
    );
    assert_eq!(
        read(host.path(), "notes.txt").as_deref(),
        Some("alpha\nBETA\ngamma\n")
    );
    host.stop().await;
}

#[tokio::test]
async fn edit_and_allow_runs_the_edited_input() {
    let host = demo(0.0).await;
    let mut owner = host.owner().await;
    let Some(ServerMessage::Ready { session, .. }) = &owner.ready else {
        panic!("no ready")
    };
    assert!(session.takes_updated_input, "the demo takes edits");
    start(&mut owner, "go").await;
    let (write, _, mut input) = next_request(&mut owner).await;
    input["content"] = json!("# My plan\n");
    answer(
        &mut owner,
        &write,
        decide(&write, Decision::Allow).input(Some(input)),
    )
    .await;
    let (edit, _, mut input) = next_request(&mut owner).await;
    assert_eq!(
        read(host.path(), "notes/plan.md").as_deref(),
        Some("# My plan\n")
    );
    assert!(assistant_said(&owner, "with your edit"));
    input["new_string"] = json!("Beta");
    answer(
        &mut owner,
        &edit,
        decide(&edit, Decision::Allow).input(Some(input)),
    )
    .await;
    next_request(&mut owner).await;
    assert_eq!(
        read(host.path(), "notes.txt").as_deref(),
        Some("alpha\nBeta\ngamma\n")
    );
    host.stop().await;
}

/// The whole script, every request answered: no interrupt the owner did
/// not make, the owner's name on the message, the summary as it went.
#[tokio::test]
async fn the_script_plays_to_its_summary_with_no_interrupt_but_the_owners() {
    let host = demo(0.0).await;
    let mut owner = host.owner().await;
    start(&mut owner, "hello").await;
    for (tool, decision) in [
        ("Write", Decision::Allow),
        ("Edit", Decision::Allow),
        ("Bash", Decision::Allow),
        ("Bash", Decision::Deny),
    ] {
        let (id, asked, _) = next_request(&mut owner).await;
        assert_eq!(asked, tool);
        answer(&mut owner, &id, decide(&id, decision)).await;
    }
    wait_said(&mut owner, "## What happened").await;
    owner
        .saw_or_wait(|e| matches!(e, EventKind::TurnEnd { .. }))
        .await;
    let interrupts = owner.events.iter().filter(|r| {
        matches!(&r.event, EventKind::Interrupt { .. })
            || matches!(
                &r.event,
                EventKind::TurnEnd {
                    outcome: TurnOutcome::Interrupted,
                    ..
                }
            )
    });
    assert_eq!(interrupts.count(), 0, "{:?}", owner.events);
    let senders: Vec<&str> = owner
        .events
        .iter()
        .filter_map(|r| match &r.event {
            EventKind::UserMessage { by, .. } => Some(by.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(senders, ["alice"]);
    assert!(assistant_said(&owner, "- run the tests: **done**"));
    assert!(assistant_said(&owner, "(`build/`): **denied**"));
    assert!(host.path().join("build").is_dir(), "denied: not removed");
    assert!(owner.events.iter().any(|r| matches!(&r.event,
        EventKind::Output { text, .. } if text.contains("24 passed"))));
    host.stop().await;
}

/// An interrupt during the test run stops it there; the next message
/// carries on, and a command allowed always (a host rule) is not asked
/// again.
#[tokio::test]
async fn an_interrupt_stops_the_run_and_an_always_allowed_command_runs_unasked() {
    let host = demo(2.0).await;
    let mut owner = host.owner().await;
    start(&mut owner, "go").await;
    let (write, _, _) = next_request(&mut owner).await;
    answer(
        &mut owner,
        &write,
        decide(&write, Decision::Allow).option(Some("accept_edits")),
    )
    .await;
    let (tests, _, _) = next_request(&mut owner).await;
    answer(
        &mut owner,
        &tests,
        decide(&tests, Decision::Allow).option(Some("always_this_command")),
    )
    .await;
    owner
        .saw_or_wait(|e| matches!(e, EventKind::Output { .. }))
        .await;
    owner
        .request(|id| ClientMessage::Interrupt(Interrupt { id }))
        .await;
    owner
        .saw_or_wait(|e| {
            matches!(
                e,
                EventKind::TurnEnd {
                    outcome: TurnOutcome::Interrupted,
                    ..
                }
            )
        })
        .await;
    assert!(!owner.events.iter().any(|r| matches!(&r.event,
        EventKind::Output { text, .. } if text.contains("24 passed"))));
    start(&mut owner, "go on").await;
    let (rm, tool, input) = next_request(&mut owner).await;
    assert_eq!(
        (tool.as_str(), &input["command"]),
        ("Bash", &json!("rm -r build"))
    );
    answer(&mut owner, &rm, decide(&rm, Decision::Allow)).await;
    wait_said(&mut owner, "- run the tests: **interrupted** by you").await;
    assert!(!host.path().join("build").exists(), "allowed: removed");
    owner
        .saw_or_wait(|e| {
            matches!(
                e,
                EventKind::TurnEnd {
                    outcome: TurnOutcome::Success,
                    ..
                }
            )
        })
        .await;
    // Once the task is done a message runs the tests again: the rule
    // covers them.
    start(&mut owner, "again").await;
    owner
        .wait_event(|e| matches!(e, EventKind::Notice { text, .. } if text.contains("rule-1")))
        .await;
    wait_said(&mut owner, "That is all my script holds").await;
    let requests = owner
        .events
        .iter()
        .filter(|r| matches!(&r.event, EventKind::PermissionRequest { .. }))
        .count();
    assert_eq!(requests, 3, "write, tests, rm: nothing asked twice");
    host.stop().await;
}

/// Interrupted at its last request, the task still ends with its summary
/// at the next message (not with the steps played once it is done).
#[tokio::test]
async fn an_interrupt_at_the_last_request_puts_the_summary_off_to_the_next_message() {
    let host = demo(0.0).await;
    let mut owner = host.owner().await;
    start(&mut owner, "go").await;
    let (write, _, _) = next_request(&mut owner).await;
    answer(
        &mut owner,
        &write,
        decide(&write, Decision::Allow).option(Some("accept_edits")),
    )
    .await;
    let (tests, _, _) = next_request(&mut owner).await;
    answer(&mut owner, &tests, decide(&tests, Decision::Allow)).await;
    let (_, _, input) = next_request(&mut owner).await;
    assert_eq!(input["command"], "rm -r build");
    owner
        .request(|id| ClientMessage::Interrupt(Interrupt { id }))
        .await;
    owner
        .saw_or_wait(|e| matches!(e, EventKind::PermissionCancelled { .. }))
        .await;
    start(&mut owner, "go on").await;
    wait_said(&mut owner, "(`build/`): **interrupted** by you").await;
    assert!(host.path().join("build").is_dir());
    host.stop().await;
}
