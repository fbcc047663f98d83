//! Sockets that never finish a request are closed; the number of open
//! sockets is capped, so idle crowds cannot starve the host.

use std::time::{Duration, Instant};

use tether::host::agent::AgentSpec;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::support::*;

/// Waits until the host closes `stream`; returns how long that took.
async fn closed_within(stream: &mut TcpStream, limit: Duration) -> Option<Duration> {
    let start = Instant::now();
    let mut buf = [0u8; 512];
    loop {
        match tokio::time::timeout_at((start + limit).into(), stream.read(&mut buf)).await {
            Err(_) => return None,
            Ok(Ok(0) | Err(_)) => return Some(start.elapsed()),
            Ok(Ok(_)) => {}
        }
    }
}

#[tokio::test]
async fn silent_and_trickling_sockets_are_closed_after_the_header_deadline() {
    let host = TestHost::start_with(AgentSpec::Shell, |c| {
        c.header_read_timeout = Duration::from_millis(400);
    })
    .await;
    let addr = host_addr(&host.url);
    let mut silent = TcpStream::connect(&addr).await.unwrap();
    let mut trickle = TcpStream::connect(&addr).await.unwrap();
    let trickler = async {
        // One byte every 100 ms: the head is never finished in time.
        for byte in b"GET /healthz HTTP/1.1\r\nHost: x\r\n" {
            if trickle.write_all(&[*byte]).await.is_err() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        closed_within(&mut trickle, Duration::from_secs(5)).await
    };
    let (silent_closed, trickle_closed) =
        tokio::join!(closed_within(&mut silent, Duration::from_secs(5)), trickler);
    assert!(silent_closed.expect("a silent socket is closed") >= Duration::from_millis(300));
    assert!(trickle_closed.is_some(), "a trickling socket is closed");
    // A keep-alive connection that goes idle after a request is closed too.
    let mut idle = TcpStream::connect(&addr).await.unwrap();
    idle.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    assert!(
        closed_within(&mut idle, Duration::from_secs(5))
            .await
            .is_some()
    );
    // Meanwhile the host still answers.
    assert_eq!(http_get(&addr, "/healthz", None).await.0, 200);
    host.stop().await;
}

#[tokio::test]
async fn sockets_beyond_the_cap_are_closed_and_the_host_recovers() {
    let host = TestHost::start_with(AgentSpec::Shell, |c| {
        c.header_read_timeout = Duration::from_millis(600);
        c.max_sockets = Some(8);
    })
    .await;
    let addr = host_addr(&host.url);
    let mut crowd = Vec::new();
    for _ in 0..8 {
        crowd.push(TcpStream::connect(&addr).await.unwrap());
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    let mut extra = TcpStream::connect(&addr).await.unwrap();
    let refused = closed_within(&mut extra, Duration::from_millis(300)).await;
    assert!(refused.is_some(), "the ninth socket is closed at once");
    // The crowd times out, and the host serves again.
    for stream in &mut crowd {
        assert!(
            closed_within(stream, Duration::from_secs(5))
                .await
                .is_some()
        );
    }
    assert_eq!(http_get(&addr, "/healthz", None).await.0, 200);
    let mut owner = host.owner().await;
    owner.ping().await;
    host.stop().await;
}

fn status_of(result: Result<Socket, tokio_tungstenite::tungstenite::Error>) -> u16 {
    match result {
        Ok(_) => 101,
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => response.status().as_u16(),
        Err(e) => panic!("expected an HTTP answer, got {e}"),
    }
}

#[tokio::test]
async fn viewers_cannot_take_every_slot_from_the_owner() {
    let host = TestHost::start_with(AgentSpec::Shell, |c| {
        c.max_connections = 8;
    })
    .await;
    let mut viewers = Vec::new();
    for _ in 0..7 {
        viewers.push(host.viewer().await);
    }
    let refused = try_connect(&host.url, Some(&host.view), "").await;
    assert_eq!(status_of(refused), 503, "the last slot is kept");
    let mut owner = host.owner().await;
    owner.ping().await;
    host.stop().await;
}

#[tokio::test]
async fn one_token_has_a_connection_cap() {
    let host = TestHost::start_with(AgentSpec::Shell, |c| {
        c.max_connections_per_token = 3;
    })
    .await;
    let mut viewers = Vec::new();
    for _ in 0..3 {
        viewers.push(host.viewer().await);
    }
    let refused = try_connect(&host.url, Some(&host.view), "").await;
    assert_eq!(status_of(refused), 503);
    let mut owner = host.owner().await;
    owner.ping().await;
    // A closed connection gives its slot back.
    drop(viewers.pop());
    let mut again = None;
    for _ in 0..50 {
        if let Ok(socket) = try_connect(&host.url, Some(&host.view), "").await {
            again = Some(socket);
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(again.is_some(), "the freed slot can be taken");
    host.stop().await;
}
