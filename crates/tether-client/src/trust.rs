//! Which certificate a `wss://` connection trusts, in this order:
//!
//! 1. a fingerprint given for the host (`--fingerprint`, config.toml):
//!    exactly that certificate, whatever else vouches for another;
//! 2. the system's roots (or `SSL_CERT_FILE`), as any HTTPS client;
//! 3. the host's known_hosts line: exactly that certificate.
//!
//! Anything else is refused, and the verifier leaves the reason where the
//! caller reads it ([`Check::refusal`]): an unknown host carries the
//! fingerprint it presented, so the caller may ask the user and try again;
//! a changed one carries both fingerprints and where the old one is
//! trusted; an expired or misnamed certificate says so in words. The
//! handshake's signatures are checked in every case. [`decide`] is the
//! rule itself, pure.

use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, SystemTime};

use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, verify_tls12_signature, verify_tls13_signature};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, DigitallySignedStruct, SignatureScheme};

use crate::ConnectError;
use crate::pinning::{Pin, PinSource, fingerprint, lookup};

/// The TLS settings of one connection, and where its verifier leaves the
/// reason it refused the certificate.
pub(crate) struct Check {
    pub config: Arc<rustls::ClientConfig>,
    pub refusal: Arc<Mutex<Option<ConnectError>>>,
}

impl Check {
    /// The refusal the verifier left, if it refused.
    pub fn refusal(&self) -> Option<ConnectError> {
        self.refusal
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take()
    }
}

/// The settings for a connection to `host_port`, with what is pinned or
/// known for it now.
pub(crate) fn check(host_port: &str) -> Result<Check, ConnectError> {
    let provider = provider();
    let refusal = Arc::new(Mutex::new(None));
    let verifier = Arc::new(Trust {
        host_port: host_port.to_owned(),
        pin: lookup(host_port),
        provider: provider.clone(),
        refusal: refusal.clone(),
    });
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| ConnectError::Tls(e.to_string()))?
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_no_client_auth();
    Ok(Check {
        config: Arc::new(config),
        refusal,
    })
}

fn provider() -> Arc<CryptoProvider> {
    static PROVIDER: OnceLock<Arc<CryptoProvider>> = OnceLock::new();
    PROVIDER
        .get_or_init(|| Arc::new(rustls::crypto::ring::default_provider()))
        .clone()
}

/// The system's roots (or the bundle `SSL_CERT_FILE` names), read once
/// per process: reading them is a few hundred kilobytes of parsing.
/// None when there are none.
fn roots() -> Option<Arc<WebPkiServerVerifier>> {
    static ROOTS: OnceLock<Option<Arc<WebPkiServerVerifier>>> = OnceLock::new();
    ROOTS
        .get_or_init(|| {
            let found = rustls_native_certs::load_native_certs();
            if !found.errors.is_empty() {
                tracing::warn!("reading the system's roots: {:?}", found.errors);
            }
            let mut store = rustls::RootCertStore::empty();
            store.add_parsable_certificates(found.certs);
            WebPkiServerVerifier::builder_with_provider(Arc::new(store), provider())
                .build()
                .ok()
        })
        .clone()
}

#[derive(Debug)]
struct Trust {
    host_port: String,
    pin: Option<Pin>,
    provider: Arc<CryptoProvider>,
    refusal: Arc<Mutex<Option<ConnectError>>>,
}

impl ServerCertVerifier for Trust {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        // Read only when a given pin does not decide alone.
        let roots = || match roots() {
            Some(roots) => roots
                .verify_server_cert(end_entity, intermediates, server_name, ocsp, now)
                .map(|_| ()),
            None => Err(CertificateError::UnknownIssuer.into()),
        };
        let seen = fingerprint(end_entity);
        match decide(&self.host_port, self.pin.as_ref(), roots, seen) {
            Ok(()) => Ok(ServerCertVerified::assertion()),
            Err(refused) => {
                let (refusal, error) = *refused;
                *self.refusal.lock().unwrap_or_else(|e| e.into_inner()) = Some(refusal);
                Err(error)
            }
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        let algorithms = &self.provider.signature_verification_algorithms;
        verify_tls12_signature(message, cert, dss, algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        let algorithms = &self.provider.signature_verification_algorithms;
        verify_tls13_signature(message, cert, dss, algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

/// What the user is told, and the error the handshake ends with.
type Refusal = (ConnectError, rustls::Error);

/// Whether the certificate whose fingerprint is `seen` is trusted for
/// `host_port`: the pin (given or known), and `roots`, what the system's
/// roots say of it (asked only when a given pin does not decide).
pub(crate) fn decide(
    host_port: &str,
    pin: Option<&Pin>,
    roots: impl FnOnce() -> Result<(), rustls::Error>,
    seen: String,
) -> Result<(), Box<Refusal>> {
    let exactly = |pin: &Pin, seen: String| {
        if pin.fingerprint == seen {
            return Ok(());
        }
        let changed = ConnectError::HostChanged {
            host_port: host_port.to_owned(),
            expected: pin.fingerprint.clone(),
            seen,
            trusted_by: pin.source.clone(),
        };
        let error = CertificateError::ApplicationVerificationFailure.into();
        Err(Box::new((changed, error)))
    };
    if let Some(pin) = pin.filter(|p| p.source == PinSource::Given) {
        return exactly(pin, seen);
    }
    let refused = match roots() {
        Ok(()) => return Ok(()),
        Err(refused) => refused,
    };
    if let Some(known) = pin {
        return exactly(known, seen);
    }
    if matches!(
        refused,
        rustls::Error::InvalidCertificate(CertificateError::UnknownIssuer)
    ) {
        let unknown = ConnectError::UnknownHost {
            host_port: host_port.to_owned(),
            fingerprint: seen,
        };
        return Err(Box::new((unknown, refused)));
    }
    let why = ConnectError::Tls(describe(host_port, &refused));
    Err(Box::new((why, refused)))
}

/// What is wrong with a certificate the roots know, in words.
fn describe(host_port: &str, error: &rustls::Error) -> String {
    let rustls::Error::InvalidCertificate(problem) = error else {
        return format!("{host_port}: {error}");
    };
    let cert = format!("the certificate of {host_port}");
    match problem {
        CertificateError::ExpiredContext { time, not_after } => format!(
            "{cert} expired on {} (it is now {}): the host needs a new one",
            date(*not_after),
            date(*time)
        ),
        CertificateError::Expired => format!("{cert} has expired: the host needs a new one"),
        CertificateError::NotValidYetContext { time, not_before } => format!(
            "{cert} is not valid before {} (it is now {}): is a clock wrong?",
            date(*not_before),
            date(*time)
        ),
        CertificateError::NotValidYet => format!("{cert} is not valid yet: is a clock wrong?"),
        CertificateError::NotValidForNameContext {
            expected,
            presented,
        } => {
            let names: Vec<String> = presented.iter().map(|n| presented_name(n)).collect();
            let names = match names.as_slice() {
                [] => "no name at all".to_owned(),
                names => names.join(", "),
            };
            format!(
                "{cert} is for {names}, not {}: connect by a name it was made for",
                expected.to_str()
            )
        }
        CertificateError::NotValidForName => format!("{cert} was not made for this name"),
        CertificateError::Revoked => format!("{cert} has been revoked"),
        other => format!("{cert} is refused: {other:?}"),
    }
}

/// `DnsName("a.example")` or `IpAddress(10.0.0.1)` (as webpki lists the
/// names a certificate presents) as `a.example`, `10.0.0.1`.
fn presented_name(debug: &str) -> String {
    let inner = ["DnsName(\"", "IpAddress("]
        .iter()
        .find_map(|prefix| debug.strip_prefix(prefix))
        .map(|rest| rest.trim_end_matches(')').trim_end_matches('"'));
    inner.unwrap_or(debug).to_owned()
}

fn date(time: UnixTime) -> String {
    let at = SystemTime::UNIX_EPOCH + Duration::from_secs(time.as_secs());
    humantime::format_rfc3339_seconds(at).to_string()
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;

    fn given(fp: &str) -> Pin {
        Pin {
            fingerprint: fp.into(),
            source: PinSource::Given,
        }
    }

    fn known(fp: &str) -> Pin {
        let path = PathBuf::from("/k/known_hosts");
        Pin {
            fingerprint: fp.into(),
            source: PinSource::KnownHosts { path, line: 3 },
        }
    }

    fn vouch() -> Result<(), rustls::Error> {
        Ok(())
    }

    fn unknown() -> Result<(), rustls::Error> {
        Err(CertificateError::UnknownIssuer.into())
    }

    fn verdict(
        pin: Option<&Pin>,
        roots: fn() -> Result<(), rustls::Error>,
        seen: &str,
    ) -> Result<(), ConnectError> {
        decide("h:1", pin, roots, seen.into()).map_err(|refused| refused.0)
    }

    #[test]
    fn a_given_pin_is_exact_whatever_the_roots_say() {
        assert_eq!(verdict(Some(&given("A")), unknown, "A"), Ok(()));
        let changed = verdict(Some(&given("A")), vouch, "B").unwrap_err();
        assert!(
            matches!(&changed, ConnectError::HostChanged { expected, seen, trusted_by: PinSource::Given, .. } if expected == "A" && seen == "B"),
            "{changed:?}"
        );
    }

    #[test]
    fn roots_first_then_known_hosts_then_unknown() {
        assert_eq!(verdict(None, vouch, "A"), Ok(()));
        // A known host that got a certificate the roots vouch for.
        assert_eq!(verdict(Some(&known("A")), vouch, "B"), Ok(()));
        assert_eq!(verdict(Some(&known("A")), unknown, "A"), Ok(()));
        let changed = verdict(Some(&known("A")), unknown, "B").unwrap_err();
        assert!(
            matches!(
                &changed,
                ConnectError::HostChanged {
                    trusted_by: PinSource::KnownHosts { line: 3, .. },
                    ..
                }
            ),
            "{changed:?}"
        );
        assert_eq!(
            verdict(None, unknown, "B"),
            Err(ConnectError::UnknownHost {
                host_port: "h:1".into(),
                fingerprint: "B".into()
            })
        );
    }

    #[test]
    fn expired_and_misnamed_certificates_are_said_in_words() {
        let expired = || {
            Err(CertificateError::ExpiredContext {
                time: UnixTime::since_unix_epoch(Duration::from_secs(1_800_000_000)),
                not_after: UnixTime::since_unix_epoch(Duration::from_secs(1_700_000_000)),
            }
            .into())
        };
        let Err(ConnectError::Tls(why)) = verdict(None, expired, "A") else {
            panic!("an expired certificate is refused");
        };
        assert_eq!(
            why,
            "the certificate of h:1 expired on 2023-11-14T22:13:20Z (it is now \
             2027-01-15T08:00:00Z): the host needs a new one"
        );
        let misnamed = || {
            Err(CertificateError::NotValidForNameContext {
                expected: ServerName::try_from("localhost").unwrap(),
                presented: vec![
                    "DnsName(\"build.example\")".into(),
                    "IpAddress(10.0.0.2)".into(),
                ],
            }
            .into())
        };
        let Err(ConnectError::Tls(why)) = verdict(None, misnamed, "A") else {
            panic!("a misnamed certificate is refused");
        };
        assert_eq!(
            why,
            "the certificate of h:1 is for build.example, 10.0.0.2, not localhost: \
             connect by a name it was made for"
        );
        // A host the user trusted keeps working when its certificate
        // expires, as a pinned one does.
        assert_eq!(verdict(Some(&known("A")), expired, "A"), Ok(()));
    }
}
