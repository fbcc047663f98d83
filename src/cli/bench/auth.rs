//! `tether bench auth`: a host whose auth file holds many tokens: how long
//! it takes to start, to reload the file after one token is revoked, and
//! how long a connection made during that reload waits.

use std::time::{Duration, Instant};

use clap::Args;
use color_eyre::eyre::{Result, eyre};
use serde_json::json;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

use tether::host::Host;
use tether::host::auth::{AuthFile, TokenEntry, fresh_token, save};
use tether::protocol::Grant;

#[derive(Debug, Args)]
pub struct AuthArgs {
    /// Tokens in the auth file.
    #[arg(long, default_value_t = 100_000)]
    tokens: usize,
}

fn entry(n: usize) -> TokenEntry {
    TokenEntry {
        name: format!("user{n}"),
        token: fresh_token(),
        grants: vec![if n.is_multiple_of(2) {
            Grant::Control
        } else {
            Grant::View
        }],
        sessions: Vec::new(),
        expires: None,
    }
}

pub fn run(args: AuthArgs) -> Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(measure(args.tokens))
}

async fn measure(count: usize) -> Result<()> {
    let (dir, config) = super::scratch_host("auth")?;
    let file = AuthFile::new((0..count.max(2)).map(entry).collect());
    save(&config.auth_path, &file)?;
    let started = Instant::now();
    let host = Host::start(config).await?;
    let start_ms = ms(started.elapsed());
    let kept = file.tokens[count / 2].token.clone();
    let connect_ms = connect(&host, &kept).await?;
    // Revoke the first token, then reload while connections keep coming.
    save(host.auth_path(), &AuthFile::new(file.tokens[1..].to_vec()))?;
    let url = host.url();
    let prober = tokio::spawn(async move {
        let mut slowest = Duration::ZERO;
        for _ in 0..50 {
            let at = Instant::now();
            if probe(&url, &kept).await.is_err() {
                break;
            }
            slowest = slowest.max(at.elapsed());
        }
        slowest
    });
    let reloading = Instant::now();
    let changes = host.reload_auth().await?;
    let reload_ms = ms(reloading.elapsed());
    let slowest = prober.await?;
    let line = json!({
        "tokens": count,
        "cores": std::thread::available_parallelism().map_or(1, |n| n.get()),
        "start_ms": start_ms,
        "connect_ms": connect_ms,
        "reload_ms": reload_ms,
        "removed": changes.removed.len(),
        "slowest_connect_during_reload_ms": ms(slowest),
    });
    println!("{line}");
    host.shutdown().await?;
    let _ = std::fs::remove_dir_all(dir);
    Ok(())
}

async fn connect(host: &Host, token: &str) -> Result<f64> {
    let at = Instant::now();
    probe(&host.url(), token).await?;
    Ok(ms(at.elapsed()))
}

/// One WebSocket connection as a viewer with `token`, closed at once.
async fn probe(url: &str, token: &str) -> Result<()> {
    let mut request = format!("{url}?since=live&mode=view").into_client_request()?;
    request.headers_mut().insert(
        "authorization",
        format!("Bearer {token}")
            .parse()
            .map_err(|e| eyre!("{e}"))?,
    );
    let (mut socket, _) = tokio_tungstenite::connect_async(request).await?;
    let _ = socket.close(None).await;
    Ok(())
}

fn ms(duration: Duration) -> f64 {
    (duration.as_secs_f64() * 1e5).round() / 100.0
}
