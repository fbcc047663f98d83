//! TLS of the host's own: `tether serve --tls-cert FILE --tls-key FILE`
//! serves `wss://` with rustls (a real handshake over loopback).

use std::os::unix::fs::PermissionsExt;
use std::sync::Arc;

use futures_util::StreamExt;
use tether::host::agent::AgentSpec;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

use crate::support::*;

/// A certificate for `localhost`, written as PEM files (the key 0600).
fn certificate(
    dir: &std::path::Path,
) -> (
    rcgen::CertifiedKey<rcgen::KeyPair>,
    std::path::PathBuf,
    std::path::PathBuf,
) {
    let generated = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
    let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
    std::fs::write(&cert, generated.cert.pem()).unwrap();
    std::fs::write(&key, generated.signing_key.serialize_pem()).unwrap();
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).unwrap();
    (generated, cert, key)
}

#[tokio::test]
async fn a_host_with_its_own_certificate_serves_wss_and_refuses_plain_ws() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let dir = tempfile::tempdir().unwrap();
    let (generated, cert, key) = certificate(dir.path());
    let host = crate::common::start_host(dir.path(), AgentSpec::Shell, |config| {
        config.tls = Some((cert.clone(), key.clone()));
    })
    .await;
    assert!(host.url().starts_with("wss://"), "{}", host.url());
    let token = host.control_token().unwrap();
    let url = host.url().replace("127.0.0.1", "localhost");
    // A client that trusts the certificate gets the session.
    let mut roots = rustls::RootCertStore::empty();
    roots.add(generated.cert.der().clone()).unwrap();
    let client = rustls::ClientConfig::builder()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let mut request = url.as_str().into_client_request().unwrap();
    request
        .headers_mut()
        .insert("Authorization", format!("Bearer {token}").parse().unwrap());
    let connector = tokio_tungstenite::Connector::Rustls(Arc::new(client));
    let (mut socket, _) =
        tokio_tungstenite::connect_async_tls_with_config(request, None, false, Some(connector))
            .await
            .expect("a TLS handshake and the upgrade");
    let first = socket.next().await.unwrap().unwrap();
    assert!(first.to_text().unwrap().contains("\"ready\""), "{first}");
    // Plain ws:// to the TLS port is no connection; nor is an untrusted
    // certificate (the system's roots do not know it).
    let plain = url.replace("wss://", "ws://");
    assert!(try_connect(&plain, Some(&token), "").await.is_err());
    assert!(try_connect(&url, Some(&token), "").await.is_err());
    host.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_key_others_can_read_or_a_wrong_file_stops_the_host_with_the_reason() {
    let dir = tempfile::tempdir().unwrap();
    let (_, cert, key) = certificate(dir.path());
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).unwrap();
    let mut config = crate::common::host_config(dir.path(), AgentSpec::Shell);
    config.tls = Some((cert.clone(), key.clone()));
    let error = tether::host::Host::start(config)
        .await
        .err()
        .unwrap()
        .to_string();
    assert!(
        error.contains("key.pem") && error.contains("chmod 600"),
        "{error}"
    );
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).unwrap();
    let mut config = crate::common::host_config(dir.path(), AgentSpec::Shell);
    config.tls = Some((key.clone(), key.clone()));
    let error = tether::host::Host::start(config)
        .await
        .err()
        .unwrap()
        .to_string();
    assert!(error.contains("no certificate"), "{error}");
}

/// A self-signed certificate, trusted by its pinned fingerprint through
/// the real client; a wrong pin is refused, loudly.
#[tokio::test]
async fn the_client_trusts_a_pinned_fingerprint_and_refuses_another() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let dir = tempfile::tempdir().unwrap();
    let (generated, cert, key) = certificate(dir.path());
    let host = crate::common::start_host(dir.path(), AgentSpec::Shell, |config| {
        config.tls = Some((cert.clone(), key.clone()));
    })
    .await;
    let fingerprint = tether::client::pinning::fingerprint(generated.cert.der());
    assert_eq!(
        tether::host::first_certificate(&cert)
            .map(|der| tether::client::pinning::fingerprint(&der)),
        Some(fingerprint.clone())
    );
    let token = host.control_token().unwrap();
    let port = host.addr().port();
    let target = |name: &str| tether::client::Target {
        url: url::Url::parse(&format!("wss://{name}:{port}/v1/sessions/main")).unwrap(),
        token: token.clone(),
        view: false,
    };
    let since = tether::client::Since::Seq(0);
    // Unpinned: no root knows it.
    assert!(
        tether::client::connect_once(&target("127.0.0.1"), since)
            .await
            .is_err()
    );
    tether::client::pinning::pin(&format!("127.0.0.1:{port}"), &fingerprint).unwrap();
    let mut socket = tether::client::connect_once(&target("127.0.0.1"), since)
        .await
        .expect("the pinned certificate is trusted");
    let first = socket.next().await.unwrap().unwrap();
    assert!(first.to_text().unwrap().contains("\"ready\""));
    // Another host:port pinned to another fingerprint is refused.
    let other = tether::client::pinning::fingerprint(b"another certificate");
    tether::client::pinning::pin(&format!("localhost:{port}"), &other).unwrap();
    let refused = tether::client::connect_once(&target("localhost"), since)
        .await
        .err()
        .unwrap();
    assert!(
        refused
            .to_string()
            .contains("REMOTE HOST IDENTIFICATION HAS CHANGED"),
        "{refused}"
    );
    host.shutdown().await.unwrap();
}

/// A renewed certificate is served without a restart: the host reloads
/// its files when they change.
#[tokio::test]
async fn a_renewed_certificate_is_served_without_a_restart() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let dir = tempfile::tempdir().unwrap();
    let (_, cert, key) = certificate(dir.path());
    let host = crate::common::start_host(dir.path(), AgentSpec::Shell, |config| {
        config.tls = Some((cert.clone(), key.clone()));
    })
    .await;
    let renewed = tempfile::tempdir().unwrap();
    let (fresh, fresh_cert, fresh_key) = certificate(renewed.path());
    std::fs::rename(&fresh_key, &key).unwrap();
    std::fs::rename(&fresh_cert, &cert).unwrap();
    let port = host.addr().port();
    let pin = tether::client::pinning::fingerprint(fresh.cert.der());
    tether::client::pinning::pin(&format!("localhost:{port}"), &pin).unwrap();
    let target = tether::client::Target {
        url: url::Url::parse(&format!("wss://localhost:{port}/v1/sessions/main")).unwrap(),
        token: host.control_token().unwrap(),
        view: true,
    };
    let mut served = false;
    for _ in 0..50 {
        if tether::client::connect_once(&target, tether::client::Since::Seq(0))
            .await
            .is_ok()
        {
            served = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(
        served,
        "the renewed certificate is served within five seconds"
    );
    host.shutdown().await.unwrap();
}
