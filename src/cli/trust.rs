//! Trust on first use, as ssh does: a `wss://` host whose certificate no
//! root vouches for and whose fingerprint nobody gave is asked about once
//! on the terminal (before the full-screen UI takes it), and a yes is
//! remembered in `<config dir>/tether/known_hosts`. A changed certificate
//! is refused loudly and never asked about; headless runs never ask. The
//! texts are pure functions; asking and the file are at the edges.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use tether::client::known_hosts;
use tether::client::pinning::{self, PinSource};
use tether::client::{self, ConnectError, Since, Socket, Target};
use url::Url;

use super::Failure;

/// `<config dir>/tether/known_hosts`, beside config.toml and the auth file.
pub fn known_hosts_path() -> Option<PathBuf> {
    dirs::config_dir().map(|dir| dir.join("tether").join("known_hosts"))
}

/// Trusts what known_hosts lists (a fingerprint given on the command line
/// or in config.toml wins); a line that is not an entry is named on
/// stderr and skipped.
pub fn load_known_hosts() {
    let Some(path) = known_hosts_path() else {
        return;
    };
    match known_hosts::load(&path) {
        Ok((entries, bad)) => {
            for line in bad {
                eprintln!(
                    "tether: {}:{}: skipped: {}",
                    path.display(),
                    line.line,
                    line.why
                );
            }
            for entry in &entries {
                pinning::know(entry, &path);
            }
        }
        Err(e) => eprintln!("tether: cannot read {}: {e}", path.display()),
    }
}

/// Whether a question may be asked: someone at a terminal reads stderr
/// and types on stdin.
pub fn can_ask() -> bool {
    std::io::stdin().is_terminal() && std::io::stderr().is_terminal()
}

/// Connects; an unknown host is asked about (when `ask`), remembered on a
/// yes and connected again. A no is a refusal that says so.
pub async fn connect(target: &Target, since: Since, ask: bool) -> Result<Socket, ConnectError> {
    match client::connect_once(target, since).await {
        Err(ConnectError::UnknownHost {
            host_port,
            fingerprint,
        }) if ask => {
            if !ask_and_remember(&host_port, &fingerprint).await {
                return Err(declined(&host_port));
            }
            client::connect_once(target, since).await
        }
        other => other,
    }
}

/// Before the deck takes the terminal: every `wss://` host among
/// `probes` (its list: looking never takes a session) is connected to at
/// once; each unknown one is asked about in
/// turn (one answered no is left to show as refused in the deck). A
/// changed certificate, or an unknown one with nobody to ask, stops
/// everything with its message; other failures are the deck's to show.
pub async fn check_hosts(probes: &[Target], ask: bool) -> Result<(), Failure> {
    let mut seen = std::collections::HashSet::new();
    let secure: Vec<&Target> = probes
        .iter()
        .filter(|t| t.url.scheme() == "wss" && seen.insert(host_port(&t.url)))
        .collect();
    let attempts = secure.iter().map(|target| async move {
        let attempt = client::connect_once(target, Since::Live);
        tokio::time::timeout(PRECHECK_WAIT, attempt).await
    });
    let outcomes = futures_util::future::join_all(attempts).await;
    for (target, outcome) in secure.into_iter().zip(outcomes) {
        match outcome {
            Ok(Err(ConnectError::UnknownHost {
                host_port,
                fingerprint,
            })) if ask => {
                // Another URL of the same host was asked about already.
                if pinning::lookup(&host_port).is_none() {
                    ask_and_remember(&host_port, &fingerprint).await;
                }
            }
            Ok(Err(
                error @ (ConnectError::UnknownHost { .. } | ConnectError::HostChanged { .. }),
            )) => {
                return Err(super::failure::connect_refusal(&target.url, &error));
            }
            Ok(Ok(mut socket)) => {
                let _ = futures_util::SinkExt::close(&mut socket).await;
            }
            Ok(Err(_)) | Err(_) => {}
        }
    }
    Ok(())
}

fn host_port(url: &Url) -> String {
    let host = url.host_str().unwrap_or("?");
    format!("{host}:{}", url.port_or_known_default().unwrap_or(0))
}

/// How long the check of a host may take before the deck starts without
/// its verdict (a host that does not answer is the deck's to show).
const PRECHECK_WAIT: std::time::Duration = std::time::Duration::from_secs(5);

/// Asks whether to trust `host_port`; on a yes trusts it, remembers it
/// when it can (saying where), and returns true.
async fn ask_and_remember(host_port: &str, fingerprint: &str) -> bool {
    let answer = super::headless::ask(question(host_port, fingerprint)).await;
    if !is_yes(&answer) {
        return false;
    }
    if let Err(e) = pinning::pin(host_port, fingerprint) {
        eprintln!("tether: {e}");
        return false;
    }
    match known_hosts_path() {
        Some(path) => match known_hosts::remember(&path, host_port, fingerprint) {
            Ok(entry) => eprintln!(
                "tether: added {host_port} to the known hosts ({}, line {}).",
                path.display(),
                entry.line
            ),
            Err(e) => eprintln!(
                "tether: could not add {host_port} to {}: {e}; trusted for this run only.",
                path.display()
            ),
        },
        None => eprintln!("tether: no config directory: {host_port} is trusted for this run only."),
    }
    true
}

fn declined(host_port: &str) -> ConnectError {
    ConnectError::Tls(format!(
        "{host_port}: the certificate was not trusted (answered no); nothing was remembered"
    ))
}

/// The question, as ssh asks it.
pub fn question(host_port: &str, fingerprint: &str) -> String {
    format!(
        "The authenticity of host '{host_port}' can't be established.\n\
         No certificate authority this machine trusts vouches for its TLS certificate.\n\
         The certificate's fingerprint is {fingerprint}.\n\
         Compare it with the one `tether serve` printed on that host.\n\
         Trust it and connect (y/N)?"
    )
}

/// `y` or `yes`, in any case; anything else (an empty line included) is no.
pub fn is_yes(answer: &str) -> bool {
    matches!(answer.trim().to_lowercase().as_str(), "y" | "yes")
}

/// Why a headless run (or one with no terminal to ask on) does not
/// connect to an unknown host, and the two ways to trust it.
pub fn unknown_message(
    url: &Url,
    host_port: &str,
    fingerprint: &str,
    known: Option<&Path>,
) -> String {
    let mut text = format!(
        "cannot attach to {url}: no certificate authority this machine trusts vouches for \
         the TLS certificate of {host_port}, and it is not a known host.\n\
         Its fingerprint is {fingerprint}.\n\
         No question is asked here (--prompt, --plain, or no terminal). If that is the \
         fingerprint `tether serve` printed on the host, trust it with\n    \
         tether attach {url} --fingerprint {fingerprint}"
    );
    if let Some(path) = known {
        text.push_str(&format!(
            "\nor add this line to {}:\n    {host_port} {fingerprint}",
            path.display()
        ));
    }
    text
}

/// The alarm for a certificate that is not the one trusted, as loud as
/// ssh's, with where the old one is trusted and how to fix it.
pub fn changed_message(host_port: &str, expected: &str, seen: &str, by: &PinSource) -> String {
    let banner = "@".repeat(59);
    let mut text = format!(
        "{banner}\n\
         @    WARNING: REMOTE HOST IDENTIFICATION HAS CHANGED!     @\n\
         {banner}\n\
         IT IS POSSIBLE THAT SOMEONE IS DOING SOMETHING NASTY!\n\
         Someone could be eavesdropping on you right now (man-in-the-middle attack)!\n\
         It is also possible that the host's TLS certificate has just been changed.\n\
         The certificate of {host_port} should have the fingerprint\n    {expected}\n\
         and it has\n    {seen}\n"
    );
    match by {
        PinSource::KnownHosts { path, line } => text.push_str(&format!(
            "The trusted fingerprint is line {line} of {shown}.\n\
             If the host really has a new certificate (compare with the fingerprint \
             `tether serve` prints there), remove that line:\n    \
             sed -i '{line}d' '{shown}'\n\
             then attach again to be asked about the new one.\n",
            shown = path.display()
        )),
        PinSource::Given => text.push_str(&format!(
            "The trusted fingerprint was given with --fingerprint or as `fingerprint =` for \
             this host in config.toml. If the host really has a new certificate (compare \
             with the fingerprint `tether serve` prints there), give the new one instead:\n    \
             --fingerprint {seen}\n"
        )),
    }
    text.push_str("Not connecting: the certificate of the host has changed.");
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_y_or_yes_trusts() {
        for yes in ["y", "Y", "yes", " YES "] {
            assert!(is_yes(yes), "{yes}");
        }
        for no in ["", "n", "no", "yess", "sure"] {
            assert!(!is_yes(no), "{no}");
        }
    }

    #[test]
    fn the_alarm_names_both_fingerprints_the_line_and_the_fix() {
        let by = PinSource::KnownHosts {
            path: "/home/a/.config/tether/known_hosts".into(),
            line: 4,
        };
        let text = changed_message("h:1", "SHA256:old", "SHA256:new", &by);
        for needed in [
            "REMOTE HOST IDENTIFICATION HAS CHANGED",
            "SHA256:old",
            "SHA256:new",
            "line 4 of /home/a/.config/tether/known_hosts",
            "sed -i '4d' '/home/a/.config/tether/known_hosts'",
        ] {
            assert!(text.contains(needed), "{needed}: {text}");
        }
        let given = changed_message("h:1", "SHA256:old", "SHA256:new", &PinSource::Given);
        assert!(given.contains("--fingerprint SHA256:new"), "{given}");
    }

    #[test]
    fn the_headless_refusal_says_both_ways_to_trust() {
        let url = Url::parse("wss://h:1/v1/sessions/main").unwrap();
        let text = unknown_message(&url, "h:1", "SHA256:x", Some(Path::new("/k/known_hosts")));
        assert!(
            text.contains("tether attach wss://h:1/v1/sessions/main --fingerprint SHA256:x"),
            "{text}"
        );
        assert!(
            text.ends_with("/k/known_hosts:\n    h:1 SHA256:x"),
            "{text}"
        );
    }
}
