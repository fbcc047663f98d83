//! The follower side of the fan-out benchmark: N WebSocket clients in one
//! process that count, check and time every event they receive.

use std::io::Write;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use clap::Args;
use color_eyre::eyre::{Result, eyre};
use futures_util::StreamExt;
use serde::{Deserialize, Serialize};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

use super::{mono_ns, scan_frame};

#[derive(Debug, Args)]
pub struct FollowersArgs {
    #[arg(long)]
    url: String,
    #[arg(long)]
    pub(super) token: Option<String>,
    /// The certificate (PEM) to trust for a `wss://` URL.
    #[arg(long)]
    ca: Option<std::path::PathBuf>,
    #[arg(long)]
    pub(super) count: usize,
    #[arg(long)]
    pub(super) events: u64,
    /// Seqs expected are base+1 ..= base+events.
    #[arg(long, default_value_t = 0)]
    pub(super) base: u64,
    #[arg(long, default_value_t = 120)]
    pub(super) timeout_secs: u64,
    /// Join through this NATS broker (host `bench`, session `main`) rather
    /// than a WebSocket to --url.
    #[arg(long)]
    relay: Option<String>,
}

/// What the follower process reports on its last stdout line.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct FollowerReport {
    pub received: u64,
    pub missing: u64,
    pub duplicated: u64,
    pub closed_early: u64,
    pub p50_us: u64,
    pub p99_us: u64,
    pub max_us: u64,
    /// Monotonic time of the last event received by anyone.
    pub last_ns: u64,
    /// The host's process CPU time while the events went out (filled in
    /// by the driver, not the followers).
    #[serde(default)]
    pub host_cpu_ns: u64,
    /// The host's CPU per second with every follower joined and no events
    /// (their heartbeats), measured before the events (--via only).
    #[serde(default)]
    pub host_idle_cpu_ns_per_s: u64,
}

pub(super) struct One {
    seen: Vec<bool>,
    received: u64,
    duplicated: u64,
    latencies_us: Vec<u32>,
    last_ns: u64,
    closed_early: bool,
    distinct: u64,
}

pub fn run(args: FollowersArgs) -> Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        if let Some(broker) = args.relay.clone() {
            return super::fanout_nats::follow_through_broker(&args, &broker).await;
        }
        let sockets = connect_all(&args).await?;
        println!("ready");
        std::io::stdout().flush()?;
        // How many events each follower has; the slowest one's count goes
        // to the driver as "progress N" lines so it can close the loop.
        let counts: Arc<Vec<AtomicU64>> =
            Arc::new((0..args.count).map(|_| AtomicU64::new(0)).collect());
        let reporter = tokio::spawn(report_progress(counts.clone()));
        let deadline = tokio::time::Instant::now() + Duration::from_secs(args.timeout_secs);
        let tasks: Vec<_> = sockets
            .into_iter()
            .enumerate()
            .map(|(index, socket)| {
                let follower = Follower {
                    index,
                    events: args.events,
                    base: args.base,
                    counts: counts.clone(),
                    deadline,
                };
                tokio::spawn(follower.read(socket))
            })
            .collect();
        print_report(tasks, reporter).await
    })
}

/// Waits for every follower, stops the progress lines and prints the
/// report the driver reads. Each follower's connection (`K`) is closed
/// only then: the driver counts the host's CPU until the report, and
/// 10,000 viewers leaving is no part of what the events cost.
pub(super) async fn print_report<K>(
    tasks: Vec<tokio::task::JoinHandle<(One, K)>>,
    reporter: tokio::task::JoinHandle<()>,
) -> Result<()> {
    let mut ones = Vec::with_capacity(tasks.len());
    let mut connections = Vec::with_capacity(tasks.len());
    for task in tasks {
        let (one, connection) = task.await.map_err(|e| eyre!("follower task failed: {e}"))?;
        ones.push(one);
        connections.push(connection);
    }
    reporter.abort();
    println!("{}", serde_json::to_string(&summarize(ones))?);
    std::io::stdout().flush()?;
    drop(connections);
    Ok(())
}

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn connect_all(args: &FollowersArgs) -> Result<Vec<Socket>> {
    let connector = args.ca.as_deref().map(trusting).transpose()?;
    let mut sockets = Vec::with_capacity(args.count);
    for _ in 0..args.count {
        let mut request = args.url.as_str().into_client_request()?;
        if let Some(token) = &args.token {
            request
                .headers_mut()
                .insert("Authorization", format!("Bearer {token}").parse()?);
        }
        let (socket, _) = tokio_tungstenite::connect_async_tls_with_config(
            request,
            None,
            false,
            connector.clone(),
        )
        .await?;
        sockets.push(socket);
    }
    Ok(sockets)
}

/// A TLS client that trusts the certificate in `ca` (PEM) and nothing
/// else; one configuration shared by every follower, as one client
/// process would.
fn trusting(ca: &std::path::Path) -> Result<tokio_tungstenite::Connector> {
    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject;
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_file_iter(ca)? {
        roots.add(cert?)?;
    }
    let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(tokio_tungstenite::Connector::Rustls(std::sync::Arc::new(
        config,
    )))
}

/// Prints `progress N` whenever the slowest follower's count changes.
pub(super) async fn report_progress(counts: Arc<Vec<AtomicU64>>) {
    let mut last = u64::MAX;
    loop {
        tokio::time::sleep(Duration::from_millis(2)).await;
        let slowest = counts
            .iter()
            .map(|c| c.load(Ordering::Relaxed))
            .min()
            .unwrap_or(0);
        if slowest != last {
            last = slowest;
            let mut out = std::io::stdout().lock();
            let _ = writeln!(out, "progress {slowest}");
            let _ = out.flush();
        }
    }
}

/// One follower's reading loop and what it needs.
struct Follower {
    index: usize,
    events: u64,
    base: u64,
    counts: Arc<Vec<AtomicU64>>,
    deadline: tokio::time::Instant,
}

impl One {
    pub(super) fn new(events: u64) -> One {
        One {
            seen: vec![false; events as usize],
            received: 0,
            duplicated: 0,
            latencies_us: Vec::with_capacity(events as usize),
            last_ns: 0,
            closed_early: false,
            distinct: 0,
        }
    }

    /// Event `seq` sent at `sent` arrived now: counted once, timed; the
    /// number of distinct events so far when it is new.
    pub(super) fn note(&mut self, seq: u64, sent: u64, base: u64) -> Option<u64> {
        let now = mono_ns();
        let events = self.seen.len() as u64;
        let slot = seq.checked_sub(base + 1).filter(|i| *i < events)?;
        self.received += 1;
        self.latencies_us
            .push(((now.saturating_sub(sent)) / 1000) as u32);
        self.last_ns = now;
        if std::mem::replace(&mut self.seen[slot as usize], true) {
            self.duplicated += 1;
            return None;
        }
        self.distinct += 1;
        Some(self.distinct)
    }
}

impl Follower {
    /// Reads until every event arrived (or the deadline, or a close).
    async fn read(self, mut socket: Socket) -> (One, Socket) {
        let events = self.events;
        let mut one = One::new(events);
        let mut distinct = 0u64;
        while distinct < events {
            let frame = match tokio::time::timeout_at(self.deadline, socket.next()).await {
                Ok(Some(Ok(Message::Text(text)))) => text,
                Ok(Some(Ok(Message::Close(_)) | Err(_)) | None) | Err(_) => {
                    one.closed_early = true;
                    break;
                }
                Ok(Some(Ok(_))) => continue,
            };
            let Some((seq, sent)) = scan_frame(frame.as_str()) else {
                continue;
            };
            if let Some(count) = one.note(seq, sent, self.base) {
                distinct = count;
                self.counts[self.index].store(distinct, Ordering::Relaxed);
            }
        }
        (one, socket)
    }
}

fn summarize(ones: Vec<One>) -> FollowerReport {
    let mut report = FollowerReport::default();
    let mut latencies = Vec::new();
    for one in ones {
        report.received += one.received;
        report.duplicated += one.duplicated;
        report.missing += one.seen.iter().filter(|s| !**s).count() as u64;
        report.closed_early += u64::from(one.closed_early);
        report.last_ns = report.last_ns.max(one.last_ns);
        latencies.extend(one.latencies_us);
    }
    latencies.sort_unstable();
    let pick = |q: f64| {
        latencies
            .get(((latencies.len() as f64 - 1.0) * q) as usize)
            .copied()
            .unwrap_or(0) as u64
    };
    report.p50_us = pick(0.50);
    report.p99_us = pick(0.99);
    report.max_us = latencies.last().copied().unwrap_or(0) as u64;
    report
}
