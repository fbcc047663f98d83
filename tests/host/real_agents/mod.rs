//! The scenarios of a supervised session, against the real agents: a text
//! turn; a command shown whole before it runs, allowed once and asked
//! again; an edit shown as a diff, denied, the file untouched; "always"
//! chosen explicitly, then not asked again; an interrupt mid-stream.

mod setup;

use std::time::Duration;

use tether::protocol::{
    ClientMessage, Decision, EventKind, EventRecord, Interrupt, PermissionOptionKind, Preview,
    TurnOutcome,
};

use crate::support::*;
use setup::{Api, CLAUDE, CLAUDE_ACP, GEMINI, RealAgent, RealHost, require};

/// Sends `text` and returns the turn's events once it ended.
async fn turn(owner: &mut Client, text: &str) -> Vec<EventRecord> {
    let from = owner.events.len();
    let answer = owner.request(|id| user(id, text)).await;
    assert_eq!(code_of(&answer), None, "{text}: {answer:?}");
    owner
        .wait_event_within(
            |e| matches!(e, EventKind::TurnEnd { .. }),
            Duration::from_secs(60),
        )
        .await;
    owner.events[from..].to_vec()
}

/// Sends `text`, which must raise a permission request; returns it.
async fn asks(owner: &mut Client, text: &str) -> EventRecord {
    let answer = owner.request(|id| user(id, text)).await;
    assert_eq!(code_of(&answer), None, "{text}: {answer:?}");
    owner
        .wait_event_within(
            |e| {
                matches!(
                    e,
                    EventKind::PermissionRequest { .. } | EventKind::TurnEnd { .. }
                )
            },
            Duration::from_secs(60),
        )
        .await
}

async fn answer(
    owner: &mut Client,
    request: &EventRecord,
    decision: Decision,
    option: Option<&str>,
) {
    let reply = owner
        .request(
            decide(request_id(&request.event), decision)
                .option(option)
                .message(),
        )
        .await;
    assert_eq!(code_of(&reply), None, "{reply:?}");
    owner
        .wait_event_within(
            |e| matches!(e, EventKind::TurnEnd { .. }),
            Duration::from_secs(60),
        )
        .await;
}

fn outcome(events: &[EventRecord]) -> Option<TurnOutcome> {
    events.iter().rev().find_map(|r| match r.event {
        EventKind::TurnEnd { outcome, .. } => Some(outcome),
        _ => None,
    })
}

fn said(events: &[EventRecord]) -> String {
    events
        .iter()
        .filter_map(|r| match &r.event {
            EventKind::Assistant { text } => Some(text.as_str()),
            _ => None,
        })
        .collect()
}

fn command_preview(request: &EventRecord) -> String {
    match &request.event {
        EventKind::PermissionRequest { preview, .. } => match preview.as_deref() {
            Some(Preview::Command { command, .. }) => command.clone(),
            other => panic!("no command preview: {other:?} in {request:?}"),
        },
        other => panic!("not a permission request: {other:?}"),
    }
}

/// The diff a request previews, and whether it makes a new file.
fn diff_preview(owner: &Client, request: &EventRecord) -> (String, bool) {
    let EventKind::PermissionRequest { preview, .. } = &request.event else {
        let tail = &owner.events[owner.events.len().saturating_sub(12)..];
        panic!("no permission request: {tail:#?}")
    };
    match preview.as_deref() {
        Some(Preview::Diff {
            diff,
            new_file,
            path,
            ..
        }) => {
            assert!(path.ends_with("plan.md"), "{path}");
            (diff.clone(), *new_file)
        }
        other => panic!("no diff preview: {other:?}"),
    }
}

/// The request's option that always allows.
fn always_option(request: &EventRecord) -> String {
    let EventKind::PermissionRequest { options, .. } = &request.event else {
        panic!("not a permission request")
    };
    options
        .iter()
        .find(|o| o.kind == PermissionOptionKind::AllowAlways)
        .map(|o| o.id.clone())
        .unwrap_or_else(|| panic!("no allow_always option: {options:?}"))
}

async fn supervise_a_session(agent: RealAgent, test: &str) {
    let Some(bin) = require(agent, test) else {
        return;
    };
    let host = RealHost::start(agent, &bin);
    let project = host.project.path().to_owned();
    let mut owner = Client::connect(&host.url, &host.token, "").await;
    owner.greeting().await;

    // A text turn.
    let events = turn(&mut owner, "hello there").await;
    assert_eq!(outcome(&events), Some(TurnOutcome::Success), "{events:#?}");
    assert!(said(&events).contains("Echo: hello there"), "{events:#?}");

    // A command, shown whole, allowed once (a plain allow), then asked again.
    let request = asks(&mut owner, "run: touch x.txt").await;
    assert_eq!(command_preview(&request), "touch x.txt");
    answer(&mut owner, &request, Decision::Allow, None).await;
    assert!(project.join("x.txt").exists(), "the allowed command ran");
    let again = asks(&mut owner, "run: touch x.txt").await;
    assert_eq!(
        command_preview(&again),
        "touch x.txt",
        "asked again: allow once remembers nothing"
    );
    answer(&mut owner, &again, Decision::Deny, None).await;

    // A new file, shown as one, allowed once.
    let request = asks(&mut owner, "write: plan.md hello").await;
    let (diff, new_file) = diff_preview(&owner, &request);
    assert!(new_file && diff.contains("+hello"), "{new_file} {diff}");
    answer(&mut owner, &request, Decision::Allow, None).await;
    let written = std::fs::read_to_string(project.join("plan.md")).unwrap();
    assert!(written.starts_with("hello"), "{written:?}");

    // A change to it, shown as a diff, denied: the file stays as it was.
    let change = match agent.api {
        Api::Anthropic => "edit: plan.md hello => bye",
        Api::Gemini => "write: plan.md bye",
    };
    let request = asks(&mut owner, change).await;
    let (diff, new_file) = diff_preview(&owner, &request);
    assert!(
        !new_file && diff.contains("-hello") && diff.contains("+bye"),
        "{diff}"
    );
    answer(&mut owner, &request, Decision::Deny, None).await;
    let now = std::fs::read_to_string(project.join("plan.md")).unwrap();
    assert_eq!(now, written, "a denied change leaves the file alone");

    // An interrupt mid-stream.
    let sent = owner.request(|id| user(id, "slow hello")).await;
    assert_eq!(code_of(&sent), None);
    owner
        .wait_event_within(
            |e| {
                matches!(
                    e,
                    EventKind::AssistantDelta { .. } | EventKind::Assistant { .. }
                )
            },
            Duration::from_secs(60),
        )
        .await;
    owner
        .request(|id| ClientMessage::Interrupt(Interrupt { id }))
        .await;
    let end = owner
        .wait_event_within(
            |e| matches!(e, EventKind::TurnEnd { .. }),
            Duration::from_secs(30),
        )
        .await;
    assert!(
        matches!(
            end.event,
            EventKind::TurnEnd {
                outcome: TurnOutcome::Interrupted,
                ..
            }
        ),
        "{end:?}"
    );

    // "Always" chosen explicitly: the same command is not asked again.
    let request = asks(&mut owner, "run: touch z.txt").await;
    let always = always_option(&request);
    answer(&mut owner, &request, Decision::Allow, Some(&always)).await;
    assert!(project.join("z.txt").exists());
    std::fs::remove_file(project.join("z.txt")).unwrap();
    let events = turn(&mut owner, "run: touch z.txt").await;
    assert!(
        !events
            .iter()
            .any(|r| matches!(r.event, EventKind::PermissionRequest { .. })),
        "asked again after always: {events:#?}"
    );
    assert!(project.join("z.txt").exists(), "ran unasked");
}

#[tokio::test]
async fn claude_code_stream_json() {
    supervise_a_session(CLAUDE, "claude_code_stream_json").await;
}

#[tokio::test]
async fn claude_agent_acp() {
    supervise_a_session(CLAUDE_ACP, "claude_agent_acp").await;
}

#[tokio::test]
async fn gemini_cli_acp() {
    supervise_a_session(GEMINI, "gemini_cli_acp").await;
}
