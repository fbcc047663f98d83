//! The real `tether serve` process with its stderr collected, and the real
//! `tether` binary run to completion.

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

pub struct Served {
    pub child: Child,
    pub url: String,
    pub auth: PathBuf,
    stderr: Arc<Mutex<Vec<String>>>,
}

/// Starts `tether serve` (the shell agent, no journal, auth file
/// `dir/auth.json`) on `listen` with `stdin`, and waits for its URL.
pub fn serve_on(dir: &Path, listen: &str, stdin: Stdio) -> Served {
    let auth = dir.join("auth.json");
    let mut child = crate::common::tether(dir)
        .args(["serve", "--no-journal", "--listen", listen, "--auth"])
        .arg(&auth)
        .arg("--cwd")
        .arg(dir)
        .stdin(stdin)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = Arc::new(Mutex::new(Vec::new()));
    let lines = stderr.clone();
    let reader = BufReader::new(child.stderr.take().unwrap());
    std::thread::spawn(move || {
        for line in reader.lines().map_while(Result::ok) {
            lines.lock().unwrap().push(line);
        }
    });
    let url = listening_url(&mut child);
    Served {
        child,
        url,
        auth,
        stderr,
    }
}

/// The URL a starting `tether serve` prints (`listening on URL`), read
/// from its piped stdout, which is then drained so that the host never
/// blocks on a full pipe.
pub fn listening_url(child: &mut Child) -> String {
    let mut stdout = BufReader::new(child.stdout.take().expect("stdout piped"));
    let mut url = String::new();
    let mut line = String::new();
    while url.is_empty() && stdout.read_line(&mut line).unwrap() > 0 {
        if let Some(rest) = line.trim().strip_prefix("listening on ") {
            url = rest.to_owned();
        }
        line.clear();
    }
    assert!(!url.is_empty(), "tether serve printed no URL");
    std::thread::spawn(move || std::io::copy(&mut stdout, &mut std::io::sink()));
    url
}

pub fn serve(dir: &Path) -> Served {
    serve_on(dir, "127.0.0.1:0", Stdio::null())
}

impl Served {
    pub fn signal(&self, signal: Signal) {
        kill(Pid::from_raw(self.child.id() as i32), signal).unwrap();
    }

    /// Everything the host wrote on stderr so far.
    pub fn stderr(&self) -> String {
        self.stderr.lock().unwrap().join("\n")
    }

    /// Waits (up to 5 s) for a stderr line containing `needle`.
    pub fn wait_stderr(&self, needle: &str) -> String {
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(5) {
            if let Some(line) = self
                .stderr
                .lock()
                .unwrap()
                .iter()
                .find(|l| l.contains(needle))
            {
                return line.clone();
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("no `{needle}` on stderr: {}", self.stderr());
    }

    /// The token of the first entry whose first grant is `grant`.
    pub fn token_with(&self, grant: &str) -> String {
        crate::support::token_from_auth(&self.auth, grant)
    }

    /// Waits (up to 10 s) for the process to exit.
    pub fn wait_exit(&mut self) -> ExitStatus {
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(10) {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("tether serve did not exit; stderr: {}", self.stderr());
    }

    pub fn is_running(&mut self) -> bool {
        self.child.try_wait().unwrap().is_none()
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs `tether ARGS` to completion (stdin closed).
pub fn tether(args: &[&str]) -> Output {
    tether_with(args, |_| {})
}

pub fn tether_with(args: &[&str], tweak: impl FnOnce(&mut Command)) -> Output {
    let mut command = Command::new(crate::common::TETHER);
    command.args(args).stdin(Stdio::null());
    tweak(&mut command);
    command.output().unwrap()
}

pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Drains a reader on a thread (a pty master must be read, or the child
/// blocks once the kernel buffer is full).
pub fn drain(mut reader: impl Read + Send + 'static) {
    std::thread::spawn(move || std::io::copy(&mut reader, &mut std::io::sink()));
}
