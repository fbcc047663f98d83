//! `tether bench watcher` (issue 25): what a watcher's memory does as the
//! session grows, and how fast it scrolls back through what left it.
//!
//! For each session length a host (journal on) is filled with that many
//! lines of command output, then a watcher in a child process (the
//! TUI's application state, drawn into an off-screen terminal) follows
//! it from the start through a real loopback connection and reports its
//! RSS once caught up; then it pages up to line 1 (each page that passes
//! the window is fetched with `history`) and down again to the live tail,
//! timing each page from the key to the frame drawn.

use std::time::{Duration, Instant, SystemTime};

use clap::Args;
use color_eyre::eyre::{Result, bail, eyre};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::layout::Rect;
use serde_json::{Value, json};

use super::{percentiles_ms, rss};
use tether::client::{ConnCommand, ConnEvent, Connection, Resume, Target};
use tether::host::Host;
use tether::protocol::{ErrorCode, EventKind, OutputStream, ServerMessage};
use tether::tui::app::{App, Effect, Focus, Msg};

#[derive(Debug, Args)]
pub struct WatcherArgs {
    /// Session lengths, in lines of output, comma-separated (k and M
    /// suffixes: thousands, millions).
    #[arg(long, value_delimiter = ',', default_value = "10k,100k,1M", value_parser = parse_count)]
    lines: Vec<u64>,
    /// Scroll to line 1 and back in sessions of at most this many lines.
    #[arg(long, default_value = "1M", value_parser = parse_count)]
    scroll_up_to: u64,
    /// The watcher's transcript window (K, M, G suffixes).
    #[arg(long, default_value = "4M", value_parser = crate::cli::serve::parse_size)]
    window: usize,
    /// The watcher's screen, COLSxROWS.
    #[arg(long, default_value = "160x48")]
    size: String,
}

/// The watcher side of `watcher`, run as a child process.
#[derive(Debug, Args)]
pub struct WatchArgs {
    #[arg(long)]
    url: String,
    #[arg(long)]
    token: String,
    /// Follow until this seq is applied.
    #[arg(long)]
    until: u64,
    #[arg(long)]
    window: usize,
    #[arg(long)]
    scroll: bool,
    /// Search for the session's first line from the tail.
    #[arg(long)]
    find: Option<String>,
    #[arg(long, default_value_t = 160)]
    cols: u16,
    #[arg(long, default_value_t = 48)]
    rows: u16,
}

/// Lines per output event (about 30 KB, a shell chunk's size).
const LINES_PER_EVENT: u64 = 500;

/// A count: digits with an optional k (thousands) or M (millions).
pub fn parse_count(text: &str) -> Result<u64, String> {
    let text = text.trim();
    let (digits, scale) = match text.char_indices().last() {
        Some((at, 'k' | 'K')) => (&text[..at], 1_000),
        Some((at, 'm' | 'M')) => (&text[..at], 1_000_000),
        _ => (text, 1),
    };
    digits
        .parse::<u64>()
        .map(|n| n * scale)
        .map_err(|_| format!("`{text}` is not a count (digits, k or M)"))
}

pub fn run(args: WatcherArgs) -> Result<()> {
    let (cols, rows) = args
        .size
        .split_once('x')
        .and_then(|(c, r)| Some((c.parse::<u16>().ok()?, r.parse::<u16>().ok()?)))
        .ok_or_else(|| eyre!("--size is COLSxROWS"))?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    for &lines in &args.lines {
        let run = Run {
            lines,
            window: args.window,
            scroll: lines <= args.scroll_up_to,
            size: (cols, rows),
        };
        let figures = runtime.block_on(one_session(run))?;
        println!("{figures}");
    }
    Ok(())
}

/// One session's run.
struct Run {
    lines: u64,
    window: usize,
    scroll: bool,
    size: (u16, u16),
}

/// The text of line `n` of the session (61 bytes with its newline).
fn line_text(n: u64) -> String {
    format!("line {n:08} {:>46}\n", "output of a long command")
}

/// A host with `lines` lines of output, and the watcher's figures on it.
async fn one_session(run: Run) -> Result<Value> {
    let (dir, mut config) = super::scratch_host("watcher")?;
    config.journal_dir = Some(dir.join("journal"));
    let host = Host::start(config).await?;
    let started = Instant::now();
    let mut written = 0;
    while written < run.lines {
        let count = LINES_PER_EVENT.min(run.lines - written);
        let text: String = (written + 1..=written + count).map(line_text).collect();
        written += count;
        host.inject(EventKind::Output {
            stream: OutputStream::Stdout,
            text,
        })
        .await?;
    }
    let filled_s = started.elapsed().as_secs_f64();
    let until = host.summary().await?.last_seq;
    let token = host.view_token().ok_or_else(|| eyre!("no view token"))?;
    eprintln!("{} lines: {until} events written", run.lines);
    let exe = std::env::current_exe()?;
    let mut command = tokio::process::Command::new(exe);
    command.args(["bench", "watch", "--url", &host.url(), "--token", &token]);
    command.args(["--until", &until.to_string()]);
    command.args(["--window", &run.window.to_string()]);
    command.args(["--cols", &run.size.0.to_string()]);
    command.args(["--rows", &run.size.1.to_string()]);
    if run.scroll {
        command.args(["--scroll", "--find", line_text(1).trim()]);
    }
    command.stderr(std::process::Stdio::inherit());
    let output = command.output().await?;
    host.shutdown().await?;
    let _ = std::fs::remove_dir_all(&dir);
    if !output.status.success() {
        bail!("the watcher failed ({})", output.status);
    }
    let mut figures: Value = serde_json::from_slice(&output.stdout)?;
    figures["lines"] = json!(run.lines);
    figures["events"] = json!(until);
    figures["host_filled_s"] = json!((filled_s * 10.0).round() / 10.0);
    Ok(figures)
}

/// The watcher: its application state on a real connection.
struct Watcher {
    app: App,
    conn: Connection,
    term: Terminal<TestBackend>,
    /// `history` requests the host refused for the message rate.
    rate_limited: u64,
    refused: bool,
}

impl Watcher {
    fn apply(&mut self, msg: Msg) {
        let effects = self.app.update(msg, Instant::now(), SystemTime::now());
        for effect in effects {
            if let Effect::Send(message) = effect {
                let _ = self.conn.commands.send(ConnCommand::Send(message));
            }
        }
    }

    async fn next(&mut self) -> Result<()> {
        let event = tokio::time::timeout(Duration::from_secs(120), self.conn.events.recv())
            .await?
            .ok_or_else(|| eyre!("the connection task ended"))?;
        match &event {
            ConnEvent::Failed(e) => bail!("connection failed: {e}"),
            ConnEvent::Message(ServerMessage::Error { code, .. })
                if *code == ErrorCode::RateLimited =>
            {
                self.rate_limited += 1;
                self.refused = true;
            }
            _ => {}
        }
        self.apply(Msg::Conn(event));
        Ok(())
    }

    fn draw(&mut self) -> Result<()> {
        self.term
            .draw(|f| tether::tui::ui::draw(&mut self.app, f))?;
        Ok(())
    }

    fn key(&mut self, code: KeyCode) {
        self.apply(Msg::Key(KeyEvent::new(code, KeyModifiers::NONE)));
    }

    /// Waits for the answers to the `history` requests in flight.
    async fn settle(&mut self) -> Result<()> {
        while self.app.history_pending() {
            self.next().await?;
        }
        Ok(())
    }

    /// One key, the page it fetches (if any), and the frame: how long.
    /// A page the host refused for the message rate is asked again
    /// after a pause, as a held key would, and its time counts.
    async fn page(&mut self, code: KeyCode) -> Result<Duration> {
        let started = Instant::now();
        self.key(code);
        self.settle().await?;
        while std::mem::take(&mut self.refused) {
            tokio::time::sleep(Duration::from_millis(20)).await;
            self.key(code);
            self.settle().await?;
        }
        self.draw()?;
        Ok(started.elapsed())
    }

    /// The rows of the frame on screen.
    fn rows(&self) -> Vec<String> {
        let buffer = self.term.backend().buffer();
        let width = buffer.area.width as usize;
        buffer
            .content
            .chunks(width)
            .map(|row| row.iter().map(|c| c.symbol()).collect())
            .collect()
    }

    /// Whether the frame on screen shows `text`.
    fn on_screen(&self, text: &str) -> bool {
        self.rows().iter().any(|row| row.contains(text))
    }

    /// The first and last session line numbers the frame shows.
    fn lines_shown(&self) -> Option<(u64, u64)> {
        let numbers: Vec<u64> = self
            .rows()
            .iter()
            .filter_map(|row| {
                let at = row.find("line ")? + 5;
                row.get(at..at + 8)?.parse().ok()
            })
            .collect();
        Some((*numbers.iter().min()?, *numbers.iter().max()?))
    }
}

pub fn watch(args: WatchArgs) -> Result<()> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let figures = runtime.block_on(follow(args))?;
    println!("{figures}");
    Ok(())
}

async fn follow(args: WatchArgs) -> Result<Value> {
    let last_applied = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
    let mut app = App::new(true, last_applied.clone());
    app.set_window_bytes(args.window);
    app.resize(Rect::new(0, 0, args.cols, args.rows));
    let target = Target {
        url: tether::client::parse_url(&args.url)?,
        token: args.token.clone(),
        view: true,
    };
    let conn = tether::client::spawn(target, None, Resume::After(last_applied));
    let term = Terminal::new(TestBackend::new(args.cols, args.rows))?;
    let mut w = Watcher {
        app,
        conn,
        term,
        rate_limited: 0,
        refused: false,
    };
    let started = Instant::now();
    let mut drawn = Instant::now();
    while w.app.last_applied() < args.until {
        w.next().await?;
        // Frames as the event loop draws them, at most 60 a second.
        if drawn.elapsed() > Duration::from_millis(16) {
            w.draw()?;
            drawn = Instant::now();
        }
    }
    w.draw()?;
    let follow_s = started.elapsed().as_secs_f64();
    let (rss_now, peak) = rss();
    eprintln!("caught up in {follow_s:.1} s, RSS {} MB", mb(rss_now));
    let mut figures = json!({
        "follow_s": (follow_s * 10.0).round() / 10.0,
        "rss_mb": mb(rss_now),
        "peak_rss_mb": mb(peak),
        "transcript_kb": w.app.live_transcript().weight() / 1024,
        "window_kb": args.window / 1024,
    });
    w.app.focus = Focus::Transcript;
    if args.scroll {
        scroll(&mut w, &mut figures).await?;
        jumps(&mut w, &mut figures).await?;
    }
    if let Some(text) = &args.find {
        find(&mut w, text, &mut figures).await?;
    }
    figures["rate_limited"] = json!(w.rate_limited);
    figures["peak_rss_after_mb"] = json!(mb(rss().1));
    Ok(figures)
}

/// Milliseconds, to a tenth of a microsecond.
fn ms(d: Duration) -> f64 {
    (d.as_secs_f64() * 1e7).round() / 1e4
}

fn timings(samples: &mut [Duration]) -> Value {
    let (p50, p99, max) = percentiles_ms(samples);
    json!({"pages": samples.len(), "p50_ms": p50, "p99_ms": p99, "max_ms": max})
}

/// What the pages shown covered: each should join the one before.
#[derive(Default)]
struct Coverage {
    shown: Option<(u64, u64)>,
    skipped: u64,
    /// The first few places lines were jumped over.
    gaps: Vec<Value>,
}

impl Coverage {
    fn step(&mut self, now: Option<(u64, u64)>, up: bool, page: usize) {
        if let (Some((first, last)), Some((was_first, was_last))) = (now, self.shown) {
            let (from, to) = if up {
                (last, was_first)
            } else {
                (was_last, first)
            };
            let gap = to.saturating_sub(from + 1);
            if gap > 0 && self.gaps.len() < 5 {
                let way = if up { "up" } else { "down" };
                self.gaps
                    .push(json!({"way": way, "page": page, "from": from, "to": to}));
            }
            self.skipped += gap;
        }
        self.shown = now.or(self.shown);
    }
}

/// Pages up to the session's first line, then down to the live tail.
async fn scroll(w: &mut Watcher, figures: &mut Value) -> Result<()> {
    let started = Instant::now();
    let mut seen = Coverage {
        shown: w.lines_shown(),
        ..Coverage::default()
    };
    let mut up = Vec::new();
    while !w.app.at_session_start() {
        up.push(w.page(KeyCode::PageUp).await?);
        seen.step(w.lines_shown(), true, up.len());
        if up.len() > 5_000_000 {
            bail!("no start after {} pages", up.len());
        }
    }
    let reached = seen.shown.map_or(0, |(first, _)| first);
    let mut down = Vec::new();
    while w.app.reading_history() || !w.app.transcript.following() {
        down.push(w.page(KeyCode::PageDown).await?);
        seen.step(w.lines_shown(), false, down.len());
        if down.len() > 5_000_000 {
            bail!("no end after {} pages", down.len());
        }
    }
    figures["first_line_reached"] = json!(reached);
    figures["last_line_reached"] = json!(seen.shown.map_or(0, |(_, last)| last));
    figures["lines_skipped"] = json!(seen.skipped);
    figures["gaps"] = json!(seen.gaps);
    let mut both: Vec<Duration> = up.iter().chain(&down).copied().collect();
    figures["scroll_s"] = json!((started.elapsed().as_secs_f64() * 10.0).round() / 10.0);
    figures["page_up"] = timings(&mut up);
    figures["page_down"] = timings(&mut down);
    figures["page_any"] = timings(&mut both);
    figures["peak_rss_scrolling_mb"] = json!(mb(rss().1));
    Ok(())
}

/// Home (the session's first page) and End (the live tail).
async fn jumps(w: &mut Watcher, figures: &mut Value) -> Result<()> {
    let home = w.page(KeyCode::Home).await?;
    if !w.app.at_session_start() {
        bail!("Home did not reach the session's first line");
    }
    let end = w.page(KeyCode::End).await?;
    if w.app.reading_history() {
        bail!("End did not return to the live transcript");
    }
    figures["home_ms"] = json!(ms(home));
    figures["end_ms"] = json!(ms(end));
    Ok(())
}

/// From the live tail, a search for `text` (the session's first line):
/// how long until the frame shows it.
async fn find(w: &mut Watcher, text: &str, figures: &mut Value) -> Result<()> {
    let started = Instant::now();
    w.key(KeyCode::Char('/'));
    for c in text.chars() {
        w.key(KeyCode::Char(c));
    }
    w.key(KeyCode::Enter);
    w.settle().await?;
    w.draw()?;
    let took = started.elapsed();
    if !w.on_screen(text) {
        bail!("the search for {text:?} did not show it");
    }
    figures["find_first_line_ms"] = json!(ms(took));
    Ok(())
}

fn mb(bytes: u64) -> f64 {
    (bytes as f64 / 1e5).round() / 10.0
}
