//! Session rules the host keeps: the shell agent's "always allow this
//! exact command in this session", made by the owner's answer, journaled,
//! listed in `ready`, removable, and surviving a restart.

use tether::host::agent::AgentSpec;
use tether::host::agent::shell::ALWAYS_THIS_COMMAND;
use tether::protocol::{
    ClientMessage, Decision, ErrorCode, EventKind, RemoveRule, Rule, RuleSpec, ServerMessage,
    TurnOutcome,
};

use crate::support::*;

/// Sends `command`, which a rule allows, and returns the turn's events.
async fn run_unasked(owner: &mut Client, command: &str) -> Vec<EventKind> {
    let from = owner.events.len();
    let answer = owner.request(|id| user(id, command)).await;
    assert_eq!(code_of(&answer), None, "{answer:?}");
    owner
        .wait_event(|e| matches!(e, EventKind::TurnEnd { .. }))
        .await;
    owner.events[from..]
        .iter()
        .map(|r| r.event.clone())
        .collect()
}

fn rules_in_ready(client: &Client) -> Vec<Rule> {
    match &client.ready {
        Some(ServerMessage::Ready { session, .. }) => session.rules.clone(),
        other => panic!("no ready: {other:?}"),
    }
}

#[tokio::test]
async fn an_always_answer_makes_a_rule_that_runs_the_same_command_unasked() {
    let dir = tempfile::tempdir().unwrap();
    let journal = dir.path().join("journal");
    let host =
        TestHost::start_with(AgentSpec::Shell, |c| c.journal_dir = Some(journal.clone())).await;
    let mut owner = host.owner().await;
    let me = match &owner.ready {
        Some(ServerMessage::Ready { you, .. }) => you.identity.clone(),
        _ => unreachable!(),
    };
    let request = ask(&mut owner, "echo ruled").await;
    let answer = owner
        .request(
            decide(request, Decision::Allow)
                .option(Some(ALWAYS_THIS_COMMAND))
                .message(),
        )
        .await;
    assert_eq!(code_of(&answer), None, "{answer:?}");
    let added = owner
        .wait_event(|e| matches!(e, EventKind::RuleAdded { .. }))
        .await;
    let EventKind::RuleAdded { rule, by } = added.event else {
        unreachable!()
    };
    assert_eq!(by, me);
    assert_eq!(rule.made_by, me);
    assert_eq!(
        rule.spec,
        RuleSpec::ExactCommand {
            command: "echo ruled".into()
        }
    );
    owner
        .wait_event(|e| matches!(e, EventKind::TurnEnd { .. }))
        .await;

    // The same command runs without a request, saying which rule let it.
    let turn = run_unasked(&mut owner, "echo ruled").await;
    assert!(
        !turn
            .iter()
            .any(|e| matches!(e, EventKind::PermissionRequest { .. })),
        "{turn:?}"
    );
    assert!(turn.iter().any(|e| matches!(e, EventKind::Notice { text, .. } if text.contains(&rule.id) && text.contains(&me))));
    assert!(turn.iter().any(|e| matches!(
        e,
        EventKind::TurnEnd {
            outcome: TurnOutcome::Success,
            ..
        }
    )));
    // Another command still asks.
    let other = ask(&mut owner, "echo other").await;
    owner.request(decide(other, Decision::Deny).message()).await;

    // Whoever joins sees the rule; only the owner may remove it.
    let mut follower = host.follower().await;
    assert_eq!(rules_in_ready(&follower), std::slice::from_ref(&rule));
    let refused = follower
        .request(|id| {
            ClientMessage::RemoveRule(RemoveRule {
                id,
                rule: rule.id.clone(),
            })
        })
        .await;
    assert_eq!(code_of(&refused), Some(ErrorCode::NotOwner));
    let unknown = owner
        .request(|id| {
            ClientMessage::RemoveRule(RemoveRule {
                id,
                rule: "rule-99".into(),
            })
        })
        .await;
    assert_eq!(code_of(&unknown), Some(ErrorCode::BadRequest));

    // It survives a restart of the host on its journal.
    let dir_kept = host.stop().await;
    let mut config = crate::common::host_config(dir_kept.path(), AgentSpec::Shell);
    config.journal_dir = Some(journal);
    let host = TestHost::start_config(config, dir_kept).await;
    let mut owner = host.owner().await;
    assert_eq!(rules_in_ready(&owner), std::slice::from_ref(&rule));
    let turn = run_unasked(&mut owner, "echo ruled").await;
    assert!(
        !turn
            .iter()
            .any(|e| matches!(e, EventKind::PermissionRequest { .. })),
        "{turn:?}"
    );

    // Removed, the command asks again.
    let removed = owner
        .request(|id| {
            ClientMessage::RemoveRule(RemoveRule {
                id,
                rule: rule.id.clone(),
            })
        })
        .await;
    assert_eq!(code_of(&removed), None, "{removed:?}");
    owner
        .wait_event(|e| matches!(e, EventKind::RuleRemoved { .. }))
        .await;
    let asked = ask(&mut owner, "echo ruled").await;
    owner.request(decide(asked, Decision::Deny).message()).await;
    host.stop().await;
}
