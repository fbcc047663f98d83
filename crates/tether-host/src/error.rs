//! The host's one error type: what went wrong, in words for the person
//! who started the host, with the I/O error behind it.

/// An error of the host layer.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A file, socket or process could not be used; `what` says which and
    /// what was being done ("cannot read /x/auth.json"). The cause is part
    /// of the message, so the host's own logs show it whole.
    #[error("{what}: {cause}")]
    Io { what: String, cause: std::io::Error },
    /// A file or setting holds something the host cannot use; the message
    /// names it and says what is wrong.
    #[error("{0}")]
    Invalid(String),
    /// The host is no longer running.
    #[error("the host has stopped")]
    Stopped,
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Names what an I/O operation was doing when it failed.
pub trait IoContext<T> {
    fn or_io(self, what: impl FnOnce() -> String) -> Result<T>;
}

impl<T> IoContext<T> for std::io::Result<T> {
    fn or_io(self, what: impl FnOnce() -> String) -> Result<T> {
        self.map_err(|cause| Error::Io {
            what: what(),
            cause,
        })
    }
}

impl From<std::io::Error> for Error {
    fn from(cause: std::io::Error) -> Self {
        Error::Io {
            what: "I/O error".into(),
            cause,
        }
    }
}

/// Encoding the host's own records cannot fail in practice; if it does,
/// say so rather than panic.
impl From<serde_json::Error> for Error {
    fn from(e: serde_json::Error) -> Self {
        Error::Invalid(format!("cannot encode a record: {e}"))
    }
}

/// Returns early with an [`Error::Invalid`] made like `format!`.
macro_rules! invalid {
    ($($arg:tt)*) => {
        return Err($crate::host::Error::Invalid(format!($($arg)*)))
    };
}
pub(crate) use invalid;
