//! The load benches, run tiny through the real binary: they start, see
//! everything they send, and stop by themselves.

use std::time::{Duration, Instant};

/// Runs `tether bench ARGS` and returns the figures it prints last.
fn bench(args: &str) -> serde_json::Value {
    let dir = tempfile::tempdir().unwrap();
    let started = Instant::now();
    let output = crate::common::tether(dir.path())
        .arg("bench")
        .args(args.split_whitespace())
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        started.elapsed() < Duration::from_secs(60),
        "it stops by itself"
    );
    let stdout = String::from_utf8(output.stdout).unwrap();
    let last = stdout.lines().last().unwrap_or_default();
    serde_json::from_str(last.trim()).unwrap()
}

#[test]
fn the_lobby_bench_runs_tiny_and_reports_every_request_seen() {
    let figures = bench("lobby --sessions 3 --viewers 2 --duration 2 --rate 20 --requests 5");
    let samples = figures["samples"].as_u64().unwrap();
    assert!(samples >= 5, "{figures}");
    assert_eq!(figures["seen"].as_u64(), Some(samples * 2), "{figures}");
    assert_eq!(figures["missing"], 0, "{figures}");
    assert_eq!(figures["closed_early"], 0, "{figures}");
    assert!(figures["events_per_s"].as_f64().unwrap() > 0.0, "{figures}");
    assert!(figures["p99_ms"].as_f64().unwrap() > 0.0, "{figures}");
    assert!(figures["rss_bytes"].as_u64().unwrap() > 0, "{figures}");
    assert!(
        figures["cpu_s_per_min"].as_f64().unwrap() > 0.0,
        "{figures}"
    );
}

/// More followers than one token may connect by default (256): the bench
/// makes room for them (slots::tests check the arithmetic up to 5,000).
#[test]
fn the_fanout_bench_makes_room_for_more_followers_than_one_token_may_have() {
    let figures = bench("fanout --followers 300 --events 20 --bytes 50");
    assert_eq!(figures["missing"], 0, "{figures}");
    assert_eq!(figures["duplicated"], 0, "{figures}");
}

/// `--tls`: the followers connect over `wss://` (trusting the bench's
/// self-signed certificate) and the same load goes over plain `ws://` in
/// the same run, for the ratio.
#[test]
fn the_fanout_bench_runs_through_tls_and_plain_in_one_run() {
    let figures = bench("fanout --followers 5 --events 50 --bytes 50 --tls");
    assert_eq!(figures["tls"], true, "{figures}");
    assert_eq!(figures["missing"], 0, "{figures}");
    assert_eq!(figures["plain_missing"], 0, "{figures}");
    assert!(
        figures["ratio_tls_vs_plain"].as_f64().unwrap() > 0.0,
        "{figures}"
    );
}

#[test]
fn the_handshake_bench_reports_tls_and_plain_percentiles() {
    let figures = bench("handshake --connections 5");
    for figure in ["tls_p50_ms", "tls_p99_ms", "plain_p50_ms", "plain_p99_ms"] {
        assert!(
            figures[figure].as_f64().unwrap() > 0.0,
            "{figure}: {figures}"
        );
    }
}
