//! A client's messages through the relay go to the host one at a time, in
//! the order sent, while the session's frames keep coming: a burst of
//! messages is answered in order and no event is held up or lost.

use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::time::Duration;

use tether::client::relay;
use tether::client::{ConnCommand, ConnEvent, Resume};
use tether::protocol::{ClientMessage, Ping, ServerMessage};

use crate::common::broker::NatsServer;
use crate::relay::{notice, relayed_host, target};

const OWNER: &str = "tt_alice_0000000000000000";

#[tokio::test(flavor = "multi_thread")]
async fn a_burst_of_messages_is_answered_in_order_while_events_flow() {
    let dir = tempfile::tempdir().unwrap();
    let Some(broker) = NatsServer::start("relay_outbox", dir.path()) else {
        return;
    };
    let host = relayed_host(dir.path(), &broker).await;
    let mut conn = relay::spawn(
        target(&broker, OWNER, false),
        Resume::After(Arc::new(AtomicU64::new(0))),
    );
    crate::relay::until(&mut conn, |m| matches!(m, ServerMessage::CaughtUp { .. })).await;
    let first = host.summary().await.unwrap().last_seq + 1;

    const PINGS: usize = 200;
    const EVENTS: u64 = 300;
    for n in 0..PINGS {
        let ping = ClientMessage::Ping(Ping {
            id: Some(format!("p{n}")),
        });
        conn.commands.send(ConnCommand::Send(ping)).unwrap();
    }
    // Events go out while the pings wait their turn.
    for n in 0..EVENTS {
        host.inject(notice(format!("during {n}"))).await.unwrap();
    }
    let (mut pongs, mut seqs) = (Vec::new(), Vec::new());
    while pongs.len() < PINGS || seqs.len() < EVENTS as usize {
        let next = tokio::time::timeout(Duration::from_secs(20), conn.events.recv()).await;
        match next.expect("the burst and the events within 20 s") {
            Some(ConnEvent::Message(ServerMessage::Pong { id })) => pongs.push(id.unwrap()),
            Some(ConnEvent::Message(ServerMessage::Event(record))) => seqs.push(record.seq),
            Some(ConnEvent::Failed(e)) => panic!("failed: {e}"),
            Some(_) => {}
            None => panic!("the connection task ended"),
        }
    }
    let sent: Vec<String> = (0..PINGS).map(|n| format!("p{n}")).collect();
    assert_eq!(pongs, sent, "answered once each, in the order sent");
    let expected: Vec<u64> = (first..first + EVENTS).collect();
    assert_eq!(seqs, expected, "every event once, in order");
    drop(conn);
    host.shutdown().await.unwrap();
}
