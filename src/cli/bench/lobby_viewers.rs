//! The subscriber side of `tether bench lobby`: N lobby WebSocket clients
//! in one process (so the host's memory and CPU are measured without
//! them) that note when each first sees each bench permission request.
//!
//! A bench request id is `PREFIX-N-T`: sample N, raised at T on the
//! system-wide monotonic clock (see [`super::mono_ns`]), so the time to
//! seeing it needs no message back to the driver.

use std::collections::HashSet;
use std::io::{BufRead, Write};

use clap::Args;
use color_eyre::eyre::{Result, eyre};
use futures_util::StreamExt;
use serde::{Deserialize, Serialize};
use tokio::sync::watch;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

use super::mono_ns;

#[derive(Debug, Args)]
pub struct LobbyViewersArgs {
    /// `ws://ADDR/v1/lobby`.
    #[arg(long)]
    url: String,
    #[arg(long)]
    token: String,
    #[arg(long)]
    count: usize,
    /// Request ids of this run start with `PREFIX-`.
    #[arg(long)]
    prefix: String,
}

/// What the viewer process reports on its last stdout line.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct ViewersReport {
    /// Distinct (viewer, request) pairs seen.
    pub seen: u64,
    /// Time from raising a request to a viewer first seeing it, in
    /// microseconds, one per pair seen, sorted.
    pub latencies_us: Vec<u64>,
    /// Lobby messages and their bytes, all viewers together.
    pub messages: u64,
    pub bytes: u64,
    /// `sessions` snapshots after the first one (a viewer fell behind).
    pub resyncs: u64,
    pub closed_early: u64,
    /// Seconds from connecting to being told to stop.
    pub seconds: f64,
}

/// One viewer's findings.
#[derive(Default)]
struct One {
    seen: HashSet<u64>,
    latencies_us: Vec<u64>,
    messages: u64,
    bytes: u64,
    snapshots: u64,
    closed_early: bool,
}

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// Connects, says `ready`, reads until stdin closes, prints the report.
pub fn run(args: LobbyViewersArgs) -> Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        let mut sockets = Vec::with_capacity(args.count);
        for _ in 0..args.count {
            let mut request = args.url.as_str().into_client_request()?;
            let bearer = format!("Bearer {}", args.token);
            request
                .headers_mut()
                .insert("Authorization", bearer.parse()?);
            sockets.push(tokio_tungstenite::connect_async(request).await?.0);
        }
        let (stop, stopped) = watch::channel(false);
        let needle = format!("\"request_id\":\"{}-", args.prefix);
        let tasks: Vec<_> = sockets
            .into_iter()
            .map(|socket| tokio::spawn(watch_lobby(socket, needle.clone(), stopped.clone())))
            .collect();
        println!("ready");
        std::io::stdout().flush()?;
        let started = std::time::Instant::now();
        // The driver closes our stdin when it is done raising requests.
        tokio::task::spawn_blocking(|| for _ in std::io::stdin().lock().lines() {}).await?;
        let _ = stop.send(true);
        let mut ones = Vec::with_capacity(tasks.len());
        for task in tasks {
            ones.push(task.await.map_err(|e| eyre!("viewer task failed: {e}"))?);
        }
        let mut report = summarize(ones);
        report.seconds = started.elapsed().as_secs_f64();
        println!("{}", serde_json::to_string(&report)?);
        Ok(())
    })
}

/// Reads one lobby connection until told to stop (or it closes).
async fn watch_lobby(
    mut socket: Socket,
    needle: String,
    mut stopped: watch::Receiver<bool>,
) -> One {
    let mut one = One::default();
    loop {
        let frame = tokio::select! {
            _ = stopped.changed() => break,
            frame = socket.next() => frame,
        };
        let text = match frame {
            Some(Ok(Message::Text(text))) => text,
            Some(Ok(Message::Close(_)) | Err(_)) | None => {
                one.closed_early = true;
                return one;
            }
            Some(Ok(_)) => continue,
        };
        let now = mono_ns();
        one.messages += 1;
        one.bytes += text.len() as u64;
        if text.starts_with(r#"{"type":"sessions""#) {
            one.snapshots += 1;
        }
        for (sample, raised) in bench_requests(text.as_str(), &needle) {
            if one.seen.insert(sample) {
                one.latencies_us.push(now.saturating_sub(raised) / 1000);
            }
        }
    }
    let _ = socket.close(None).await;
    one
}

/// The (sample, raised at) of every bench request id in a lobby frame.
/// Ids appear only in `pending_requests`, so a mention means pending.
fn bench_requests<'a>(frame: &'a str, needle: &'a str) -> impl Iterator<Item = (u64, u64)> + 'a {
    frame.match_indices(needle).filter_map(move |(at, _)| {
        let rest = &frame[at + needle.len()..];
        let id = &rest[..rest.find('"')?];
        let (sample, raised) = id.split_once('-')?;
        Some((sample.parse().ok()?, raised.parse().ok()?))
    })
}

fn summarize(ones: Vec<One>) -> ViewersReport {
    let mut report = ViewersReport::default();
    for one in ones {
        report.seen += one.seen.len() as u64;
        report.latencies_us.extend(one.latencies_us);
        report.messages += one.messages;
        report.bytes += one.bytes;
        report.resyncs += one.snapshots.saturating_sub(1);
        report.closed_early += u64::from(one.closed_early);
    }
    report.latencies_us.sort_unstable();
    report
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bench_request_ids_are_found_in_a_summary() {
        let frame = r#"{"type":"session","session":{"pending_requests":[{"request_id":"b7-3-1200","tool":"Bash"},{"request_id":"other","tool":"x"},{"request_id":"b7-4-1300"}]}}"#;
        let found: Vec<_> = bench_requests(frame, "\"request_id\":\"b7-").collect();
        assert_eq!(found, [(3, 1200), (4, 1300)]);
    }
}
