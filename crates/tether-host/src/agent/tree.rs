//! `tether supervise -- PROGRAM ARGS...`: the small supervisor the host puts
//! between itself and every agent or approved command, so that nothing the
//! host started outlives it or a stop.
//!
//! The kernel kills a child whose parent dies only if the child asked
//! (parent-death signal), and only that child: `sh -c 'sleep 1000; touch
//! x'` lost its shell with the host and `sleep` went on. The supervisor
//! asks for a catchable parent-death signal, becomes a *child subreaper*
//! (orphans anywhere below it, double forks and `setsid` included, are
//! re-parented to it rather than to init), and whenever it is told to stop,
//! loses its host, or its program exits, it ends every process below it:
//! SIGTERM, a grace, then SIGKILL, found by walking `/proc`. It exits as
//! its program did, so the host sees the program's own exit status.
//!
//! Signals it takes (sent to it alone or to its process group):
//! - SIGINT: passed on by the group itself (the program gets it too); the
//!   supervisor stays to clean up;
//! - SIGTERM (also its parent-death signal), SIGHUP: end the tree with a
//!   grace ([`TERM_GRACE`]);
//! - SIGUSR1: end the tree at once (SIGKILL).

use std::collections::HashMap;
use std::ffi::OsString;
use std::os::unix::process::CommandExt;
use std::time::{Duration, Instant};

use nix::sys::signal::{SigSet, Signal, kill};
use nix::sys::wait::{WaitPidFlag, WaitStatus, waitpid};
use nix::unistd::Pid;

/// How long the tree has between SIGTERM and SIGKILL. Shorter than the
/// host's own grace (`process::KILL_GRACE`), after which it kills the
/// supervisor's whole process group as a last resort.
pub const TERM_GRACE: Duration = Duration::from_millis(1500);

/// The signal the supervisor asks to get when the host dies.
pub const PARENT_DEATH_SIGNAL: Signal = Signal::SIGTERM;

/// The signals the supervisor waits for (blocked, taken with `sigwait`,
/// so none can slip in between a check and the wait).
fn watched() -> SigSet {
    let mut set = SigSet::empty();
    for signal in [
        Signal::SIGCHLD,
        Signal::SIGINT,
        Signal::SIGTERM,
        Signal::SIGHUP,
        Signal::SIGUSR1,
    ] {
        set.add(signal);
    }
    set
}

/// How the tree is to end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ending {
    Graceful,
    Now,
}

/// Runs `program` with `args` under supervision and returns the code to
/// exit with: the program's own (a program killed by a signal has that
/// signal raised here again first, so the host sees the same status).
pub fn supervise(program: &OsString, args: &[OsString]) -> i32 {
    let prepared = nix::sys::prctl::set_child_subreaper(true)
        .and_then(|()| watched().thread_block())
        .and_then(|()| nix::sys::prctl::set_pdeathsig(PARENT_DEATH_SIGNAL));
    if let Err(e) = prepared {
        eprintln!("tether supervise: {e}");
        return 125;
    }
    let supervisor = nix::unistd::getpid();
    let mut command = std::process::Command::new(program);
    command.args(args);
    // SAFETY: between fork and exec the closure makes only async-signal-
    // safe calls (sigprocmask, prctl, getppid).
    unsafe {
        command.pre_exec(move || {
            watched().thread_unblock()?;
            nix::sys::prctl::set_pdeathsig(Signal::SIGKILL)?;
            if nix::unistd::getppid() != supervisor {
                return Err(std::io::Error::other("the supervisor exited"));
            }
            Ok(())
        });
    }
    let child = match command.spawn() {
        Ok(child) => child,
        Err(e) => {
            eprintln!("tether: cannot start {}: {e}", program.to_string_lossy());
            return 127;
        }
    };
    // The pipes are the program's: the host reads to their end, which must
    // not wait for this process too.
    let _ = detach_stdio();
    let mut tree = Tree {
        root: supervisor,
        program: Pid::from_raw(child.id() as i32),
        status: None,
    };
    tree.run();
    tree.end(Ending::Graceful);
    exit_like(tree.status)
}

fn detach_stdio() -> nix::Result<()> {
    use std::os::fd::AsRawFd;
    let null = std::fs::File::options()
        .read(true)
        .write(true)
        .open("/dev/null")
        .map_err(|_| nix::Error::ENOENT)?;
    for fd in 0..=2 {
        nix::unistd::dup2(null.as_raw_fd(), fd)?;
    }
    Ok(())
}

/// The supervisor's view of what runs below it.
struct Tree {
    root: Pid,
    program: Pid,
    /// How the program ended, once it has.
    status: Option<WaitStatus>,
}

impl Tree {
    /// Waits for signals until the program has exited; a stop signal ends
    /// the tree first (the program with it).
    fn run(&mut self) {
        let set = watched();
        while self.status.is_none() {
            match set.wait() {
                Ok(Signal::SIGCHLD) => self.reap(),
                Ok(Signal::SIGUSR1) => self.end(Ending::Now),
                Ok(Signal::SIGTERM | Signal::SIGHUP) => self.end(Ending::Graceful),
                // SIGINT reached the program through the process group.
                Ok(_) => {}
                Err(_) => return,
            }
        }
    }

    /// Reaps every child that has exited (the program, or an orphan that
    /// was re-parented here), noting the program's status.
    fn reap(&mut self) {
        while let Ok(status) = waitpid(None, Some(WaitPidFlag::WNOHANG)) {
            if status == WaitStatus::StillAlive {
                break;
            }
            if status.pid() == Some(self.program) {
                self.status = Some(status);
            }
        }
    }

    /// Ends every process below the supervisor: SIGTERM (unless `Now`),
    /// up to [`TERM_GRACE`] for them to go, then SIGKILL until none is left.
    fn end(&mut self, ending: Ending) {
        if ending == Ending::Graceful {
            let below = descendants(self.root);
            if below.is_empty() {
                return;
            }
            for pid in &below {
                let _ = kill(*pid, Signal::SIGTERM);
            }
            let deadline = Instant::now() + TERM_GRACE;
            while Instant::now() < deadline {
                self.reap();
                if descendants(self.root).is_empty() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(10));
            }
        }
        // Bounded: a process forking as fast as it is killed still loses,
        // as SIGKILL leaves it no time to fork again.
        for _ in 0..100 {
            let below = descendants(self.root);
            if below.is_empty() {
                break;
            }
            for pid in &below {
                let _ = kill(*pid, Signal::SIGKILL);
            }
            std::thread::sleep(Duration::from_millis(5));
            self.reap();
        }
        self.reap();
    }
}

/// Every live process below `root` (zombies excluded: they are gone, only
/// not yet reaped), found through the parent links in `/proc`.
pub fn descendants(root: Pid) -> Vec<Pid> {
    let mut children: HashMap<i32, Vec<i32>> = HashMap::new();
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    for entry in entries.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|n| n.parse::<i32>().ok())
        else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
            continue;
        };
        if let Some((state, ppid)) = parse_stat(&stat)
            && state != 'Z'
        {
            children.entry(ppid).or_default().push(pid);
        }
    }
    let mut found = Vec::new();
    let mut queue = vec![root.as_raw()];
    while let Some(parent) = queue.pop() {
        for &child in children.get(&parent).into_iter().flatten() {
            found.push(Pid::from_raw(child));
            queue.push(child);
        }
    }
    found
}

/// The state and parent pid of a `/proc/PID/stat` line. The command name
/// (in parentheses) may itself hold spaces and parentheses: the fields
/// that follow are read after its last `)`.
fn parse_stat(stat: &str) -> Option<(char, i32)> {
    let rest = &stat[stat.rfind(')')? + 1..];
    let mut fields = rest.split_whitespace();
    let state = fields.next()?.chars().next()?;
    let ppid = fields.next()?.parse().ok()?;
    Some((state, ppid))
}

/// Ends this process as the program ended: the same exit code, or the same
/// signal raised again (the code `128 + signal` if it cannot be).
fn exit_like(status: Option<WaitStatus>) -> i32 {
    match status {
        Some(WaitStatus::Exited(_, code)) => code,
        Some(WaitStatus::Signaled(_, signal, _)) => {
            let _ = nix::sys::prctl::set_pdeathsig(None);
            // The default action (Rust ignores SIGPIPE), and only this one
            // signal let through: a stop signal still pending must not be
            // the one this process dies of.
            // SAFETY: restoring a signal's default disposition.
            let _ =
                unsafe { nix::sys::signal::signal(signal, nix::sys::signal::SigHandler::SigDfl) };
            let mut only = SigSet::empty();
            only.add(signal);
            let _ = only.thread_unblock();
            let _ = kill(nix::unistd::getpid(), signal);
            128 + signal as i32
        }
        _ => 1,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_lines_are_read_after_the_last_parenthesis() {
        assert_eq!(parse_stat("42 (sh) S 7 42 42 0"), Some(('S', 7)));
        assert_eq!(parse_stat("43 (a (b) c) Z 1 43 43"), Some(('Z', 1)));
        assert_eq!(parse_stat("garbage"), None);
    }

    #[test]
    fn this_process_has_no_descendant_it_did_not_start() {
        let me = nix::unistd::getpid();
        let mut child = std::process::Command::new("sleep")
            .arg("5")
            .spawn()
            .unwrap();
        let found = descendants(me);
        assert!(
            found.contains(&Pid::from_raw(child.id() as i32)),
            "{found:?}"
        );
        child.kill().unwrap();
        child.wait().unwrap();
        assert!(!descendants(me).contains(&Pid::from_raw(child.id() as i32)));
    }
}
