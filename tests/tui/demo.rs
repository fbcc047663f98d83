//! `tether demo`: the bundled recording in the real binary, driven by the
//! keys a person would press.

use std::path::Path;
use std::time::Duration;

use super::pty::Pty;

/// `tether demo --speed SPEED` in a 40x120 pseudo-terminal, its home,
/// settings, log and temporary files in `dir`.
pub fn demo(dir: &Path, speed: &str, (rows, cols): (u16, u16)) -> Pty {
    let home = dir.to_str().unwrap();
    let config = dir.join("config");
    let log = dir.join("tui.log");
    Pty::spawn(
        &["demo", "--speed", speed],
        &[
            ("HOME", home),
            ("TMPDIR", home),
            ("XDG_CONFIG_HOME", config.to_str().unwrap()),
            ("TETHER_LOG", log.to_str().unwrap()),
        ],
        rows,
        cols,
    )
}

#[test]
fn the_demo_waits_at_each_request_and_plays_to_the_end_once_answered() {
    let dir = tempfile::tempdir().unwrap();
    let mut tui = demo(dir.path(), "0", (40, 120));
    tui.wait_text("(owner)");
    tui.wait_text("Write asks permission");
    tui.wait_text("Permission request 1 of 1");
    // However fast the replay, it waits for the answer.
    std::thread::sleep(Duration::from_millis(500));
    let screen = tui.screen();
    assert!(!screen.contains("allowed by"), "{screen}");
    assert!(!screen.contains("Edit asks permission"), "{screen}");
    tui.send(b"y");
    tui.wait_text("allowed by user: Write");
    for (request, key) in [
        ("Edit asks permission", b"y"),
        ("shell asks permission", b"y"),
        ("Bash asks permission", b"n"),
    ] {
        tui.wait_text(request);
        tui.wait_text("Permission request 1 of 1");
        tui.send(key);
    }
    tui.wait_text("replay finished");
    let screen = tui.screen();
    assert!(screen.contains("denied by user"), "{screen}");
    assert!(screen.contains("no pending requests"), "{screen}");
    tui.quit();
}

/// `assets/examples/config.toml` is read and honoured: the mouse is
/// released at start.
#[test]
fn the_example_ui_settings_load() {
    let dir = tempfile::tempdir().unwrap();
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/examples/config.toml");
    let settings = dir.path().join("config/tether");
    std::fs::create_dir_all(&settings).unwrap();
    std::fs::copy(&example, settings.join("config.toml")).unwrap();
    let mut tui = demo(dir.path(), "0", (30, 110));
    tui.wait_text("(owner)");
    let raw = tui.raw.lock().unwrap().clone();
    let released = raw.windows(8).filter(|w| *w == b"\x1b[?1006l").count();
    assert_eq!(released, 1, "mouse capture released at start");
    tui.quit();
}
