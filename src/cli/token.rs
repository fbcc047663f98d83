//! `tether token add|list|revoke`: who may attach, by name.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Subcommand};
use color_eyre::eyre::{Result, bail};

use super::Failure;
use tether::host::auth::{self, grant_list};
use tether::protocol::Grant;

#[derive(Debug, Args)]
pub struct TokenArgs {
    #[command(subcommand)]
    action: Action,
}

#[derive(Debug, Subcommand)]
enum Action {
    /// Add a token with a fresh secret; prints it once.
    Add {
        /// The identity everyone sees (letters, digits, `-`, `_`, `.`, `@`).
        name: String,
        /// What it may do: control, view or admin (comma-separated for more).
        #[arg(long)]
        grant: String,
        /// Session ids or globs it is for (comma-separated) [default: all].
        #[arg(long)]
        sessions: Option<String>,
        /// It stops working after this long (`30s`, `30m`, `2h`, `7d`);
        /// a running host then closes its connections [default: never].
        #[arg(long, value_parser = parse_lifetime)]
        expires: Option<std::time::Duration>,
        #[command(flatten)]
        file: AuthPath,
    },
    /// List names, grants, sessions and expiries (never the tokens).
    List {
        #[command(flatten)]
        file: AuthPath,
    },
    /// Remove a name's token; a running host closes its connections.
    Revoke {
        name: String,
        #[command(flatten)]
        file: AuthPath,
    },
}

#[derive(Debug, Args)]
struct AuthPath {
    /// Auth file [default: the one `tether serve` uses].
    #[arg(long)]
    auth: Option<PathBuf>,
}

impl AuthPath {
    fn path(&self) -> PathBuf {
        self.auth.clone().unwrap_or_else(auth::default_auth_path)
    }
}

/// Every failure is the user's to fix (a name, a grant, the file's mode):
/// one line and exit code 2.
pub fn run(args: TokenArgs) -> ExitCode {
    let done = match args.action {
        Action::Add {
            name,
            grant,
            sessions,
            expires,
            file,
        } => add(&file.path(), &name, &grant, sessions.as_deref(), expires),
        Action::List { file } => list(&file.path()),
        Action::Revoke { name, file } => revoke(&file.path(), &name),
    };
    match done {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => Failure::usage(format!("{e:#}")).exit(),
    }
}

fn parse_grants(text: &str) -> Result<Vec<Grant>> {
    let mut grants = Vec::new();
    for word in text.split(',').map(str::trim) {
        let grant = match word {
            "control" => Grant::Control,
            "view" => Grant::View,
            "admin" => Grant::Admin,
            other => bail!("unknown grant `{other}`: use control, view or admin"),
        };
        if !grants.contains(&grant) {
            grants.push(grant);
        }
    }
    Ok(grants)
}

/// `2h`, `30m`, `7d`: how long a token works.
pub fn parse_lifetime(text: &str) -> std::result::Result<std::time::Duration, String> {
    let lifetime = humantime::parse_duration(text.trim())
        .map_err(|e| format!("`{text}` is not a duration such as 30s, 30m, 2h or 7d ({e})"))?;
    if lifetime.is_zero() {
        return Err("a token that expires at once is of no use".into());
    }
    // Beyond a century is a mistake (and past year 9999 not a date).
    if lifetime > std::time::Duration::from_secs(100 * 366 * 24 * 3600) {
        return Err(format!(
            "`{text}` is more than a hundred years: leave --expires out for never"
        ));
    }
    Ok(lifetime)
}

fn add(
    path: &std::path::Path,
    name: &str,
    grant: &str,
    sessions: Option<&str>,
    lifetime: Option<std::time::Duration>,
) -> Result<()> {
    let grants = parse_grants(grant)?;
    let sessions = sessions
        .map(|s| s.split(',').map(|p| p.trim().to_owned()).collect())
        .unwrap_or_default();
    let expires = lifetime.map(|d| std::time::SystemTime::now() + d);
    let (entry, created) = auth::add_token(path, name, grants, sessions, expires)?;
    if created {
        println!(
            "created {} (with a control and a view token)",
            path.display()
        );
    }
    println!(
        "added {} ({}) to {}; a running host accepts it within a second",
        entry.name,
        grant_list(&entry.grants),
        path.display()
    );
    if let Some(expires) = &entry.expires {
        println!("it stops working at {expires}");
    }
    println!("token: {}", entry.token);
    println!(
        "attach with: tether attach URL --token {} (URL as `tether serve` prints it); \
         this is the only time the token is shown",
        entry.token
    );
    Ok(())
}

fn list(path: &std::path::Path) -> Result<()> {
    let file = auth::load(path)?;
    let width = file.tokens.iter().map(|t| t.name.len()).max().unwrap_or(0);
    println!(
        "{:width$}  {:<14}  {:<16}  EXPIRES",
        "NAME", "GRANTS", "SESSIONS"
    );
    let now = std::time::SystemTime::now();
    for entry in &file.tokens {
        let sessions = if entry.sessions.is_empty() {
            "all".to_owned()
        } else {
            entry.sessions.join(",")
        };
        let expires = match (&entry.expires, entry.expires_at()) {
            (None, _) => "never".to_owned(),
            (Some(_), Some(at)) if at <= now => "expired".to_owned(),
            (Some(text), Some(at)) => {
                let left = at.duration_since(now).unwrap_or_default();
                let left = std::time::Duration::from_secs(left.as_secs());
                format!("{text} (in {})", humantime::format_duration(left))
            }
            (Some(text), None) => text.clone(),
        };
        println!(
            "{:width$}  {:<14}  {sessions:<16}  {expires}",
            entry.name,
            grant_list(&entry.grants)
        );
    }
    Ok(())
}

fn revoke(path: &std::path::Path, name: &str) -> Result<()> {
    let removed = auth::revoke_token(path, name)?;
    let tokens = if removed == 1 { "token" } else { "tokens" };
    println!(
        "revoked {name} ({removed} {tokens}) in {}; a running host closes its connections",
        path.display()
    );
    Ok(())
}
