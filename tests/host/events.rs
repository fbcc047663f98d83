use std::time::Duration;

use tether::host::HostConfig;
use tether::host::agent::AgentSpec;
use tether::protocol::{ClientMessage, EventKind, PermissionDecision, Resume, ServerMessage};

use crate::support::*;

fn seqs(client: &Client) -> Vec<u64> {
    client.events.iter().map(|r| r.seq).collect()
}

/// Runs `echo <text>` to completion through the shell agent.
async fn run_command(owner: &mut Client, text: &str) {
    let id = owner.id();
    owner.send(&user(id.clone(), &format!("echo {text}"))).await;
    let request = owner
        .wait_event(|e| matches!(e, EventKind::PermissionRequest { .. }))
        .await;
    let answer = owner
        .request(|id| {
            ClientMessage::PermissionDecision(PermissionDecision {
                id,
                request_id: request_id(&request.event),
                decision: tether::protocol::Decision::Allow,
                message: None,
                updated_input: None,
                option: None,
            })
        })
        .await;
    assert_eq!(code_of(&answer), None);
    owner
        .wait_event(|e| matches!(e, EventKind::TurnEnd { .. }))
        .await;
    owner
        .wait_event(|e| {
            matches!(
                e,
                EventKind::Status {
                    state: tether::protocol::AgentState::Idle,
                    ..
                }
            )
        })
        .await;
}

#[tokio::test]
async fn seqs_are_contiguous_and_replays_start_after_since() {
    let host = TestHost::start(AgentSpec::Shell).await;
    let mut owner = host.owner().await;
    run_command(&mut owner, "one").await;
    run_command(&mut owner, "two").await;
    let all = seqs(&owner);
    assert_eq!(all, (1..=all.len() as u64).collect::<Vec<_>>());
    let last = *all.last().unwrap();

    let mut late = Client::connect(&host.url, &host.view, "since=0").await;
    late.greeting().await;
    assert_eq!(seqs(&late), all);

    let mut partial = Client::connect(&host.url, &host.view, &format!("since={}", last - 3)).await;
    partial.greeting().await;
    assert_eq!(seqs(&partial), [last - 2, last - 1, last]);

    let mut live = Client::connect(&host.url, &host.view, "since=live").await;
    live.greeting().await;
    assert!(live.events.is_empty());

    live.send(&ClientMessage::Resume(Resume {
        id: None,
        since: last - 1,
    }))
    .await;
    let caught_up = live.until_caught_up().await;
    assert_eq!(caught_up, last);
    assert_eq!(seqs(&live), [last]);
    host.stop().await;
}

#[tokio::test]
async fn ready_lists_pending_requests_for_late_joiners() {
    let host = TestHost::start(AgentSpec::Shell).await;
    let mut owner = host.owner().await;
    let id = owner.id();
    owner.send(&user(id, "echo waiting")).await;
    let request = owner
        .wait_event(|e| matches!(e, EventKind::PermissionRequest { .. }))
        .await;
    let mut late = Client::connect(&host.url, &host.view, "since=live").await;
    late.greeting().await;
    let Some(ServerMessage::Ready { pending, state, .. }) = &late.ready else {
        unreachable!()
    };
    assert_eq!(pending.len(), 1);
    assert_eq!(request_id(&pending[0].event), request_id(&request.event));
    assert_eq!(*state, tether::protocol::AgentState::AwaitingPermission);
    host.stop().await;
}

#[tokio::test]
async fn a_resume_older_than_memory_is_served_from_the_journal_or_reports_a_gap() {
    let journal = tempfile::tempdir().unwrap();
    let dir = journal.path().to_owned();
    let host = TestHost::start_with(AgentSpec::Shell, |c| {
        c.retain = 4;
        c.journal_dir = Some(dir);
    })
    .await;
    let mut owner = host.owner().await;
    run_command(&mut owner, "a").await;
    run_command(&mut owner, "b").await;
    let all = seqs(&owner);
    let mut late = Client::connect(&host.url, &host.view, "since=0").await;
    late.greeting().await;
    assert_eq!(seqs(&late), all, "journal fills in what memory dropped");
    host.stop().await;

    let host = TestHost::start_with(AgentSpec::Shell, |c| c.retain = 4).await;
    let mut owner = host.owner().await;
    run_command(&mut owner, "a").await;
    let last = *seqs(&owner).last().unwrap();
    let mut late = Client::connect(&host.url, &host.view, "since=0").await;
    let ServerMessage::Ready { .. } = late.recv().await else {
        panic!()
    };
    let gap = late
        .wait_for(|m| match m {
            ServerMessage::Error {
                code: tether::protocol::ErrorCode::Gap,
                oldest,
                ..
            } => Some(*oldest),
            _ => None,
        })
        .await;
    assert_eq!(gap, Some(last - 3));
    late.until_caught_up().await;
    assert_eq!(seqs(&late), (last - 3..=last).collect::<Vec<_>>());
    host.stop().await;
}

#[tokio::test]
async fn a_restarted_host_continues_the_same_history() {
    let dir = tempfile::tempdir().unwrap();
    let config = |dir: &std::path::Path| {
        let mut c = HostConfig::new(AgentSpec::Shell);
        c.listen = "127.0.0.1:0".parse().unwrap();
        c.auth_path = dir.join("auth.json");
        c.session().cwd = dir.to_owned();
        c.journal_dir = Some(dir.join("journal"));
        c
    };
    let host = TestHost::start_config(config(dir.path()), tempfile::tempdir().unwrap()).await;
    let mut owner = host.owner().await;
    run_command(&mut owner, "before").await;
    let first_epoch = owner.epoch();
    let before = seqs(&owner);
    drop(owner);
    host.stop().await;

    let host = TestHost::start_config(config(dir.path()), tempfile::tempdir().unwrap()).await;
    let mut owner = host.owner().await;
    let Some(ServerMessage::Ready { session, .. }) = &owner.ready else {
        unreachable!()
    };
    assert_eq!(session.epoch, first_epoch);
    let after = seqs(&owner);
    assert_eq!(&after[..before.len()], &before[..]);
    assert_eq!(after, (1..=after.len() as u64).collect::<Vec<_>>());
    assert!(
        owner.events.iter().any(
            |r| matches!(&r.event, EventKind::Notice { text, .. } if text.contains("restarted"))
        )
    );
    run_command(&mut owner, "after").await;
    let all = seqs(&owner);
    assert_eq!(all, (1..=all.len() as u64).collect::<Vec<_>>());
    host.stop().await;

    // Without the journal a restart is a new history with a new epoch.
    let mut c = config(dir.path());
    c.journal_dir = None;
    let host = TestHost::start_config(c, tempfile::tempdir().unwrap()).await;
    let owner = host.owner().await;
    let Some(ServerMessage::Ready {
        session, last_seq, ..
    }) = &owner.ready
    else {
        unreachable!()
    };
    assert_ne!(session.epoch, first_epoch);
    assert!(*last_seq < 5);
    host.stop().await;
    let _ = Duration::ZERO;
}
