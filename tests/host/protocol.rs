use std::time::Duration;

use tether::host::agent::AgentSpec;
use tether::protocol::{
    ClientMessage, ErrorCode, EventKind, PermissionDecision, Ping, ServerMessage,
};
use tokio_tungstenite::tungstenite::Message;

use crate::support::*;

async fn error_for(client: &mut Client, raw: &str) -> (Option<String>, ErrorCode) {
    client.send_raw(Message::text(raw)).await;
    client
        .wait_for(|m| match m {
            ServerMessage::Error { id, code, .. } => Some((id.clone(), *code)),
            _ => None,
        })
        .await
}

#[tokio::test]
async fn bad_input_gets_precise_errors_and_the_connection_lives_on() {
    let host = TestHost::start(AgentSpec::Shell).await;
    let mut owner = host.owner().await;
    let mut other = host.viewer().await;
    assert_eq!(
        error_for(&mut owner, "{not json").await,
        (None, ErrorCode::BadRequest)
    );
    assert_eq!(
        error_for(&mut owner, r#"{"type":"teleport","id":"t1"}"#).await,
        (Some("t1".into()), ErrorCode::UnknownType)
    );
    assert_eq!(
        error_for(&mut owner, r#"{"type":"user_message","id":"u1"}"#).await,
        (Some("u1".into()), ErrorCode::BadRequest)
    );
    assert_eq!(
        error_for(
            &mut owner,
            r#"{"type":"permission_decision","id":"d1","request_id":"x","decision":"allow"}"#
        )
        .await,
        (Some("d1".into()), ErrorCode::UnknownRequest)
    );
    owner.send_raw(Message::binary(vec![1u8, 2, 3])).await;
    let code = owner
        .wait_for(|m| match m {
            ServerMessage::Error { code, .. } => Some(*code),
            _ => None,
        })
        .await;
    assert_eq!(code, ErrorCode::BadRequest);
    let huge = "x".repeat(300 * 1024);
    let answer = owner.request(|id| user(id, &huge)).await;
    assert_eq!(code_of(&answer), Some(ErrorCode::TooLarge));
    // Still healthy: a ping is answered, and the other client heard nothing.
    owner.ping().await;
    other.assert_no_events(Duration::from_millis(200)).await;
    host.stop().await;
}

#[tokio::test]
async fn a_frame_over_one_mebibyte_closes_with_1009_and_spares_the_others() {
    let host = TestHost::start(AgentSpec::Shell).await;
    let mut owner = host.owner().await;
    let mut other = host.viewer().await;
    let text = format!(
        r#"{{"type":"user_message","id":"big","text":"{}"}}"#,
        "y".repeat(1024 * 1024 + 10)
    );
    let _ = futures_util::SinkExt::send(&mut owner.ws, Message::text(text)).await;
    let close = owner.expect_close().await.expect("a close frame");
    assert_eq!(u16::from(close.code), 1009);
    other.ping().await;
    host.stop().await;
}

#[tokio::test]
async fn acks_go_to_the_sender_and_events_to_everyone() {
    let host = TestHost::start(AgentSpec::Shell).await;
    let mut owner = host.owner().await;
    let mut follower = host.follower().await;
    let id = owner.id();
    owner.send(&user(id.clone(), "echo routed")).await;
    assert_eq!(code_of(&owner.answer(&id).await), None);
    let seen = follower
        .wait_for(|m| match m {
            ServerMessage::Ack { .. } | ServerMessage::Error { .. } => panic!("follower got {m:?}"),
            ServerMessage::Event(r) => match &r.event {
                EventKind::PermissionRequest { .. } => Some(r.seq),
                _ => None,
            },
            _ => None,
        })
        .await;
    assert!(seen > 0);
    // The follower's ping is answered to the follower only.
    follower.ping().await;
    owner.assert_no_replies(Duration::from_millis(200)).await;
    host.stop().await;
}

#[tokio::test]
async fn a_resent_message_id_is_acknowledged_without_a_second_effect() {
    let host = TestHost::start(AgentSpec::Shell).await;
    let mut owner = host.owner().await;
    owner.send(&user("same".into(), "echo once")).await;
    assert_eq!(
        owner.answer("same").await,
        ServerMessage::Ack {
            id: "same".into(),
            duplicate: false
        }
    );
    let request = owner
        .wait_event(|e| matches!(e, EventKind::PermissionRequest { .. }))
        .await;
    let EventKind::PermissionRequest { request_id, .. } = request.event else {
        unreachable!()
    };
    owner.send(&user("same".into(), "echo once")).await;
    assert_eq!(
        owner.answer("same").await,
        ServerMessage::Ack {
            id: "same".into(),
            duplicate: true
        }
    );
    let decision = |id: &str| {
        ClientMessage::PermissionDecision(PermissionDecision {
            id: id.into(),
            request_id: request_id.clone(),
            decision: tether::protocol::Decision::Allow,
            message: None,
            updated_input: None,
            option: None,
        })
    };
    owner.send(&decision("d")).await;
    assert_eq!(code_of(&owner.answer("d").await), None);
    owner.send(&decision("d")).await;
    assert_eq!(
        owner.answer("d").await,
        ServerMessage::Ack {
            id: "d".into(),
            duplicate: true
        }
    );
    owner.send(&decision("d2")).await;
    assert_eq!(
        code_of(&owner.answer("d2").await),
        Some(ErrorCode::AlreadyResolved)
    );
    owner
        .saw_or_wait(|e| matches!(e, EventKind::TurnEnd { .. }))
        .await;
    let users = owner
        .events
        .iter()
        .filter(|r| matches!(r.event, EventKind::UserMessage { .. }))
        .count();
    assert_eq!(users, 1);
    host.stop().await;
}

#[tokio::test]
async fn the_host_pings_to_keep_the_line_alive() {
    let host = TestHost::start_with(AgentSpec::Shell, |c| {
        c.keepalive = Duration::from_millis(100)
    })
    .await;
    let mut client = Client::connect(&host.url, &host.view, "").await;
    client.greeting().await;
    let ping = tokio::time::timeout(WAIT, async {
        loop {
            match futures_util::StreamExt::next(&mut client.ws).await {
                Some(Ok(Message::Ping(_))) => return true,
                Some(Ok(_)) => continue,
                _ => return false,
            }
        }
    })
    .await
    .unwrap();
    assert!(ping);
    host.stop().await;
}

#[tokio::test]
async fn a_large_participant_list_arrives_whole() {
    // 60 participants make a `participants` message larger than one
    // fragment: clients must still read it as one message.
    let host = TestHost::start(AgentSpec::Shell).await;
    let mut clients = Vec::new();
    for _ in 0..60 {
        clients.push(host.viewer().await);
    }
    let mut last = Client::connect(&host.url, &host.view, "").await;
    let ServerMessage::Ready { .. } = last.recv().await else {
        panic!()
    };
    let _role = last.recv().await;
    let ServerMessage::Participants { participants, .. } = last.recv().await else {
        panic!("participants expected")
    };
    assert_eq!(participants.len(), 61);
    let size = serde_json::to_string(&participants).unwrap().len();
    assert!(
        size > 4096,
        "the list ({size} bytes) spans several fragments"
    );
    host.stop().await;
}

#[tokio::test]
async fn connections_beyond_the_limit_get_503() {
    let host = TestHost::start_with(AgentSpec::Shell, |c| c.max_connections = 2).await;
    // Connections that may own can take every slot (viewers all but the
    // reserved ones: `host::limits`).
    let a = host.owner().await;
    let _b = host.follower().await;
    match try_connect(&host.url, Some(&host.control), "").await {
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            assert_eq!(response.status().as_u16(), 503)
        }
        other => panic!("expected 503, got {other:?}"),
    }
    // A slot frees when a connection leaves.
    drop(a);
    let mut again = None;
    for _ in 0..50 {
        if let Ok(ws) = try_connect(&host.url, Some(&host.control), "").await {
            again = Some(ws);
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(again.is_some());
    host.stop().await;
}

#[tokio::test]
async fn a_flood_of_messages_is_rate_limited_without_disconnecting() {
    let host = TestHost::start(AgentSpec::Shell).await;
    let mut client = host.viewer().await;
    for n in 0..150 {
        client
            .send(&ClientMessage::Ping(Ping {
                id: Some(format!("f{n}")),
            }))
            .await;
    }
    let (mut pongs, mut limited) = (0, 0);
    while pongs + limited < 150 {
        match client.recv().await {
            ServerMessage::Pong { .. } => pongs += 1,
            ServerMessage::Error {
                code: ErrorCode::RateLimited,
                id,
                ..
            } => {
                assert!(
                    id.is_some_and(|id| id.starts_with('f')),
                    "the refusal echoes the id"
                );
                limited += 1;
            }
            _ => {}
        }
    }
    assert!(
        (100..=110).contains(&pongs),
        "a burst of 100 (plus refill): {pongs}"
    );
    assert!(limited >= 40);
    // Still connected: after a pause, messages go through again.
    tokio::time::sleep(Duration::from_millis(100)).await;
    client.ping().await;
    host.stop().await;
}

#[tokio::test]
async fn a_large_event_arrives_whole_across_fragments() {
    // Larger than several write fragments, with multi-byte characters that
    // a fragment boundary may split: the follower reads it as one message.
    let host = TestHost::start(AgentSpec::Shell).await;
    let mut viewer = host.viewer().await;
    let text: String = (0..20_000).map(|n| format!("é{n}│")).collect();
    assert!(text.len() > 150 * 1024);
    host.host
        .as_ref()
        .unwrap()
        .inject(EventKind::Output {
            stream: tether::protocol::OutputStream::Stdout,
            text: text.clone(),
        })
        .await
        .unwrap();
    let record = viewer
        .wait_event(|e| matches!(e, EventKind::Output { .. }))
        .await;
    let EventKind::Output { text: got, .. } = record.event else {
        unreachable!()
    };
    assert!(got == text, "the text arrives unchanged");
    host.stop().await;
}
