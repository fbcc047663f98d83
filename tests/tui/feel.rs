//! Interactive feel, measured on the real binary in a pseudo-terminal:
//! CPU used while idle, and key-to-screen latency while 1,000 events a
//! second stream in. Prints its figures; run it explicitly:
//!
//! cargo test --release --test tui -- --ignored interactive_feel --nocapture

use std::time::{Duration, Instant};

use tether::protocol::{EventKind, OutputStream};

use crate::support::TuiTest;

/// CPU seconds (user + system) a process has used, from /proc.
fn cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let fields: Vec<&str> = stat
        .rsplit(')')
        .next()
        .unwrap()
        .split_whitespace()
        .collect();
    // After the command: state is field 3, utime 14, stime 15 (1-based).
    let ticks: u64 = fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap();
    // /proc reports in USER_HZ, which Linux fixes at 100 for user space.
    ticks as f64 / 100.0
}

fn input_row(screen: &vt100::Screen) -> String {
    // The input box's text row is the third from the bottom.
    let (rows, cols) = screen.size();
    screen.contents_between(rows - 3, 0, rows - 3, cols)
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "a measurement, not a check: run explicitly with --ignored"]
async fn interactive_feel() {
    let test = TuiTest::new().start().await;
    let tui = test.open(|_| {}).await;
    // The host streams from a task of its own; the directory stays.
    let host = std::sync::Arc::new(test.host);
    let _dir = test.dir;

    // Idle: nothing happens for 10 s.
    let pid = tui.pid().unwrap();
    tokio::time::sleep(Duration::from_secs(1)).await;
    let before = cpu_seconds(pid);
    tokio::time::sleep(Duration::from_secs(10)).await;
    let idle = (cpu_seconds(pid) - before) / 10.0 * 100.0;

    // Streaming: 1,000 output events a second while keys are typed.
    let streamer = {
        let host = host.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_millis(10));
            let mut n = 0u64;
            loop {
                tick.tick().await;
                for _ in 0..10 {
                    n += 1;
                    let text = format!("streamed line {n} 0123456789 0123456789 0123456789\n");
                    if host
                        .inject(EventKind::Output {
                            stream: OutputStream::Stdout,
                            text,
                        })
                        .await
                        .is_err()
                    {
                        return;
                    }
                }
            }
        })
    };
    let (latencies, streamed_cpu) = tokio::task::spawn_blocking(move || {
        let mut tui = tui;
        let keys = b"abcdefghijklmnopqrsuvwyz";
        let mut typed = String::new();
        let mut latencies = Vec::new();
        let before = cpu_seconds(pid);
        let started = Instant::now();
        for i in 0..200 {
            let key = keys[i % keys.len()];
            typed.push(key as char);
            let tail: String = typed
                .chars()
                .rev()
                .take(12)
                .collect::<Vec<_>>()
                .into_iter()
                .rev()
                .collect();
            let sent = Instant::now();
            tui.send(&[key]);
            assert!(
                tui.wait_screen(Duration::from_secs(5), |s| input_row(s)
                    .trim_end()
                    .trim_end_matches('│')
                    .trim_end()
                    .ends_with(&tail)),
                "key {i} never showed"
            );
            latencies.push(sent.elapsed());
            std::thread::sleep(Duration::from_millis(20));
        }
        let cpu = (cpu_seconds(pid) - before) / started.elapsed().as_secs_f64() * 100.0;
        tui.send(b"\x11");
        tui.wait_exit();
        (latencies, cpu)
    })
    .await
    .unwrap();
    streamer.abort();
    let mut ms: Vec<f64> = latencies.iter().map(|d| d.as_secs_f64() * 1000.0).collect();
    ms.sort_by(f64::total_cmp);
    let pick = |q: f64| ms[((ms.len() - 1) as f64 * q) as usize];
    println!(
        "{{\"idle_cpu_percent\":{idle:.2},\"key_p50_ms\":{:.2},\"key_p99_ms\":{:.2},\"key_max_ms\":{:.2},\"keys\":{},\"streaming_events_per_s\":1000,\"streaming_cpu_percent\":{streamed_cpu:.1}}}",
        pick(0.5),
        pick(0.99),
        ms[ms.len() - 1],
        ms.len()
    );
}
