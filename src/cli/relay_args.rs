//! `tether serve --relay nats://BROKER:4222 --host-id NAME`: the host dials
//! out to a NATS broker and serves its sessions there too. Broker
//! credentials come from a creds file, or from the environment
//! (`TETHER_BROKER_TOKEN`, `TETHER_BROKER_USER` and
//! `TETHER_BROKER_PASSWORD`), never from the command line alone.

use std::path::PathBuf;

use clap::Args;
use tether::broker::{Broker, BrokerAuth};
use tether::host::server::relay::{RelayConfig, StreamLimits};
use tether::protocol::relay::check_host_id;

#[derive(Debug, Clone, Default, Args)]
pub struct RelayArgs {
    /// Serve the sessions through this NATS broker as well
    /// (nats://HOST:PORT, or tls://HOST:PORT): clients reach them with
    /// `tether attach nats://HOST:PORT/HOST-ID/SESSION`, nothing dials in.
    #[arg(long, value_name = "URL")]
    relay: Option<String>,
    /// The host's name on the broker [default: this machine's name].
    #[arg(long, value_name = "NAME")]
    host_id: Option<String>,
    /// The broker's credentials file (.creds); else TETHER_BROKER_TOKEN, or
    /// TETHER_BROKER_USER and TETHER_BROKER_PASSWORD, from the environment.
    #[arg(long, value_name = "FILE")]
    relay_creds: Option<PathBuf>,
    /// A CA file to trust for TLS to the broker.
    #[arg(long, value_name = "FILE")]
    relay_ca: Option<PathBuf>,
    /// How much of each session's events the broker keeps for viewers to
    /// catch up from (64M, 1G) [default: 64M]; older ones come from the
    /// host's journal.
    #[arg(long, value_name = "SIZE", value_parser = super::serve::parse_size)]
    relay_stream_bytes: Option<usize>,
    /// How long the broker keeps a session's events (30m, 24h, 7d)
    /// [default: 7d].
    #[arg(long, value_name = "AGE", value_parser = parse_age)]
    relay_stream_age: Option<std::time::Duration>,
}

fn parse_age(text: &str) -> Result<std::time::Duration, String> {
    humantime::parse_duration(text.trim())
        .map_err(|_| format!("`{text}` is not an age (30m, 24h, 7d)"))
}

/// `[relay]` in serve.toml: the same as the flags (which win, key by key).
#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RelayEntry {
    url: String,
    host_id: Option<String>,
    creds: Option<PathBuf>,
    ca: Option<PathBuf>,
    /// As --relay-stream-bytes.
    stream_bytes: Option<String>,
    /// As --relay-stream-age.
    stream_age: Option<String>,
}

impl RelayArgs {
    /// The relay to serve through, if asked (by a flag or by `file`).
    pub fn config(&self, file: Option<&RelayEntry>) -> Result<Option<RelayConfig>, String> {
        let text = match (&self.relay, file) {
            (Some(text), _) => text,
            (None, Some(entry)) => &entry.url,
            (None, None) => {
                let stray = [
                    (self.host_id.is_some(), "--host-id"),
                    (self.relay_creds.is_some(), "--relay-creds"),
                    (self.relay_ca.is_some(), "--relay-ca"),
                    (self.relay_stream_bytes.is_some(), "--relay-stream-bytes"),
                    (self.relay_stream_age.is_some(), "--relay-stream-age"),
                ];
                return match stray.iter().find(|(given, _)| *given) {
                    Some((_, flag)) => Err(format!(
                        "{flag} needs --relay URL (or [relay] in the config file)"
                    )),
                    None => Ok(None),
                };
            }
        };
        let url = parse_broker_url(text)?;
        // Paths in the file may start with `~`.
        let from_file = |pick: fn(&RelayEntry) -> Option<PathBuf>| {
            file.and_then(pick)
                .map(|path| tether::host::sessions::expand_home(&path))
        };
        let host_id = self
            .host_id
            .clone()
            .or_else(|| file.and_then(|f| f.host_id.clone()))
            .unwrap_or_else(machine_host_id);
        check_host_id(&host_id).map_err(|e| format!("host id: {e}"))?;
        let creds = self.relay_creds.clone().or(from_file(|f| f.creds.clone()));
        let mut broker = Broker::at(url);
        broker.auth = BrokerAuth::from_env(creds, |name| std::env::var(name).ok())?;
        broker.ca_file = self.relay_ca.clone().or(from_file(|f| f.ca.clone()));
        let stream = self.stream_limits(file)?;
        Ok(Some(RelayConfig {
            broker,
            host_id,
            stream,
        }))
    }

    /// The sessions' streams' limits: flags, then the file, then defaults.
    fn stream_limits(&self, file: Option<&RelayEntry>) -> Result<StreamLimits, String> {
        let mut limits = StreamLimits::default();
        let bytes = match (
            self.relay_stream_bytes,
            file.and_then(|f| f.stream_bytes.as_deref()),
        ) {
            (Some(bytes), _) => Some(bytes),
            (None, Some(text)) => Some(
                super::serve::parse_size(text).map_err(|e| format!("[relay] stream_bytes: {e}"))?,
            ),
            (None, None) => None,
        };
        if let Some(bytes) = bytes {
            if bytes < 1 << 20 {
                return Err("the relay stream must hold at least 1M".into());
            }
            limits.max_bytes = bytes as u64;
        }
        let age = match (
            self.relay_stream_age,
            file.and_then(|f| f.stream_age.as_deref()),
        ) {
            (Some(age), _) => Some(age),
            (None, Some(text)) => {
                Some(parse_age(text).map_err(|e| format!("[relay] stream_age: {e}"))?)
            }
            (None, None) => None,
        };
        if let Some(age) = age {
            limits.max_age = age;
        }
        Ok(limits)
    }
}

/// A broker URL as typed: `nats://` or `tls://`, a host, a port or 4222.
pub fn parse_broker_url(text: &str) -> Result<url::Url, String> {
    let url = url::Url::parse(text).map_err(|e| format!("`{text}`: {e}"))?;
    if !matches!(url.scheme(), "nats" | "tls") {
        return Err(format!(
            "`{text}`: a broker is nats://HOST:PORT or tls://HOST:PORT"
        ));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(format!("`{text}` has no host"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(format!(
            "`{text}`: no credentials in the URL (they would show in `ps`): \
             use --relay-creds FILE or TETHER_BROKER_USER and TETHER_BROKER_PASSWORD"
        ));
    }
    Ok(url)
}

/// This machine's name as a host id (letters, digits, `-`, `_`).
fn machine_host_id() -> String {
    let name = nix::unistd::gethostname()
        .ok()
        .and_then(|n| n.into_string().ok())
        .unwrap_or_default();
    let id: String = name
        .split('.')
        .next()
        .unwrap_or_default()
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' {
                c
            } else {
                '_'
            }
        })
        .take(64)
        .collect();
    if id.is_empty() { "host".into() } else { id }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn broker_urls_and_credentials_are_checked() {
        assert!(parse_broker_url("nats://b:4222").is_ok());
        assert!(parse_broker_url("tls://b").is_ok());
        assert!(parse_broker_url("ws://b:4222").is_err());
        assert!(
            parse_broker_url("nats://u:p@b:4222")
                .unwrap_err()
                .contains("ps")
        );
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |name: &str| {
                pairs
                    .iter()
                    .find(|(k, _)| *k == name)
                    .map(|(_, v)| (*v).to_owned())
            }
        };
        let auth = BrokerAuth::from_env;
        assert_eq!(auth(None, env(&[])).unwrap(), BrokerAuth::None);
        assert_eq!(
            auth(None, env(&[("TETHER_BROKER_TOKEN", "s")])).unwrap(),
            BrokerAuth::Token("s".into())
        );
        assert!(auth(None, env(&[("TETHER_BROKER_USER", "u")])).is_err());
        assert!(auth(Some("/nonexistent.creds".into()), env(&[])).is_err());
    }

    #[test]
    fn the_config_files_relay_is_used_and_flags_win_key_by_key() {
        let entry: RelayEntry =
            toml::from_str("url = \"nats://b:4222\"\nhost_id = \"devbox\"\nca = \"/ca.pem\"\n")
                .unwrap();
        let none = RelayArgs::default();
        let from_file = none.config(Some(&entry)).unwrap().unwrap();
        assert_eq!(from_file.host_id, "devbox");
        assert_eq!(from_file.broker.url.as_str(), "nats://b:4222");
        assert_eq!(from_file.broker.ca_file, Some("/ca.pem".into()));
        let flags = RelayArgs {
            relay: Some("nats://other:4222".into()),
            host_id: Some("ci-7".into()),
            ..RelayArgs::default()
        };
        let both = flags.config(Some(&entry)).unwrap().unwrap();
        assert_eq!(both.host_id, "ci-7");
        assert_eq!(both.broker.url.as_str(), "nats://other:4222");
        assert_eq!(both.broker.ca_file, Some("/ca.pem".into()));
        assert!(none.config(None).unwrap().is_none());
        let stray = RelayArgs {
            host_id: Some("x".into()),
            ..RelayArgs::default()
        };
        assert!(
            stray
                .config(None)
                .unwrap_err()
                .contains("--host-id needs --relay")
        );
        assert!(toml::from_str::<RelayEntry>("url = \"nats://b\"\ntoken = \"t\"\n").is_err());
    }
}
