//! How a command fails: the one place that turns an error into a line on
//! stderr and an exit code. 2: the way the command was called can be
//! fixed (arguments, URL, token, a host that cannot be reached or refuses
//! us); 1: anything else stopped it.

use std::fmt::Display;
use std::process::ExitCode;

use tether::client::{ConnectError, Target};
use url::Url;

#[derive(Debug)]
pub enum Failure {
    /// The call itself: arguments, files named in it, URL, token, a host
    /// that refuses or cannot be reached.
    Usage(String),
    /// The command started and something stopped it.
    Runtime(String),
    /// A refusal of several lines printed as it is, exit code 2: the
    /// alarm for a host whose certificate changed.
    Alarm(String),
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
            Failure::Usage(_) | Failure::Alarm(_) => 2,
            Failure::Runtime(_) => 1,
        }
    }

    /// Prints one line (the error and its causes) and gives the exit code.
    pub fn exit(self) -> ExitCode {
        let code = self.exit_code();
        match self {
            Failure::Usage(message) | Failure::Runtime(message) => {
                eprintln!("tether: {message}");
            }
            Failure::Alarm(message) => eprintln!("{message}"),
        }
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

/// Why `tether attach` could not connect: exit code 2, one line with a
/// hint when the URL's scheme is the likely mistake; for a certificate
/// nobody vouches for, how to trust it; for a changed one, the alarm.
pub fn connect_failure(target: &Target, error: &ConnectError) -> ExitCode {
    connect_refusal(&target.url, error).exit()
}

/// [`connect_failure`]'s message, for `url`.
pub fn connect_refusal(url: &Url, error: &ConnectError) -> Failure {
    match error {
        ConnectError::UnknownHost {
            host_port,
            fingerprint,
        } => {
            let known = super::trust::known_hosts_path();
            let text = super::trust::unknown_message(url, host_port, fingerprint, known.as_deref());
            return Failure::usage(text);
        }
        ConnectError::HostChanged {
            host_port,
            expected,
            seen,
            trusted_by,
        } => {
            let text = super::trust::changed_message(host_port, expected, seen, trusted_by);
            return Failure::Alarm(text);
        }
        _ => {}
    }
    match scheme_hint(url, error) {
        Some(hint) => Failure::usage(format!("cannot attach to {url}: {error}; {hint}")),
        None => Failure::usage(format!("cannot attach to {url}: {error}")),
    }
}

/// A URL whose scheme the host does not speak: the other one.
fn scheme_hint(url: &Url, error: &ConnectError) -> Option<String> {
    let other = match error {
        ConnectError::NotTls { .. } => "ws",
        ConnectError::OnlyTls { .. } => "wss",
        _ => return None,
    };
    let mut fixed = url.clone();
    fixed.set_scheme(other).ok()?;
    Some(format!("did you mean {fixed}?"))
}
