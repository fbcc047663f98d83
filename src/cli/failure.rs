//! How a command fails: the one place that turns an error into a line on
//! stderr and an exit code. 2: the way the command was called can be
//! fixed (arguments, URL, token, a host that cannot be reached or refuses
//! us); 1: anything else stopped it.

use std::fmt::Display;
use std::process::ExitCode;

use tether::client::{ConnectError, Target};

#[derive(Debug)]
pub enum Failure {
    /// The call itself: arguments, files named in it, URL, token, a host
    /// that refuses or cannot be reached.
    Usage(String),
    /// The command started and something stopped it.
    Runtime(String),
}

impl Failure {
    pub fn usage(error: impl Display) -> Self {
        Failure::Usage(error.to_string())
    }

    pub fn runtime(error: impl Display) -> Self {
        Failure::Runtime(error.to_string())
    }

    fn exit_code(&self) -> u8 {
        match self {
            Failure::Usage(_) => 2,
            Failure::Runtime(_) => 1,
        }
    }

    /// Prints one line (the error and its causes) and gives the exit code.
    pub fn exit(self) -> ExitCode {
        let code = self.exit_code();
        let (Failure::Usage(message) | Failure::Runtime(message)) = self;
        eprintln!("tether: {message}");
        ExitCode::from(code)
    }
}

/// An error and its sources, on one line.
pub fn with_causes(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

impl From<tether::host::Error> for Failure {
    fn from(error: tether::host::Error) -> Self {
        Failure::Runtime(with_causes(&error))
    }
}

impl From<ConnectError> for Failure {
    fn from(error: ConnectError) -> Self {
        Failure::Usage(with_causes(&error))
    }
}

impl From<std::io::Error> for Failure {
    fn from(error: std::io::Error) -> Self {
        Failure::Runtime(with_causes(&error))
    }
}

impl From<color_eyre::eyre::Report> for Failure {
    fn from(error: color_eyre::eyre::Report) -> Self {
        Failure::Runtime(format!("{error:#}"))
    }
}

/// Why `tether attach` could not connect: one line, exit code 2, with a
/// hint when the URL's scheme is the likely mistake.
pub fn connect_failure(target: &Target, error: &ConnectError) -> ExitCode {
    let message = match plain_host_hint(target, error) {
        Some(hint) => format!("cannot attach to {}: {error}; {hint}", target.url),
        None => format!("cannot attach to {}: {error}", target.url),
    };
    Failure::usage(message).exit()
}

/// A `wss://` URL whose TLS handshake got a plaintext answer: the host
/// speaks plain `ws://` (HTTP comes back where a TLS record was expected).
fn plain_host_hint(target: &Target, error: &ConnectError) -> Option<String> {
    let (ConnectError::Tls(why) | ConnectError::Network(why)) = error else {
        return None;
    };
    if target.url.scheme() != "wss" || !why.contains("InvalidContentType") {
        return None;
    }
    let mut plain = target.url.clone();
    plain.set_scheme("ws").ok()?;
    Some(format!(
        "the host speaks plain ws:// — did you mean {plain}?"
    ))
}
