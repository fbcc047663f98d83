//! `tether bench`: load generators that print their figures as JSON.

mod auth;
mod deck_memory;
mod fanout;
mod fanout_nats;
mod followers;
mod handshake;
mod large_journal;
mod lobby;
mod lobby_viewers;
mod resume;
mod watcher;

use std::process::ExitCode;

use clap::{Args, Subcommand};

#[derive(Debug, Args)]
pub struct BenchArgs {
    #[command(subcommand)]
    which: Which,
}

#[derive(Debug, Subcommand)]
enum Which {
    /// Many followers on one session: throughput, latency, memory, and the
    /// same load through a bare tokio-tungstenite broadcast for comparison.
    Fanout(fanout::FanoutArgs),
    /// Time from connecting with since=0 to caught_up, from memory and
    /// from the journal; or a restart on a large journal (--journal-bytes).
    Resume(resume::ResumeArgs),
    /// Many busy sessions, many lobby subscribers: time from a new
    /// permission request to every subscriber seeing it, host memory and
    /// CPU time.
    Lobby(lobby::LobbyArgs),
    /// An auth file of many tokens: start, reload after a revocation, and
    /// a connection's wait during that reload.
    Auth(auth::AuthArgs),
    /// Connecting, one connection after another, until the `ready`
    /// message: through TLS (a self-signed certificate, pinned) and plain
    /// ws:// in the same run.
    Handshake(handshake::HandshakeArgs),
    /// A watcher's memory as the session grows (10k to 10M lines), and
    /// paging back to line 1 and down again through `history` pages.
    Watcher(watcher::WatcherArgs),
    /// The deck's memory with many long sessions (100 x 100k events),
    /// with and without a host that serves `history`.
    Deck(deck_memory::DeckArgs),
    /// The watcher side of `watcher`, run as a child process.
    #[command(hide = true)]
    Watch(watcher::WatchArgs),
    /// The subscriber side of `lobby`, run as a child process.
    #[command(hide = true)]
    LobbyViewers(lobby_viewers::LobbyViewersArgs),
    /// The follower side of `fanout`, run as a child process.
    #[command(hide = true)]
    Followers(followers::FollowersArgs),
    /// The restart side of `resume --journal-bytes`, run as a child process.
    #[command(hide = true)]
    Restart(large_journal::RestartArgs),
}

pub fn run(args: BenchArgs) -> ExitCode {
    let result = match args.which {
        Which::Fanout(args) => fanout::run(args),
        Which::Resume(args) => resume::run(args),
        Which::Lobby(args) => lobby::run(args),
        Which::Auth(args) => auth::run(args),
        Which::Handshake(args) => handshake::run(args),
        Which::Watcher(args) => watcher::run(args),
        Which::Watch(args) => watcher::watch(args),
        Which::Deck(args) => deck_memory::run(args),
        Which::LobbyViewers(args) => lobby_viewers::run(args),
        Which::Followers(args) => followers::run(args),
        Which::Restart(args) => large_journal::restart(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => super::Failure::from(e).exit(),
    }
}

/// A fresh scratch directory and a loopback shell host configured to
/// keep its auth file and working directory there (the caller removes it).
pub fn scratch_host(
    kind: &str,
) -> color_eyre::eyre::Result<(std::path::PathBuf, tether::host::HostConfig)> {
    let dir = std::env::temp_dir().join(format!(
        "tether-{kind}-{}-{:08x}",
        std::process::id(),
        rand::random::<u32>()
    ));
    std::fs::create_dir_all(&dir)?;
    let mut config = tether::host::HostConfig::new(tether::host::agent::AgentSpec::Shell);
    config.listen = "127.0.0.1:0".parse()?;
    config.auth_path = dir.join("auth.json");
    config.session().cwd = dir.clone();
    Ok((dir, config))
}

/// A self-signed certificate for 127.0.0.1 and localhost in `dir` (made
/// as `serve --tls-self-signed` makes one, the key 0600), for a bench
/// host's TLS: the certificate's file, the key's, and the certificate's
/// fingerprint.
pub fn self_signed_in(
    dir: &std::path::Path,
) -> color_eyre::eyre::Result<(std::path::PathBuf, std::path::PathBuf, String)> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let names = vec!["127.0.0.1".to_owned(), "localhost".to_owned()];
    let made = rcgen::generate_simple_self_signed(names)?;
    let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
    std::fs::write(&cert, made.cert.pem())?;
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&key)?
        .write_all(made.signing_key.serialize_pem().as_bytes())?;
    let fingerprint = tether::client::pinning::fingerprint(made.cert.der());
    Ok((cert, key, fingerprint))
}

/// The 50th and 99th percentiles and the maximum of `samples`, in ms.
pub fn percentiles_ms(samples: &mut [std::time::Duration]) -> (f64, f64, f64) {
    samples.sort_unstable();
    let pick = |q: f64| {
        let at = ((samples.len() as f64 - 1.0) * q).round() as usize;
        samples.get(at).map_or(0.0, |d| d.as_secs_f64() * 1000.0)
    };
    (pick(0.50), pick(0.99), pick(1.0))
}

/// Nanoseconds on the system-wide monotonic clock (comparable between
/// processes on one machine, unlike `Instant`).
pub fn mono_ns() -> u64 {
    use nix::time::{ClockId, clock_gettime};
    let t = clock_gettime(ClockId::CLOCK_MONOTONIC).expect("the monotonic clock exists");
    t.tv_sec() as u64 * 1_000_000_000 + t.tv_nsec() as u64
}

/// The process's CPU time (user and system), in nanoseconds.
pub fn process_cpu_ns() -> u64 {
    let usage = nix::sys::resource::getrusage(nix::sys::resource::UsageWho::RUSAGE_SELF)
        .expect("getrusage works");
    let ns =
        |t: nix::sys::time::TimeVal| t.tv_sec() as u64 * 1_000_000_000 + t.tv_usec() as u64 * 1000;
    ns(usage.user_time()) + ns(usage.system_time())
}

/// Resident set size and its peak, from /proc/self/status.
pub fn rss() -> (u64, u64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.split_whitespace().next()?.parse::<u64>().ok())
            .map_or(0, |kib| kib * 1024)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

/// The text of bench event number `n`: a send timestamp, padded to `bytes`.
pub fn payload(bytes: usize) -> String {
    let mut text = format!("t={:020};", mono_ns());
    while text.len() < bytes {
        text.push('x');
    }
    text
}

/// Reads `"seq":N` and the `t=` timestamp from an event frame without a
/// full JSON parse (the followers must not be the bottleneck).
pub fn scan_frame(frame: &str) -> Option<(u64, u64)> {
    let seq_at = frame.find("\"seq\":")? + 6;
    let digits = frame[seq_at..]
        .bytes()
        .take_while(u8::is_ascii_digit)
        .count();
    let seq = frame[seq_at..seq_at + digits].parse().ok()?;
    let t_at = frame.find("t=")? + 2;
    let sent = frame.get(t_at..t_at + 20)?.parse().ok()?;
    Some((seq, sent))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_are_scanned_for_seq_and_send_time() {
        let text = payload(200);
        assert_eq!(text.len(), 200);
        let frame = format!(
            r#"{{"type":"event","seq":42,"ts":"x","event":{{"kind":"output","stream":"stdout","text":"{text}"}}}}"#
        );
        let (seq, sent) = scan_frame(&frame).unwrap();
        assert_eq!(seq, 42);
        assert!(sent > 0 && sent <= mono_ns());
    }
}
