//! The README's pictures, made from the real binary: `tether demo` in a
//! pseudo-terminal, screenshots rendered to SVG (`svg.rs`) and the whole
//! run as an asciinema v2 recording. Regenerate them all with
//! `cargo test --test tui -- --ignored pictures`.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::json;

use super::demo::demo;
use super::pty::Pty;
use super::support::Attach;
use super::svg;

const SIZE: (u16, u16) = (40, 120);
/// How long a person looks at a request before answering, in the recording.
const READING: Duration = Duration::from_millis(1800);

fn assets() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/screenshots")
}

pub(super) fn screenshot(tui: &Pty, name: &str, title: &str) {
    let picture = tui.with_screen(|screen| svg::render(screen, title));
    std::fs::write(assets().join(format!("{name}.svg")), picture).unwrap();
}

/// Records everything a program writes to its terminal, with the time it
/// came, as asciinema v2 output events.
struct CastRecorder {
    events: Arc<Mutex<Vec<(f64, String)>>>,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl CastRecorder {
    fn start(raw: Arc<Mutex<Vec<u8>>>) -> CastRecorder {
        let events = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let (out, stopped) = (events.clone(), stop.clone());
        let thread = std::thread::spawn(move || {
            let started = Instant::now();
            let mut taken = 0;
            loop {
                let done = stopped.load(Ordering::SeqCst);
                let bytes = raw.lock().unwrap()[taken..].to_vec();
                // Only whole UTF-8 characters: the rest waits for the next turn.
                let whole = match std::str::from_utf8(&bytes) {
                    Ok(text) => text.len(),
                    Err(e) => e.valid_up_to(),
                };
                if whole > 0 {
                    let text = String::from_utf8(bytes[..whole].to_vec()).unwrap();
                    let at = started.elapsed().as_secs_f64();
                    out.lock().unwrap().push((at, text));
                    taken += whole;
                }
                if done {
                    break;
                }
                std::thread::sleep(Duration::from_millis(40));
            }
        });
        CastRecorder {
            events,
            stop,
            thread: Some(thread),
        }
    }

    fn finish(mut self, path: &Path, (rows, cols): (u16, u16)) {
        self.stop.store(true, Ordering::SeqCst);
        self.thread.take().unwrap().join().unwrap();
        let header = json!({
            "version": 2,
            "width": cols,
            "height": rows,
            "title": "tether demo",
            "env": {"TERM": "xterm-256color"},
        });
        let mut lines = vec![header.to_string()];
        for (at, text) in self.events.lock().unwrap().iter() {
            let at = (at * 1000.0).round() / 1000.0;
            lines.push(json!([at, "o", text]).to_string());
        }
        std::fs::write(path, lines.join("\n") + "\n").unwrap();
    }
}

/// The demo's URL (from the watch command in the help, which is opened
/// and closed) and control token (from the auth file it made under `tmp`).
fn demo_address(tui: &mut Pty, tmp: &Path) -> (String, String) {
    tui.send(b"\x1bOP");
    tui.wait_text("Let someone on this machine watch");
    let screen = tui.screen();
    tui.send(b"\x1b");
    let url = screen
        .split_whitespace()
        .find(|w| w.starts_with("ws://"))
        .expect("the watch hint names the URL")
        .to_owned();
    let dir = std::fs::read_dir(tmp)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| {
            p.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("tether-demo-")
        })
        .expect("the demo's directory");
    let file: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("auth.json")).unwrap()).unwrap();
    let token = file["tokens"][0]["token"].as_str().unwrap().to_owned();
    (url, token)
}

#[test]
#[ignore = "rewrites the pictures in assets/screenshots"]
fn pictures() {
    std::fs::create_dir_all(assets()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut tui = demo(dir.path(), "2", SIZE);
    let cast = CastRecorder::start(tui.raw.clone());
    tui.wait_text("I will start");
    std::thread::sleep(READING);
    for key in "let's go".bytes() {
        tui.send(&[key]);
        std::thread::sleep(Duration::from_millis(60));
    }
    tui.send(b"\r");
    tui.wait_text("Write asks permission");
    std::thread::sleep(READING);
    tui.send(b"y");

    // The decision view, with the edit's diff.
    tui.wait_text("Edit asks permission");
    tui.wait_text("@@ -1,3 +1,3 @@");
    std::thread::sleep(Duration::from_millis(300));
    screenshot(
        &tui,
        "decision",
        "tether: deciding on an edit, its diff shown",
    );

    // Someone else with a control token follows the same session.
    let (url, token) = demo_address(&mut tui, dir.path());
    let mut follower = Attach::new(&url, &token, dir.path())
        .size(SIZE.0, SIZE.1)
        .spawn();
    follower.wait_text("(follower)");
    follower.wait_text("Edit asks permission");
    std::thread::sleep(Duration::from_millis(500));
    screenshot(
        &follower,
        "follower",
        "tether: a follower's view of the same session",
    );
    follower.quit();

    tui.send(b"y");
    tui.wait_text("Bash asks permission");
    std::thread::sleep(READING);
    tui.send(b"y");
    tui.wait_text("case_08 ... ok");
    // The user interrupts the test run, then lets the agent carry on.
    tui.send(b"\x1b");
    tui.wait_text("interrupted");
    std::thread::sleep(READING);
    tui.send(b"go on\r");
    tui.wait_text("rm -r build");
    std::thread::sleep(READING);
    tui.send(b"n");
    tui.wait_text("What happened");
    std::thread::sleep(Duration::from_millis(1500));
    screenshot(
        &tui,
        "main",
        "tether: a session's transcript, requests and participants",
    );
    tui.quit();
    cast.finish(&assets().join("demo.cast"), SIZE);
}
