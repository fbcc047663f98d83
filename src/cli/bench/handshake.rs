//! `tether bench handshake`: how long a client waits from opening a
//! connection to the host's `ready` message (TCP, the TLS handshake, the
//! HTTP upgrade, authentication, the greeting), one connection after
//! another on loopback, with the real client code (`connect_once`, the
//! certificate trusted by its pinned fingerprint, as `--fingerprint`
//! does). The same host configuration is measured with TLS and with plain
//! `ws://` in the same run, alternating, so both see the same machine.

use std::time::{Duration, Instant};

use clap::Args;
use color_eyre::eyre::{Result, bail, eyre};
use futures_util::StreamExt;
use serde_json::json;
use tokio_tungstenite::tungstenite::Message;

use super::{percentiles_ms, scratch_host, self_signed_in};
use tether::client::{Since, Target};
use tether::host::Host;

#[derive(Debug, Args)]
pub struct HandshakeArgs {
    /// Connections measured per kind (TLS and plain).
    #[arg(long, default_value_t = 1000)]
    connections: usize,
}

pub fn run(args: HandshakeArgs) -> Result<()> {
    if args.connections == 0 {
        bail!("--connections must be at least 1");
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(measure(args.connections))
}

async fn measure(connections: usize) -> Result<()> {
    let (plain_dir, plain_config) = scratch_host("handshake-plain")?;
    let (tls_dir, mut tls_config) = scratch_host("handshake-tls")?;
    let (cert, key, fingerprint) = self_signed_in(&tls_dir)?;
    tls_config.tls = Some((cert, key));
    let plain = Host::start(plain_config).await?;
    let secure = Host::start(tls_config).await?;
    tether::client::pinning::pin(&secure.addr().to_string(), &fingerprint).map_err(|e| eyre!(e))?;
    let targets = [target(&plain)?, target(&secure)?];
    // Warm up both (the first connection of a process pays for lazy
    // set-up), then alternate, one at a time.
    for target in &targets {
        until_ready(target).await?;
    }
    let mut times = [Vec::new(), Vec::new()];
    for _ in 0..connections {
        for (target, times) in targets.iter().zip(times.iter_mut()) {
            times.push(until_ready(target).await?);
        }
    }
    let [mut plain_times, mut tls_times] = times;
    let (p50, p99, max) = percentiles_ms(&mut tls_times);
    let (plain_p50, plain_p99, plain_max) = percentiles_ms(&mut plain_times);
    println!(
        "{}",
        json!({
            "connections": connections,
            "cores": std::thread::available_parallelism().map_or(1, |n| n.get()),
            "tls_p50_ms": round(p50),
            "tls_p99_ms": round(p99),
            "tls_max_ms": round(max),
            "plain_p50_ms": round(plain_p50),
            "plain_p99_ms": round(plain_p99),
            "plain_max_ms": round(plain_max),
        })
    );
    plain.shutdown().await?;
    secure.shutdown().await?;
    let _ = std::fs::remove_dir_all(&plain_dir);
    let _ = std::fs::remove_dir_all(&tls_dir);
    Ok(())
}

fn round(ms: f64) -> f64 {
    (ms * 1000.0).round() / 1000.0
}

/// A watcher of the host's session (never its owner: a thousand owners
/// coming and going would be another benchmark).
fn target(host: &Host) -> Result<Target> {
    Ok(Target {
        url: tether::client::parse_url(&host.url())?,
        token: host.view_token().ok_or_else(|| eyre!("no view token"))?,
        view: true,
    })
}

/// Connects, reads until the `ready` message, closes; the time to `ready`.
async fn until_ready(target: &Target) -> Result<Duration> {
    let started = Instant::now();
    let mut socket = tether::client::connect_once(target, Since::Live).await?;
    loop {
        match socket.next().await {
            Some(Ok(Message::Text(text))) if text.contains("\"type\":\"ready\"") => break,
            Some(Ok(_)) => {}
            Some(Err(e)) => bail!("before ready: {e}"),
            None => bail!("closed before ready"),
        }
    }
    let took = started.elapsed();
    let _ = futures_util::SinkExt::close(&mut socket).await;
    Ok(took)
}
