//! TUI benchmarks: drawing a frame over a million-line transcript (at the
//! tail, scrolled, after a resize, and at a tail of highlighted code
//! blocks) and ingesting event frames as they come off the socket. Also
//! prints the memory the app state holds for that transcript, measured by
//! a counting allocator.
//!
//! Run: `cargo bench --bench tui`

use std::hint::black_box;
use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::time::{Instant, SystemTime};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::layout::Rect;
use tether::client::ConnEvent;
use tether::protocol::{EventKind, EventRecord, OutputStream, ServerMessage};
use tether::tui::app::{App, Msg};
use tether::tui::ui;

#[path = "support/counting.rs"]
mod counting;

#[global_allocator]
static GLOBAL: counting::Counting = counting::Counting;

const EVENTS: u64 = 100_000;
const LINES_PER_EVENT: usize = 10;

/// Event `seq`: ten lines, alternating assistant text and command output
/// (with a colour), as JSON text the way it comes off the socket. `rich`
/// events use markdown markup and non-ASCII characters, which take the
/// slower paths of the markdown renderer and the sanitiser.
fn frame(seq: u64, rich: bool) -> String {
    let mut text = String::new();
    for line in 0..LINES_PER_EVENT {
        text.push_str(&match (seq.is_multiple_of(2), rich) {
            (true, false) => format!(
                "line {line} of event {seq}: the agent explains what it does next, in words\n"
            ),
            (true, true) => format!(
                "- line {line} of **event** {seq}: the `agent` explains what it does next\n"
            ),
            (false, false) => format!(
                "\u{1b}[32mok\u{1b}[0m src/module_{line}.rs compiled in {seq} ms, 0 warnings, 0 errors\n"
            ),
            (false, true) => format!(
                "\u{1b}[32m✓\u{1b}[0m src/módulo_{line}.rs — compiled in {seq} ms → 0 warnings\n"
            ),
        });
    }
    let event = if seq.is_multiple_of(2) {
        EventKind::Assistant {
            text: text.trim_end().to_owned(),
        }
    } else {
        EventKind::Output {
            stream: OutputStream::Stdout,
            text,
        }
    };
    ServerMessage::Event(EventRecord {
        seq,
        ts: "2026-01-01T00:00:00.000Z".into(),
        event,
    })
    .to_json()
}

fn event_frames(rich: bool) -> Vec<String> {
    (1..=EVENTS).map(|seq| frame(seq, rich)).collect()
}

/// An assistant reply of ten lines: a sentence and a Rust code block
/// (highlighted when it is ingested).
fn code_frame(seq: u64) -> String {
    let text = format!(
        "Here is the handler for event {seq}:\n```rust\n/// Handles event {seq}.\n\
         fn handle_{seq}(x: u32) -> Option<u32> {{\n    let label = \"event {seq}\"; // shown\n\
         \x20   if x == 0 {{\n        return None;\n    }}\n    Some(x * {seq})\n}}\n```"
    );
    ServerMessage::Event(EventRecord {
        seq,
        ts: "2026-01-01T00:00:00.000Z".into(),
        event: EventKind::Assistant { text },
    })
    .to_json()
}

/// The plain frames with every 100th assistant reply, and all of the
/// last 20 events, replaced by one with a code block: the tail of the
/// transcript shows highlighted code.
fn code_frames() -> Vec<String> {
    (1..=EVENTS)
        .map(|seq| {
            let code = seq.is_multiple_of(2) && (seq.is_multiple_of(200) || seq > EVENTS - 20);
            if code {
                code_frame(seq)
            } else {
                frame(seq, false)
            }
        })
        .collect()
}

/// What a watcher of `viewers_vs_tmux.py` receives: 100,000 short lines
/// of a shell command, in output events of at most 48 KiB (as the host
/// cuts a flood).
fn flood_frames() -> Vec<String> {
    const MAX_EVENT: usize = 48 * 1024;
    let mut frames = Vec::new();
    let mut text = String::new();
    for line in 1..=100_000 {
        let next = format!("agent line {line}: the quick brown fox jumps over the lazy dog\n");
        if text.len() + next.len() > MAX_EVENT {
            frames.push(std::mem::take(&mut text));
        }
        text.push_str(&next);
    }
    frames.push(text);
    frames
        .into_iter()
        .enumerate()
        .map(|(at, text)| {
            ServerMessage::Event(EventRecord {
                seq: at as u64 + 1,
                ts: "2026-01-01T00:00:00.000Z".into(),
                event: EventKind::Output {
                    stream: OutputStream::Stdout,
                    text,
                },
            })
            .to_json()
        })
        .collect()
}

fn ingest(app: &mut App, frames: &[String]) {
    let (now, wall) = (Instant::now(), SystemTime::now());
    for text in frames {
        let message = tether::protocol::decode_server_message(text).expect("valid frame");
        app.update(Msg::Conn(ConnEvent::Message(message)), now, wall);
    }
}

fn loaded_app(frames: &[String]) -> App {
    let mut app = App::new(false, Arc::new(AtomicU64::new(0)));
    ingest(&mut app, frames);
    app
}

fn report_memory(frames: &[String]) {
    let raw: usize = (1..=EVENTS)
        .map(
            |seq| match serde_json::from_str::<ServerMessage>(&frames[seq as usize - 1]) {
                Ok(ServerMessage::Event(EventRecord {
                    event: EventKind::Assistant { text },
                    ..
                }))
                | Ok(ServerMessage::Event(EventRecord {
                    event: EventKind::Output { text, .. },
                    ..
                })) => text.len(),
                _ => 0,
            },
        )
        .sum();
    let before = counting::live();
    let app = loaded_app(frames);
    let held = counting::live() - before;
    let limit = 2.5 * raw as f64 + 50e6;
    eprintln!(
        "memory: app state {:.1} MB for {} lines, {:.1} MB of raw text; limit 2.5 x raw + 50 MB = {:.1} MB ({})",
        held as f64 / 1e6,
        EVENTS as usize * LINES_PER_EVENT,
        raw as f64 / 1e6,
        limit / 1e6,
        if (held as f64) < limit {
            "within"
        } else {
            "OVER"
        }
    );
    drop(app);
}

fn terminal(width: u16, height: u16) -> Terminal<TestBackend> {
    Terminal::new(TestBackend::new(width, height)).expect("test backend")
}

fn benches(c: &mut Criterion) {
    let frames = event_frames(false);
    report_memory(&frames);
    let mut app = loaded_app(&frames);

    let mut render = c.benchmark_group("render");
    let mut term = terminal(200, 50);
    render.bench_function("tail_1m_lines", |b| {
        b.iter(|| term.draw(|f| ui::draw(black_box(&mut app), f)).map(|_| ()))
    });
    app.transcript.jump_to_block(app.transcript.len() / 2);
    render.bench_function("scrolled_1m_lines", |b| {
        b.iter(|| term.draw(|f| ui::draw(black_box(&mut app), f)).map(|_| ()))
    });
    app.transcript.scroll_to_bottom();
    let mut width = 200;
    render.bench_function("resize_1m_lines", |b| {
        b.iter(|| {
            width = if width == 200 { 170 } else { 200 };
            term.resize(Rect::new(0, 0, width, 50)).expect("resize");
            term.draw(|f| ui::draw(black_box(&mut app), f)).map(|_| ())
        })
    });
    let mut coded = loaded_app(&code_frames());
    term.resize(Rect::new(0, 0, 200, 50)).expect("resize");
    let shown = term.draw(|f| ui::draw(&mut coded, f)).expect("draw");
    let screen: String = shown.buffer.content.iter().map(|c| c.symbol()).collect();
    assert!(screen.contains("fn handle_"), "code on screen");
    render.bench_function("tail_1m_lines_highlighted_code", |b| {
        b.iter(|| {
            term.draw(|f| ui::draw(black_box(&mut coded), f))
                .map(|_| ())
        })
    });
    render.finish();

    let mut group = c.benchmark_group("ingest");
    group.throughput(Throughput::Elements(EVENTS));
    group.sample_size(10);
    let rich = event_frames(true);
    for (name, frames) in [("100k_events", &frames), ("100k_rich_events", &rich)] {
        group.bench_function(name, |b| {
            b.iter_with_large_drop(|| {
                let mut app = App::new(false, Arc::new(AtomicU64::new(0)));
                ingest(&mut app, black_box(frames));
                app
            })
        });
    }
    let flood = flood_frames();
    group.throughput(Throughput::Bytes(
        flood.iter().map(|f| f.len() as u64).sum(),
    ));
    group.bench_function("flood_100k_shell_lines", |b| {
        b.iter_with_large_drop(|| {
            let mut app = App::new(false, Arc::new(AtomicU64::new(0)));
            ingest(&mut app, black_box(&flood));
            app
        })
    });
    group.finish();
}

criterion_group!(tui, benches);
criterion_main!(tui);
