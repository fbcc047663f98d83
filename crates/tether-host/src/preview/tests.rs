use std::path::Path;

use serde_json::json;

use super::*;

fn dir() -> tempfile::TempDir {
    tempfile::tempdir().unwrap()
}

fn reason(preview: Option<Preview>) -> String {
    match preview {
        Some(Preview::Unavailable { reason }) => reason,
        other => panic!("expected unavailable, got {other:?}"),
    }
}

fn diff_of(preview: Option<Preview>) -> (String, String, u64, u64, bool) {
    match preview {
        Some(Preview::Diff {
            path,
            diff,
            added,
            removed,
            new_file,
        }) => (path, diff, added, removed, new_file),
        other => panic!("expected a diff, got {other:?}"),
    }
}

fn edit(cwd: &Path, path: &str, old: &str, new: &str) -> Option<Preview> {
    let input =
        json!({"file_path": path, "old_string": old, "new_string": new, "replace_all": false});
    for_request("Edit", &input, cwd)
}

#[test]
fn an_edit_is_the_diff_of_the_file_on_disk() {
    let cwd = dir();
    let lines: Vec<String> = (1..=10).map(|n| format!("line {n}")).collect();
    std::fs::write(cwd.path().join("f.txt"), lines.join("\n") + "\n").unwrap();
    let absolute = cwd.path().join("f.txt").display().to_string();
    let (path, diff, added, removed, new_file) =
        diff_of(edit(cwd.path(), &absolute, "line 6\n", "six\n"));
    assert_eq!(
        (path.as_str(), added, removed, new_file),
        ("f.txt", 1, 1, false)
    );
    assert_eq!(
        diff,
        "--- a/f.txt\n+++ b/f.txt\n@@ -3,7 +3,7 @@\n line 3\n line 4\n line 5\n-line 6\n+six\n line 7\n line 8\n line 9\n"
    );
}

#[test]
fn a_write_of_a_new_file_is_a_diff_from_nothing() {
    let cwd = dir();
    let input = json!({"file_path": "notes/plan.md", "content": "# Plan\n\n- first step"});
    let (path, diff, added, removed, new_file) = diff_of(for_request("Write", &input, cwd.path()));
    assert_eq!(
        (path.as_str(), added, removed, new_file),
        ("notes/plan.md", 3, 0, true)
    );
    assert_eq!(
        diff,
        "--- /dev/null\n+++ b/notes/plan.md\n@@ -0,0 +1,3 @@\n+# Plan\n+\n+- first step\n\\ No newline at end of file\n"
    );
}

#[test]
fn a_write_over_an_existing_file_and_a_multi_edit() {
    let cwd = dir();
    std::fs::write(cwd.path().join("a.txt"), "one\ntwo\nthree\n").unwrap();
    let write = json!({"file_path": "a.txt", "content": "one\n2\nthree\n"});
    let (_, _, added, removed, new_file) = diff_of(for_request("Write", &write, cwd.path()));
    assert_eq!((added, removed, new_file), (1, 1, false));
    let multi = json!({"file_path": "a.txt", "edits": [
        {"old_string": "one", "new_string": "1"},
        {"old_string": "e", "new_string": "E", "replace_all": true},
    ]});
    let (_, diff, added, removed, _) = diff_of(for_request("MultiEdit", &multi, cwd.path()));
    assert_eq!((added, removed), (2, 2));
    assert!(diff.ends_with("-one\n+1\n two\n-three\n+thrEE\n"), "{diff}");
}

#[test]
fn an_edit_with_an_empty_old_string_creates_a_file() {
    let cwd = dir();
    let (_, _, added, _, new_file) = diff_of(edit(cwd.path(), "new.txt", "", "hello\n"));
    assert_eq!((added, new_file), (1, true));
}

#[test]
fn an_edit_that_will_fail_says_so() {
    let cwd = dir();
    std::fs::write(cwd.path().join("n.txt"), "alpha\nbeta\nbeta\n").unwrap();
    assert_eq!(
        reason(edit(cwd.path(), "n.txt", "delta", "x")),
        "that edit will fail: old_string not found in n.txt"
    );
    assert_eq!(
        reason(edit(cwd.path(), "n.txt", "beta", "x")),
        "that edit will fail: old_string occurs 2 times in n.txt and replace_all is false"
    );
    assert_eq!(
        reason(edit(cwd.path(), "missing.txt", "a", "b")),
        "that edit will fail: missing.txt does not exist"
    );
}

#[test]
fn a_path_outside_the_session_is_not_read() {
    let outside = dir();
    std::fs::write(outside.path().join("secret"), "x").unwrap();
    let cwd = dir();
    let secret = outside.path().join("secret");
    let why = reason(edit(cwd.path(), &secret.display().to_string(), "x", "y"));
    assert!(why.contains("is outside the session's directory"), "{why}");
    // `..` and symlinks are resolved before deciding.
    let up = format!(
        "../{}/secret",
        outside.path().file_name().unwrap().to_str().unwrap()
    );
    let why = reason(edit(cwd.path(), &up, "x", "y"));
    assert!(why.contains("is outside the session's directory"), "{why}");
    std::os::unix::fs::symlink(outside.path(), cwd.path().join("link")).unwrap();
    let why = reason(edit(cwd.path(), "link/secret", "x", "y"));
    assert!(why.contains("is outside the session's directory"), "{why}");
    let write = json!({"file_path": "link/new.txt", "content": "x"});
    let why = reason(for_request("Write", &write, cwd.path()));
    assert!(why.contains("is outside the session's directory"), "{why}");
    // A dangling link may lead anywhere: it is not followed blindly.
    std::os::unix::fs::symlink("/nonexistent/target", cwd.path().join("dangling")).unwrap();
    let write = json!({"file_path": "dangling", "content": "x"});
    assert!(
        reason(for_request("Write", &write, cwd.path())).starts_with("cannot resolve dangling")
    );
    // `..` that stays inside is fine.
    std::fs::create_dir(cwd.path().join("sub")).unwrap();
    let write = json!({"file_path": "sub/../top.txt", "content": "x"});
    assert_eq!(
        diff_of(for_request("Write", &write, cwd.path())).0,
        "top.txt"
    );
}

#[test]
fn files_that_cannot_be_shown_say_why() {
    let cwd = dir();
    std::fs::write(cwd.path().join("bin"), [0xff, 0xfe, 0x00]).unwrap();
    assert_eq!(
        reason(edit(cwd.path(), "bin", "a", "b")),
        "bin is not valid UTF-8 text"
    );
    let big = vec![b'a'; MAX_FILE_BYTES as usize + 1];
    std::fs::write(cwd.path().join("big"), big).unwrap();
    assert_eq!(
        reason(edit(cwd.path(), "big", "a", "b")),
        "big is larger than 1 MiB (1048577 bytes)"
    );
    std::fs::create_dir(cwd.path().join("d")).unwrap();
    assert_eq!(
        reason(edit(cwd.path(), "d", "a", "b")),
        "d is not a regular file"
    );
    nix::unistd::mkfifo(&cwd.path().join("fifo"), nix::sys::stat::Mode::S_IRWXU).unwrap();
    assert_eq!(
        reason(edit(cwd.path(), "fifo", "a", "b")),
        "fifo is not a regular file"
    );
    let huge = "b".repeat(MAX_FILE_BYTES as usize + 1);
    let write = json!({"file_path": "out.txt", "content": huge});
    assert_eq!(
        reason(for_request("Write", &write, cwd.path())),
        "out.txt would be larger than 1 MiB (1048577 bytes)"
    );
    assert_eq!(
        reason(for_request("Edit", &json!({"file_path": "x"}), cwd.path())),
        "the edit has no old_string"
    );
}

#[test]
fn a_command_is_shown_whole_and_other_tools_have_no_preview() {
    let cwd = dir();
    let long = format!("echo {}", "x".repeat(10_000));
    let input = json!({"command": long, "description": "print a lot"});
    assert_eq!(
        for_request("Bash", &input, cwd.path()),
        Some(Preview::Command {
            command: long.clone(),
            cwd: cwd.path().display().to_string(),
            description: Some("print a lot".into()),
        })
    );
    assert_eq!(
        command("ls", Path::new("/w"), None),
        Preview::Command {
            command: "ls".into(),
            cwd: "/w".into(),
            description: None
        }
    );
    assert_eq!(
        for_request("Read", &json!({"file_path": "a"}), cwd.path()),
        None
    );
    assert_eq!(for_request("WebFetch", &json!({}), cwd.path()), None);
}

#[test]
fn a_notebook_edit_is_the_diff_of_the_cell() {
    let cwd = dir();
    let notebook = json!({"cells": [
        {"cell_type": "code", "id": "abc", "source": ["x = 1\n", "print(x)\n"]},
    ], "nbformat": 4});
    std::fs::write(cwd.path().join("n.ipynb"), notebook.to_string()).unwrap();
    let input =
        json!({"notebook_path": "n.ipynb", "cell_id": "abc", "new_source": "x = 2\nprint(x)\n"});
    let (path, diff, added, removed, _) = diff_of(for_request("NotebookEdit", &input, cwd.path()));
    assert_eq!((path.as_str(), added, removed), ("n.ipynb", 1, 1));
    assert!(diff.starts_with("--- a/n.ipynb (in cell abc)\n"), "{diff}");
    assert!(diff.contains("-x = 1\n+x = 2\n print(x)\n"), "{diff}");
    let by_index = json!({"notebook_path": "n.ipynb", "cell_id": "cell-0", "edit_mode": "delete", "new_source": ""});
    assert_eq!(
        diff_of(for_request("NotebookEdit", &by_index, cwd.path())).3,
        2
    );
    let missing = json!({"notebook_path": "n.ipynb", "cell_id": "zzz", "new_source": ""});
    assert_eq!(
        reason(for_request("NotebookEdit", &missing, cwd.path())),
        "that edit will fail: there is no cell zzz in n.ipynb"
    );
}

#[test]
fn file_after_is_what_the_preview_shows_and_stays_inside() {
    let dir = dir();
    std::fs::write(dir.path().join("notes.txt"), "alpha\nbeta\n").unwrap();
    let input = json!({"file_path": "notes.txt", "old_string": "beta", "new_string": "BETA"});
    let (path, after) = file_after("Edit", &input, dir.path()).unwrap();
    assert_eq!(path, dir.path().canonicalize().unwrap().join("notes.txt"));
    assert_eq!(after, "alpha\nBETA\n");
    let outside = json!({"file_path": "../elsewhere.txt", "content": "x"});
    assert!(file_after("Write", &outside, dir.path()).is_err());
    let missing = json!({"file_path": "notes.txt", "old_string": "gamma", "new_string": "x"});
    assert!(file_after("Edit", &missing, dir.path()).is_err());
    assert!(file_after("Bash", &json!({"command": "ls"}), dir.path()).is_err());
}
