//! The disk edge of previews: where a tool's path really leads, and the
//! bounded, checked read of a file inside the session's directory.

use std::fs::File;
use std::io::{ErrorKind, Read};
use std::path::{Component, Path, PathBuf};

use super::MAX_FILE_BYTES;

/// A file a tool will change, resolved.
#[derive(Debug, Clone, PartialEq)]
pub struct Target {
    /// With every symlink and `..` resolved (as far as the path exists).
    pub resolved: PathBuf,
    /// As shown to people: relative to the session's directory.
    pub shown: String,
}

/// Resolves `path` (absolute, or relative to `cwd`) the way the file system
/// will when the tool opens it: each existing component's symlinks are
/// followed and `..` applies to the real parent. Components that do not
/// exist yet (a new file, new directories) are taken as written. Refuses a
/// path that leads outside `cwd`, before anything there is read.
pub fn resolve(cwd: &Path, path: &str) -> Result<Target, String> {
    let root = cwd.canonicalize().map_err(|e| {
        format!(
            "cannot resolve the session's directory {}: {e}",
            cwd.display()
        )
    })?;
    let joined = cwd.join(path);
    let mut resolved = PathBuf::new();
    let mut exists = true;
    for component in joined.components() {
        match component {
            Component::Prefix(_) | Component::RootDir => resolved.push(component),
            Component::CurDir => {}
            // `resolved` holds no symlink, so its parent is the real one.
            Component::ParentDir => {
                resolved.pop();
            }
            Component::Normal(name) => {
                resolved.push(name);
                if !exists {
                    continue;
                }
                match resolved.symlink_metadata() {
                    Ok(_) => {
                        resolved = resolved
                            .canonicalize()
                            .map_err(|e| format!("cannot resolve {path}: {e}"))?;
                    }
                    Err(e) if e.kind() == ErrorKind::NotFound => exists = false,
                    Err(e) => return Err(format!("cannot resolve {path}: {e}")),
                }
            }
        }
    }
    match resolved.strip_prefix(&root) {
        Ok(inside) if !inside.as_os_str().is_empty() => Ok(Target {
            shown: inside.display().to_string(),
            resolved,
        }),
        Ok(_) => Err(format!("{path} is the session's directory itself")),
        Err(_) => Err(format!(
            "{path} is outside the session's directory {}: not read",
            root.display()
        )),
    }
}

/// The file's text now, `None` if it does not exist yet. Refuses what is
/// not a regular file (never opened: a FIFO would block), larger than
/// [`MAX_FILE_BYTES`], or not UTF-8.
pub fn read_text(target: &Target) -> Result<Option<String>, String> {
    let shown = &target.shown;
    let meta = match target.resolved.metadata() {
        Ok(meta) => meta,
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(format!("cannot read {shown}: {e}")),
    };
    if !meta.is_file() {
        return Err(format!("{shown} is not a regular file"));
    }
    let too_large = |size: u64| format!("{shown} is larger than 1 MiB ({size} bytes)");
    if meta.len() > MAX_FILE_BYTES {
        return Err(too_large(meta.len()));
    }
    let mut bytes = Vec::new();
    File::open(&target.resolved)
        // It may have grown since: never read more than the bound.
        .and_then(|file| file.take(MAX_FILE_BYTES + 1).read_to_end(&mut bytes))
        .map_err(|e| format!("cannot read {shown}: {e}"))?;
    if bytes.len() as u64 > MAX_FILE_BYTES {
        return Err(too_large(bytes.len() as u64));
    }
    String::from_utf8(bytes)
        .map(Some)
        .map_err(|_| format!("{shown} is not valid UTF-8 text"))
}
