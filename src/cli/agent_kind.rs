//! The kinds of agent the host runs (the protocol each speaks): one enum
//! for `tether serve --agent`, the config file's `kind` and the presets.
//! A new kind is a variant here (and its `AgentSpec` in the host).

use clap::ValueEnum;
use clap::builder::{PossibleValue, PossibleValuesParser, TypedValueParser};
use serde::Deserialize;
use tether::host::agent::AgentSpec;

use super::presets::{self, Preset};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum AgentKind {
    Shell,
    StreamJson,
    /// A child speaking the Agent Client Protocol.
    Acp,
    Replay,
}

/// The name `--agent` and the config file use.
impl std::fmt::Display for AgentKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let value = self.to_possible_value().expect("no kind is skipped");
        f.write_str(value.get_name())
    }
}

impl AgentKind {
    /// The agent running `command`, for the kinds that run a command line
    /// of the user's (`None` for the others).
    pub fn with_command(self, command: Vec<String>) -> Option<AgentSpec> {
        match self {
            AgentKind::StreamJson => Some(AgentSpec::StreamJson { command }),
            AgentKind::Acp => Some(AgentSpec::Acp { command }),
            AgentKind::Shell | AgentKind::Replay => None,
        }
    }
}

/// What `--agent` names: a kind, or a preset (`presets::ALL`).
#[derive(Debug, Clone, Copy)]
pub enum AgentChoice {
    Kind(AgentKind),
    Preset(&'static Preset),
}

impl AgentChoice {
    /// Whether a command line (or a preset's extra arguments) may follow
    /// `--`.
    pub fn takes_command(self) -> bool {
        match self {
            AgentChoice::Kind(kind) => kind.with_command(Vec::new()).is_some(),
            AgentChoice::Preset(_) => true,
        }
    }
}

/// The parser of `--agent`: the kinds, then the presets, each with its
/// help line.
pub fn parser() -> impl TypedValueParser<Value = AgentChoice> {
    let kinds = AgentKind::value_variants()
        .iter()
        .filter_map(ValueEnum::to_possible_value);
    let presets = presets::ALL
        .iter()
        .map(|(name, preset)| PossibleValue::new(*name).help(preset.help()));
    PossibleValuesParser::new(kinds.chain(presets)).map(|name| {
        AgentKind::from_str(&name, false)
            .map(AgentChoice::Kind)
            .ok()
            .or_else(|| presets::named(&name).map(AgentChoice::Preset))
            .expect("the parser accepts only the kinds and the presets")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_flag_and_the_config_file_use_the_same_names() {
        for kind in AgentKind::value_variants() {
            let value = kind.to_possible_value().unwrap();
            assert_eq!(value.get_name(), kind.to_string());
            let parsed: AgentKind =
                serde_json::from_value(serde_json::json!(value.get_name())).unwrap();
            assert_eq!(parsed, *kind);
        }
    }
}
