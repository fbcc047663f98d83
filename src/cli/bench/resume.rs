//! `tether bench resume`: how long a client connecting with `since=0`
//! waits for `caught_up` over a long history, served from memory and from
//! the journal; with `--journal-bytes`, how long a host takes to restart
//! on a journal that large and how much memory it needs.

use std::time::{Duration, Instant};

use clap::Args;
use color_eyre::eyre::{Result, bail, eyre};
use futures_util::StreamExt;
use serde_json::json;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

use super::payload;
use tether::host::Host;
use tether::protocol::{EventKind, OutputStream};

#[derive(Debug, Args)]
pub struct ResumeArgs {
    /// Events in the history.
    #[arg(long, default_value_t = 100_000)]
    events: u64,
    /// Bytes of text per event.
    #[arg(long, default_value_t = 200)]
    bytes: usize,
    /// Instead: write a journal of this size (K, M, G suffixes) and time a
    /// restart on it, with its peak memory.
    #[arg(long, value_name = "BYTES", value_parser = crate::cli::serve::parse_size)]
    journal_bytes: Option<usize>,
    /// The restarted host's in-memory history budget (with --journal-bytes).
    #[arg(long, default_value = "64M", value_name = "BYTES", value_parser = crate::cli::serve::parse_size)]
    history_bytes: usize,
    /// `nats`: the new viewer catches up through a NATS broker (a
    /// nats-server started for the run) rather than a WebSocket.
    #[arg(long, value_name = "nats")]
    via: Option<super::fanout::Via>,
}

pub fn run(args: ResumeArgs) -> Result<()> {
    if let Some(journal_bytes) = args.journal_bytes {
        return super::large_journal::run(journal_bytes as u64, args.history_bytes);
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let broker = match args.via {
        Some(_) => Some(super::fanout_nats::own_broker()?),
        None => None,
    };
    let broker = broker.as_ref().map(|(_, url)| url.as_str());
    let (memory_ms, received_memory) = runtime.block_on(measure(&args, false, broker))?;
    let (journal_ms, received_journal) = runtime.block_on(measure(&args, true, broker))?;
    let line = json!({
        "via_nats": broker.is_some(),
        "events": args.events,
        "bytes": args.bytes,
        "cores": std::thread::available_parallelism().map_or(1, |n| n.get()),
        "memory_ms": memory_ms,
        "journal_ms": journal_ms,
        "replayed_memory": received_memory,
        "replayed_journal": received_journal,
    });
    println!("{line}");
    Ok(())
}

/// Fills a host with the history, then times one full replay.
async fn measure(
    args: &ResumeArgs,
    from_journal: bool,
    broker: Option<&str>,
) -> Result<(f64, u64)> {
    let (dir, mut config) = super::scratch_host("resume")?;
    if let Some(broker) = broker {
        config.relay = Some(super::fanout_nats::relay_config(broker)?);
    }
    if from_journal {
        // Keep almost nothing in memory: the replay must come from disk.
        config.journal_dir = Some(dir.join("journal"));
        config.retain = 1000;
    } else {
        config.retain = (args.events as usize + 1000).max(100_000);
    }
    let host = Host::start(config).await?;
    for _ in 0..args.events {
        let text = payload(args.bytes);
        host.inject(EventKind::Output {
            stream: OutputStream::Stdout,
            text,
        })
        .await?;
    }
    let last = host.summary().await?.last_seq;
    let token = host.view_token().ok_or_else(|| eyre!("no view token"))?;
    let (elapsed, events) = match broker {
        Some(broker) => {
            let waited = super::fanout_nats::stream_filled(broker, last).await?;
            eprintln!(
                "the broker's stream held every event {waited:.0} ms after the last was made"
            );
            super::fanout_nats::catch_up(broker, &token).await?
        }
        None => catch_up(&host.url(), &token).await?,
    };
    if events != last {
        bail!("replayed {events} events of {last}");
    }
    host.shutdown().await?;
    let _ = std::fs::remove_dir_all(&dir);
    Ok(((elapsed * 10.0).round() / 10.0, events))
}

/// A new viewer over a WebSocket, from the start: milliseconds until
/// `caught_up`, and the events it got.
async fn catch_up(url: &str, token: &str) -> Result<(f64, u64)> {
    let mut request = format!("{url}?since=0&mode=view").into_client_request()?;
    request
        .headers_mut()
        .insert("Authorization", format!("Bearer {token}").parse()?);
    let started = Instant::now();
    let (mut socket, _) = tokio_tungstenite::connect_async(request).await?;
    let mut events = 0u64;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(120);
    loop {
        match tokio::time::timeout_at(deadline, socket.next()).await {
            Ok(Some(Ok(Message::Text(text)))) => {
                if text.starts_with(r#"{"type":"event""#) {
                    events += 1;
                } else if text.starts_with(r#"{"type":"caught_up""#) {
                    break;
                }
            }
            Ok(Some(Ok(_))) => {}
            other => bail!("the replay did not finish: {other:?}"),
        }
    }
    Ok((started.elapsed().as_secs_f64() * 1000.0, events))
}
