//! A running command's output pipe, read by a thread of its own at the
//! pace the output goes out (see [`output_batch`](super::output_batch)):
//! after a read it sleeps for the batching gap, so a command printing
//! 100,000 lines in a second is read a few dozen times rather than once
//! per line. Output that trickles in finds the thread waiting and is read
//! at once. A reader registered with the runtime's epoll would be woken
//! by every write of the command even while it is not reading; a thread
//! asleep is not, and the command's writes into the pipe cost it less
//! too.

use std::io::Read;
use std::os::fd::{AsFd, OwnedFd};
use std::time::Duration;

use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use tokio::sync::mpsc;

use super::output_batch::GAP;
use super::process::Utf8Chunker;

/// The most one read takes (a batch's largest size).
const READ_MAX: usize = 256 * 1024;
/// A read this large means the command writes faster than one read a
/// gap keeps up with: the next read follows at once, without the sleep,
/// so the command is not held up by a full pipe.
const FULL: usize = 64 * 1024;
/// How often a thread waiting for output checks whether anyone still
/// wants it (the command may have exited, leaving a background job that
/// holds the pipe open).
const CHECK: Duration = Duration::from_millis(100);

/// Starts reading `pipe` on a thread of its own, sending its text,
/// decoded as UTF-8 chunk by chunk, wrapped by `wrap`. The thread ends at
/// the end of the stream or once `out` is closed.
pub fn forward_text_paced<T: Send + 'static>(
    pipe: Option<OwnedFd>,
    out: mpsc::Sender<T>,
    wrap: impl Fn(String) -> T + Send + 'static,
) {
    let Some(pipe) = pipe else { return };
    grow_pipe(&pipe);
    let spawned = std::thread::Builder::new()
        .name("output-pipe".into())
        .spawn(move || read_paced(pipe, &out, wrap));
    if let Err(e) = spawned {
        tracing::warn!("cannot start a thread to read a command's output: {e}");
    }
}

fn read_paced<T>(pipe: OwnedFd, out: &mpsc::Sender<T>, wrap: impl Fn(String) -> T) {
    let mut decoder = Utf8Chunker::default();
    let mut buf = vec![0u8; READ_MAX];
    let mut file = std::fs::File::from(pipe);
    loop {
        match readable(&file) {
            Ok(true) => {}
            Ok(false) if out.is_closed() => return,
            Ok(false) => continue,
            Err(_) => break,
        }
        let n = match file.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(_) => break,
        };
        let text = decoder.push(&buf[..n]);
        if !text.is_empty() && out.blocking_send(wrap(text)).is_err() {
            return;
        }
        if n < FULL {
            std::thread::sleep(GAP);
        }
    }
    let rest = decoder.finish();
    if !rest.is_empty() {
        let _ = out.blocking_send(wrap(rest));
    }
}

/// Waits up to [`CHECK`] for `file` to have something to read (or to be
/// at its end).
fn readable(file: &std::fs::File) -> nix::Result<bool> {
    let mut fds = [PollFd::new(file.as_fd(), PollFlags::POLLIN)];
    let timeout = PollTimeout::try_from(CHECK).unwrap_or(PollTimeout::MAX);
    match poll(&mut fds, timeout) {
        Ok(n) => Ok(n > 0),
        Err(nix::errno::Errno::EINTR) => Ok(false),
        Err(e) => Err(e),
    }
}

/// Lets the pipe hold a whole batch while its reader sleeps (best effort:
/// the system's limits may refuse, and the default is then kept).
#[cfg(target_os = "linux")]
fn grow_pipe(pipe: &OwnedFd) {
    use std::os::fd::AsRawFd;
    let _ = nix::fcntl::fcntl(
        pipe.as_raw_fd(),
        nix::fcntl::FcntlArg::F_SETPIPE_SZ(READ_MAX as i32),
    );
}

#[cfg(not(target_os = "linux"))]
fn grow_pipe(_pipe: &OwnedFd) {}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[tokio::test]
    async fn everything_written_arrives_in_order_and_the_end_closes_the_channel() {
        let (read, write) = nix::unistd::pipe().expect("pipe");
        let (tx, mut rx) = mpsc::channel(4);
        forward_text_paced(Some(read), tx, |text| text);
        let writer = std::thread::spawn(move || {
            let mut file = std::fs::File::from(write);
            for i in 0..2000 {
                writeln!(file, "line {i} é").expect("write");
            }
        });
        let mut got = String::new();
        while let Some(text) = rx.recv().await {
            got.push_str(&text);
        }
        writer.join().expect("writer");
        let want: String = (0..2000).map(|i| format!("line {i} é\n")).collect();
        assert_eq!(got, want);
    }

    #[tokio::test]
    async fn the_thread_stops_once_no_one_reads() {
        let (read, write) = nix::unistd::pipe().expect("pipe");
        let (tx, rx) = mpsc::channel::<String>(4);
        forward_text_paced(Some(read), tx.clone(), |text| text);
        drop(rx);
        // The thread holds its own sender; once it has noticed the closed
        // channel and stopped, the pipe's read end is closed and writing
        // fails.
        let mut file = std::fs::File::from(write);
        let mut closed = false;
        for _ in 0..100 {
            if file.write_all(b"x").is_err() {
                closed = true;
                break;
            }
            std::thread::sleep(CHECK / 2);
        }
        assert!(closed, "the reading thread kept the pipe open");
        drop(tx);
    }
}
