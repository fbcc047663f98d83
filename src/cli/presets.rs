//! Agent presets for `tether serve --agent NAME [-- EXTRA ARGS]`: the
//! command lines of the agents people use, so nobody types Claude Code's
//! 150 characters of flags.

use tether::host::agent::AgentSpec;

use super::agent_kind::AgentKind;

/// One preset: its program, its fixed arguments, and how it is installed.
#[derive(Debug, Clone, Copy)]
pub struct Preset {
    program: &'static str,
    args: &'static [&'static str],
    /// The protocol the program speaks (one that runs a command line).
    speaks: AgentKind,
    install: &'static str,
    /// What `--agent NAME` runs, for `--help`.
    help: &'static str,
}

pub const CLAUDE: Preset = Preset {
    program: "claude",
    args: &[
        "-p",
        "--input-format",
        "stream-json",
        "--output-format",
        "stream-json",
        "--verbose",
        "--permission-prompt-tool",
        "stdio",
        "--include-partial-messages",
    ],
    speaks: AgentKind::StreamJson,
    install: "npm install -g @anthropic-ai/claude-code",
    help: "Claude Code over stream-json, with the flags it needs",
};

pub const CLAUDE_ACP: Preset = Preset {
    program: "claude-agent-acp",
    args: &[],
    speaks: AgentKind::Acp,
    install: "npm install -g @agentclientprotocol/claude-agent-acp",
    help: "Claude Code over ACP (`claude-agent-acp`)",
};

pub const GEMINI: Preset = Preset {
    program: "gemini",
    args: &["--acp"],
    speaks: AgentKind::Acp,
    install: "npm install -g @google/gemini-cli",
    help: "Gemini CLI over ACP (`gemini --acp`)",
};

pub const CODEX: Preset = Preset {
    program: "codex-acp",
    args: &[],
    speaks: AgentKind::Acp,
    install: "npm install -g @zed-industries/codex-acp",
    help: "Codex over ACP (`codex-acp`)",
};

pub const OPENCODE: Preset = Preset {
    program: "opencode",
    args: &["acp"],
    speaks: AgentKind::Acp,
    install: "npm install -g opencode-ai",
    help: "OpenCode over ACP (`opencode acp`)",
};

/// Every preset by the name `--agent` and the sessions config use.
pub static ALL: [(&str, Preset); 5] = [
    ("claude", CLAUDE),
    ("claude-acp", CLAUDE_ACP),
    ("gemini", GEMINI),
    ("codex", CODEX),
    ("opencode", OPENCODE),
];

/// The preset called `name`.
pub fn named(name: &str) -> Option<&'static Preset> {
    ALL.iter()
        .find(|(known, _)| *known == name)
        .map(|(_, preset)| preset)
}

impl Preset {
    /// The agent to run, with `extra` arguments after the preset's own;
    /// `Err` is the one line to print when the program is not on `path`
    /// (the value of `$PATH`).
    pub fn agent(&self, extra: &[String], path: Option<&str>) -> Result<AgentSpec, String> {
        if !self.installed(path) {
            return Err(format!(
                "`{}` is not on PATH (it is usually installed with `{}`)",
                self.program, self.install
            ));
        }
        Ok(self.agent_anyway(extra))
    }

    /// Whether the program is on `path`.
    pub fn installed(&self, path: Option<&str>) -> bool {
        tether::host::agent::preset::find_program(self.program, path).is_some()
    }

    /// As the host offers it to clients: the agent, and how its program is
    /// installed (the host names it while the program is missing).
    pub fn for_host(&self) -> tether::host::agent::Preset {
        tether::host::agent::Preset {
            agent: self.agent_anyway(&[]),
            install: Some(self.install.to_owned()),
        }
    }

    /// The agent to run, installed or not (a session of a config file that
    /// names it then says, when it cannot start, what is missing).
    pub fn agent_anyway(&self, extra: &[String]) -> AgentSpec {
        let mut command = vec![self.program.to_owned()];
        command.extend(self.args.iter().map(|a| (*a).to_owned()));
        command.extend(extra.iter().cloned());
        self.speaks
            .with_command(command)
            .expect("a preset speaks a protocol that runs a command line")
    }

    /// Its line in `--help`.
    pub fn help(&self) -> &'static str {
        self.help
    }
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    #[test]
    fn a_preset_runs_its_program_with_its_flags_and_the_extra_arguments() {
        let dir = tempfile::tempdir().unwrap();
        let program = dir.path().join("gemini");
        std::fs::write(&program, "#!/bin/sh\n").unwrap();
        let path = format!("/nonexistent:{}", dir.path().display());
        let missing = GEMINI.agent(&[], Some(&path));
        assert!(missing.is_err(), "not executable yet");
        std::fs::set_permissions(&program, PermissionsExt::from_mode(0o755)).unwrap();
        assert_eq!(
            GEMINI.agent(&["--model".into(), "x".into()], Some(&path)),
            Ok(AgentSpec::Acp {
                command: vec![
                    "gemini".into(),
                    "--acp".into(),
                    "--model".into(),
                    "x".into()
                ]
            })
        );
        assert_eq!(
            CLAUDE.agent(&[], Some(&path)),
            Err("`claude` is not on PATH (it is usually installed with \
                 `npm install -g @anthropic-ai/claude-code`)"
                .into())
        );
    }
}
