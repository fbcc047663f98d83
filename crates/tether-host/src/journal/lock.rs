//! One writer per journal: the file is locked (flock) while a host writes
//! it. Two hosts in one home, or a deleted session's task still stopping
//! while a new one opens the same id, would otherwise interleave lines.

use std::fs::File;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

use nix::fcntl::{Flock, FlockArg};

use crate::host::error::{Error, Result};

/// Locks `file` (the journal at `path`) for this host alone; a journal in
/// use is refused, naming the process that holds it when the kernel says.
pub fn exclusive(file: File, path: &Path, session: &str) -> Result<Flock<File>> {
    match Flock::lock(file, FlockArg::LockExclusiveNonblock) {
        Ok(locked) => Ok(locked),
        Err((file, nix::errno::Errno::EWOULDBLOCK)) => {
            let holder = file
                .metadata()
                .ok()
                .and_then(|meta| holder_of(meta.ino()))
                .map(|pid| format!(" (pid {pid}{})", command_of(pid)))
                .unwrap_or_default();
            Err(Error::Invalid(format!(
                "the journal of session `{session}` ({}) is in use by another tether{holder}: stop that one, or give this one a journal directory of its own (--journal DIR)",
                path.display()
            )))
        }
        Err((_, errno)) => Err(Error::Io {
            what: format!("cannot lock {}", path.display()),
            cause: errno.into(),
        }),
    }
}

/// The process holding a flock on inode `ino`, from `/proc/locks`
/// (`1: FLOCK  ADVISORY  WRITE 4242 fd:01:1234 0 EOF`).
fn holder_of(ino: u64) -> Option<i32> {
    let locks = std::fs::read_to_string("/proc/locks").ok()?;
    locks.lines().find_map(|line| {
        let fields: Vec<&str> = line.split_whitespace().collect();
        let at = fields.iter().position(|f| *f == "FLOCK")?;
        let pid = fields.get(at + 3)?.parse().ok()?;
        let inode = fields
            .get(at + 4)?
            .rsplit(':')
            .next()?
            .parse::<u64>()
            .ok()?;
        (inode == ino).then_some(pid)
    })
}

fn command_of(pid: i32) -> String {
    std::fs::read(format!("/proc/{pid}/cmdline"))
        .ok()
        .map(|raw| {
            let words: Vec<String> = raw
                .split(|b| *b == 0)
                .filter(|w| !w.is_empty())
                .map(|w| String::from_utf8_lossy(w).into_owned())
                .collect();
            // Printed to a terminal: no control characters from elsewhere.
            let shown: String = words
                .join(" ")
                .chars()
                .filter(|c| !c.is_control())
                .collect();
            format!(": {shown}")
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_lock_is_refused_naming_this_process() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("main.jsonl");
        let first = crate::host::private_files::open_private_file(&path).unwrap();
        let _held = exclusive(first, &path, "main").unwrap();
        let second = crate::host::private_files::open_private_file(&path).unwrap();
        let refused = exclusive(second, &path, "main").unwrap_err().to_string();
        let me = std::process::id();
        assert!(refused.contains("in use by another tether"), "{refused}");
        assert!(refused.contains(&format!("pid {me}")), "{refused}");
    }
}
