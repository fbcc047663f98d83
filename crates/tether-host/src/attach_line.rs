//! The `tether attach` command that opens a host, or one of its sessions:
//! what `tether serve` prints and what alerts carry.

use std::net::SocketAddr;
use std::path::Path;

use crate::host::notify::Opening;

/// How clients reach a host.
#[derive(Debug, Clone)]
pub struct AttachLine {
    scheme: &'static str,
    addr: SocketAddr,
    /// ` --auth FILE` when the host's auth file is not the one `tether
    /// attach` reads by default.
    auth: String,
}

impl AttachLine {
    pub fn new(scheme: &'static str, addr: SocketAddr, auth_path: &Path) -> Self {
        let auth = if auth_path == crate::host::auth::default_auth_path() {
            String::new()
        } else {
            format!(" --auth {}", shell_quoted(&auth_path.display().to_string()))
        };
        AttachLine { scheme, addr, auth }
    }

    /// `tether attach ws://HOST:PORT`, which shows every session.
    pub fn host(&self) -> String {
        format!("tether attach {}://{}{}", self.scheme, self.addr, self.auth)
    }

    /// `ws://HOST:PORT/v1/sessions/ID`.
    pub fn session_url(&self, id: &str) -> String {
        format!("{}://{}/v1/sessions/{id}", self.scheme, self.addr)
    }

    /// How an alert about session `id` says to open it; a host on
    /// loopback says it can be opened on its machine only.
    pub fn opening(&self, id: &str, host: &str) -> Opening {
        let url = self.session_url(id);
        let note = self.addr.ip().is_loopback().then(|| {
            format!(
                "(the host listens on {} only: run this on {host}, or forward its port)",
                self.addr.ip()
            )
        });
        Opening {
            host: host.to_owned(),
            attach: format!("tether attach {url}{}", self.auth),
            url,
            note,
        }
    }
}

/// `text` as one shell word.
fn shell_quoted(text: &str) -> String {
    if text.contains(|c: char| c.is_whitespace() || "'\"$`\\".contains(c)) {
        format!("'{}'", text.replace('\'', "'\\''"))
    } else {
        text.to_owned()
    }
}

/// This machine's name, as alerts name the host.
pub fn machine_name() -> String {
    nix::unistd::gethostname()
        .ok()
        .and_then(|name| name.into_string().ok())
        .filter(|name| !name.is_empty())
        .unwrap_or_else(|| "localhost".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_session_opens_with_its_url_and_the_auth_file_when_not_the_default() {
        let addr: SocketAddr = "127.0.0.1:7878".parse().unwrap();
        let line = AttachLine::new("ws", addr, Path::new("/tmp/my auth.json"));
        assert_eq!(
            line.host(),
            "tether attach ws://127.0.0.1:7878 --auth '/tmp/my auth.json'"
        );
        let opening = line.opening("api", "devbox");
        assert_eq!(
            opening.attach,
            "tether attach ws://127.0.0.1:7878/v1/sessions/api --auth '/tmp/my auth.json'"
        );
        assert_eq!(
            opening.note.as_deref(),
            Some("(the host listens on 127.0.0.1 only: run this on devbox, or forward its port)")
        );
        let wide = AttachLine::new(
            "wss",
            "192.0.2.7:7878".parse().unwrap(),
            &crate::host::auth::default_auth_path(),
        );
        let opening = wide.opening("api", "devbox");
        assert_eq!(
            opening.attach,
            "tether attach wss://192.0.2.7:7878/v1/sessions/api"
        );
        assert_eq!(opening.note, None);
    }
}
