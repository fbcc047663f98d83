//! Child-process helpers shared by the agents.

use std::path::PathBuf;
use std::sync::OnceLock;
use std::time::Duration;

use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;
use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::sync::mpsc;

/// How long a process group gets between SIGINT/SIGTERM and the end of its
/// tree (longer than the supervisor's own grace, `tree::TERM_GRACE`).
pub const KILL_GRACE: Duration = Duration::from_secs(2);

/// `tether supervise`, when the host runs one between itself and each
/// child (see [`super::tree`]): the path of the tether binary.
static SUPERVISOR: OnceLock<PathBuf> = OnceLock::new();

/// Starts every later child under `tether supervise`, run from `tether`
/// (the binary at that path), so that the child's whole process tree ends
/// with it, with a stop, or with the host. The `tether` binary does this
/// at start; a library user or an in-process test host may do it too.
pub fn supervise_children_with(tether: PathBuf) {
    let _ = SUPERVISOR.set(tether);
}

fn supervised() -> bool {
    SUPERVISOR.get().is_some()
}

/// A command for an agent's child: in `cwd`, stdout and stderr piped, in
/// a process group of its own (so an interrupt or a shutdown reaches
/// everything it started) and killed if the agent is dropped; under the
/// supervisor when there is one.
pub fn child_command(program: &str, cwd: &std::path::Path) -> tokio::process::Command {
    let mut command = match SUPERVISOR.get() {
        Some(tether) => {
            let mut command = tokio::process::Command::new(tether);
            command.args(["supervise", "--", program]);
            command
        }
        None => tokio::process::Command::new(program),
    };
    command
        .current_dir(cwd)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .process_group(0)
        // A supervisor is ended by `TreeChild`'s drop instead: killed, it
        // could not end the processes below it.
        .kill_on_drop(!supervised());
    die_with_the_host(&mut command);
    command
}

/// A child started by [`child_command`], spawned through [`TreeChild::spawn`]:
/// dropped while it still runs (its agent's task was aborted), its whole
/// tree ends at once.
#[derive(Debug)]
pub struct TreeChild(tokio::process::Child);

impl TreeChild {
    pub fn spawn(command: &mut tokio::process::Command) -> std::io::Result<TreeChild> {
        command.spawn().map(TreeChild)
    }
}

impl std::ops::Deref for TreeChild {
    type Target = tokio::process::Child;
    fn deref(&self) -> &Self::Target {
        &self.0
    }
}

impl std::ops::DerefMut for TreeChild {
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut self.0
    }
}

impl Drop for TreeChild {
    fn drop(&mut self) {
        if !supervised() || !matches!(self.0.try_wait(), Ok(None)) {
            return;
        }
        if let Some(pid) = self.0.id() {
            end_tree_now(pid);
        }
    }
}

/// Asks the supervisor `pid` to end every process below it at once
/// (SIGUSR1, see `tree`), then exit.
fn end_tree_now(pid: u32) {
    if let Ok(pid) = i32::try_from(pid) {
        let _ = nix::sys::signal::kill(Pid::from_raw(pid), Signal::SIGUSR1);
    }
}

/// Makes the child receive SIGKILL when the host dies, even by `kill -9`
/// (when nothing of ours runs to stop it): an approved command must not
/// go on writing into the working directory unsupervised. A supervisor
/// asks for a signal it can catch instead, and ends the whole tree. The
/// signal is tied to the thread that spawns the child; tokio's worker
/// threads live as long as the runtime, which is as long as the host.
#[cfg(target_os = "linux")]
fn die_with_the_host(command: &mut tokio::process::Command) {
    let host = nix::unistd::getpid();
    // SAFETY: the closure runs between fork and exec and makes only
    // async-signal-safe system calls (sigaction, prctl, getppid).
    unsafe {
        command.pre_exec(move || {
            // The host ignores SIGXFSZ (see `Host::start`); its children
            // get the default back, as exec would not reset an ignore.
            nix::sys::signal::signal(Signal::SIGXFSZ, nix::sys::signal::SigHandler::SigDfl)?;
            nix::sys::prctl::set_pdeathsig(Signal::SIGKILL)?;
            // The host may have died before the signal was armed.
            if nix::unistd::getppid() != host {
                return Err(std::io::Error::other("the host exited"));
            }
            Ok(())
        });
    }
}

#[cfg(not(target_os = "linux"))]
fn die_with_the_host(_command: &mut tokio::process::Command) {}

/// Sends `signal` to the process group led by `pid` (ignoring a group that
/// is already gone).
pub fn signal_group(pid: u32, signal: Signal) {
    if let Ok(pid) = i32::try_from(pid) {
        let _ = killpg(Pid::from_raw(pid), signal);
    }
}

/// Stopping a child started by [`child_command`] and all it started: a
/// first signal to its group (SIGINT for an interrupt, SIGTERM for a
/// stop); after [`KILL_GRACE`], the end of the whole tree; last, SIGKILL
/// to the group, in case the supervisor itself is stuck.
#[derive(Debug)]
pub struct TreeStop {
    pid: u32,
    ended: bool,
    /// When the next step is due (none: nothing more to do).
    pub due: Option<tokio::time::Instant>,
}

impl TreeStop {
    pub fn new(pid: u32) -> Self {
        TreeStop {
            pid,
            ended: false,
            due: None,
        }
    }

    /// Sends `signal` to the group; the tree ends after the grace unless
    /// it has gone by then.
    pub fn begin(&mut self, signal: Signal) {
        signal_group(self.pid, signal);
        if self.due.is_none() {
            self.due = Some(tokio::time::Instant::now() + KILL_GRACE);
        }
    }

    /// Ends the tree now: the supervisor SIGKILLs every process below it
    /// (one that left the group too), or, unsupervised, the group is.
    pub fn end_now(&mut self) {
        self.ended = true;
        if supervised() {
            end_tree_now(self.pid);
            self.due = Some(tokio::time::Instant::now() + KILL_GRACE);
        } else {
            signal_group(self.pid, Signal::SIGKILL);
            self.due = None;
        }
    }

    /// The step that was due.
    pub fn on_due(&mut self) {
        if self.ended {
            signal_group(self.pid, Signal::SIGKILL);
            self.due = None;
        } else {
            self.end_now();
        }
    }
}

/// Forwards what a pipe yields, decoded as UTF-8, as it arrives; `wrap`
/// turns each piece of text into the receiver's message type.
pub async fn forward_text<T>(
    pipe: Option<impl AsyncRead + Unpin>,
    out: mpsc::Sender<T>,
    wrap: impl Fn(String) -> T,
) {
    let Some(mut pipe) = pipe else { return };
    let mut decoder = Utf8Chunker::default();
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        match pipe.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                let text = decoder.push(&buf[..n]);
                if !text.is_empty() && out.send(wrap(text)).await.is_err() {
                    return;
                }
            }
        }
    }
    let rest = decoder.finish();
    if !rest.is_empty() {
        let _ = out.send(wrap(rest)).await;
    }
}

/// Sleeps until `deadline`, or forever when there is none (a disabled
/// branch of a `select!`).
pub async fn sleep_until_some(deadline: Option<tokio::time::Instant>) {
    match deadline {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

/// Decodes a byte stream as UTF-8 chunk by chunk, never splitting a
/// character across chunks; invalid bytes become U+FFFD.
#[derive(Debug, Default)]
pub struct Utf8Chunker {
    carry: Vec<u8>,
}

impl Utf8Chunker {
    pub fn push(&mut self, bytes: &[u8]) -> String {
        self.carry.extend_from_slice(bytes);
        let keep = incomplete_tail(&self.carry);
        let split = self.carry.len() - keep;
        let text = String::from_utf8_lossy(&self.carry[..split]).into_owned();
        self.carry.drain(..split);
        text
    }

    /// What is left at end of stream.
    pub fn finish(&mut self) -> String {
        let text = String::from_utf8_lossy(&self.carry).into_owned();
        self.carry.clear();
        text
    }
}

/// Length of a trailing, possibly incomplete UTF-8 sequence (0 to 3 bytes).
fn incomplete_tail(bytes: &[u8]) -> usize {
    for back in 1..=bytes.len().min(3) {
        let b = bytes[bytes.len() - back];
        if b & 0b1100_0000 == 0b1000_0000 {
            continue; // continuation byte: look further back
        }
        let needed = match b {
            0xC0..=0xDF => 2,
            0xE0..=0xEF => 3,
            0xF0..=0xF7 => 4,
            _ => return 0,
        };
        return if needed > back { back } else { 0 };
    }
    0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn never_splits_a_character() {
        let text = "héllo → 🌍!";
        let bytes = text.as_bytes();
        for cut in 0..bytes.len() {
            let mut c = Utf8Chunker::default();
            let mut out = c.push(&bytes[..cut]);
            out += &c.push(&bytes[cut..]);
            out += &c.finish();
            assert_eq!(out, text, "cut at {cut}");
        }
    }

    #[test]
    fn invalid_bytes_become_replacement_characters() {
        let mut c = Utf8Chunker::default();
        let mut out = c.push(b"a\xffb\xe2");
        out += &c.finish();
        assert_eq!(out, "a\u{fffd}b\u{fffd}");
    }
}
