//! Who owns the session across drops, deliberate leaves and restarts, and
//! what followers are told about it.

use std::time::Duration;

use tether::host::agent::AgentSpec;
use tether::host::{Host, HostConfig};
use tether::protocol::{
    Claim, ClientMessage, ErrorCode, OwnerSlot, Release, Role, ServerMessage, Transfer,
};

use crate::support::*;

/// The `owner_slot` of a `participants` message, and whether anyone owns.
fn slot_state(message: &ServerMessage) -> Option<(Option<OwnerSlot>, bool)> {
    match message {
        ServerMessage::Participants {
            participants,
            owner_slot,
            ..
        } => Some((
            owner_slot.clone(),
            participants.iter().any(|p| p.role == Role::Owner),
        )),
        _ => None,
    }
}

/// A host config with alice/bob/watcher tokens and the given grace.
fn config_with_auth(dir: &std::path::Path, grace: Duration) -> (HostConfig, String, String) {
    let mut config = HostConfig::new(AgentSpec::Shell);
    config.listen = "127.0.0.1:0".parse().unwrap();
    config.auth_path = dir.join("auth.json");
    config.session().cwd = dir.to_owned();
    config.owner_grace = grace;
    let (alice, bob, _) = write_auth(&config.auth_path);
    (config, alice, bob)
}

async fn connect(url: &str, token: &str) -> Client {
    let mut client = Client::connect(url, token, "").await;
    client.greeting().await;
    client
}

#[tokio::test]
async fn a_restart_keeps_the_slot_for_the_owner_not_the_first_to_reconnect() {
    let dir = tempfile::tempdir().unwrap();
    let (mut config, alice, bob) = config_with_auth(dir.path(), Duration::from_secs(30));
    config.journal_dir = Some(dir.path().join("journal"));
    let host = Host::start(config.clone()).await.unwrap();
    let owner = connect(&host.url(), &alice).await;
    assert_eq!(owner.role, Some(Role::Owner));
    let follower = connect(&host.url(), &bob).await;
    assert_eq!(follower.role, Some(Role::Follower));
    host.shutdown().await.unwrap();
    drop((owner, follower));

    let host = Host::start(config).await.unwrap();
    let mut follower = connect(&host.url(), &bob).await;
    assert_eq!(
        follower.role,
        Some(Role::Follower),
        "a follower reconnecting first must not take the owner's slot"
    );
    let answer = follower
        .request(|id| ClientMessage::Claim(Claim { id }))
        .await;
    assert_eq!(code_of(&answer), Some(ErrorCode::OwnerPresent));
    let owner = connect(&host.url(), &alice).await;
    assert_eq!(
        owner.role,
        Some(Role::Owner),
        "the owner gets its slot back"
    );
    host.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_released_slot_is_free_at_once_when_the_owner_then_closes() {
    let dir = tempfile::tempdir().unwrap();
    let (config, alice, bob) = config_with_auth(dir.path(), Duration::from_secs(30));
    let host = Host::start(config).await.unwrap();
    let mut owner = connect(&host.url(), &alice).await;
    assert_eq!(owner.role, Some(Role::Owner));
    let answer = owner
        .request(|id| ClientMessage::Release(Release { id }))
        .await;
    assert_eq!(code_of(&answer), None);
    owner.ws.close(None).await.unwrap();
    owner.expect_close().await;
    // Give the host time to see the close (a reservation would be made then).
    tokio::time::sleep(Duration::from_millis(200)).await;
    let next = connect(&host.url(), &bob).await;
    assert_eq!(
        next.role,
        Some(Role::Owner),
        "no slot is held for an owner that left on purpose"
    );
    host.shutdown().await.unwrap();
}

#[tokio::test]
async fn followers_see_the_held_slot_and_when_it_frees() {
    let dir = tempfile::tempdir().unwrap();
    let (config, alice, bob) = config_with_auth(dir.path(), Duration::from_millis(300));
    let host = Host::start(config).await.unwrap();
    let owner = connect(&host.url(), &alice).await;
    let mut follower = connect(&host.url(), &bob).await;
    drop(owner);
    let held = follower
        .wait_for(|m| slot_state(m).and_then(|(slot, _)| slot))
        .await;
    assert_eq!(held.held_for, "alice");
    assert!(held.expires_in_ms <= 300, "{held:?}");
    // Nobody polls: the host itself says when the slot is free.
    let (slot, owned) = follower
        .wait_for(|m| slot_state(m).filter(|(slot, _)| slot.is_none()))
        .await;
    assert_eq!((slot, owned), (None, false), "free: no owner and no slot");
    host.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_newcomer_is_greeted_with_the_held_slot() {
    let dir = tempfile::tempdir().unwrap();
    let (config, alice, bob) = config_with_auth(dir.path(), Duration::from_secs(30));
    let host = Host::start(config).await.unwrap();
    let owner = connect(&host.url(), &alice).await;
    let mut watcher = connect(&host.url(), &bob).await;
    drop(owner);
    watcher
        .wait_for(|m| slot_state(m).and_then(|(slot, _)| slot))
        .await;
    let mut late = Client::connect(&host.url(), &bob, "").await;
    let _ready = late.recv().await;
    let _role = late.recv().await;
    let greeting = late.recv().await;
    let (slot, owned) = slot_state(&greeting).expect("participants third");
    assert!(!owned);
    assert_eq!(slot.map(|s| s.held_for), Some("alice".to_owned()));
    host.shutdown().await.unwrap();
}

#[tokio::test]
async fn refusals_name_people_not_participant_ids() {
    let host = TestHost::start(AgentSpec::Shell).await;
    let mut owner = host.owner().await;
    let viewer = host.viewer().await;
    for to in [viewer.participant.clone(), "p99".to_owned()] {
        let answer = owner
            .request(|id| ClientMessage::Transfer(Transfer { id, to: to.clone() }))
            .await;
        let ServerMessage::Error { code, message, .. } = answer else {
            panic!("expected a refusal, got {answer:?}");
        };
        assert_eq!(code, ErrorCode::NotEligible);
        assert!(
            !message
                .split(|c: char| !c.is_ascii_alphanumeric())
                .any(|w| {
                    w.len() > 1 && w.starts_with('p') && w[1..].chars().all(|c| c.is_ascii_digit())
                }),
            "a message for people shows a participant id: {message}"
        );
    }
    host.stop().await;
}

/// The transcript lines (as `--plain` prints them) of the owner changes
/// among `events`.
fn owner_lines(events: &[tether::protocol::EventRecord]) -> Vec<String> {
    let mut plain = tether::tui::cells::plain::PlainTranscript::new();
    events
        .iter()
        .filter(|r| matches!(r.event, tether::protocol::EventKind::OwnerChanged { .. }))
        .map(|r| plain.event(r).trim_end().to_owned())
        .collect()
}

/// Issue 22: a window released (F3), a `--prompt` with the same token
/// owned, ended, and the window owned again without a word. Each change
/// is now in the history, live and replayed, saying who and why.
#[tokio::test]
async fn every_change_of_owner_is_a_transcript_line_saying_who_and_why() {
    let dir = tempfile::tempdir().unwrap();
    let (config, alice, bob) = config_with_auth(dir.path(), Duration::from_secs(30));
    let host = Host::start(config).await.unwrap();
    let mut window = connect(&host.url(), &alice).await;
    assert_eq!(window.role, Some(Role::Owner));
    let answer = window
        .request(|id| ClientMessage::Release(Release { id }))
        .await;
    assert_eq!(code_of(&answer), None);
    let second = connect(&host.url(), &alice).await;
    assert_eq!(second.role, Some(Role::Owner));
    // It closes without releasing: the window, same identity, takes over.
    drop(second);
    window
        .wait_for(|m| {
            matches!(
                m,
                ServerMessage::Role {
                    role: Role::Owner,
                    ..
                }
            )
            .then_some(())
        })
        .await;
    let took_over = |e: &tether::protocol::EventKind| {
        matches!(e, tether::protocol::EventKind::OwnerChanged { reason, .. }
            if *reason == tether::protocol::OwnerReason::Inherited)
    };
    window.saw_or_wait(took_over).await;
    let expected = [
        "⇄ nobody owns the session (alice released it)",
        "⇄ alice owns the session (connected while nobody owned it)",
        "⇄ alice owns the session (the connection of alice that owned it closed; another took over)",
    ];
    assert_eq!(owner_lines(&window.events), expected);
    // Someone who comes later reads the same lines in the replay.
    let late = connect(&host.url(), &bob).await;
    assert_eq!(owner_lines(&late.events), expected);
    host.shutdown().await.unwrap();
}
