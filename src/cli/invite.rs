//! `tether invite URL`: a token that expires, as the one line to paste on
//! the other machine (`tether attach URL --token …`). Only that line goes
//! to stdout, so it can be piped; what it grants and until when goes to
//! stderr.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, SystemTime};

use clap::Args;

use super::Failure;
use tether::host::auth;
use tether::protocol::Grant;

#[derive(Debug, Args)]
pub struct InviteArgs {
    /// The host as `tether serve` prints it (`ws://HOST:PORT`), or one of
    /// its sessions' URLs.
    url: String,
    /// What it lets the other side do: view (watch) or control (steer).
    #[arg(long, default_value = "view")]
    grant: String,
    /// How long it works (`30s`, `30m`, `2h`, `7d`).
    #[arg(long, default_value = "1h", value_parser = super::token::parse_lifetime)]
    expires: Duration,
    /// Only this session (its URL is the one printed).
    #[arg(long)]
    session: Option<String>,
    /// Auth file [default: the one `tether serve` uses].
    #[arg(long)]
    auth: Option<PathBuf>,
    /// The host's certificate fingerprint to put in the line (`wss://` with
    /// a self-signed certificate) [default: that of `serve
    /// --tls-self-signed` on this machine, for a wss:// URL].
    #[arg(long, value_name = "SHA256:…")]
    fingerprint: Option<String>,
}

pub fn run(args: InviteArgs) -> ExitCode {
    match invite(&args) {
        Ok(line) => {
            println!("{line}");
            ExitCode::SUCCESS
        }
        Err(why) => Failure::usage(why).exit(),
    }
}

fn invite(args: &InviteArgs) -> Result<String, String> {
    let grant = match args.grant.as_str() {
        "view" => Grant::View,
        "control" => Grant::Control,
        other => return Err(format!("--grant {other}: an invite grants view or control")),
    };
    let url = attach_url(&args.url, args.session.as_deref())?;
    let path = args.auth.clone().unwrap_or_else(auth::default_auth_path);
    let name = format!("invite-{:06x}", rand::random::<u32>() & 0xff_ffff);
    let sessions = args.session.iter().cloned().collect();
    let expires = SystemTime::now() + args.expires;
    let (entry, _) = auth::add_token(&path, &name, vec![grant], sessions, Some(expires))
        .map_err(|e| e.to_string())?;
    let until = entry.expires.clone().unwrap_or_default();
    eprintln!(
        "invite {name}: {} until {until} (in {}); revoke it sooner with `tether token revoke {name}`",
        args.grant,
        humantime::format_duration(args.expires)
    );
    let view = if grant == Grant::View { " --view" } else { "" };
    let fingerprint = match &args.fingerprint {
        Some(given) => Some(
            tether::client::pinning::parse_fingerprint(given)
                .map_err(|e| format!("--fingerprint: {e}"))?,
        ),
        None if url.starts_with("wss://") => super::self_signed::kept_fingerprint(),
        None => None,
    };
    let pin = fingerprint
        .map(|f| format!(" --fingerprint {f}"))
        .unwrap_or_default();
    Ok(format!(
        "tether attach {url} --token {}{view}{pin}",
        entry.token
    ))
}

/// The URL to print: a session's when `--session` names one.
fn attach_url(given: &str, session: Option<&str>) -> Result<String, String> {
    let url = url::Url::parse(given).map_err(|e| {
        format!("{given}: not a URL ({e}); give ws://HOST:PORT as `tether serve` prints it")
    })?;
    if !matches!(url.scheme(), "ws" | "wss") {
        return Err(format!("{given}: use ws:// or wss://"));
    }
    let Some(session) = session else {
        return Ok(given.trim_end_matches('/').to_owned());
    };
    let host = url.host_str().unwrap_or_default();
    let port = url.port().map(|p| format!(":{p}")).unwrap_or_default();
    Ok(format!(
        "{}://{host}{port}/v1/sessions/{session}",
        url.scheme()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_line_names_the_session_when_asked_and_refuses_odd_urls() {
        assert_eq!(attach_url("ws://h:7878/", None).unwrap(), "ws://h:7878");
        assert_eq!(
            attach_url("ws://h:7878/v1/sessions/x", Some("api")).unwrap(),
            "ws://h:7878/v1/sessions/api"
        );
        assert!(attach_url("http://h:1", None).is_err());
        assert!(attach_url("h:1", None).is_err());
    }
}
