//! What the client trusts over TLS, through the real client and the real
//! binary against hosts with their own certificates on loopback: known
//! hosts, unknown ones refused by headless runs with how to trust them,
//! certificates that expired or name another host, and the wrong scheme
//! either way. (Asking in a terminal is in `tests/tui/tls.rs`.)

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use rcgen::{
    BasicConstraints, CertificateParams, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    date_time_ymd,
};
use tether::client::pinning::{self, PinSource};
use tether::client::{ConnectError, Since, Target};
use tether::host::Host;
use tether::host::agent::AgentSpec;

/// A host serving `cert`/`key` (PEM text) from `dir`.
async fn tls_host(dir: &Path, cert: &str, key: &str) -> Host {
    let (cert_path, key_path) = (dir.join("cert.pem"), dir.join("key.pem"));
    std::fs::write(&cert_path, cert).unwrap();
    std::fs::write(&key_path, key).unwrap();
    std::fs::set_permissions(&key_path, std::fs::Permissions::from_mode(0o600)).unwrap();
    crate::common::start_host(dir, AgentSpec::Shell, |config| {
        config.tls = Some((cert_path, key_path));
    })
    .await
}

/// A self-signed certificate for `localhost`: its PEM, key and fingerprint.
fn self_signed() -> (String, String, String) {
    let made = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
    let fingerprint = pinning::fingerprint(made.cert.der());
    (
        made.cert.pem(),
        made.signing_key.serialize_pem(),
        fingerprint,
    )
}

/// A certificate authority the test trusts (through `SSL_CERT_FILE`).
struct Authority {
    params: CertificateParams,
    key: KeyPair,
    pem: String,
}

impl Authority {
    fn new() -> Authority {
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        let key = KeyPair::generate().unwrap();
        let pem = params.self_signed(&key).unwrap().pem();
        Authority { params, key, pem }
    }

    /// A certificate it signs for `names`, valid from `from` to `until`
    /// (years); its PEM and key.
    fn sign(&self, names: &[&str], (from, until): (i32, i32)) -> (String, String) {
        let names: Vec<String> = names.iter().map(|n| (*n).to_owned()).collect();
        let mut params = CertificateParams::new(names).unwrap();
        params.not_before = date_time_ymd(from, 1, 1);
        params.not_after = date_time_ymd(until, 1, 1);
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        let key = KeyPair::generate().unwrap();
        let issuer = Issuer::from_params(&self.params, &self.key);
        let cert = params.signed_by(&key, &issuer).unwrap();
        (cert.pem(), key.serialize_pem())
    }
}

fn target(name: &str, host: &Host) -> Target {
    let port = host.addr().port();
    Target {
        url: url::Url::parse(&format!("wss://{name}:{port}/v1/sessions/main")).unwrap(),
        token: host.control_token().unwrap(),
        view: true,
    }
}

/// The real client: a known_hosts entry is trusted, another fingerprint
/// is refused naming the file and line, and an unknown host's refusal
/// carries the fingerprint it presented.
#[tokio::test]
async fn known_hosts_entries_are_trusted_and_a_changed_one_names_its_line() {
    let dir = tempfile::tempdir().unwrap();
    let (cert, key, fingerprint) = self_signed();
    let host = tls_host(dir.path(), &cert, &key).await;
    let port = host.addr().port();
    let since = Since::Seq(0);
    // Unknown: the fingerprint comes back, for the caller to ask about.
    let unknown = tether::client::connect_once(&target("127.0.0.1", &host), since)
        .await
        .err()
        .unwrap();
    assert_eq!(
        unknown,
        ConnectError::UnknownHost {
            host_port: format!("127.0.0.1:{port}"),
            fingerprint: fingerprint.clone()
        }
    );
    // Known: trusted, the handshake and the greeting go through.
    let known_hosts = dir.path().join("known_hosts");
    let other = pinning::fingerprint(b"another certificate");
    let text = format!("# hosts\n127.0.0.1:{port} {fingerprint}\nlocalhost:{port} {other}\n");
    std::fs::write(&known_hosts, text).unwrap();
    let (entries, bad) = tether::client::known_hosts::load(&known_hosts).unwrap();
    assert!(bad.is_empty(), "{bad:?}");
    for entry in &entries {
        pinning::know(entry, &known_hosts);
    }
    let mut socket = tether::client::connect_once(&target("127.0.0.1", &host), since)
        .await
        .expect("a known host is trusted");
    let first = socket.next().await.unwrap().unwrap();
    assert!(first.to_text().unwrap().contains("\"ready\""), "{first}");
    // Another fingerprint for that name: refused, with the line.
    let changed = tether::client::connect_once(&target("localhost", &host), since)
        .await
        .err()
        .unwrap();
    assert_eq!(
        changed,
        ConnectError::HostChanged {
            host_port: format!("localhost:{port}"),
            expected: other,
            seen: fingerprint,
            trusted_by: PinSource::KnownHosts {
                path: known_hosts,
                line: 3
            },
        }
    );
    assert!(
        changed
            .to_string()
            .contains("REMOTE HOST IDENTIFICATION HAS CHANGED")
    );
    host.shutdown().await.unwrap();
}

/// `tether attach` in `home` (its config directory inside), stdin not a
/// terminal, with `args` after the URL.
async fn attach(home: &Path, url: &str, token: &str, args: &[&str]) -> (Option<i32>, String) {
    let mut command = crate::common::tether_async(home);
    command
        .args(["attach", url, "--token", token])
        .args(args)
        .stdin(std::process::Stdio::null());
    let output = tokio::time::timeout(Duration::from_secs(30), command.output())
        .await
        .expect("attach finishes")
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    (output.status.code(), stderr)
}

fn known_hosts_of(home: &Path) -> PathBuf {
    home.join(".config/tether/known_hosts")
}

#[tokio::test(flavor = "multi_thread")]
async fn headless_runs_never_ask_and_say_how_to_trust_an_unknown_host() {
    let dir = tempfile::tempdir().unwrap();
    let (cert, key, fingerprint) = self_signed();
    let host = tls_host(dir.path(), &cert, &key).await;
    let home = tempfile::tempdir().unwrap();
    let (url, token) = (host.url(), host.control_token().unwrap());
    let host_port = format!("127.0.0.1:{}", host.addr().port());
    let known_hosts = known_hosts_of(home.path());
    for mode in [&["--plain"][..], &["--prompt", "echo hi", "--allow-all"]] {
        let (code, stderr) = attach(home.path(), &url, &token, mode).await;
        assert_eq!(code, Some(2), "{mode:?}: {stderr}");
        for needed in [
            format!("Its fingerprint is {fingerprint}."),
            format!("tether attach {url} --fingerprint {fingerprint}"),
            format!("add this line to {}:", known_hosts.display()),
            format!("    {host_port} {fingerprint}"),
        ] {
            assert!(stderr.contains(&needed), "{mode:?}: {needed}: {stderr}");
        }
        assert!(!stderr.contains("(y/N)"), "{stderr}");
        assert!(!known_hosts.exists(), "nothing is remembered unasked");
    }
    // The line it suggests, added by hand: trusted silently from then on.
    std::fs::create_dir_all(known_hosts.parent().unwrap()).unwrap();
    std::fs::write(&known_hosts, format!("{host_port} {fingerprint}\n")).unwrap();
    let prompt = ["--prompt", "echo trusted-now", "--allow-all"];
    let (code, stderr) = attach(home.path(), &url, &token, &prompt).await;
    assert_eq!(code, Some(0), "{stderr}");
    host.shutdown().await.unwrap();
}

/// The full-screen UI on a terminal whose stdin is not one: nobody to
/// ask, so an unknown host is refused as in a headless run.
#[tokio::test(flavor = "multi_thread")]
async fn the_full_screen_ui_with_stdin_not_a_terminal_does_not_ask() {
    use std::io::Read;
    let dir = tempfile::tempdir().unwrap();
    let (cert, key, fingerprint) = self_signed();
    let host = tls_host(dir.path(), &cert, &key).await;
    let home = tempfile::tempdir().unwrap();
    let size = nix::pty::Winsize {
        ws_row: 30,
        ws_col: 200,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    let pty = nix::pty::openpty(Some(&size), None).unwrap();
    let slave = std::fs::File::from(pty.slave);
    let mut child = crate::common::tether(home.path())
        .args([
            "attach",
            &host.url(),
            "--token",
            &host.control_token().unwrap(),
        ])
        .stdin(std::process::Stdio::null())
        .stdout(slave.try_clone().unwrap())
        .stderr(slave)
        .spawn()
        .unwrap();
    let mut master = std::fs::File::from(pty.master);
    let reader = std::thread::spawn(move || {
        let mut seen = Vec::new();
        let mut buf = [0u8; 4096];
        while let Ok(n) = master.read(&mut buf) {
            if n == 0 {
                break;
            }
            seen.extend_from_slice(&buf[..n]);
        }
        String::from_utf8_lossy(&seen).into_owned()
    });
    let deadline = Instant::now() + Duration::from_secs(20);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            child.kill().unwrap();
            panic!("attach did not exit: it waits on a terminal it cannot ask on");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let seen = reader.join().unwrap();
    assert_eq!(status.code(), Some(2), "{seen}");
    assert!(
        seen.contains(&format!("Its fingerprint is {fingerprint}.")),
        "{seen}"
    );
    assert!(!seen.contains("(y/N)"), "{seen}");
    host.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn expired_and_misnamed_certificates_are_refused_in_words() {
    let authority = Authority::new();
    let home = tempfile::tempdir().unwrap();
    let roots = home.path().join("roots.pem");
    std::fs::write(&roots, &authority.pem).unwrap();
    let run = |host: &Host| {
        let url = host.url().replace("127.0.0.1", "localhost");
        let token = host.control_token().unwrap();
        let roots = roots.clone();
        let home = home.path().to_owned();
        async move {
            let mut command = crate::common::tether_async(&home);
            command
                .args(["attach", &url, "--token", &token])
                .args(["--prompt", "echo through-roots", "--allow-all"])
                .env("SSL_CERT_FILE", &roots)
                .env_remove("SSL_CERT_DIR");
            let output = command.output().await.unwrap();
            let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
            (output.status.code(), stderr)
        }
    };
    let expect_refusal = |(code, stderr): (Option<i32>, String), needed: &str| {
        assert_eq!(code, Some(2), "{stderr}");
        assert!(stderr.contains(needed), "{needed}: {stderr}");
        assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
    };
    // Signed by a root it trusts, for its name, in date: no question.
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = authority.sign(&["localhost"], (2020, 2200));
    let good = tls_host(dir.path(), &cert, &key).await;
    let (code, stderr) = run(&good).await;
    assert_eq!(code, Some(0), "{stderr}");
    // Expired.
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = authority.sign(&["localhost"], (2020, 2021));
    let expired = tls_host(dir.path(), &cert, &key).await;
    let port = expired.addr().port();
    expect_refusal(
        run(&expired).await,
        &format!("the certificate of localhost:{port} expired on 2021-01-01T00:00:00Z (it is now"),
    );
    // For another name.
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = authority.sign(&["build.example", "10.1.2.3"], (2020, 2200));
    let misnamed = tls_host(dir.path(), &cert, &key).await;
    let port = misnamed.addr().port();
    expect_refusal(
        run(&misnamed).await,
        &format!(
            "the certificate of localhost:{port} is for build.example, 10.1.2.3, not localhost"
        ),
    );
    for host in [good, expired, misnamed] {
        host.shutdown().await.unwrap();
    }
}

/// `ws://` to a TLS port and `wss://` to a plain one fail at once and
/// name the scheme to use.
#[tokio::test(flavor = "multi_thread")]
async fn the_wrong_scheme_either_way_says_which_to_use() {
    let dir = tempfile::tempdir().unwrap();
    let (cert, key, _) = self_signed();
    let secure = tls_host(dir.path(), &cert, &key).await;
    let plain_dir = tempfile::tempdir().unwrap();
    let plain = crate::common::start_host(plain_dir.path(), AgentSpec::Shell, |_| {}).await;
    let home = tempfile::tempdir().unwrap();
    let cases = [
        (
            &secure,
            "wss://",
            "ws://",
            "speaks only TLS (it serves wss://, not ws://)",
        ),
        (
            &plain,
            "ws://",
            "wss://",
            "answered in plain text, not TLS (it serves ws://, not wss://)",
        ),
    ];
    for (host, right, wrong, says) in cases {
        let url = host.url().replacen(right, wrong, 1);
        let started = Instant::now();
        let token = host.control_token().unwrap();
        let (code, stderr) = attach(home.path(), &url, &token, &["--plain"]).await;
        assert_eq!(code, Some(2), "{stderr}");
        let host_port = format!("127.0.0.1:{}", host.addr().port());
        let whole = format!(
            "cannot attach to {url}: {host_port} {says}; did you mean {}?",
            host.url()
        );
        assert!(stderr.contains(&whole), "{whole}: {stderr}");
        assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
        assert!(started.elapsed() < Duration::from_secs(5), "no hang");
    }
    secure.shutdown().await.unwrap();
    plain.shutdown().await.unwrap();
}
