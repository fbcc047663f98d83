//! The terminal UI's settings file, `<config dir>/tether/config.toml`:
//!
//! ```toml
//! mouse = false   # start with the mouse left to the terminal (F6 toggles)
//! ```
//!
//! A missing file means the defaults. Keys this version does not know are
//! ignored (a newer tether may have written them); a known key with a
//! wrong value is an error that names the file.

use std::path::{Path, PathBuf};

use serde::Deserialize;

#[derive(Debug, Default, Deserialize)]
pub struct UiConfig {
    /// Whether the UI starts capturing the mouse (default: yes).
    pub mouse: Option<bool>,
}

/// `<config dir>/tether/config.toml`.
pub fn default_path() -> Option<PathBuf> {
    dirs::config_dir().map(|dir| dir.join("tether").join("config.toml"))
}

/// Reads the file at `path`; a missing file is the defaults.
pub fn load(path: &Path) -> Result<UiConfig, String> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(UiConfig::default()),
        Err(e) => return Err(format!("cannot read {}: {e}", path.display())),
    };
    toml::from_str(&text).map_err(|e| format!("{}: {}", path.display(), e.message()))
}

/// The settings from the default file.
pub fn load_default() -> Result<UiConfig, String> {
    default_path().map_or(Ok(UiConfig::default()), |path| load(&path))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_file_unknown_keys_and_bad_values() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.toml");
        assert_eq!(load(&path).unwrap().mouse, None);
        std::fs::write(&path, "mouse = false\n[hosts.later]\nurl = \"x\"\n").unwrap();
        assert_eq!(load(&path).unwrap().mouse, Some(false));
        std::fs::write(&path, "mouse = \"sometimes\"\n").unwrap();
        let error = load(&path).unwrap_err();
        assert!(
            error.contains("config.toml") && error.contains("bool"),
            "{error}"
        );
    }
}
