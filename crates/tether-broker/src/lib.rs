//! Reaching a NATS broker, for the host and the client alike: where it is,
//! the credentials to show it (a creds file, a user and password, or a
//! token: from the environment or a file, never only on a command line)
//! and TLS to it with a CA file. What travels through it is the relay's
//! business (`tether_protocol::relay`).

use std::path::PathBuf;
use std::time::Duration;

pub use async_nats;

/// How to reach and log in to a broker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Broker {
    /// `nats://HOST:PORT` or `tls://HOST:PORT` (the path, if any, is not
    /// the broker's: tether reads host and session from it).
    pub url: url::Url,
    pub auth: BrokerAuth,
    /// A CA file to trust for TLS to the broker (besides the system's).
    pub ca_file: Option<PathBuf>,
}

/// The broker's credentials.
#[derive(Clone, PartialEq, Eq, Default)]
pub enum BrokerAuth {
    /// A broker without authentication.
    #[default]
    None,
    /// A `.creds` file (JWT and NKey seed).
    CredsFile(PathBuf),
    UserPassword {
        user: String,
        password: String,
    },
    Token(String),
}

/// Never the secrets in a log line.
impl std::fmt::Debug for BrokerAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            BrokerAuth::None => f.write_str("None"),
            BrokerAuth::CredsFile(path) => write!(f, "CredsFile({})", path.display()),
            BrokerAuth::UserPassword { user, .. } => write!(f, "UserPassword({user}, ***)"),
            BrokerAuth::Token(_) => f.write_str("Token(***)"),
        }
    }
}

impl BrokerAuth {
    /// The credentials: the creds file given, else the environment's
    /// (`env` reads a variable): `TETHER_BROKER_TOKEN`, or
    /// `TETHER_BROKER_USER` and `TETHER_BROKER_PASSWORD`; else none.
    pub fn from_env(
        creds: Option<PathBuf>,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<BrokerAuth, String> {
        if let Some(file) = creds {
            if !file.is_file() {
                return Err(format!(
                    "broker credentials {}: no such file",
                    file.display()
                ));
            }
            return Ok(BrokerAuth::CredsFile(file));
        }
        if let Some(token) = env("TETHER_BROKER_TOKEN") {
            return Ok(BrokerAuth::Token(token));
        }
        match (env("TETHER_BROKER_USER"), env("TETHER_BROKER_PASSWORD")) {
            (Some(user), Some(password)) => Ok(BrokerAuth::UserPassword { user, password }),
            (Some(_), None) | (None, Some(_)) => {
                Err("TETHER_BROKER_USER and TETHER_BROKER_PASSWORD go together".into())
            }
            (None, None) => Ok(BrokerAuth::None),
        }
    }
}

impl Broker {
    /// A client's broker at `url`: credentials from `TETHER_BROKER_CREDS`
    /// (a file) or as [`BrokerAuth::from_env`] says, a CA file from
    /// `TETHER_BROKER_CA`.
    pub fn for_client(url: url::Url) -> Result<Broker, String> {
        let env = |name: &str| std::env::var(name).ok();
        let creds = env("TETHER_BROKER_CREDS").map(PathBuf::from);
        Ok(Broker {
            url,
            auth: BrokerAuth::from_env(creds, env)?,
            ca_file: env("TETHER_BROKER_CA").map(PathBuf::from),
        })
    }

    /// A broker at `url` without credentials.
    pub fn at(url: url::Url) -> Broker {
        Broker {
            url,
            auth: BrokerAuth::None,
            ca_file: None,
        }
    }

    /// `HOST:PORT` as shown to people (`via nats://HOST:PORT`).
    pub fn shown(&self) -> String {
        let host = self.url.host_str().unwrap_or("?");
        match self.url.port() {
            Some(port) => format!("{}://{host}:{port}", self.url.scheme()),
            None => format!("{}://{host}", self.url.scheme()),
        }
    }

    /// Connects once (`name` tells the broker's monitoring who we are).
    /// Reconnections after that are the client library's.
    pub async fn connect(&self, name: &str) -> Result<async_nats::Client, String> {
        self.connect_with(name, async_nats::ConnectOptions::new())
            .await
    }

    /// [`Broker::connect`], with a count of the connection's losses, each
    /// counted once it is back: the client library reconnects by itself,
    /// but what the broker sent (or was sent) while it was away is gone,
    /// and whoever must not miss anything has to know.
    pub async fn connect_counting_losses(
        &self,
        name: &str,
    ) -> Result<(async_nats::Client, tokio::sync::watch::Receiver<u64>), String> {
        let (losses, counted) = tokio::sync::watch::channel(0u64);
        let away = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let options = async_nats::ConnectOptions::new().event_callback(move |event| {
            use std::sync::atomic::Ordering;
            match event {
                async_nats::Event::Disconnected => away.store(true, Ordering::SeqCst),
                async_nats::Event::Connected if away.swap(false, Ordering::SeqCst) => {
                    losses.send_modify(|n| *n += 1);
                }
                _ => {}
            }
            async {}
        });
        Ok((self.connect_with(name, options).await?, counted))
    }

    async fn connect_with(
        &self,
        name: &str,
        options: async_nats::ConnectOptions,
    ) -> Result<async_nats::Client, String> {
        let mut options = options
            .name(name)
            .connection_timeout(Duration::from_secs(5));
        options = match &self.auth {
            BrokerAuth::None => options,
            BrokerAuth::CredsFile(path) => options
                .credentials_file(path)
                .await
                .map_err(|e| format!("broker credentials {}: {e}", path.display()))?,
            BrokerAuth::UserPassword { user, password } => {
                options.user_and_password(user.clone(), password.clone())
            }
            BrokerAuth::Token(token) => options.token(token.clone()),
        };
        if let Some(ca) = &self.ca_file {
            options = options.add_root_certificates(ca.clone()).require_tls(true);
        }
        if self.url.scheme() == "tls" {
            options = options.require_tls(true);
        }
        let address = format!(
            "nats://{}:{}",
            self.url.host_str().unwrap_or("localhost"),
            self.url.port().unwrap_or(4222)
        );
        options
            .connect(address.as_str())
            .await
            .map_err(|e| format!("cannot reach the broker {}: {e}", self.shown()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_stay_out_of_debug_output() {
        let auth = BrokerAuth::UserPassword {
            user: "host".into(),
            password: "hunter2".into(),
        };
        assert!(!format!("{auth:?}").contains("hunter2"));
        assert!(!format!("{:?}", BrokerAuth::Token("s3cret".into())).contains("s3cret"));
        let broker = Broker::at(url::Url::parse("nats://b.example:4222/devbox/main").unwrap());
        assert_eq!(broker.shown(), "nats://b.example:4222");
    }
}
