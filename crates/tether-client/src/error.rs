//! Why a connection attempt failed: one line each, for a status bar as
//! much as for stderr (the CLI says more, over several lines, for the
//! certificate cases).

use std::fmt;

use crate::pinning::PinSource;

/// Why a connection attempt failed.
#[derive(Debug, Clone, PartialEq)]
pub enum ConnectError {
    BadUrl(String),
    Unauthorized,
    NotFound,
    Http(u16),
    /// Network trouble: refused, reset, unreachable.
    Network(String),
    /// The TLS handshake failed (an expired certificate, say), in words.
    Tls(String),
    /// No root this machine trusts vouches for the host's certificate,
    /// and its fingerprint is neither pinned nor in known_hosts: the user
    /// may trust it (asked, `--fingerprint`) and connect again.
    UnknownHost {
        host_port: String,
        fingerprint: String,
    },
    /// The certificate is not the one trusted for this host: never asked,
    /// always refused.
    HostChanged {
        host_port: String,
        expected: String,
        seen: String,
        trusted_by: PinSource,
    },
    /// `wss://` to a host that answered in plain text.
    NotTls {
        host_port: String,
    },
    /// `ws://` to a host that speaks only TLS.
    OnlyTls {
        host_port: String,
    },
    /// The host refused, saying why (a relay join it will not take).
    Refused(String),
}

impl ConnectError {
    /// Errors that retrying will not fix.
    pub fn is_fatal(&self) -> bool {
        !matches!(self, ConnectError::Network(_))
    }
}

impl fmt::Display for ConnectError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConnectError::BadUrl(why) => write!(f, "bad URL: {why}"),
            ConnectError::Unauthorized => {
                write!(f, "unauthorized (401): the token was not accepted")
            }
            ConnectError::NotFound => write!(f, "no such session (404)"),
            ConnectError::Http(code) => write!(f, "the host answered HTTP {code}"),
            ConnectError::Refused(why) => write!(f, "refused: {why}"),
            ConnectError::Network(why) => write!(f, "{why}"),
            ConnectError::Tls(why) => write!(f, "TLS: {why}"),
            ConnectError::UnknownHost {
                host_port,
                fingerprint,
            } => write!(
                f,
                "TLS: no authority this machine trusts vouches for the certificate of \
                 {host_port} ({fingerprint}), and it is not a known host; trust it with \
                 --fingerprint {fingerprint}, or attach from a terminal to be asked"
            ),
            ConnectError::HostChanged {
                host_port,
                expected,
                seen,
                ..
            } => write!(
                f,
                "TLS: REMOTE HOST IDENTIFICATION HAS CHANGED: {host_port} presented \
                 {seen}, not the trusted {expected}; not connecting"
            ),
            ConnectError::NotTls { host_port } => write!(
                f,
                "{host_port} answered in plain text, not TLS (it serves ws://, not wss://)"
            ),
            ConnectError::OnlyTls { host_port } => write!(
                f,
                "{host_port} speaks only TLS (it serves wss://, not ws://)"
            ),
        }
    }
}

impl std::error::Error for ConnectError {}
