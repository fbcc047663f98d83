//! The host's own files (journals, their markers and locks) in a state
//! directory, opened so that nothing else can be reached through them: a
//! symlink planted at a journal's name is refused, not followed (the host
//! would have emptied and chmodded its target); a directory the user does
//! not own, or that others can write to, is refused rather than used (a
//! shared `/tmp`); and nothing the host did not create is ever chmodded.

use std::fs::{self, File, OpenOptions};
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::Path;

use crate::host::error::{IoContext, Result, invalid};

/// Makes sure `dir` is a directory only this user can write to: created
/// 0700 when missing; an existing one must be a real directory (not a
/// symlink), owned by this user, writable by nobody else. One that others
/// can read is used with a warning: its files are 0600 anyway, and the
/// host never changes the mode of a directory it did not make.
pub fn ensure_private_dir(dir: &Path) -> Result<()> {
    match fs::symlink_metadata(dir) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .or_io(|| format!("cannot create {}", dir.display())),
        Err(e) => Err(e).or_io(|| format!("cannot read {}", dir.display())),
        Ok(meta) => check_dir(dir, &meta),
    }
}

fn check_dir(dir: &Path, meta: &fs::Metadata) -> Result<()> {
    let shown = dir.display();
    if meta.file_type().is_symlink() {
        invalid!("{shown} is a symlink: tether keeps its state only in a real directory");
    }
    if !meta.is_dir() {
        invalid!("{shown} is not a directory");
    }
    let me = nix::unistd::geteuid().as_raw();
    if meta.uid() != me {
        invalid!(
            "{shown} belongs to another user (uid {}): tether keeps its state only in a directory of its user's",
            meta.uid()
        );
    }
    let mode = meta.permissions().mode() & 0o7777;
    if mode & 0o022 != 0 {
        invalid!(
            "{shown} can be written by others (mode {mode:o}): choose a private directory (tether never changes the mode of a directory it did not make)"
        );
    }
    if mode & 0o077 != 0 {
        tracing::warn!(
            "{shown} can be read by others (mode {mode:o}); the files tether keeps there are private (0600)"
        );
    }
    Ok(())
}

/// Opens (creating 0600 when missing) the regular file at `path` for
/// reading and writing, never through a symlink. An existing file must be
/// a regular file of this user's; one that others could read (an older
/// host's, made under a loose umask) is made private through the open
/// file, with a warning.
pub fn open_private_file(path: &Path) -> Result<File> {
    let file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .read(true)
        .write(true)
        .mode(0o600)
        .custom_flags(nix::libc::O_NOFOLLOW | nix::libc::O_CLOEXEC)
        .open(path)
        .map_err(|e| refused_link(path, e))?;
    check_file(path, &file)?;
    Ok(file)
}

/// Opens the file at `path` for reading, never through a symlink.
pub fn open_for_reading(path: &Path) -> Result<File> {
    OpenOptions::new()
        .read(true)
        .custom_flags(nix::libc::O_NOFOLLOW | nix::libc::O_CLOEXEC)
        .open(path)
        .map_err(|e| refused_link(path, e))
}

fn refused_link(path: &Path, e: std::io::Error) -> crate::host::Error {
    if e.raw_os_error() == Some(nix::libc::ELOOP) {
        crate::host::Error::Invalid(format!(
            "{} is a symlink: tether never writes through one (move it away)",
            path.display()
        ))
    } else {
        crate::host::Error::Io {
            what: format!("cannot open {}", path.display()),
            cause: e,
        }
    }
}

fn check_file(path: &Path, file: &File) -> Result<()> {
    let meta = file
        .metadata()
        .or_io(|| format!("cannot read {}", path.display()))?;
    if !meta.is_file() {
        invalid!("{} is not a regular file", path.display());
    }
    let me = nix::unistd::geteuid().as_raw();
    if meta.uid() != me {
        invalid!(
            "{} belongs to another user (uid {})",
            path.display(),
            meta.uid()
        );
    }
    let mode = meta.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        file.set_permissions(fs::Permissions::from_mode(0o600))
            .or_io(|| format!("cannot make {} private", path.display()))?;
        tracing::warn!(
            "{} was readable by others (mode {mode:o}); it is now 600",
            path.display()
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_symlink_is_refused_and_its_target_untouched() {
        let root = tempfile::tempdir().unwrap();
        let target = root.path().join("precious");
        fs::write(&target, "keep me").unwrap();
        fs::set_permissions(&target, fs::Permissions::from_mode(0o644)).unwrap();
        let link = root.path().join("main.jsonl");
        std::os::unix::fs::symlink(&target, &link).unwrap();
        let refused = open_private_file(&link).unwrap_err().to_string();
        assert!(refused.contains("is a symlink"), "{refused}");
        assert_eq!(fs::read_to_string(&target).unwrap(), "keep me");
        let mode = fs::metadata(&target).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o644);
        assert!(open_for_reading(&link).is_err());
    }

    #[test]
    fn directories_others_can_write_or_that_are_links_are_refused_unchanged() {
        let root = tempfile::tempdir().unwrap();
        let shared = root.path().join("shared");
        fs::create_dir(&shared).unwrap();
        fs::set_permissions(&shared, fs::Permissions::from_mode(0o1777)).unwrap();
        let refused = ensure_private_dir(&shared).unwrap_err().to_string();
        assert!(refused.contains("can be written by others"), "{refused}");
        let mode = fs::metadata(&shared).unwrap().permissions().mode() & 0o7777;
        assert_eq!(mode, 0o1777, "the sticky bit and mode are left alone");
        let link = root.path().join("link");
        std::os::unix::fs::symlink(root.path(), &link).unwrap();
        assert!(
            ensure_private_dir(&link)
                .unwrap_err()
                .to_string()
                .contains("symlink")
        );
        // Readable by others: used as it is, never chmodded.
        let open = root.path().join("open");
        fs::create_dir(&open).unwrap();
        fs::set_permissions(&open, fs::Permissions::from_mode(0o755)).unwrap();
        ensure_private_dir(&open).unwrap();
        let mode = fs::metadata(&open).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o755);
        // Missing: made 0700, parents too.
        let fresh = root.path().join("a/b");
        ensure_private_dir(&fresh).unwrap();
        let mode = fs::metadata(&fresh).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o700);
    }
}
