//! Logging to a file: the UI owns the screen, so nothing is logged to it.

use std::path::PathBuf;
use std::sync::Mutex;

/// `$TETHER_LOG`, else `<state dir>/tether/tether.log`.
pub fn log_path() -> PathBuf {
    if let Some(path) = std::env::var_os("TETHER_LOG") {
        return PathBuf::from(path);
    }
    dirs::state_dir()
        .or_else(dirs::data_local_dir)
        .unwrap_or_else(std::env::temp_dir)
        .join("tether")
        .join("tether.log")
}

/// Sends tracing output to the log file (best effort: no file, no logs).
pub fn to_file() {
    use tracing_subscriber::EnvFilter;
    let path = log_path();
    if let Some(dir) = path.parent() {
        let _ = std::fs::create_dir_all(dir);
    }
    let Ok(file) = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
    else {
        return;
    };
    let filter =
        EnvFilter::try_from_env("TETHER_LOG_LEVEL").unwrap_or_else(|_| EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(false)
        .with_writer(Mutex::new(file))
        .try_init();
}
