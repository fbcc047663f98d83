//! `tether bench lobby`: a host of many busy sessions watched by many lobby
//! subscribers. Each session gets a steady stream of output events; now
//! and then a permission request is raised in a random one, and every
//! subscriber (in a child process, so the host is measured alone) times
//! how long it takes to see that request pending in the session's summary.
//! Also reported: the host's memory and CPU time under that load.

use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use clap::Args;
use color_eyre::eyre::{Result, bail, eyre};
use serde_json::json;
use tokio::sync::watch;
use tokio::time::MissedTickBehavior;

use super::lobby_viewers::ViewersReport;
use super::{mono_ns, rss, scratch_host};
use tether::host::Host;
use tether::host::agent::AgentSpec;
use tether::host::sessions::SessionSpec;
use tether::protocol::{EventKind, OutputStream};

#[derive(Debug, Args)]
pub struct LobbyArgs {
    /// Sessions on the host (idle shell agents the bench feeds).
    #[arg(long, default_value_t = 100)]
    sessions: usize,
    /// Lobby WebSocket subscribers.
    #[arg(long, default_value_t = 50)]
    viewers: usize,
    /// Output events per second into each session.
    #[arg(long, default_value_t = 100)]
    rate: u32,
    /// Seconds of measurement (requests raised, CPU time counted).
    #[arg(long, default_value_t = 60)]
    duration: u64,
    /// Permission requests raised per second, each in a random session
    /// and cancelled again two seconds later.
    #[arg(long, default_value_t = 10)]
    requests: u32,
    /// Keep a journal per session.
    #[arg(long)]
    journal: bool,
    /// Each session's in-memory history budget (K, M, G suffixes; the
    /// host's default is 64M or 100,000 events, whichever comes first).
    #[arg(long, value_name = "BYTES", value_parser = crate::cli::serve::parse_size)]
    history_bytes: Option<usize>,
}

/// How long a raised request stays pending before the bench cancels it
/// (so a session never piles them up).
const HOLD: Duration = Duration::from_secs(2);
/// The feeder's period: each tick it tops every session up to its rate.
const FEED_TICK: Duration = Duration::from_millis(10);
/// Load before the measurement starts.
const WARM_UP: Duration = Duration::from_secs(1);
/// Time after the last request for it to reach everyone.
const TAIL: Duration = Duration::from_secs(1);
/// The goal from issue 12.
const GOAL_P99_MS: f64 = 250.0;

pub fn run(args: LobbyArgs) -> Result<()> {
    if args.sessions == 0 || args.viewers == 0 || args.rate == 0 || args.requests == 0 {
        bail!("--sessions, --viewers, --rate and --requests must be at least 1");
    }
    if args.duration == 0 {
        bail!("--duration must be at least 1 second");
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let line = runtime.block_on(measure(&args))?;
    println!("{line}");
    Ok(())
}

/// What the host process used while the requests were raised.
struct Usage {
    seconds: f64,
    cpu_seconds: f64,
    events: u64,
    rss_idle: u64,
    /// When the measurement started (after the warm-up).
    rss_start: u64,
    rss: u64,
    rss_peak: u64,
}

async fn measure(args: &LobbyArgs) -> Result<serde_json::Value> {
    let (dir, mut config) = scratch_host("lobby")?;
    config.sessions = (0..args.sessions)
        .map(|i| {
            let mut spec = SessionSpec::new(format!("s{i:03}"), AgentSpec::Shell);
            spec.cwd = dir.clone();
            spec
        })
        .collect();
    config.journal_dir = args.journal.then(|| dir.join("journal"));
    if let Some(bytes) = args.history_bytes {
        config.history_bytes = bytes;
    }
    config.make_room_for_viewers(args.viewers);
    let host = Arc::new(Host::start(config).await?);
    let ids: Arc<[String]> = host.session_ids().into();
    // Let the agents' start-up events settle before measuring idle memory.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let (rss_idle, _) = rss();
    let prefix = format!("b{:06x}", rand::random::<u32>() & 0xff_ffff);
    let viewers = {
        let url = format!("ws://{}/v1/lobby", host.addr());
        let token = host.control_token().ok_or_else(|| eyre!("no token"))?;
        let (count, prefix) = (args.viewers, prefix.clone());
        tokio::task::spawn_blocking(move || Viewers::spawn(&url, &token, count, &prefix)).await??
    };
    let sent = Arc::new(AtomicU64::new(0));
    let (stop_feeding, stopped) = watch::channel(false);
    let feeder = tokio::spawn(feed(
        host.clone(),
        ids.clone(),
        args.rate,
        sent.clone(),
        stopped,
    ));
    tokio::time::sleep(WARM_UP).await;
    let (cpu_before, events_before) = (cpu_seconds(), sent.load(Ordering::Relaxed));
    let (rss_start, _) = rss();
    let start = Instant::now();
    let raised = raise_requests(&host, &ids, args, &prefix).await?;
    let (rss_now, rss_peak) = rss();
    let usage = Usage {
        seconds: start.elapsed().as_secs_f64(),
        cpu_seconds: cpu_seconds() - cpu_before,
        events: sent.load(Ordering::Relaxed) - events_before,
        rss_idle,
        rss_start,
        rss: rss_now,
        rss_peak,
    };
    tokio::time::sleep(TAIL).await;
    let report = tokio::task::spawn_blocking(move || viewers.report()).await??;
    let _ = stop_feeding.send(true);
    feeder.await??;
    if let Ok(host) = Arc::try_unwrap(host) {
        host.shutdown().await?;
    }
    let _ = std::fs::remove_dir_all(&dir);
    Ok(figures(args, raised, &usage, &report))
}

fn figures(
    args: &LobbyArgs,
    raised: u64,
    usage: &Usage,
    report: &ViewersReport,
) -> serde_json::Value {
    let latencies = &report.latencies_us;
    let pick_ms = |q: f64| {
        let at = ((latencies.len() as f64 - 1.0) * q).round() as usize;
        latencies.get(at).map_or(0.0, |us| *us as f64 / 1000.0)
    };
    let p99_ms = pick_ms(0.99);
    let expected = raised * args.viewers as u64;
    let per_viewer_s = args.viewers as f64 * report.seconds.max(f64::EPSILON);
    json!({
        "sessions": args.sessions,
        "viewers": args.viewers,
        "rate": args.rate,
        "requests_per_s": args.requests,
        "duration_s": args.duration,
        "journal": args.journal,
        "cores": std::thread::available_parallelism().map_or(1, |n| n.get()),
        "events_per_s": (usage.events as f64 / usage.seconds).round(),
        "samples": raised,
        "seen": report.seen,
        "missing": expected.saturating_sub(report.seen),
        "p50_ms": pick_ms(0.50),
        "p99_ms": p99_ms,
        "max_ms": pick_ms(1.0),
        // Requests that waited for the lobby's pacing rather than work.
        "over_20ms_share": share_over(latencies, 20_000),
        "p99_under_250ms": report.seen > 0 && p99_ms < GOAL_P99_MS,
        "lobby_messages_per_viewer_per_s": (report.messages as f64 / per_viewer_s).round(),
        "lobby_bytes_per_viewer_per_s": (report.bytes as f64 / per_viewer_s).round(),
        "resyncs": report.resyncs,
        "closed_early": report.closed_early,
        "rss_idle_bytes": usage.rss_idle,
        "rss_bytes": usage.rss,
        "rss_peak_bytes": usage.rss_peak,
        "rss_growth_bytes_per_min": ((usage.rss as f64 - usage.rss_start as f64) / usage.seconds * 60.0).round(),
        "history_bytes": args.history_bytes,
        "cpu_s_per_min": (usage.cpu_seconds / usage.seconds * 60.0 * 10.0).round() / 10.0,
    })
}

/// The share of `sorted` (microseconds) above `limit_us`, to 3 places.
fn share_over(sorted: &[u64], limit_us: u64) -> f64 {
    let over = sorted.len() - sorted.partition_point(|us| *us <= limit_us);
    (over as f64 / sorted.len().max(1) as f64 * 1000.0).round() / 1000.0
}

/// User and system CPU time of this process so far.
fn cpu_seconds() -> f64 {
    super::process_cpu_ns() as f64 / 1e9
}

/// Tops every session up to `rate` output events per second until told
/// to stop, counting them in `sent`.
async fn feed(
    host: Arc<Host>,
    ids: Arc<[String]>,
    rate: u32,
    sent: Arc<AtomicU64>,
    mut stopped: watch::Receiver<bool>,
) -> Result<()> {
    let start = Instant::now();
    let mut tick = tokio::time::interval(FEED_TICK);
    tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let mut done = 0u64;
    loop {
        tokio::select! {
            _ = stopped.changed() => return Ok(()),
            _ = tick.tick() => {}
        }
        let due = (start.elapsed().as_secs_f64() * f64::from(rate)) as u64;
        for n in done..due {
            for id in ids.iter() {
                let text = format!("{id} line {n:08}: compiling tether v0.1.0 (/work/tether) ...");
                let event = EventKind::Output {
                    stream: OutputStream::Stdout,
                    text,
                };
                host.inject_into(id, event).await?;
            }
            sent.fetch_add(ids.len() as u64, Ordering::Relaxed);
        }
        done = due;
    }
}

/// A request raised and not yet cancelled.
struct Open {
    at: Instant,
    session: usize,
    request_id: String,
}

/// Raises `requests` per second for `duration`, each in a random session
/// with the id `PREFIX-N-T` (T: when, on the monotonic clock); cancels
/// each [`HOLD`] later. Returns how many it raised.
async fn raise_requests(
    host: &Host,
    ids: &[String],
    args: &LobbyArgs,
    prefix: &str,
) -> Result<u64> {
    let mut tick = tokio::time::interval(Duration::from_secs_f64(1.0 / f64::from(args.requests)));
    tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let end = Instant::now() + Duration::from_secs(args.duration);
    let mut open: VecDeque<Open> = VecDeque::new();
    let mut raised = 0u64;
    while Instant::now() < end {
        tick.tick().await;
        while let Some(done) = open.front().filter(|o| o.at.elapsed() >= HOLD) {
            let event = EventKind::PermissionCancelled {
                request_id: done.request_id.clone(),
                reason: Some("bench".into()),
            };
            host.inject_into(&ids[done.session], event).await?;
            open.pop_front();
        }
        let session = rand::random_range(0..ids.len());
        let request_id = format!("{prefix}-{raised}-{}", mono_ns());
        host.inject_into(&ids[session], permission_request(&request_id))
            .await?;
        open.push_back(Open {
            at: Instant::now(),
            session,
            request_id,
        });
        raised += 1;
    }
    Ok(raised)
}

fn permission_request(request_id: &str) -> EventKind {
    EventKind::PermissionRequest {
        request_id: request_id.to_owned(),
        tool: "Bash".into(),
        input: json!({"command": "cargo test"}),
        tool_use_id: None,
        title: Some("cargo test".into()),
        description: None,
        preview: None,
        options: Vec::new(),
    }
}

/// The subscriber process.
struct Viewers {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<std::process::ChildStdout>,
}

impl Viewers {
    fn spawn(url: &str, token: &str, count: usize, prefix: &str) -> Result<Viewers> {
        let mut child = Command::new(std::env::current_exe()?)
            .args(["bench", "lobby-viewers", "--url", url, "--token", token])
            .args(["--count", &count.to_string(), "--prefix", prefix])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()?;
        let stdin = child.stdin.take().expect("piped");
        let mut stdout = BufReader::new(child.stdout.take().expect("piped"));
        let mut line = String::new();
        stdout.read_line(&mut line)?;
        if line.trim() != "ready" {
            let _ = child.kill();
            let _ = child.wait();
            bail!("the lobby viewers did not connect: {line:?}");
        }
        Ok(Viewers {
            child,
            stdin,
            stdout,
        })
    }

    /// Tells the viewers to stop (closes their stdin) and reads their report.
    fn report(mut self) -> Result<ViewersReport> {
        let _ = self.stdin.flush();
        drop(self.stdin);
        let mut line = String::new();
        self.stdout.read_line(&mut line)?;
        let status = self.child.wait()?;
        if !status.success() {
            bail!("the lobby viewer process failed: {status}");
        }
        serde_json::from_str(&line).map_err(|e| eyre!("bad viewer report {line:?}: {e}"))
    }
}
