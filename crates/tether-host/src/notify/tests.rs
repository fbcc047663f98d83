use super::*;

fn webhook(text: &str) -> Result<Destination, String> {
    Destination::parse(DestinationKind::Webhook, text)
}

fn ntfy(text: &str) -> Result<Destination, String> {
    Destination::parse(DestinationKind::Ntfy, text)
}

#[test]
fn https_anywhere_http_only_to_this_machine() {
    assert!(webhook("https://hooks.example.com/T0/B1/secret").is_ok());
    for local in [
        "http://127.0.0.1:9/hook",
        "http://localhost/hook",
        "http://[::1]:8/x",
    ] {
        assert!(webhook(local).is_ok(), "{local}");
    }
    let clear = webhook("http://hooks.example.com/secret-path").unwrap_err();
    assert!(clear.contains("use https://"), "{clear}");
    assert!(!clear.contains("secret-path"), "{clear}");
    assert!(webhook("ftp://example.com/x").is_err());
    assert!(
        webhook("hooks.example.com/x")
            .unwrap_err()
            .starts_with("not a URL")
    );
    assert!(webhook("https://").is_err());
}

#[test]
fn an_ntfy_url_ends_with_its_topic() {
    let d = ntfy("https://ntfy.sh/tether-alerts_42").unwrap();
    assert_eq!(d.topic(), "tether-alerts_42");
    assert_eq!(d.post_url().as_str(), "https://ntfy.sh/");
    let d = ntfy("https://me:pw@example.com/ntfy/topic/?auth=tk").unwrap();
    assert_eq!(d.topic(), "topic");
    assert_eq!(
        d.post_url().as_str(),
        "https://me:pw@example.com/ntfy/?auth=tk",
        "its user and query go with it"
    );
    for bad in [
        "https://ntfy.sh",
        "https://ntfy.sh/",
        "https://ntfy.sh/has%20space",
    ] {
        let why = ntfy(bad).unwrap_err();
        assert!(why.contains("must end with the topic"), "{bad}: {why}");
    }
    assert_eq!(
        webhook("https://example.com/a/b?c=d")
            .unwrap()
            .post_url()
            .as_str(),
        "https://example.com/a/b?c=d"
    );
}

#[test]
fn only_the_scheme_and_host_are_ever_shown() {
    let d = ntfy("https://user:pass@ntfy.example.com:8443/secret-topic?auth=tok").unwrap();
    assert_eq!(d.label(), "ntfy https://ntfy.example.com:8443");
    let config = NotifyConfig::new(vec![d], Duration::ZERO);
    let shown = format!("{config:?}");
    for secret in ["user", "pass", "secret-topic", "tok"] {
        assert!(!shown.contains(secret), "{secret} in {shown}");
    }
    let d = webhook("https://hooks.example.com/services/T0/secret").unwrap();
    assert_eq!(d.label(), "webhook https://hooks.example.com");
}

#[test]
fn the_defaults_are_five_seconds_and_three_tries() {
    let tuning = Tuning::default();
    assert_eq!(tuning.timeout, Duration::from_secs(5));
    assert_eq!(tuning.tries, 3);
    let config = NotifyConfig::new(Vec::new(), Rules::DEFAULT_AFTER);
    assert_eq!(config.rules().after, Duration::from_secs(30));
}
