//! The host's beacon through a real broker: it names the host's run as
//! the join answer did, spreads a crowd's heartbeats so watching costs the
//! host the same whatever the number of viewers, and a beacon of another
//! run (the host restarted) makes a viewer join again.

use std::time::Duration;

use futures_util::StreamExt;
use tether::broker::async_nats;
use tether::client::relay;
use tether::client::{ConnEvent, Resume};
use tether::protocol::relay::{
    BEACON_EVERY, RelayBeacon, RelayJoin, RelayReply, VIEWER_HEARTBEATS_PER_S,
};
use tether::protocol::{Mode, ServerMessage};

use crate::common::broker::NatsServer;
use crate::relay::{relayed_host, target, until};
use crate::support::*;

const VIEW_TOKEN: &str = "tt_view_0000000000000000";

/// Joins `main` as viewer `conn` by request-reply; the host's run as the
/// answer names it.
async fn join_raw(broker: &async_nats::Client, conn: String) -> String {
    let ask = RelayJoin {
        token: VIEW_TOKEN.into(),
        conn,
        mode: Mode::View,
        since: "live".into(),
        claim: false,
        client: None,
        stream: false,
    };
    let subject = "tether.devbox.main.join";
    let answer = broker
        .request(subject, serde_json::to_vec(&ask).unwrap().into())
        .await
        .unwrap();
    match serde_json::from_slice(&answer.payload).unwrap() {
        RelayReply::Ok { boot: Some(boot) } => boot,
        other => panic!("not joined: {other:?}"),
    }
}

/// The next beacon on `frames` that `matches`, within a few beacons.
async fn beacon_until(
    frames: &mut async_nats::Subscriber,
    matches: impl Fn(&RelayBeacon) -> bool,
) -> RelayBeacon {
    let wait = BEACON_EVERY * 4;
    let found = tokio::time::timeout(wait, async {
        loop {
            let frame = frames.next().await.expect("subscribed");
            if let Some(beacon) = RelayBeacon::parse(&frame.payload).filter(&matches) {
                return beacon;
            }
        }
    })
    .await;
    found.unwrap_or_else(|_| panic!("no such beacon within {wait:?}"))
}

#[tokio::test(flavor = "multi_thread")]
async fn the_beacon_names_the_hosts_run_and_spreads_a_crowds_heartbeats() {
    let dir = tempfile::tempdir().unwrap();
    let Some(broker) = NatsServer::start("relay_beacon", dir.path()) else {
        return;
    };
    let host = relayed_host(dir.path(), &broker).await;
    let raw = async_nats::connect(broker.url().as_str()).await.unwrap();
    let mut frames = raw
        .subscribe("tether.devbox.main.live.frames")
        .await
        .unwrap();
    raw.flush().await.unwrap();
    let boot = join_raw(&raw, "viewer0000".into()).await;
    let first = beacon_until(&mut frames, |_| true).await;
    assert_eq!(first.boot, boot);
    assert_eq!(first.viewer_period(), Duration::from_secs(5));
    // One viewer more than the host takes at the shortest period: each
    // is told to beat a little less often. (These joined by hand and
    // never beat: the test is over well before their silence counts.)
    let crowd = 5 * VIEWER_HEARTBEATS_PER_S as usize + 1;
    for n in 1..crowd {
        assert_eq!(join_raw(&raw, format!("viewer{n:04}")).await, boot);
    }
    let spread = beacon_until(&mut frames, |b| b.heartbeat_s > 5).await;
    assert_eq!(spread.heartbeat_s, 6);
    assert_eq!(spread.boot, boot);
    host.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_beacon_of_another_run_of_the_host_makes_a_viewer_join_again() {
    let dir = tempfile::tempdir().unwrap();
    let Some(broker) = NatsServer::start("relay_beacon_boot", dir.path()) else {
        return;
    };
    let host = relayed_host(dir.path(), &broker).await;
    let mut viewer = relay::spawn(target(&broker, VIEW_TOKEN, true), Resume::Live);
    until(&mut viewer, |m| matches!(m, ServerMessage::CaughtUp { .. })).await;
    // What a host restarted under the same id, and knowing this viewer no
    // more, would say.
    let raw = async_nats::connect(broker.url().as_str()).await.unwrap();
    let other = RelayBeacon::new("anotherrun", Duration::from_secs(5));
    raw.publish("tether.devbox.main.live.frames", other.to_json().into())
        .await
        .unwrap();
    raw.flush().await.unwrap();
    let rejoined = tokio::time::timeout(WAIT, async {
        let mut lost = None;
        loop {
            match viewer
                .events
                .recv()
                .await
                .expect("the connection task runs")
            {
                ConnEvent::Lost { reason, .. } => lost = Some(reason),
                ConnEvent::Message(ServerMessage::CaughtUp { .. }) if lost.is_some() => {
                    return lost.unwrap();
                }
                _ => {}
            }
        }
    })
    .await
    .expect("the viewer joins again");
    assert!(rejoined.contains("the host restarted"), "{rejoined}");
    host.shutdown().await.unwrap();
}
