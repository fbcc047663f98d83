//! The terminal UI's settings file, `<config dir>/tether/config.toml`:
//!
//! ```toml
//! mouse = false     # start with the mouse left to the terminal (F6 toggles)
//! notify = "bell"   # "desktop" (default: OSC 9/777 and the bell), "bell", "off"
//! transcript_window = "4M"  # transcript kept in memory per session (default
//!                   # 4M; sessions not on screen keep an eighth); older
//!                   # pages are fetched from the host when read. "0": all
//!
//! [[hosts]]         # what `tether attach` with no URL opens
//! name = "laptop"
//! url = "ws://127.0.0.1:7878"
//! [[hosts]]
//! name = "build-box"
//! url = "wss://build.example.com"
//! token_file = "~/.config/tether/build-box.token"   # or token = "tt_..."
//!
//! [keys]            # remap a binding by name (docs/keys.md lists them)
//! session_list = "Ctrl+L"
//! quit = ["Ctrl+Q", "F10"]
//! ```
//!
//! A missing file means the defaults. Keys this version does not know are
//! ignored (a newer tether may have written them); a known key with a
//! wrong value is an error that names the file.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

#[derive(Debug, Default, Deserialize)]
pub struct UiConfig {
    /// Whether the UI starts capturing the mouse (default: yes).
    pub mouse: Option<bool>,
    /// How a session not on screen says it needs you.
    pub notify: Option<tether::tui::deck::notify::NotifyMode>,
    /// Bytes of transcript a session keeps in memory (`4M`).
    pub transcript_window: Option<String>,
    /// The hosts `tether attach` opens when given no URL.
    #[serde(default)]
    pub hosts: Vec<HostEntry>,
    /// Bindings remapped by name: one key or a list.
    #[serde(default)]
    pub keys: BTreeMap<String, Keys>,
}

/// The keys of a remapped binding.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum Keys {
    One(String),
    Many(Vec<String>),
}

impl UiConfig {
    /// `transcript_window` in bytes (the default when absent).
    pub fn window_bytes(&self) -> Result<usize, String> {
        match &self.transcript_window {
            None => Ok(tether::tui::app::paging::DEFAULT_WINDOW_BYTES),
            Some(text) => super::serve::parse_size(text)
                .map_err(|e| format!("transcript_window in the config file: {e}")),
        }
    }

    /// Checks `[keys]` and makes it the keymap of this process.
    pub fn install_keys(&self, path: &str) -> Result<(), String> {
        let overrides: Vec<(String, Vec<String>)> = self
            .keys
            .iter()
            .map(|(name, keys)| {
                let keys = match keys {
                    Keys::One(key) => vec![key.clone()],
                    Keys::Many(keys) => keys.clone(),
                };
                (name.clone(), keys)
            })
            .collect();
        if overrides.is_empty() {
            return Ok(());
        }
        let table =
            tether::tui::keymap::remapped(&overrides).map_err(|e| format!("{path}: {e}"))?;
        // Installed once per process; the UI starts once.
        let _ = tether::tui::keymap::install(table);
        Ok(())
    }
}

/// One host of the config file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HostEntry {
    pub name: Option<String>,
    pub url: String,
    pub token: Option<String>,
    pub token_file: Option<PathBuf>,
    /// The host's certificate fingerprint (`SHA256:…`), for a self-signed
    /// one.
    pub fingerprint: Option<String>,
}

impl HostEntry {
    /// The token: `token`, else the first line of `token_file`.
    pub fn token(&self) -> Result<Option<String>, String> {
        if let Some(token) = &self.token {
            return Ok(Some(token.clone()));
        }
        let Some(file) = &self.token_file else {
            return Ok(None);
        };
        let file = tether::host::sessions::expand_home(file);
        let text = std::fs::read_to_string(&file)
            .map_err(|e| format!("cannot read {}: {e}", file.display()))?;
        Ok(text.lines().next().map(|l| l.trim().to_owned()))
    }
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

/// The settings from the default file, with its `[keys]` installed: what
/// every full-screen UI reads before it starts.
pub fn load_for_ui() -> Result<UiConfig, String> {
    let Some(path) = default_path() else {
        return Ok(UiConfig::default());
    };
    let settings = load(&path)?;
    settings.install_keys(&path.display().to_string())?;
    Ok(settings)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_file_unknown_keys_and_bad_values() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.toml");
        assert_eq!(load(&path).unwrap().mouse, None);
        std::fs::write(&path, "mouse = false\n[later]\nurl = \"x\"\n").unwrap();
        assert_eq!(load(&path).unwrap().mouse, Some(false));
        std::fs::write(&path, "mouse = \"sometimes\"\n").unwrap();
        let error = load(&path).unwrap_err();
        assert!(
            error.contains("config.toml") && error.contains("bool"),
            "{error}"
        );
    }

    #[test]
    fn keys_take_one_key_or_a_list_and_a_bad_one_names_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.toml");
        std::fs::write(
            &path,
            "[keys]\nquit = \"F10\"\nsession_list = [\"Ctrl+L\", \"F9\"]\n",
        )
        .unwrap();
        let settings = load(&path).unwrap();
        assert_eq!(settings.keys.len(), 2);
        let table = tether::tui::keymap::remapped(&[(
            "session_list".into(),
            match &settings.keys["session_list"] {
                Keys::Many(keys) => keys.clone(),
                Keys::One(_) => panic!("a list"),
            },
        )])
        .unwrap();
        assert!(table.iter().any(|b| b.label == "Ctrl+L/F9"));
        std::fs::write(&path, "[keys]\nquit = \"Ctrl+F\"\n").unwrap();
        let error = load(&path)
            .unwrap()
            .install_keys("config.toml")
            .unwrap_err();
        assert_eq!(
            error,
            "config.toml: [keys]: Ctrl+F is both search_anywhere and quit"
        );
    }
}
