//! `tether demo`: the demo agent in the real binary, driven by the keys a
//! person would press.

use std::path::Path;

use super::pty::Pty;

/// `tether demo --speed SPEED` in a pseudo-terminal of this size, its home,
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

/// The command the demo shows for watching it (the status bar's
/// `watch:` hint, whole on a wide terminal), as arguments after `tether`.
fn watch_args(tui: &Pty) -> Vec<String> {
    let screen = tui.screen();
    let line = screen
        .lines()
        .find(|l| l.contains("watch: tether attach"))
        .unwrap_or_else(|| panic!("no watch command shown:\n{screen}"));
    let command = &line[line.find("tether attach").unwrap()..];
    command
        .split_whitespace()
        .skip(1)
        .map(str::to_owned)
        .collect()
}

/// The demo's project directory (under `TMPDIR`, here `dir`).
fn project(dir: &Path) -> std::path::PathBuf {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| {
            p.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("tether-demo-")
        })
        .expect("the demo's directory")
        .join("project")
}

#[test]
fn a_denial_in_the_demo_changes_nothing_and_its_watch_command_works() {
    let dir = tempfile::tempdir().unwrap();
    let mut tui = demo(dir.path(), "0", (40, 200));
    tui.wait_text("(owner)");
    tui.wait_text("I will start");
    tui.send(b"go\r");
    tui.wait_text("Write asks permission");
    tui.wait_text("Permission request 1 of 1");
    tui.send(b"n");
    tui.wait_text("I did not write");
    tui.wait_text("Edit asks permission");
    assert!(!project(dir.path()).join("notes/plan.md").exists());
    assert!(!tui.screen().contains("interrupted"), "{}", tui.screen());

    // Someone else pastes the command shown: it attaches, as a viewer.
    let args = watch_args(&tui);
    assert!(args.contains(&"--view".to_owned()), "{args:?}");
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let home = dir.path().join("elsewhere");
    std::fs::create_dir_all(&home).unwrap();
    let mut watcher = Pty::spawn(
        &args,
        &[
            ("HOME", home.to_str().unwrap()),
            ("XDG_CONFIG_HOME", home.join("config").to_str().unwrap()),
            ("TETHER_LOG", home.join("tui.log").to_str().unwrap()),
        ],
        30,
        120,
    );
    watcher.wait_text("(viewer)");
    watcher.wait_text("I did not write");
    watcher.quit();
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
