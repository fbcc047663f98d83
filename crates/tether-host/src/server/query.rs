//! The query string of a session connection (`mode`, `since`, `client`),
//! read strictly: a parameter given twice is refused rather than letting
//! the last one win, so a proxy or a client bug cannot smuggle a second
//! `mode=control` past a first `mode=view`.

use crate::host::session::Since;
use crate::protocol::Mode;

/// Longest `client` name kept, in characters.
const CLIENT_NAME_CHARS: usize = 64;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectQuery {
    pub mode: Mode,
    pub since: Since,
    /// The client's self-description, safe to display anywhere.
    pub client: Option<String>,
    /// Takes a free owner slot on joining (`claim=no`: not until it
    /// sends `claim`).
    pub claims: bool,
    /// `flood=tail`: during a flood of output, only its newest events
    /// (`server::connection::flood`); `flood=all` (the default): every one.
    pub flood_tail: bool,
}

/// Parses the raw query string (without `?`); the error is the reason
/// for a 400.
pub fn parse(raw: Option<&str>) -> Result<ConnectQuery, String> {
    let mut mode = None;
    let mut since = None;
    let mut client = None;
    let mut claim = None;
    let mut flood = None;
    for (key, value) in url::form_urlencoded::parse(raw.unwrap_or("").as_bytes()) {
        let slot = match key.as_ref() {
            "mode" => &mut mode,
            "since" => &mut since,
            "client" => &mut client,
            "claim" => &mut claim,
            "flood" => &mut flood,
            _ => continue, // unknown parameters are ignored, as unknown fields are
        };
        if slot.is_some() {
            return Err(format!("`{key}` is given more than once"));
        }
        *slot = Some(value.into_owned());
    }
    let mode = match mode.as_deref() {
        None | Some("control") => Mode::Control,
        Some("view") => Mode::View,
        Some(_) => return Err("mode must be control or view".into()),
    };
    let since = match since.as_deref() {
        None => Since::Seq(0),
        Some("live") => Since::Live,
        Some(n) => Since::Seq(
            n.parse()
                .map_err(|_| "since must be a number or live".to_owned())?,
        ),
    };
    let claims = match claim.as_deref() {
        None | Some("auto") => true,
        Some("no") => false,
        Some(_) => return Err("claim must be auto or no".into()),
    };
    let flood_tail = match flood.as_deref() {
        None | Some("all") => false,
        Some("tail") => true,
        Some(_) => return Err("flood must be all or tail".into()),
    };
    Ok(ConnectQuery {
        mode,
        since,
        claims,
        flood_tail,
        client: client.map(|c| displayable(&c)),
    })
}

/// Drops control characters and bidirectional overrides (which would let
/// a name reorder the text around it in another participant's terminal)
/// and keeps the first 64 characters.
fn displayable(name: &str) -> String {
    displayable_up_to(name, CLIENT_NAME_CHARS)
}

/// A name people give (a client's, a session's title) as every client may
/// show it: no control characters, no bidirectional overrides, at most
/// `chars` characters.
pub fn displayable_up_to(name: &str, chars: usize) -> String {
    name.chars()
        .filter(|c| !c.is_control() && !is_bidi_control(*c))
        .take(chars)
        .collect()
}

pub(crate) fn is_bidi_control(c: char) -> bool {
    matches!(
        c,
        '\u{061C}' | '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}'
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_values() {
        let q = parse(None).unwrap();
        assert_eq!(
            (q.mode, q.since, q.client),
            (Mode::Control, Since::Seq(0), None)
        );
        let q = parse(Some("mode=view&since=live&client=tether%201.0")).unwrap();
        assert_eq!(q.mode, Mode::View);
        assert_eq!(q.since, Since::Live);
        assert_eq!(q.client.as_deref(), Some("tether 1.0"));
        assert_eq!(parse(Some("since=42&x=1")).unwrap().since, Since::Seq(42));
        assert!(
            q.claims,
            "a connection takes a free slot unless told not to"
        );
        assert!(!parse(Some("claim=no")).unwrap().claims);
        assert!(parse(Some("claim=auto")).unwrap().claims);
        assert!(!q.flood_tail, "every event unless asked");
        assert!(parse(Some("flood=tail")).unwrap().flood_tail);
        assert!(!parse(Some("flood=all")).unwrap().flood_tail);
    }

    #[test]
    fn a_repeated_parameter_is_refused() {
        for raw in [
            "mode=view&mode=control",
            "since=1&since=2",
            "client=a&client=b",
            "flood=tail&flood=all",
        ] {
            let error = parse(Some(raw)).unwrap_err();
            assert!(error.contains("more than once"), "{raw}: {error}");
        }
    }

    #[test]
    fn bad_values_are_refused() {
        assert!(parse(Some("mode=owner")).is_err());
        assert!(parse(Some("since=-1")).is_err());
        assert!(parse(Some("claim=yes")).is_err());
        assert!(parse(Some("flood=some")).is_err());
    }

    #[test]
    fn client_names_lose_controls_and_bidi_overrides() {
        let q = parse(Some("client=ev%1B%5B31mil%E2%80%AEgnp.exe%0A")).unwrap();
        assert_eq!(q.client.as_deref(), Some("ev[31milgnp.exe"));
        let long = "x".repeat(100);
        let q = parse(Some(&format!("client={long}"))).unwrap();
        assert_eq!(q.client.unwrap().chars().count(), 64);
    }
}
