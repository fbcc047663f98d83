//! `<config dir>/tether/known_hosts`: the fingerprints of the certificates
//! the user chose to trust when asked (as ssh's known_hosts), one line per
//! `HOST:PORT`:
//!
//! ```text
//! # comments and blank lines are kept
//! build.lan:7878 SHA256:qUiQTy8PR5uPgZdpSzAYSw0u0cHNKh7A+4XSmaGSpEc
//! ```
//!
//! Reading and changing the text is pure ([`parse`], [`appended`]); the
//! file is read once at start ([`load`]) and written by [`remember`]:
//! privately (0600, in a 0700 directory it makes), atomically (a new file
//! then a rename, which replaces a symlink rather than writing through
//! it), one writer at a time (a lock file beside it).

use std::fs::{self, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::Path;

use crate::pinning::parse_fingerprint;

/// One line of the file that names a host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub host_port: String,
    pub fingerprint: String,
    /// 1-based, as an editor counts.
    pub line: usize,
}

/// A line that is neither a comment nor an entry (kept in the file, not
/// used).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadLine {
    pub line: usize,
    pub why: String,
}

/// The entries of the file's text, and the lines that are not entries.
pub fn parse(text: &str) -> (Vec<Entry>, Vec<BadLine>) {
    let mut entries = Vec::new();
    let mut bad = Vec::new();
    for (index, raw) in text.lines().enumerate() {
        let line = index + 1;
        let content = raw.trim();
        if content.is_empty() || content.starts_with('#') {
            continue;
        }
        let mut words = content.split_whitespace();
        let (Some(host_port), Some(fingerprint), None) = (words.next(), words.next(), words.next())
        else {
            bad.push(BadLine {
                line,
                why: "expected `HOST:PORT SHA256:…`".into(),
            });
            continue;
        };
        match parse_fingerprint(fingerprint) {
            Ok(fingerprint) => entries.push(Entry {
                host_port: host_port.to_owned(),
                fingerprint,
                line,
            }),
            Err(why) => bad.push(BadLine { line, why }),
        }
    }
    (entries, bad)
}

/// The first entry for `host_port`.
pub fn lookup<'a>(entries: &'a [Entry], host_port: &str) -> Option<&'a Entry> {
    entries.iter().find(|e| e.host_port == host_port)
}

/// The text with a line for `host_port` added at the end, every other
/// line kept as it was; and that line's number.
pub fn appended(text: &str, host_port: &str, fingerprint: &str) -> (String, usize) {
    let mut out = text.to_owned();
    if !out.is_empty() && !out.ends_with('\n') {
        out.push('\n');
    }
    let line = out.lines().count() + 1;
    out.push_str(&format!("{host_port} {fingerprint}\n"));
    (out, line)
}

/// The file's text; a missing file is empty.
fn read(path: &Path) -> io::Result<String> {
    match fs::read_to_string(path) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(String::new()),
        other => other,
    }
}

/// The file's entries and bad lines (none when it does not exist).
pub fn load(path: &Path) -> io::Result<(Vec<Entry>, Vec<BadLine>)> {
    Ok(parse(&read(path)?))
}

/// Adds `host_port` with `fingerprint` to the file at `path` and returns
/// the entry written. An entry already there for it (another process
/// answered first) is returned instead when it is the same fingerprint.
pub fn remember(path: &Path, host_port: &str, fingerprint: &str) -> io::Result<Entry> {
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)?;
    let name = path
        .file_name()
        .map_or("known_hosts".into(), |n| n.to_string_lossy().into_owned());
    let _lock = lock(&dir.join(format!("{name}.lock")))?;
    let text = read(path)?;
    let (entries, _) = parse(&text);
    if let Some(entry) = lookup(&entries, host_port).filter(|e| e.fingerprint == fingerprint) {
        return Ok(entry.clone());
    }
    let (text, line) = appended(&text, host_port, fingerprint);
    let temporary = dir.join(format!(
        ".{name}.{}.{:08x}",
        std::process::id(),
        rand::random::<u32>()
    ));
    let written =
        write_new(&temporary, text.as_bytes()).and_then(|()| fs::rename(&temporary, path));
    if written.is_err() {
        let _ = fs::remove_file(&temporary);
    }
    written?;
    Ok(Entry {
        host_port: host_port.to_owned(),
        fingerprint: fingerprint.to_owned(),
        line,
    })
}

/// Writes a new file, 0600: `create_new` (O_EXCL) never opens what is
/// already there, a symlink included.
fn write_new(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    file.write_all(bytes)?;
    file.sync_all()
}

/// An exclusive lock on `path` (made 0600 if missing, never through a
/// symlink), held until dropped.
fn lock(path: &Path) -> io::Result<nix::fcntl::Flock<fs::File>> {
    let file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .mode(0o600)
        .custom_flags(nix::libc::O_NOFOLLOW | nix::libc::O_CLOEXEC)
        .open(path)?;
    nix::fcntl::Flock::lock(file, nix::fcntl::FlockArg::LockExclusive)
        .map_err(|(_, errno)| io::Error::from(errno))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pinning::fingerprint;

    #[test]
    fn entries_comments_and_bad_lines() {
        let a = fingerprint(b"a");
        let text = format!(
            "# mine\n\nh:1 {a}\nh:2\n  h:3   {a}  \nh:4 MD5:xx\nh:1 {}\n",
            fingerprint(b"b")
        );
        let (entries, bad) = parse(&text);
        let hosts: Vec<_> = entries
            .iter()
            .map(|e| (e.host_port.as_str(), e.line))
            .collect();
        assert_eq!(hosts, [("h:1", 3), ("h:3", 5), ("h:1", 7)]);
        assert_eq!(bad.iter().map(|b| b.line).collect::<Vec<_>>(), [4, 6]);
        // The first line for a host is the one that counts.
        assert_eq!(lookup(&entries, "h:1").unwrap().fingerprint, a);
        assert_eq!(lookup(&entries, "h:9"), None);
    }

    #[test]
    fn appending_keeps_every_line_and_numbers_the_new_one() {
        let a = fingerprint(b"a");
        assert_eq!(appended("", "h:1", &a), (format!("h:1 {a}\n"), 1));
        let (text, line) = appended("# x\nodd line", "h:2", &a);
        assert_eq!(text, format!("# x\nodd line\nh:2 {a}\n"));
        assert_eq!(line, 3);
        assert_eq!(lookup(&parse(&text).0, "h:2").unwrap().line, 3);
    }

    #[test]
    fn remembering_writes_a_private_file_and_replaces_a_symlink_without_following_it() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tether").join("known_hosts");
        let (a, b) = (fingerprint(b"a"), fingerprint(b"b"));
        let first = remember(&path, "h:1", &a).unwrap();
        assert_eq!(first.line, 1);
        let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&path), 0o600);
        assert_eq!(mode(path.parent().unwrap()), 0o700);
        assert_eq!(remember(&path, "h:1", &a).unwrap(), first);
        assert_eq!(remember(&path, "h:2", &b).unwrap().line, 2);
        // A symlink planted at the file's name: its target is left alone.
        let target = dir.path().join("elsewhere");
        fs::write(&target, "keep\n").unwrap();
        fs::remove_file(&path).unwrap();
        std::os::unix::fs::symlink(&target, &path).unwrap();
        remember(&path, "h:3", &a).unwrap();
        assert_eq!(fs::read_to_string(&target).unwrap(), "keep\n");
        assert!(
            !fs::symlink_metadata(&path)
                .unwrap()
                .file_type()
                .is_symlink()
        );
        assert_eq!(
            fs::read_to_string(&path).unwrap(),
            format!("keep\nh:3 {a}\n")
        );
        assert_eq!(mode(&path), 0o600);
        let leftovers: Vec<_> = fs::read_dir(path.parent().unwrap())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .filter(|n| n.starts_with('.'))
            .collect();
        assert!(leftovers.is_empty(), "{leftovers:?}");
    }
}
