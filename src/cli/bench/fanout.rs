//! `tether bench fanout`: N real WebSocket followers (in a child process,
//! so the host's memory is measured alone) receive M events of B bytes
//! driven through a real host as fast as they go; then the same load goes
//! through a bare tokio-tungstenite broadcast loop, our floor. With
//! `--tls` the host serves `wss://` (a self-signed certificate the
//! followers trust) and the same load also goes through the host over
//! plain `ws://` in the same run, for the ratio.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use axum::extract::ws::Utf8Bytes;
use clap::Args;
use color_eyre::eyre::{Result, bail, eyre};
use futures_util::{SinkExt, StreamExt};
use serde_json::json;
use tokio::sync::broadcast;
use tokio_tungstenite::tungstenite::Message;

use super::followers::FollowerReport;
use super::{mono_ns, payload, rss, scratch_host};
use tether::host::Host;
use tether::protocol::{EventKind, OutputStream};

#[derive(Debug, Clone, Args)]
pub struct FanoutArgs {
    /// WebSocket followers.
    #[arg(long, default_value_t = 100)]
    pub(super) followers: usize,
    /// Events driven through the session.
    #[arg(long, default_value_t = 5000)]
    pub(super) events: u64,
    /// Bytes of text per event.
    #[arg(long, default_value_t = 200)]
    pub(super) bytes: usize,
    /// Keep a journal (every event written and flushed before broadcast).
    #[arg(long)]
    pub(super) journal: bool,
    /// Closed loop: the driver waits while the slowest follower has not yet
    /// received all but this many of the events sent (0 = open loop).
    #[arg(long, default_value_t = 16)]
    pub(super) window: u64,
    /// At most this many events a second (as well as --window): runs with
    /// different follower counts then compare the host's CPU per event at
    /// one pace. Unpaced, a run whose followers are slower sends its events
    /// further apart, and each costs the host more wake-ups.
    #[arg(long, value_name = "EVENTS_PER_S")]
    pub(super) rate: Option<f64>,
    /// Through TLS (`wss://`), measured against plain `ws://` in the same
    /// run.
    #[arg(long)]
    pub(super) tls: bool,
    /// `nats`: the followers watch through a NATS broker (a nats-server
    /// started for the run, or --broker), compared with direct WebSocket
    /// followers in the same run.
    #[arg(long, value_name = "nats")]
    pub(super) via: Option<Via>,
    /// The broker for --via nats [default: a nats-server of its own].
    #[arg(long, value_name = "URL", requires = "via")]
    pub(super) broker: Option<String>,
    /// Measure the host's CPU at rest before the events (set by --via).
    #[arg(skip)]
    pub(super) measure_rest: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Via {
    Nats,
}

/// The slowest follower's event count, and a wake-up when it moves.
#[derive(Default)]
pub(super) struct Progress {
    count: AtomicU64,
    /// The followers' process has ended (its report written, or it died).
    ended: std::sync::atomic::AtomicBool,
    changed: tokio::sync::Notify,
}

/// Closed loop: waits until the slowest follower has received all but
/// `window` of the `sent` events (`window` 0: never waits), or their
/// process has ended (a follower cut off never catches up: its report
/// says so). It sleeps until progress moves rather than polling, so the
/// driver's CPU is not counted as the host's.
async fn pace(window: u64, sent: u64, progress: &Progress) {
    let behind = || sent.saturating_sub(progress.count.load(Ordering::Acquire)) >= window;
    while window > 0 && behind() && !progress.ended.load(Ordering::Acquire) {
        let moved = progress.changed.notified();
        if !behind() {
            break;
        }
        moved.await;
    }
}

/// Event `n` goes no sooner than `n / rate` seconds after the first.
struct Rate {
    per_s: Option<f64>,
    start: tokio::time::Instant,
}

impl Rate {
    fn new(per_s: Option<f64>) -> Rate {
        Rate {
            per_s: per_s.filter(|r| *r > 0.0),
            start: tokio::time::Instant::now(),
        }
    }

    async fn wait(&self, n: u64) {
        if let Some(per_s) = self.per_s {
            let due = self.start + Duration::from_secs_f64(n as f64 / per_s);
            tokio::time::sleep_until(due).await;
        }
    }
}

pub(super) struct Followers {
    child: Child,
    /// The slowest follower's event count, from the child's progress lines.
    progress: Arc<Progress>,
    report: std::thread::JoinHandle<Option<String>>,
}

/// How long `followers` have to join before the bench gives up: a minute,
/// and 30 ms more for each (relay followers join one after another).
fn join_wait(followers: usize) -> Duration {
    Duration::from_secs(60) + Duration::from_millis(30) * followers as u32
}

/// Where the followers connect, and what they trust there.
pub(super) struct Join<'a> {
    pub url: &'a str,
    pub token: Option<&'a str>,
    /// The certificate to trust (PEM), for `wss://`.
    pub ca: Option<&'a std::path::Path>,
}

pub(super) fn spawn_followers(join: &Join<'_>, args: &FanoutArgs, base: u64) -> Result<Followers> {
    let mut command = Command::new(std::env::current_exe()?);
    command
        .args(["bench", "followers", "--url", join.url, "--count"])
        .arg(args.followers.to_string())
        .arg("--events")
        .arg(args.events.to_string())
        .arg("--base")
        .arg(base.to_string())
        .stdout(Stdio::piped());
    if let Some(token) = join.token {
        command.args(["--token", token]);
    }
    if let Some(ca) = join.ca {
        command.arg("--ca").arg(ca);
    }
    if let (Some(Via::Nats), Some(broker)) = (args.via, &args.broker) {
        // Through the broker: each follower joins as a relay client.
        command.args(["--relay", broker]);
    }
    let mut child = command.spawn()?;
    let mut lines = BufReader::new(child.stdout.take().expect("piped"));
    let mut line = String::new();
    lines.read_line(&mut line)?;
    if line.trim() != "ready" {
        let _ = child.kill();
        bail!("the followers did not connect: {line:?}");
    }
    let progress = Arc::new(Progress::default());
    let seen = progress.clone();
    let report = std::thread::spawn(move || {
        let report = lines
            .lines()
            .map_while(std::result::Result::ok)
            .find(|line| match line.strip_prefix("progress ") {
                Some(n) => {
                    seen.count.store(n.parse().unwrap_or(0), Ordering::Release);
                    seen.changed.notify_waiters();
                    false
                }
                None => true,
            });
        seen.ended.store(true, Ordering::Release);
        seen.changed.notify_waiters();
        report
    });
    Ok(Followers {
        child,
        progress,
        report,
    })
}

impl Followers {
    fn report(mut self) -> Result<FollowerReport> {
        let line = self.report.join().ok().flatten().unwrap_or_default();
        let status = self.child.wait()?;
        if !status.success() {
            bail!("the follower process failed: {status}");
        }
        serde_json::from_str(&line).map_err(|e| eyre!("bad follower report {line:?}: {e}"))
    }
}

pub fn run(args: FanoutArgs) -> Result<()> {
    if args.followers == 0 || args.events == 0 {
        bail!("--followers and --events must be at least 1");
    }
    if args.via == Some(Via::Nats) {
        return super::fanout_nats::run(args);
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    // Plain first: with --tls, the figure TLS is held against.
    let plain = match args.tls {
        true => Some(runtime.block_on(run_tether(&args, false))?),
        false => None,
    };
    let (tether, per_conn) = runtime.block_on(run_tether(&args, args.tls))?;
    let (_, peak) = rss();
    let bare = runtime.block_on(run_bare(&args))?;
    let seconds = |r: &(FollowerReport, u64)| (r.0.last_ns.saturating_sub(r.1)) as f64 / 1e9;
    let deliveries = (args.events * args.followers as u64) as f64;
    let tether_s = seconds(&tether);
    let bare_s = seconds(&bare);
    let deliveries_per_s = deliveries / tether_s;
    let bare_per_s = deliveries / bare_s;
    let report = &tether.0;
    let mut line = json!({
        "followers": args.followers,
        "events": args.events,
        "bytes": args.bytes,
        "journal": args.journal,
        "window": args.window,
        "rate": args.rate,
        "cores": std::thread::available_parallelism().map_or(1, |n| n.get()),
        "events_per_s": (args.events as f64 / tether_s).round(),
        "deliveries_per_s": deliveries_per_s.round(),
        "p50_ms": report.p50_us as f64 / 1000.0,
        "p99_ms": report.p99_us as f64 / 1000.0,
        "max_ms": report.max_us as f64 / 1000.0,
        "rss_peak_bytes": peak,
        "rss_per_conn_bytes": per_conn,
        "missing": report.missing,
        "duplicated": report.duplicated,
        "closed_early": report.closed_early,
        "bare_deliveries_per_s": bare_per_s.round(),
        "bare_p99_ms": bare.0.p99_us as f64 / 1000.0,
        "bare_missing": bare.0.missing,
        "ratio_vs_bare": ((deliveries_per_s / bare_per_s) * 1000.0).round() / 1000.0,
    });
    if let Some((plain, _)) = plain {
        let plain_per_s = deliveries / seconds(&plain);
        line["tls"] = json!(true);
        line["plain_deliveries_per_s"] = json!(plain_per_s.round());
        line["plain_p99_ms"] = json!(plain.0.p99_us as f64 / 1000.0);
        line["plain_missing"] = json!(plain.0.missing);
        let ratio = ((deliveries_per_s / plain_per_s) * 1000.0).round() / 1000.0;
        line["ratio_tls_vs_plain"] = json!(ratio);
    }
    println!("{line}");
    Ok(())
}

/// The real host (serving `wss://` when `tls`). Returns the followers'
/// report with the start time, and the host's resident memory per
/// connection.
pub(super) async fn run_tether(
    args: &FanoutArgs,
    tls: bool,
) -> Result<((FollowerReport, u64), u64)> {
    let (dir, mut config) = scratch_host("fanout")?;
    config.journal_dir = args.journal.then(|| dir.join("journal"));
    let ca = match tls {
        true => {
            let (cert, key, _) = super::self_signed_in(&dir)?;
            config.tls = Some((cert.clone(), key));
            Some(cert)
        }
        false => None,
    };
    if let (Some(Via::Nats), Some(broker)) = (args.via, &args.broker) {
        config.relay = Some(super::fanout_nats::relay_config(broker)?);
    }
    config.make_room_for_viewers(args.followers);
    let host = Host::start(config).await?;
    // Let the agent's start-up events land before numbering ours.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let base = host.summary().await?.last_seq;
    let url = format!("{}?mode=view&since=live", host.url());
    let token = host.view_token().ok_or_else(|| eyre!("no view token"))?;
    let (before, _) = rss();
    let followers = {
        let (url, token) = (url.clone(), token.clone());
        let args = FanoutArgs {
            broker: args.broker.clone(),
            ..args.clone()
        };
        tokio::task::spawn_blocking(move || {
            let join = Join {
                url: &url,
                token: Some(&token),
                ca: ca.as_deref(),
            };
            spawn_followers(&join, &args, base)
        })
        .await??
    };
    let mut followers = followers;
    // Every follower has joined once the host lists them all.
    let join_wait = join_wait(args.followers);
    let deadline = std::time::Instant::now() + join_wait;
    loop {
        let joined = host.summary().await?.participants;
        if joined >= args.followers {
            break;
        }
        if let Some(status) = followers.child.try_wait()? {
            bail!("the follower process ended ({status}) with {joined} followers joined");
        }
        if std::time::Instant::now() > deadline {
            let _ = followers.child.kill();
            bail!(
                "only {joined} of {} followers joined in {join_wait:?}",
                args.followers
            );
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let (after, _) = rss();
    let per_conn = after.saturating_sub(before) / args.followers as u64;
    let idle_cpu_ns_per_s = match args.measure_rest {
        true => super::fanout_nats::idle_cpu(args.followers).await,
        false => 0,
    };
    let cpu_before = super::process_cpu_ns();
    let start = mono_ns();
    drive(&host, args, &followers.progress).await?;
    let mut report = tokio::task::spawn_blocking(move || followers.report()).await??;
    report.host_cpu_ns = super::process_cpu_ns().saturating_sub(cpu_before);
    report.host_idle_cpu_ns_per_s = idle_cpu_ns_per_s;
    host.shutdown().await?;
    let _ = std::fs::remove_dir_all(&dir);
    Ok(((report, start), per_conn))
}

/// Sends the run's events through the host, at the followers' and the
/// rate's pace.
async fn drive(host: &Host, args: &FanoutArgs, progress: &Progress) -> Result<()> {
    let rate = Rate::new(args.rate);
    for sent in 0..args.events {
        pace(args.window, sent, progress).await;
        rate.wait(sent).await;
        let text = payload(args.bytes);
        host.inject(EventKind::Output {
            stream: OutputStream::Stdout,
            text,
        })
        .await?;
    }
    Ok(())
}

/// The floor: pre-serialised frames through a tokio broadcast to plain
/// tokio-tungstenite server connections, no protocol logic at all.
async fn run_bare(args: &FanoutArgs) -> Result<(FollowerReport, u64)> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let (tx, _) = broadcast::channel::<Utf8Bytes>(8192);
    let subscribed = Arc::new(AtomicUsize::new(0));
    let accept = {
        let (tx, subscribed) = (tx.clone(), subscribed.clone());
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let mut rx = tx.subscribe();
                subscribed.fetch_add(1, Ordering::SeqCst);
                tokio::spawn(async move {
                    let Ok(mut ws) = tokio_tungstenite::accept_async(stream).await else {
                        return;
                    };
                    while let Ok(frame) = rx.recv().await {
                        if ws.feed(Message::Text(frame.as_str().into())).await.is_err() {
                            return;
                        }
                        while let Ok(more) = rx.try_recv() {
                            if ws.feed(Message::Text(more.as_str().into())).await.is_err() {
                                return;
                            }
                        }
                        if ws.flush().await.is_err() {
                            return;
                        }
                    }
                    let _ = ws.next().await;
                });
            }
        })
    };
    let url = format!("ws://{addr}/");
    let followers = {
        let args = FanoutArgs {
            journal: false,
            via: None,
            broker: None,
            ..args.clone()
        };
        tokio::task::spawn_blocking(move || {
            let join = Join {
                url: &url,
                token: None,
                ca: None,
            };
            spawn_followers(&join, &args, 0)
        })
        .await??
    };
    while subscribed.load(Ordering::SeqCst) < args.followers {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let start = mono_ns();
    let rate = Rate::new(args.rate);
    for seq in 1..=args.events {
        pace(args.window, seq - 1, &followers.progress).await;
        rate.wait(seq - 1).await;
        let frame = format!(
            r#"{{"type":"event","seq":{seq},"ts":"2026-01-01T00:00:00.000Z","event":{{"kind":"output","stream":"stdout","text":"{}"}}}}"#,
            payload(args.bytes)
        );
        let _ = tx.send(Utf8Bytes::from(frame));
        if args.window == 0 && seq % 64 == 0 {
            tokio::task::yield_now().await;
        }
    }
    let report = tokio::task::spawn_blocking(move || followers.report()).await??;
    accept.abort();
    Ok((report, start))
}
