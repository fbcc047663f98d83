//! The real `tether` binary in a real pseudo-terminal, read back through a
//! vt100 screen.

use std::io::{Read, Write};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use portable_pty::{CommandBuilder, NativePtySystem, PtySize, PtySystem};

pub struct Pty {
    child: Box<dyn portable_pty::Child + Send + Sync>,
    writer: Box<dyn Write + Send>,
    parser: Arc<Mutex<vt100::Parser>>,
    /// Every byte the program wrote, for checks on raw output.
    pub raw: Arc<Mutex<Vec<u8>>>,
    /// Bumped after every chunk of output is parsed.
    changed: Arc<(Mutex<u64>, Condvar)>,
    _master: Box<dyn portable_pty::MasterPty + Send>,
}

impl Pty {
    pub fn spawn(args: &[&str], env: &[(&str, &str)], rows: u16, cols: u16) -> Pty {
        let system = NativePtySystem::default();
        let pair = system
            .openpty(PtySize {
                rows,
                cols,
                pixel_width: 0,
                pixel_height: 0,
            })
            .unwrap();
        let mut command = CommandBuilder::new(crate::common::TETHER);
        command.args(args);
        command.env("TERM", "xterm-256color");
        for (k, v) in env {
            command.env(k, v);
        }
        let child = pair.slave.spawn_command(command).unwrap();
        drop(pair.slave);
        let mut reader = pair.master.try_clone_reader().unwrap();
        let writer = pair.master.take_writer().unwrap();
        let parser = Arc::new(Mutex::new(vt100::Parser::new(rows, cols, 0)));
        let raw = Arc::new(Mutex::new(Vec::new()));
        let changed = Arc::new((Mutex::new(0u64), Condvar::new()));
        let (p, r, c) = (parser.clone(), raw.clone(), changed.clone());
        std::thread::spawn(move || {
            let mut buf = [0u8; 8192];
            while let Ok(n) = reader.read(&mut buf) {
                if n == 0 {
                    break;
                }
                p.lock().unwrap().process(&buf[..n]);
                r.lock().unwrap().extend_from_slice(&buf[..n]);
                *c.0.lock().unwrap() += 1;
                c.1.notify_all();
            }
        });
        Pty {
            child,
            writer,
            parser,
            raw,
            changed,
            _master: pair.master,
        }
    }

    pub fn send(&mut self, bytes: &[u8]) {
        self.writer.write_all(bytes).unwrap();
        self.writer.flush().unwrap();
    }

    pub fn screen(&self) -> String {
        self.parser.lock().unwrap().screen().contents()
    }

    pub fn with_screen<T>(&self, f: impl FnOnce(&vt100::Screen) -> T) -> T {
        f(self.parser.lock().unwrap().screen())
    }

    /// Waits until the screen satisfies `pred`; panics with the screen.
    pub fn wait_for(&self, what: &str, pred: impl Fn(&str) -> bool) {
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            let screen = self.screen();
            if pred(&screen) {
                return;
            }
            if Instant::now() > deadline {
                panic!("timed out waiting for {what}; screen:\n{screen}");
            }
            std::thread::sleep(Duration::from_millis(25));
        }
    }

    pub fn wait_text(&self, text: &str) {
        self.wait_for(text, |s| s.contains(text));
    }

    /// Waits, without polling, until the screen satisfies `pred` after a
    /// chunk of output; returns false on timeout.
    pub fn wait_screen(&self, timeout: Duration, pred: impl Fn(&vt100::Screen) -> bool) -> bool {
        let deadline = Instant::now() + timeout;
        let (lock, signal) = &*self.changed;
        let mut seen = *lock.lock().unwrap();
        loop {
            if self.with_screen(&pred) {
                return true;
            }
            let mut generation = lock.lock().unwrap();
            while *generation == seen {
                let left = deadline.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    return false;
                }
                generation = signal.wait_timeout(generation, left).unwrap().0;
            }
            seen = *generation;
        }
    }

    pub fn master_fd(&self) -> Option<std::os::fd::RawFd> {
        self._master.as_raw_fd()
    }

    pub fn pid(&self) -> Option<u32> {
        self.child.process_id()
    }

    /// Ctrl+Q, then a clean exit.
    pub fn quit(&mut self) {
        self.send(b"\x11");
        let status = self.wait_exit();
        assert!(status.success(), "{status:?}; screen:\n{}", self.screen());
    }

    pub fn wait_exit(&mut self) -> portable_pty::ExitStatus {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                panic!("tether did not exit; screen:\n{}", self.screen());
            }
            std::thread::sleep(Duration::from_millis(25));
        }
    }
}

impl Drop for Pty {
    fn drop(&mut self) {
        let _ = self.child.kill();
    }
}
