//! The layout conventions of CONTRIBUTING.md that no compiler lint checks.
//! (Function length and argument counts are clippy's: see `[lints]` in
//! Cargo.toml and clippy.toml.)

use std::path::{Path, PathBuf};

/// A source file longer than this is due for a split.
const MAX_FILE_LINES: usize = 600;

fn rust_files(dir: &Path, found: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, found);
        } else if path.extension().is_some_and(|e| e == "rs") {
            found.push(path);
        }
    }
}

#[test]
fn no_source_file_is_over_600_lines() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    for dir in ["src", "crates", "tests", "benches", "fuzz/fuzz_targets"] {
        rust_files(&root.join(dir), &mut files);
    }
    assert!(files.len() > 50, "found only {} files", files.len());
    let mut long: Vec<String> = files
        .iter()
        .filter_map(|path| {
            let lines = std::fs::read_to_string(path).unwrap().lines().count();
            let name = path.strip_prefix(root).unwrap().display();
            (lines > MAX_FILE_LINES).then(|| format!("{name}: {lines} lines"))
        })
        .collect();
    long.sort();
    assert!(
        long.is_empty(),
        "split these files below {MAX_FILE_LINES} lines:\n{}",
        long.join("\n")
    );
}

/// The crates of the workspace and the tether crates each may depend on:
/// protocol, broker <- host, client <- tui <- the binary. Cargo refuses a cycle;
/// this refuses a shortcut upward (the host on the UI, say).
const LAYERS: &[(&str, &[&str])] = &[
    ("tether-protocol", &[]),
    ("tether-broker", &[]),
    ("tether-host", &["tether-protocol", "tether-broker"]),
    ("tether-client", &["tether-protocol", "tether-broker"]),
    ("tether-tui", &["tether-protocol", "tether-client"]),
];

#[test]
fn each_crate_depends_only_on_the_layers_below_it() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    for (name, allowed) in LAYERS {
        let manifest = std::fs::read_to_string(root.join("crates").join(name).join("Cargo.toml"))
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        let used: Vec<&str> = LAYERS
            .iter()
            .map(|(other, _)| *other)
            .filter(|other| other != name)
            .filter(|other| {
                manifest
                    .lines()
                    .any(|line| line.trim_start().starts_with(&format!("{other} ")))
            })
            .collect();
        let upward: Vec<&&str> = used.iter().filter(|u| !allowed.contains(u)).collect();
        assert!(
            upward.is_empty(),
            "{name} depends on {upward:?}: only {allowed:?} lie below it"
        );
    }
}
