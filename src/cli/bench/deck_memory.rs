//! `tether bench deck` (issue 25): the memory the deck holds with many
//! long sessions, every one opened (the worst case: a session's events
//! are fetched only when it is first shown). The events go straight into
//! the deck's state, as its connections would hand them over; the host's
//! `ready` says whether it serves `history` (then each transcript keeps
//! its window, the session on screen the whole window and the others an
//! eighth) or not (an older host: everything is kept).

use std::time::{Instant, SystemTime};

use clap::Args;
use color_eyre::eyre::Result;
use serde_json::json;

use super::rss;
use tether::client::ConnEvent;
use tether::protocol::{FEATURE_HISTORY, Grant, Mode, You};
use tether::tui::deck::hosts::HostView;
use tether::tui::deck::sample;
use tether::tui::deck::{Deck, DeckMsg, SessionKey};

#[derive(Debug, Args)]
pub struct DeckArgs {
    #[arg(long, default_value_t = 100)]
    sessions: usize,
    /// Events per session (k and M suffixes).
    #[arg(long, default_value = "100k", value_parser = super::watcher::parse_count)]
    events: u64,
    /// The session on screen's transcript window (the others keep an
    /// eighth); K, M, G suffixes.
    #[arg(long, default_value = "4M", value_parser = crate::cli::serve::parse_size)]
    window: usize,
    /// A host without `history`: the deck keeps every event.
    #[arg(long)]
    old_host: bool,
}

pub fn run(args: DeckArgs) -> Result<()> {
    let url = url::Url::parse("ws://127.0.0.1:7878/")?;
    let host = HostView::new("bench".into(), url, "t".into());
    let mut deck = Deck::new(vec![host], true);
    deck.window_bytes = args.window;
    let started = Instant::now();
    let (now, wall) = (Instant::now(), SystemTime::now());
    for n in 0..args.sessions {
        let id = format!("session-{n:03}");
        let tab = deck.tab_for(SessionKey {
            host: 0,
            id: id.clone(),
        });
        deck.tabs[tab].opened = true;
        let you = You {
            participant: "p1".into(),
            identity: "bench".into(),
            grants: vec![Grant::View],
            mode: Mode::View,
        };
        let features = match args.old_host {
            true => Vec::new(),
            false => vec![FEATURE_HISTORY.into()],
        };
        let messages = [ConnEvent::Connected]
            .into_iter()
            .chain([ConnEvent::Message(sample::ready(&id, &id, you, features))])
            .chain((1..=args.events).map(|seq| ConnEvent::Message(sample::event(seq))));
        for event in messages {
            deck.update(DeckMsg::Conn { tab, event }, now, wall);
        }
    }
    let (rss_now, peak) = rss();
    let held: usize = deck
        .tabs
        .iter()
        .map(|t| t.app.live_transcript().weight())
        .sum();
    let figures = json!({
        "sessions": args.sessions,
        "events_per_session": args.events,
        "history_served": !args.old_host,
        "load_s": (started.elapsed().as_secs_f64() * 10.0).round() / 10.0,
        "rss_mb": (rss_now as f64 / 1e5).round() / 10.0,
        "peak_rss_mb": (peak as f64 / 1e5).round() / 10.0,
        "transcripts_mb": (held as f64 / 1e5).round() / 10.0,
    });
    println!("{figures}");
    Ok(())
}
