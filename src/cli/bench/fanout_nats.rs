//! `tether bench fanout --via nats`: the same followers, watching through a
//! NATS broker (each joins as a relay client: a participant of the session
//! like any other), against direct WebSocket followers in the same run.
//! The host's process CPU per event tells what the broker saves it: what
//! every viewer receives is published once, whatever their number.

use std::io::Write;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::time::Duration;

use color_eyre::eyre::{Result, bail, eyre};
use serde_json::json;
use tether::broker::Broker;
use tether::client::relay::{self, RelayTarget};
use tether::client::{ConnEvent, Resume};
use tether::host::server::relay::RelayConfig;
use tether::protocol::{EventKind, ServerMessage};

use super::fanout::{FanoutArgs, run_tether};
use super::followers::{FollowerReport, FollowersArgs, One, print_report, report_progress};

/// The bench host's name on the broker.
pub const HOST_ID: &str = "bench";

/// The host's CPU per second with the followers joined and nothing sent:
/// what watching costs it at rest (heartbeats, beacons, timers). Measured
/// once the joins have settled (the coalesced participants list has gone
/// out) and the followers beat at the pace the host's beacon gave them,
/// over one of their heartbeat periods (at most [`IDLE_WINDOW_MAX`]: they
/// joined one after another, so their beats are spread).
pub async fn idle_cpu(followers: usize) -> u64 {
    use tether::protocol::relay::{BEACON_EVERY, HEARTBEAT_EVERY, viewer_heartbeat_period};
    let coalesce = tether::host::participants_coalesce(followers);
    tokio::time::sleep(coalesce + BEACON_EVERY + HEARTBEAT_EVERY + Duration::from_secs(1)).await;
    let window = viewer_heartbeat_period(followers).clamp(IDLE_WINDOW_MIN, IDLE_WINDOW_MAX);
    let before = super::process_cpu_ns();
    tokio::time::sleep(window).await;
    (super::process_cpu_ns().saturating_sub(before) as f64 / window.as_secs_f64()) as u64
}

/// How long the host's resting CPU is measured, at least and at most.
const IDLE_WINDOW_MIN: Duration = Duration::from_secs(5);
const IDLE_WINDOW_MAX: Duration = Duration::from_secs(30);

pub fn relay_config(broker: &str) -> Result<RelayConfig> {
    Ok(RelayConfig {
        broker: Broker::at(url::Url::parse(broker)?),
        host_id: HOST_ID.into(),
        stream: Default::default(),
    })
}

/// A nats-server with JetStream for the run, killed when dropped.
pub struct OwnBroker(Child, std::path::PathBuf);

impl Drop for OwnBroker {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
        let _ = std::fs::remove_dir_all(&self.1);
    }
}

pub fn own_broker() -> Result<(OwnBroker, String)> {
    let port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    let store = std::env::temp_dir().join(format!("tether-bench-nats-{}", std::process::id()));
    let child = Command::new("nats-server")
        .args(["-a", "127.0.0.1", "-p", &port.to_string(), "-js", "-sd"])
        .arg(&store)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| {
            eyre!("--via nats needs nats-server (apt-get install nats-server) or --broker: {e}")
        })?;
    let broker = OwnBroker(child, store);
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        if std::time::Instant::now() > deadline {
            bail!("nats-server did not listen");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    Ok((broker, format!("nats://127.0.0.1:{port}")))
}

pub fn run(args: FanoutArgs) -> Result<()> {
    let (_own, broker) = match &args.broker {
        Some(url) => (None, url.clone()),
        None => {
            let (own, url) = own_broker()?;
            (Some(own), url)
        }
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let direct = FanoutArgs {
        via: None,
        broker: None,
        measure_rest: true,
        ..args.clone()
    };
    let relayed = FanoutArgs {
        broker: Some(broker),
        measure_rest: true,
        ..args.clone()
    };
    let (direct, _) = runtime.block_on(run_tether(&direct, false))?;
    let (relayed, _) = runtime.block_on(run_tether(&relayed, false))?;
    let figures = |(report, start): &(FollowerReport, u64)| {
        let seconds = report.last_ns.saturating_sub(*start) as f64 / 1e9;
        let deliveries = (args.events * args.followers as u64) as f64;
        let us = |ns: f64| (ns / 100.0).round() / 10.0;
        // What the events cost beyond what the host spends at rest.
        let resting = report.host_idle_cpu_ns_per_s as f64 * seconds;
        let for_events = (report.host_cpu_ns as f64 - resting).max(0.0);
        json!({
            "deliveries_per_s": (deliveries / seconds).round(),
            "p50_ms": report.p50_us as f64 / 1000.0,
            "p99_ms": report.p99_us as f64 / 1000.0,
            "host_cpu_us_per_event": us(report.host_cpu_ns as f64 / args.events as f64),
            "host_cpu_us_per_event_beyond_rest": us(for_events / args.events as f64),
            "host_rest_cpu_ms_per_s": (report.host_idle_cpu_ns_per_s as f64 / 1e4).round() / 100.0,
            "missing": report.missing,
            "duplicated": report.duplicated,
            "closed_early": report.closed_early,
        })
    };
    let line = json!({
        "followers": args.followers,
        "events": args.events,
        "bytes": args.bytes,
        "window": args.window,
        "rate": args.rate,
        "cores": std::thread::available_parallelism().map_or(1, |n| n.get()),
        "via_nats": figures(&relayed),
        "direct": figures(&direct),
    });
    println!("{line}");
    Ok(())
}

/// Waits until the bench session's stream on the broker holds event
/// `last` (its publisher runs behind the session): the milliseconds
/// waited. A viewer joining earlier is replayed to by the host instead,
/// and so is one whose events the stream lacks (a publisher that fell
/// behind a flood fills the stream again from memory only).
pub async fn stream_filled(broker: &str, last: u64) -> Result<f64> {
    use tether::broker::async_nats::{self, jetstream};
    let started = std::time::Instant::now();
    let client = async_nats::connect(broker).await?;
    let js = jetstream::new(client);
    let name = tether::protocol::relay::stream_name(HOST_ID, "main");
    let deadline = started + Duration::from_secs(120);
    loop {
        if let Ok(mut stream) = js.get_stream(&name).await
            && let Ok(info) = stream.info().await
            && info.state.last_sequence >= last
        {
            return Ok(started.elapsed().as_secs_f64() * 1000.0);
        }
        if std::time::Instant::now() > deadline {
            let state = match js.get_stream(&name).await {
                Ok(mut stream) => format!("{:?}", stream.info().await.map(|i| i.state.clone())),
                Err(e) => e.to_string(),
            };
            bail!("the stream {name} never held event {last}: {state}");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A new viewer through the broker, from the start: milliseconds until
/// `caught_up` (its broker connection included), and the events it got.
pub async fn catch_up(broker: &str, token: &str) -> Result<(f64, u64)> {
    let target = RelayTarget {
        broker: Broker::at(url::Url::parse(broker)?),
        host: HOST_ID.into(),
        session: "main".into(),
        token: token.into(),
        view: true,
        claim: false,
    };
    let started = std::time::Instant::now();
    let applied = Arc::new(AtomicU64::new(0));
    let mut connection = relay::spawn(target, Resume::After(applied.clone()));
    let mut events = 0u64;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(120);
    loop {
        match tokio::time::timeout_at(deadline, connection.events.recv()).await {
            Ok(Some(ConnEvent::Message(ServerMessage::Event(record)))) => {
                events += 1;
                applied.store(record.seq, std::sync::atomic::Ordering::Release);
            }
            Ok(Some(ConnEvent::Message(ServerMessage::CaughtUp { .. }))) => break,
            Ok(Some(ConnEvent::Failed(e))) => bail!("the viewer could not join: {e}"),
            Ok(Some(_)) => {}
            Ok(None) | Err(_) => bail!("the replay did not finish"),
        }
    }
    Ok((started.elapsed().as_secs_f64() * 1000.0, events))
}

/// The follower side through the broker: each follower a relay client
/// (its own broker connection), reporting as the WebSocket ones do.
pub async fn follow_through_broker(args: &FollowersArgs, broker: &str) -> Result<()> {
    let token = args
        .token
        .clone()
        .ok_or_else(|| eyre!("--token is needed"))?;
    let broker = Broker::at(url::Url::parse(broker)?);
    let mut connections = Vec::with_capacity(args.count);
    for _ in 0..args.count {
        let target = RelayTarget {
            broker: broker.clone(),
            host: HOST_ID.into(),
            session: "main".into(),
            token: token.clone(),
            view: true,
            claim: false,
        };
        let mut connection = relay::spawn(target, Resume::Live);
        // Joined once caught up.
        loop {
            match tokio::time::timeout(Duration::from_secs(30), connection.events.recv()).await {
                Ok(Some(ConnEvent::Message(ServerMessage::CaughtUp { .. }))) => break,
                Ok(Some(ConnEvent::Failed(e))) => bail!("a follower could not join: {e}"),
                Ok(Some(_)) => {}
                Ok(None) | Err(_) => bail!("a follower could not join in time"),
            }
        }
        connections.push(connection);
    }
    println!("ready");
    std::io::stdout().flush()?;
    let counts: Arc<Vec<AtomicU64>> =
        Arc::new((0..args.count).map(|_| AtomicU64::new(0)).collect());
    let reporter = tokio::spawn(report_progress(counts.clone()));
    let deadline = tokio::time::Instant::now() + Duration::from_secs(args.timeout_secs);
    let (events, base) = (args.events, args.base);
    let tasks: Vec<_> = connections
        .into_iter()
        .enumerate()
        .map(|(index, mut connection)| {
            let counts = counts.clone();
            tokio::spawn(async move {
                // Handed back to be held until the report is out: a
                // connection whose command side is dropped leaves.
                let mut one = One::new(events);
                let mut distinct = 0;
                while distinct < events {
                    let event =
                        match tokio::time::timeout_at(deadline, connection.events.recv()).await {
                            Ok(Some(event)) => event,
                            Ok(None) | Err(_) => break,
                        };
                    let ConnEvent::Message(ServerMessage::Event(record)) = event else {
                        continue;
                    };
                    let EventKind::Output { text, .. } = &record.event else {
                        continue;
                    };
                    let Some(sent) = text.get(2..22).and_then(|t| t.parse().ok()) else {
                        continue;
                    };
                    if let Some(count) = one.note(record.seq, sent, base) {
                        distinct = count;
                        counts[index].store(distinct, std::sync::atomic::Ordering::Relaxed);
                    }
                }
                (one, connection)
            })
        })
        .collect();
    print_report(tasks, reporter).await
}
