//! The host's config file, `tether serve --config FILE` (default
//! `<config dir>/tether/serve.toml` when it exists): the agents clients
//! may start and the sessions to run.
//!
//! ```toml
//! listen = "127.0.0.1:7878"      # optional; --listen wins
//! workspaces = ["~/src"]         # where created sessions may run
//!
//! [agents.claude]                # a preset of our own (shell, claude,
//! kind = "stream-json"           # claude-acp, gemini, codex and opencode
//! command = ["claude", "-p", "..."]  # exist already when installed)
//!
//! [[sessions]]
//! id = "api"
//! agent = "claude"
//! cwd = "~/src/api"
//! title = "API server"           # optional
//!
//! [notify]                       # alerts (optional; --notify-* win)
//! ntfy = "https://ntfy.sh/TOPIC"
//! webhook = "https://..."
//! after = "30s"                  # a request unanswered this long
//! ```
//!
//! Unknown keys are errors (a typo must not silently start nothing).

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;
use tether::host::agent::{AgentSpec, Preset};
use tether::host::notify::{Destination, DestinationKind, NotifyConfig, Rules};
use tether::host::sessions::{SessionSpec, expand_home};

use super::agent_kind::AgentKind;
use super::presets;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServeFile {
    pub listen: Option<SocketAddr>,
    pub auth: Option<PathBuf>,
    pub journal: Option<PathBuf>,
    /// Sessions the host runs at most (`--max-sessions` wins).
    pub max_sessions: Option<usize>,
    #[serde(default)]
    pub workspaces: Vec<PathBuf>,
    #[serde(default)]
    agents: BTreeMap<String, AgentEntry>,
    #[serde(default)]
    sessions: Vec<SessionEntry>,
    notify: Option<NotifyEntry>,
    /// `[relay]`: serve through a NATS broker too.
    pub relay: Option<super::relay_args::RelayEntry>,
    /// Where it was read from (errors name it).
    #[serde(skip)]
    path: PathBuf,
}

/// `[notify]`: where alerts go, and when a request is told of.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct NotifyEntry {
    webhook: Option<String>,
    ntfy: Option<String>,
    after: Option<After>,
}

/// `after = "30s"`, or a number of seconds.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum After {
    Secs(u64),
    Text(String),
}

/// Where alerts go, from the config file or the flags (flags win).
#[derive(Debug, Default)]
pub struct NotifyChoice {
    pub webhook: Option<Destination>,
    pub ntfy: Option<Destination>,
    pub after: Option<Duration>,
}

impl NotifyChoice {
    /// The host's alert settings: none without a destination; `after`
    /// alone is refused (`without` says how the destinations are given).
    pub fn into_config(self, without: &str) -> Result<Option<NotifyConfig>, String> {
        let destinations: Vec<Destination> = self.webhook.into_iter().chain(self.ntfy).collect();
        if destinations.is_empty() {
            return match self.after {
                Some(_) => Err(format!("an alert delay is set, but {without}")),
                None => Ok(None),
            };
        }
        let after = self.after.unwrap_or(Rules::DEFAULT_AFTER);
        Ok(Some(NotifyConfig::new(destinations, after)))
    }
}

/// A delay: `30s`, `2m`, `1h 30m`, or a number of seconds (`0`: at once).
pub fn parse_after(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) {
        return text
            .parse()
            .map(Duration::from_secs)
            .map_err(|_| format!("`{text}` is too large"));
    }
    humantime::parse_duration(text)
        .map_err(|_| format!("`{text}` is not a delay (30s, 2m, 1h; 0 for at once)"))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct AgentEntry {
    kind: AgentKind,
    #[serde(default)]
    command: Vec<String>,
    /// For `replay`: the recording, and its speed.
    file: Option<PathBuf>,
    speed: Option<f64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SessionEntry {
    id: String,
    agent: String,
    cwd: Option<PathBuf>,
    title: Option<String>,
}

/// `<config dir>/tether/serve.toml`.
pub fn default_path() -> Option<PathBuf> {
    dirs::config_dir().map(|dir| dir.join("tether").join("serve.toml"))
}

/// What a config file says, ready for the host.
#[derive(Debug)]
pub struct Served {
    pub presets: BTreeMap<String, Preset>,
    pub sessions: Vec<SessionSpec>,
    pub workspaces: Vec<PathBuf>,
}

/// The built-in presets: the shell, and each agent preset (installed or
/// not: the host offers those whose program is there when asked, and names
/// what to install for the others).
pub fn builtin_presets() -> BTreeMap<String, Preset> {
    let mut presets = BTreeMap::from([("shell".to_owned(), Preset::new(AgentSpec::Shell))]);
    for (name, preset) in presets::ALL.iter() {
        presets.insert((*name).to_owned(), preset.for_host());
    }
    presets
}

impl ServeFile {
    pub fn load(file: &Path) -> Result<ServeFile, String> {
        let text = std::fs::read_to_string(file)
            .map_err(|e| format!("cannot read {}: {e}", file.display()))?;
        let mut parsed: ServeFile =
            toml::from_str(&text).map_err(|e| format!("{}: {}", file.display(), e.message()))?;
        parsed.path = file.to_owned();
        Ok(parsed)
    }

    /// What `[notify]` says; an error names the file and the key, never
    /// the URL (it holds secrets).
    pub fn notify(&self) -> Result<NotifyChoice, String> {
        let Some(entry) = &self.notify else {
            return Ok(NotifyChoice::default());
        };
        let file = self.path.display();
        let destination = |kind: DestinationKind, url: &Option<String>| {
            url.as_deref()
                .map(|url| Destination::parse(kind, url))
                .transpose()
                .map_err(|why| format!("{file}: [notify] {}: {why}", kind.as_str()))
        };
        let after = match &entry.after {
            None => None,
            Some(After::Secs(secs)) => Some(Duration::from_secs(*secs)),
            Some(After::Text(text)) => {
                Some(parse_after(text).map_err(|why| format!("{file}: [notify] after: {why}"))?)
            }
        };
        Ok(NotifyChoice {
            webhook: destination(DestinationKind::Webhook, &entry.webhook)?,
            ntfy: destination(DestinationKind::Ntfy, &entry.ntfy)?,
            after,
        })
    }

    /// The presets (built-in ones, then the file's, which win) and the
    /// sessions; `path` is `$PATH`. Errors name the file's entry.
    pub fn resolve(&self) -> Result<Served, String> {
        let mut presets = builtin_presets();
        for (name, entry) in &self.agents {
            presets.insert(name.clone(), Preset::new(entry.agent(name)?));
        }
        let mut sessions = Vec::new();
        for entry in &self.sessions {
            let Some(agent) = presets.get(&entry.agent) else {
                return Err(format!(
                    "session `{}`: no agent `{}` (known: {})",
                    entry.id,
                    entry.agent,
                    presets.keys().cloned().collect::<Vec<_>>().join(", ")
                ));
            };
            if sessions.iter().any(|s: &SessionSpec| s.id == entry.id) {
                return Err(format!("two sessions are named `{}`", entry.id));
            }
            sessions.push(SessionSpec {
                id: entry.id.clone(),
                agent: agent.agent.clone(),
                preset: Some(entry.agent.clone()),
                cwd: entry
                    .cwd
                    .as_deref()
                    .map_or_else(|| PathBuf::from("."), expand_home),
                title: entry.title.clone(),
            });
        }
        Ok(Served {
            presets,
            sessions,
            workspaces: self.workspaces.iter().map(|w| expand_home(w)).collect(),
        })
    }
}

impl AgentEntry {
    fn agent(&self, name: &str) -> Result<AgentSpec, String> {
        let needs_command = || {
            if self.command.is_empty() {
                Err(format!("agent `{name}`: `command` is needed for this kind"))
            } else {
                Ok(self.command.clone())
            }
        };
        Ok(match self.kind {
            AgentKind::Shell => AgentSpec::Shell,
            AgentKind::Replay => AgentSpec::Replay {
                file: self
                    .file
                    .as_deref()
                    .map(expand_home)
                    .ok_or_else(|| format!("agent `{name}`: `file` is needed for a replay"))?,
                speed: tether::host::agent::replay::Playback::check_speed(
                    self.speed.unwrap_or(1.0),
                )
                .map_err(|why| format!("agent `{name}`: {why}"))?,
                pause_at_requests: false,
            },
            kind => kind
                .with_command(needs_command()?)
                .expect("the other kinds run a command line"),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Served, String> {
        let file: ServeFile = toml::from_str(text).map_err(|e| e.message().to_owned())?;
        file.resolve()
    }

    #[test]
    fn sessions_use_the_builtin_and_the_configured_agents() {
        let served = parse(
            r#"
            workspaces = ["/tmp"]
            [agents.echo]
            kind = "acp"
            command = ["echo-agent", "--acp"]
            [[sessions]]
            id = "a"
            agent = "shell"
            [[sessions]]
            id = "b"
            agent = "echo"
            cwd = "/tmp"
            title = "B"
            "#,
        )
        .unwrap();
        assert_eq!(served.sessions.len(), 2);
        assert_eq!(served.sessions[0].agent, AgentSpec::Shell);
        assert_eq!(
            served.sessions[1].agent,
            AgentSpec::Acp {
                command: vec!["echo-agent".into(), "--acp".into()]
            }
        );
        assert_eq!(served.sessions[1].title.as_deref(), Some("B"));
        assert_eq!(served.sessions[1].preset.as_deref(), Some("echo"));
        assert!(served.presets.contains_key("shell"));
        assert!(
            served.presets.contains_key("claude"),
            "named even when not installed"
        );
    }

    fn notify(text: &str) -> Result<NotifyChoice, String> {
        let mut file: ServeFile = toml::from_str(text).map_err(|e| e.message().to_owned())?;
        file.path = PathBuf::from("/etc/serve.toml");
        file.notify()
    }

    #[test]
    fn notify_is_read_strictly_and_errors_name_the_file_and_key_not_the_url() {
        let choice = notify(
            "[notify]\nntfy = \"https://ntfy.sh/my-topic\"\n\
             webhook = \"http://127.0.0.1:9/hook\"\nafter = \"2m\"\n",
        )
        .unwrap();
        assert_eq!(choice.after, Some(Duration::from_secs(120)));
        let config = choice.into_config("none").unwrap().unwrap();
        assert_eq!(config.destinations.len(), 2);
        assert_eq!(config.after, Duration::from_secs(120));
        let zero = notify("[notify]\nntfy = \"https://ntfy.sh/t\"\nafter = 0\n").unwrap();
        assert_eq!(zero.after, Some(Duration::ZERO));
        let default = notify("[notify]\nntfy = \"https://ntfy.sh/t\"\n").unwrap();
        assert_eq!(
            default.into_config("none").unwrap().unwrap().after,
            Duration::from_secs(30)
        );
        let clear = notify("[notify]\nwebhook = \"http://example.com/secret\"\n").unwrap_err();
        assert!(
            clear.starts_with("/etc/serve.toml: [notify] webhook: http:// to example.com"),
            "{clear}"
        );
        assert!(!clear.contains("secret"), "{clear}");
        let no_topic = notify("[notify]\nntfy = \"https://ntfy.sh\"\n").unwrap_err();
        assert!(
            no_topic.starts_with("/etc/serve.toml: [notify] ntfy: "),
            "{no_topic}"
        );
        let bad_after = notify("[notify]\nntfy = \"https://ntfy.sh/t\"\nafter = \"soon\"\n");
        assert!(
            bad_after
                .unwrap_err()
                .contains("[notify] after: `soon` is not a delay")
        );
        assert!(notify("[notify]\nwebhok = \"https://x.example/\"\n").is_err());
        let lonely = notify("[notify]\nafter = \"1m\"\n").unwrap();
        assert!(lonely.into_config("nothing says where").is_err());
        assert!(notify("").unwrap().into_config("none").unwrap().is_none());
    }

    #[test]
    fn mistakes_are_named() {
        let unknown_agent = parse("[[sessions]]\nid = \"a\"\nagent = \"nope\"\n");
        assert!(unknown_agent.unwrap_err().contains("no agent `nope`"));
        let typo = parse("[[sessions]]\nid = \"a\"\nagnet = \"shell\"\n");
        assert!(typo.is_err());
        let no_command = parse("[agents.x]\nkind = \"acp\"\n");
        assert!(no_command.unwrap_err().contains("`command` is needed"));
        let twice = parse(
            "[[sessions]]\nid = \"a\"\nagent = \"shell\"\n[[sessions]]\nid = \"a\"\nagent = \"shell\"\n",
        );
        assert!(twice.unwrap_err().contains("two sessions"));
        let unknown_kind = parse("[agents.x]\nkind = \"telepathy\"\n").unwrap_err();
        assert!(
            unknown_kind.contains(
                "unknown variant `telepathy`, expected one of `shell`, `stream-json`, `acp`, `replay`"
            ),
            "{unknown_kind}"
        );
    }
}
