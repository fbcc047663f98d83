use std::time::Duration;

use tether::host::agent::AgentSpec;
use tether::protocol::{
    Claim, ClientMessage, ErrorCode, Interrupt, PermissionDecision, Release, Role, ServerMessage,
    Transfer,
};

use crate::support::*;

fn participants_roles(message: &ServerMessage) -> Option<Vec<(String, Role)>> {
    match message {
        ServerMessage::Participants { participants, .. } => Some(
            participants
                .iter()
                .map(|p| (p.id.clone(), p.role))
                .collect(),
        ),
        _ => None,
    }
}

#[tokio::test]
async fn first_eligible_owns_views_never_do() {
    let host = TestHost::start(AgentSpec::Shell).await;
    let mut viewer = host.viewer().await;
    assert_eq!(viewer.role, Some(Role::Follower));
    let mut view_mode = Client::connect(&host.url, &host.control, "mode=view").await;
    view_mode.greeting().await;
    assert_eq!(view_mode.role, Some(Role::Follower));
    let owner = host.owner().await;
    let mut second = host.follower().await;
    // Neither the view grant nor mode=view may claim, even with no owner.
    drop(owner);
    let answer = viewer
        .request(|id| ClientMessage::Claim(Claim { id }))
        .await;
    assert_eq!(code_of(&answer), Some(ErrorCode::NotEligible));
    let answer = view_mode
        .request(|id| ClientMessage::Claim(Claim { id }))
        .await;
    assert_eq!(code_of(&answer), Some(ErrorCode::NotEligible));
    // The grace period holds the slot for the owner's identity, which the
    // second connection shares, so it may claim it.
    let answer = second
        .request(|id| ClientMessage::Claim(Claim { id }))
        .await;
    assert_eq!(
        code_of(&answer),
        None,
        "same identity may take its reserved slot"
    );
    host.stop().await;
}

#[tokio::test]
async fn owner_gets_the_slot_back_within_grace_and_followers_are_not_promoted() {
    let host = TestHost::start_with(AgentSpec::Shell, |c| {
        c.owner_grace = Duration::from_secs(30)
    })
    .await;
    let owner = host.owner().await;
    let mut watcher = host.viewer().await;
    drop(owner);
    // The watcher sees the owner leave, and nobody is promoted.
    let roles = watcher
        .wait_for(|m| participants_roles(m).filter(|r| r.len() == 1))
        .await;
    assert_eq!(roles[0].1, Role::Follower);
    let back = host.owner().await;
    assert_eq!(back.role, Some(Role::Owner));
    host.stop().await;
}

#[tokio::test]
async fn after_grace_the_next_new_eligible_connection_owns() {
    let mut tokens = None;
    let host = TestHost::start_with(AgentSpec::Shell, |c| {
        c.owner_grace = Duration::from_millis(200);
        tokens = Some(write_auth(&c.auth_path));
    })
    .await;
    let (alice, bob, _) = tokens.unwrap();
    let mut owner = Client::connect(&host.url, &alice, "").await;
    owner.greeting().await;
    assert_eq!(owner.role, Some(Role::Owner));
    let mut follower = Client::connect(&host.url, &bob, "").await;
    follower.greeting().await;
    drop(owner);
    tokio::time::sleep(Duration::from_millis(400)).await;
    // An existing follower of another identity is not promoted...
    assert_eq!(follower.role, Some(Role::Follower));
    // ...the next new eligible connection is.
    let mut newcomer = Client::connect(&host.url, &bob, "").await;
    newcomer.greeting().await;
    assert_eq!(newcomer.role, Some(Role::Owner));
    host.stop().await;
}

#[tokio::test]
async fn claim_release_transfer_send_role_and_participants() {
    let host = TestHost::start_with(AgentSpec::Shell, |c| c.owner_grace = Duration::ZERO).await;
    let mut alice = host.owner().await;
    let mut bob = host.follower().await;
    let mut viewer = host.viewer().await;

    let answer = bob.request(|id| ClientMessage::Claim(Claim { id })).await;
    assert_eq!(code_of(&answer), Some(ErrorCode::OwnerPresent));

    let to = viewer.participant.clone();
    let answer = alice
        .request(|id| ClientMessage::Transfer(Transfer { id, to }))
        .await;
    assert_eq!(code_of(&answer), Some(ErrorCode::NotEligible));

    let to = bob.participant.clone();
    let answer = alice
        .request(|id| ClientMessage::Transfer(Transfer { id, to }))
        .await;
    assert_eq!(code_of(&answer), None);
    let bob_role = bob
        .wait_for(|m| match m {
            ServerMessage::Role { role, .. } => Some(*role),
            _ => None,
        })
        .await;
    assert_eq!(bob_role, Role::Owner);
    let bob_id = bob.participant.clone();
    let roles = viewer
        .wait_for(|m| {
            participants_roles(m).filter(|r| {
                r.iter()
                    .any(|(id, role)| *id == bob_id && *role == Role::Owner)
            })
        })
        .await;
    assert_eq!(roles.iter().filter(|(_, r)| *r == Role::Owner).count(), 1);

    let answer = bob
        .request(|id| ClientMessage::Release(Release { id }))
        .await;
    assert_eq!(code_of(&answer), None);
    let answer = alice.request(|id| ClientMessage::Claim(Claim { id })).await;
    assert_eq!(code_of(&answer), None);
    host.stop().await;
}

#[tokio::test]
async fn follower_actions_are_refused_and_have_no_effect() {
    let host = TestHost::start(AgentSpec::Shell).await;
    let mut owner = host.owner().await;
    let mut follower = host.follower().await;
    let mut viewer = host.viewer().await;
    for client in [&mut follower, &mut viewer] {
        for build in [
            (|id| user(id, "touch should-not-exist")) as fn(String) -> ClientMessage,
            |id| ClientMessage::Interrupt(Interrupt { id }),
            |id| ClientMessage::Release(Release { id }),
            |id| {
                ClientMessage::Transfer(Transfer {
                    id,
                    to: "p1".into(),
                })
            },
            |id| {
                ClientMessage::PermissionDecision(PermissionDecision {
                    id,
                    request_id: "sh-1".into(),
                    decision: tether::protocol::Decision::Allow,
                    message: None,
                    updated_input: None,
                    option: None,
                })
            },
        ] {
            let answer = client.request(build).await;
            match answer {
                ServerMessage::Error {
                    code: ErrorCode::NotOwner,
                    message,
                    ..
                } => {
                    assert!(message.starts_with("read-only follower"), "{message}")
                }
                other => panic!("expected not_owner, got {other:?}"),
            }
        }
    }
    // No event came of any of it.
    owner.assert_no_events(Duration::from_millis(300)).await;
    assert!(!host.path().join("should-not-exist").exists());
    host.stop().await;
}

/// A dashboard of many sessions connects with `claim=no`: looking at a
/// free session does not take it; `claim` does. Without it (one session's
/// URL) the first eligible connection owns, as the protocol says.
#[tokio::test]
async fn a_connection_with_claim_no_watches_a_free_session_until_it_claims() {
    let host = TestHost::start(AgentSpec::Shell).await;
    let mut glance = Client::connect(&host.url, &host.control, "claim=no").await;
    glance.greeting().await;
    assert_eq!(glance.role, Some(Role::Follower), "looking takes nothing");
    let answer = glance.request(|id| user(id, "true")).await;
    assert_eq!(code_of(&answer), Some(ErrorCode::NotOwner));
    let answer = glance
        .request(|id| ClientMessage::Claim(Claim { id }))
        .await;
    assert_eq!(code_of(&answer), None, "a free slot may be claimed");
    // Only the owner may release: it owned.
    let answer = glance
        .request(|id| ClientMessage::Release(Release { id }))
        .await;
    assert_eq!(code_of(&answer), None);
    // Free again: a plain connection is the first eligible one and owns.
    let plain = host.owner().await;
    assert_eq!(plain.role, Some(Role::Owner));
    // When that owner goes, a watching connection of the same identity is
    // not promoted: it claims when it wants the session.
    drop(plain);
    while let Some(message) = glance.recv_within(Duration::from_millis(300)).await {
        let promoted = matches!(
            message,
            ServerMessage::Role {
                role: Role::Owner,
                ..
            }
        );
        assert!(!promoted, "a watcher is never promoted");
    }
    let refused = try_connect(&host.url, Some(&host.control), "claim=maybe").await;
    assert!(refused.is_err(), "an unknown claim value is a 400");
    host.stop().await;
}

/// Past 100 participants the list names the owner and 99 viewers (the
/// first to join), and counts the rest: every viewer gets the list on
/// every change, so a full list would cost the square of their number.
#[tokio::test]
async fn a_crowd_is_counted_past_a_hundred_and_the_owner_is_always_listed() {
    let host =
        TestHost::start_with(AgentSpec::Shell, |config| config.make_room_for_viewers(110)).await;
    let mut viewers = Vec::new();
    for _ in 0..105 {
        let mut viewer = Client::connect(&host.url, &host.view, "").await;
        viewer.greeting().await;
        viewers.push(viewer);
    }
    let mut owner = Client::connect(&host.url, &host.control, "").await;
    let ServerMessage::Ready { you, .. } = owner.recv().await else {
        panic!("ready first");
    };
    let _role = owner.recv().await;
    let ServerMessage::Participants {
        participants,
        unlisted,
        ..
    } = owner.recv().await
    else {
        panic!("participants third");
    };
    assert_eq!(participants.len(), 100);
    assert_eq!(unlisted, 6, "105 viewers and the owner, 100 listed");
    let me = participants.iter().find(|p| p.id == you.participant);
    assert_eq!(me.map(|p| p.role), Some(Role::Owner), "the owner is listed");
    // The first viewer still sees the crowd counted once it settles.
    let counted = viewers[0]
        .wait_for(|m| match m {
            ServerMessage::Participants {
                participants,
                unlisted,
                ..
            } if participants.len() as u64 + unlisted == 106 => Some(*unlisted),
            _ => None,
        })
        .await;
    assert_eq!(counted, 6);
}
