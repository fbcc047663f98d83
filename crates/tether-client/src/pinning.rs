//! Trusting a host by its certificate's fingerprint, as ssh trusts a host
//! key: for a self-signed certificate no root vouches for. A fingerprint
//! is given (`--fingerprint SHA256:…`, or `fingerprint = …` for a host in
//! config.toml: exactly that certificate and no other) or known (a line of
//! known_hosts, written when the user said yes: trusted when no root
//! vouches for the certificate). The pins are set at start and when the
//! user trusts a host; `trust` checks connections against them.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{OnceLock, RwLock};

/// `SHA256:` and the certificate's SHA-256 in base64, as ssh writes one.
pub fn fingerprint(der: &[u8]) -> String {
    let digest = ring::digest::digest(&ring::digest::SHA256, der);
    let b64 = data_encoding::BASE64_NOPAD.encode(digest.as_ref());
    format!("SHA256:{b64}")
}

/// Reads `SHA256:…` (as printed by `tether serve`).
pub fn parse_fingerprint(text: &str) -> Result<String, String> {
    let b64 = text
        .trim()
        .strip_prefix("SHA256:")
        .ok_or_else(|| format!("`{text}` is not a fingerprint: it starts with SHA256:"))?;
    let bytes = data_encoding::BASE64_NOPAD
        .decode(b64.trim_end_matches('=').as_bytes())
        .map_err(|_| format!("`{text}` is not a fingerprint (base64 after SHA256:)"))?;
    if bytes.len() != 32 {
        return Err(format!("`{text}` is not a SHA-256 fingerprint"));
    }
    Ok(format!(
        "SHA256:{}",
        data_encoding::BASE64_NOPAD.encode(&bytes)
    ))
}

/// Where the trusted fingerprint of a host comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PinSource {
    /// `--fingerprint`, or `fingerprint =` for the host in config.toml.
    Given,
    /// A line of the known_hosts file (the user said yes once).
    KnownHosts { path: PathBuf, line: usize },
}

/// The certificate trusted for a host:port, by its fingerprint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pin {
    pub fingerprint: String,
    pub source: PinSource,
}

fn pins() -> &'static RwLock<HashMap<String, Pin>> {
    static PINS: OnceLock<RwLock<HashMap<String, Pin>>> = OnceLock::new();
    PINS.get_or_init(Default::default)
}

/// Trusts the certificate with `fingerprint` (checked) for `host:port`,
/// and no other: it replaces what known_hosts said.
pub fn pin(host_port: &str, fingerprint: &str) -> Result<(), String> {
    let fingerprint = parse_fingerprint(fingerprint)?;
    let mut pins = pins().write().unwrap_or_else(|e| e.into_inner());
    let source = PinSource::Given;
    pins.insert(
        host_port.to_owned(),
        Pin {
            fingerprint,
            source,
        },
    );
    Ok(())
}

/// Trusts a known_hosts entry, unless a fingerprint was given for that
/// host (which wins) or another line of the file came first.
pub fn know(entry: &crate::known_hosts::Entry, path: &Path) {
    let mut pins = pins().write().unwrap_or_else(|e| e.into_inner());
    pins.entry(entry.host_port.clone()).or_insert_with(|| Pin {
        fingerprint: entry.fingerprint.clone(),
        source: PinSource::KnownHosts {
            path: path.to_owned(),
            line: entry.line,
        },
    });
}

/// What is trusted for `host:port`, if anything is.
pub fn lookup(host_port: &str) -> Option<Pin> {
    let pins = pins().read().unwrap_or_else(|e| e.into_inner());
    pins.get(host_port).cloned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprints_read_back_as_written() {
        let fp = fingerprint(b"a certificate");
        assert!(fp.starts_with("SHA256:") && fp.len() == 7 + 43, "{fp}");
        assert_eq!(parse_fingerprint(&fp).unwrap(), fp);
        assert_eq!(parse_fingerprint(&format!("{fp}=")).unwrap(), fp);
        assert!(parse_fingerprint("MD5:abc").is_err());
        assert!(parse_fingerprint("SHA256:abc").is_err());
    }
}
