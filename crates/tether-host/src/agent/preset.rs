//! Presets: the agents clients may start by name, each with how its
//! program is installed, so a host can say what is missing instead of
//! offering an agent that cannot start.

use std::path::{Path, PathBuf};

use super::AgentSpec;

/// An agent clients may start by name.
#[derive(Debug, Clone, PartialEq)]
pub struct Preset {
    pub agent: AgentSpec,
    /// How its program is usually installed (`npm install -g ...`), named
    /// when the program is missing.
    pub install: Option<String>,
}

impl Preset {
    /// A preset whose program needs no installing (or whose way of being
    /// installed is the user's business).
    pub fn new(agent: AgentSpec) -> Preset {
        Preset {
            agent,
            install: None,
        }
    }

    /// Why it cannot start on this host now (its program is not on
    /// `path`, the value of `$PATH`), in one line; `None` when it can (or
    /// it runs no program).
    pub fn missing(&self, path: Option<&str>) -> Option<String> {
        let program = self.agent.program()?;
        if find_program(program, path).is_some() {
            return None;
        }
        let where_ = if program.contains('/') {
            "not an executable file".to_owned()
        } else {
            "not on PATH".to_owned()
        };
        Some(match &self.install {
            Some(install) => {
                format!("`{program}` is {where_} (it is usually installed with `{install}`)")
            }
            None => format!("`{program}` is {where_}"),
        })
    }
}

/// Where `program` is found, as a shell would: a path with a slash as it
/// is, a bare name in each directory of `path`; an executable file only.
pub fn find_program(program: &str, path: Option<&str>) -> Option<PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    let executable = |candidate: &Path| {
        std::fs::metadata(candidate)
            .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
    };
    if program.contains('/') {
        let candidate = PathBuf::from(program);
        return executable(&candidate).then_some(candidate);
    }
    std::env::split_paths(path?)
        .map(|dir| dir.join(program))
        .find(|candidate| executable(candidate))
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    #[test]
    fn a_missing_program_is_named_with_how_to_install_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().display().to_string();
        let preset = Preset {
            agent: AgentSpec::Acp {
                command: vec!["gemini".into(), "--acp".into()],
            },
            install: Some("npm install -g @google/gemini-cli".into()),
        };
        let why = preset.missing(Some(&path)).expect("not installed");
        assert_eq!(
            why,
            "`gemini` is not on PATH (it is usually installed with `npm install -g @google/gemini-cli`)"
        );
        let program = dir.path().join("gemini");
        std::fs::write(&program, "#!/bin/sh\n").unwrap();
        assert!(preset.missing(Some(&path)).is_some(), "not executable yet");
        std::fs::set_permissions(&program, PermissionsExt::from_mode(0o755)).unwrap();
        assert_eq!(preset.missing(Some(&path)), None);
        assert_eq!(
            Preset::new(AgentSpec::Shell).missing(None),
            None,
            "runs no program"
        );
    }
}
