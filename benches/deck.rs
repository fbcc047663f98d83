//! The deck with many sessions: switching between 100 sessions of 10,000
//! events each (a key and the frame it draws), and the memory the whole
//! deck holds once every session has been opened (the worst case: a
//! session's history is only fetched when it is first shown).
//!
//! Run: `cargo bench --bench deck`

use std::hint::black_box;
use std::time::{Instant, SystemTime};

use criterion::{Criterion, criterion_group, criterion_main};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use tether::client::ConnEvent;
use tether::protocol::ServerMessage;
use tether::tui::app::Msg;
use tether::tui::deck::hosts::HostView;
use tether::tui::deck::sample;
use tether::tui::deck::{Deck, DeckMsg, SessionKey};
use tether::tui::ui;

#[path = "support/counting.rs"]
mod counting;

#[global_allocator]
static GLOBAL: counting::Counting = counting::Counting;

const SESSIONS: usize = 100;
const EVENTS: u64 = 10_000;

/// A deck of `SESSIONS` sessions on one host, each with `EVENTS` events.
fn loaded_deck() -> Deck {
    let url = url::Url::parse("ws://127.0.0.1:7878/").expect("url");
    let host = HostView::new("bench".into(), url, "t".into());
    let mut deck = Deck::new(vec![host], false);
    let frames: Vec<ServerMessage> = (1..=EVENTS).map(sample::event).collect();
    let (now, wall) = (Instant::now(), SystemTime::now());
    for n in 0..SESSIONS {
        let tab = deck.tab_for(SessionKey {
            host: 0,
            id: format!("session-{n:03}"),
        });
        deck.tabs[tab].opened = true;
        for message in &frames {
            let event = ConnEvent::Message(message.clone());
            deck.update(DeckMsg::Conn { tab, event }, now, wall);
        }
    }
    deck
}

fn benches(c: &mut Criterion) {
    let before = counting::live();
    let started = Instant::now();
    let mut deck = loaded_deck();
    let held = counting::live() - before;
    eprintln!(
        "memory: the deck holds {:.1} MB for {SESSIONS} sessions x {EVENTS} events \
         (loaded in {:.1} s)",
        held as f64 / 1e6,
        started.elapsed().as_secs_f64()
    );
    let mut term = Terminal::new(TestBackend::new(200, 50)).expect("test backend");
    let next = KeyEvent::new(KeyCode::Down, KeyModifiers::ALT);
    let mut group = c.benchmark_group("deck");
    group.bench_function("switch_100_sessions_of_10k_events", |b| {
        b.iter(|| {
            let (now, wall) = (Instant::now(), SystemTime::now());
            deck.update(DeckMsg::Ui(Msg::Key(next)), now, wall);
            term.draw(|f| ui::deck::draw(black_box(&mut deck), f))
                .map(|_| ())
        })
    });
    group.finish();
}

criterion_group!(deck_benches, benches);
criterion_main!(deck_benches);
