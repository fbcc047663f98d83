//! Ctrl+O in the input box: the message in `$VISUAL` (else `$EDITOR`,
//! else `vi`), for a long one. The terminal is handed over whole: the
//! key reader is stopped first (so the editor gets every key), the
//! screen restored, then taken back and redrawn when the editor exits.

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::PathBuf;

use tokio::signal::unix::{SignalKind, signal};

use super::{TerminalInput, Tui};
use crate::tui::terminal;

/// Edits `text` in the user's editor; the text as saved, or None when the
/// editor failed (the box keeps what it had).
pub(super) async fn edit(
    tui: &mut Tui,
    input: &mut TerminalInput,
    mouse: bool,
    text: &str,
) -> std::io::Result<Option<String>> {
    input.stop().await;
    // Out of raw mode, Ctrl+C in the editor is a signal to the whole
    // process group: the editor's to handle, never the end of tether (and
    // of the host it may run).
    let interrupt = signal(SignalKind::interrupt());
    let quit = signal(SignalKind::quit());
    terminal::suspend();
    let edited = run_editor(text).await;
    let resumed = terminal::resume(mouse);
    *input = TerminalInput::start();
    drop((interrupt, quit));
    resumed?;
    // The screen is blank again: a blank frame makes the next one whole
    // (`clear` would ask the terminal where its cursor is, and not every
    // terminal answers).
    tui.draw(|_| {})?;
    if let Err(why) = &edited {
        tracing::warn!("the editor: {why}");
    }
    Ok(edited.ok())
}

/// The editor on a private file holding `text`; what it holds after.
async fn run_editor(text: &str) -> Result<String, String> {
    let path = message_file(text).map_err(|e| format!("cannot write the message file: {e}"))?;
    let set = |name| {
        std::env::var(name)
            .ok()
            .filter(|e: &String| !e.trim().is_empty())
    };
    let editor = set("VISUAL")
        .or_else(|| set("EDITOR"))
        .unwrap_or_else(|| "vi".to_owned());
    // Through the shell, as git runs it: `EDITOR="code --wait"` works.
    let status = tokio::process::Command::new("sh")
        .arg("-c")
        .arg(format!("{editor} \"$1\""))
        .arg("tether-editor")
        .arg(&path)
        .status()
        .await;
    let edited = std::fs::read_to_string(&path);
    let _ = std::fs::remove_file(&path);
    match status {
        Ok(status) if status.success() => {
            let edited = edited.map_err(|e| format!("cannot read the message back: {e}"))?;
            Ok(edited.strip_suffix('\n').unwrap_or(&edited).to_owned())
        }
        Ok(status) => Err(format!("{editor} ended with {status}")),
        Err(e) => Err(format!("cannot start {editor}: {e}")),
    }
}

/// A new file only this user can read, holding `text`.
fn message_file(text: &str) -> std::io::Result<PathBuf> {
    let name = format!(
        "tether-message-{}-{:08x}.md",
        std::process::id(),
        rand::random::<u32>()
    );
    let path = std::env::temp_dir().join(name);
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&path)?;
    file.write_all(text.as_bytes())?;
    Ok(path)
}
