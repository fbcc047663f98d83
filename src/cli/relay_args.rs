//! `tether serve --relay nats://BROKER:4222 --host-id NAME`: the host dials
//! out to a NATS broker and serves its sessions there too. Broker
//! credentials come from a creds file, or from the environment
//! (`TETHER_BROKER_TOKEN`, `TETHER_BROKER_USER` and
//! `TETHER_BROKER_PASSWORD`), never from the command line alone.

use std::path::PathBuf;

use clap::Args;
use tether::broker::{Broker, BrokerAuth};
use tether::host::server::relay::RelayConfig;
use tether::protocol::relay::check_host_id;

#[derive(Debug, Clone, Default, Args)]
pub struct RelayArgs {
    /// Serve the sessions through this NATS broker as well
    /// (nats://HOST:PORT, or tls://HOST:PORT): clients reach them with
    /// `tether attach nats://HOST:PORT/HOST-ID/SESSION`, nothing dials in.
    #[arg(long, value_name = "URL")]
    relay: Option<String>,
    /// The host's name on the broker [default: this machine's name].
    #[arg(long, value_name = "NAME", requires = "relay")]
    host_id: Option<String>,
    /// The broker's credentials file (.creds); else TETHER_BROKER_TOKEN, or
    /// TETHER_BROKER_USER and TETHER_BROKER_PASSWORD, from the environment.
    #[arg(long, value_name = "FILE", requires = "relay")]
    relay_creds: Option<PathBuf>,
    /// A CA file to trust for TLS to the broker.
    #[arg(long, value_name = "FILE", requires = "relay")]
    relay_ca: Option<PathBuf>,
}

impl RelayArgs {
    /// The relay to serve through, if asked.
    pub fn config(&self) -> Result<Option<RelayConfig>, String> {
        let Some(text) = &self.relay else {
            return Ok(None);
        };
        let url = parse_broker_url(text)?;
        let host_id = match &self.host_id {
            Some(id) => id.clone(),
            None => machine_host_id(),
        };
        check_host_id(&host_id).map_err(|e| format!("--host-id: {e}"))?;
        let mut broker = Broker::at(url);
        broker.auth =
            BrokerAuth::from_env(self.relay_creds.clone(), |name| std::env::var(name).ok())?;
        broker.ca_file = self.relay_ca.clone();
        Ok(Some(RelayConfig { broker, host_id }))
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
}
