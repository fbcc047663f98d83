//! Previews of permission requests: what a tool will do if allowed, made on
//! the host where the files are. A file tool gets the unified diff of the
//! file as it is now against what it will be; a shell command is shown
//! whole; anything that cannot be shown says why.
//!
//! `plan` (what the input asks for), `change` (applying it to a text) and
//! `diff` are pure; `files` is the only part that touches the disk, and it
//! never reads outside the session's directory.

mod change;
mod diff;
mod files;

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::protocol::Preview;
use change::{Change, Edit, NotebookEdit};

/// The largest file (before or after the change) a preview reads or shows.
pub const MAX_FILE_BYTES: u64 = 1024 * 1024;

/// What a request's input asks for, before any file is read.
#[derive(Debug, Clone, PartialEq)]
enum Plan {
    Command {
        command: String,
        description: Option<String>,
    },
    File {
        path: String,
        change: Change,
    },
}

fn text(input: &Value, field: &str) -> Option<String> {
    input.get(field).and_then(Value::as_str).map(str::to_owned)
}

fn edit(input: &Value) -> Result<Edit, String> {
    Ok(Edit {
        old: text(input, "old_string").ok_or("the edit has no old_string")?,
        new: text(input, "new_string").ok_or("the edit has no new_string")?,
        all: input
            .get("replace_all")
            .and_then(Value::as_bool)
            .unwrap_or(false),
    })
}

/// Reads a tool's input. `None`: a tool without a preview; `Err`: a tool
/// that has one, with an input that does not say enough to make it.
fn plan(tool: &str, input: &Value) -> Option<Result<Plan, String>> {
    let file = |field: &str, change: Result<Change, String>| {
        let path = text(input, field).ok_or_else(|| format!("the request has no {field}"))?;
        Ok(Plan::File {
            path,
            change: change?,
        })
    };
    Some(match tool {
        "Bash" => text(input, "command")
            .map(|command| Plan::Command {
                command,
                description: text(input, "description"),
            })
            .ok_or_else(|| "the request has no command".to_owned()),
        "Write" => file(
            "file_path",
            text(input, "content")
                .map(Change::Write)
                .ok_or_else(|| "the request has no content".to_owned()),
        ),
        "Edit" => file("file_path", edit(input).map(|e| Change::Edits(vec![e]))),
        "MultiEdit" => {
            let edits = match input.get("edits").and_then(Value::as_array) {
                Some(edits) => edits.iter().map(edit).collect(),
                None => Err("the request has no edits".to_owned()),
            };
            file("file_path", edits.map(Change::Edits))
        }
        "NotebookEdit" => file(
            "notebook_path",
            Ok(Change::Notebook(NotebookEdit {
                cell_id: text(input, "cell_id"),
                new_source: text(input, "new_source").unwrap_or_default(),
                mode: text(input, "edit_mode").unwrap_or_else(|| "replace".into()),
            })),
        ),
        _ => return None,
    })
}

/// A shell command, whole (never shortened).
pub fn command(command: &str, cwd: &Path, description: Option<String>) -> Preview {
    Preview::Command {
        command: command.to_owned(),
        cwd: cwd.display().to_string(),
        description,
    }
}

/// The diff of a change described by its texts (`old`: `None` for a new
/// file), as an agent that reports its own edits gives them; `path` is
/// shown relative to `cwd` when inside it.
pub fn of_texts(cwd: &Path, path: &str, old: Option<&str>, new: &str) -> Preview {
    let shown = Path::new(path)
        .strip_prefix(cwd)
        .map(|p| p.display().to_string())
        .unwrap_or_else(|_| path.to_owned());
    // The Gemini CLI sends a new file as `oldText: ""`, not `null`: the file
    // on disk says which it is (an empty file that exists is an edit).
    let old = old.filter(|text| !text.is_empty() || on_disk(cwd, path));
    diff::preview(&shown, &shown, old, new)
}

/// Whether `path` names something that exists, inside the session's
/// directory (a path outside it is taken as existing: never looked at).
fn on_disk(cwd: &Path, path: &str) -> bool {
    match files::resolve(cwd, path) {
        Ok(target) => target.resolved.symlink_metadata().is_ok(),
        Err(_) => true,
    }
}

fn unavailable(reason: impl Into<String>) -> Preview {
    Preview::Unavailable {
        reason: reason.into(),
    }
}

/// The preview of a request for `tool` with `input` in a session working in
/// `cwd`; `None` for tools that have none. Blocking: it may read one file
/// of at most [`MAX_FILE_BYTES`].
pub fn for_request(tool: &str, input: &Value, cwd: &Path) -> Option<Preview> {
    Some(match plan(tool, input)? {
        Err(why) => unavailable(why),
        Ok(Plan::Command {
            command: line,
            description,
        }) => command(&line, cwd, description),
        Ok(Plan::File { path, change }) => file_preview(cwd, &path, &change),
    })
}

fn file_preview(cwd: &Path, path: &str, change: &Change) -> Preview {
    let target = match files::resolve(cwd, path) {
        Ok(target) => target,
        Err(why) => return unavailable(why),
    };
    let old = match files::read_text(&target) {
        Ok(old) => old,
        Err(why) => return unavailable(why),
    };
    match change::apply(old.as_deref(), change, &target.shown) {
        Ok(applied) => diff::preview(
            &target.shown,
            &applied.label,
            applied.before.as_deref(),
            &applied.after,
        ),
        Err(why) => unavailable(why),
    }
}

/// What a file tool's request makes of its file, computed as its preview
/// is: the file (resolved, inside `cwd`) and its whole text afterwards.
/// For an agent that carries out its file tools itself (the demo). `Err`
/// says why the tool fails (not a file tool, a path outside `cwd`, an
/// edit whose `old_string` is not there once).
pub fn file_after(tool: &str, input: &Value, cwd: &Path) -> Result<(PathBuf, String), String> {
    let (path, change) = match plan(tool, input) {
        Some(Ok(Plan::File { path, change })) => (path, change),
        Some(Ok(Plan::Command { .. })) | None => return Err(format!("{tool} changes no file")),
        Some(Err(why)) => return Err(why),
    };
    let target = files::resolve(cwd, &path)?;
    let old = files::read_text(&target)?;
    let applied = change::apply(old.as_deref(), &change, &target.shown)?;
    Ok((target.resolved, applied.after))
}

/// [`for_request`] off the async runtime when it may read a file: a read
/// of up to 1 MiB and its diff can take milliseconds, too long to hold a
/// runtime thread that also serves connections.
pub async fn for_request_async(tool: &str, input: &Value, cwd: &Path) -> Option<Preview> {
    match plan(tool, input)? {
        Ok(Plan::File { .. }) => {
            let (tool, input, cwd): (String, Value, PathBuf) =
                (tool.to_owned(), input.clone(), cwd.to_owned());
            tokio::task::spawn_blocking(move || for_request(&tool, &input, &cwd))
                .await
                .unwrap_or_else(|e| Some(unavailable(format!("the preview failed: {e}"))))
        }
        _ => for_request(tool, input, cwd),
    }
}

#[cfg(test)]
mod tests;
