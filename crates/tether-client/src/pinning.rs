//! Trusting a host by its certificate's fingerprint (`--fingerprint
//! SHA256:…`, or `fingerprint = …` for a host in config.toml), as ssh
//! trusts a host key: for a self-signed certificate no root vouches for.
//! The pins are set once at start; a `wss://` connection to a pinned
//! host:port accepts exactly that certificate and nothing else.

use std::collections::HashMap;
use std::sync::{Arc, OnceLock, RwLock};

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, verify_tls12_signature, verify_tls13_signature};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};

/// `SHA256:` and the certificate's SHA-256 in base64, as ssh writes one.
pub fn fingerprint(der: &[u8]) -> String {
    let digest = ring::digest::digest(&ring::digest::SHA256, der);
    let b64 = data_encoding::BASE64_NOPAD.encode(digest.as_ref());
    format!("SHA256:{b64}")
}

/// Reads `SHA256:…` (as printed by `tether serve`).
pub fn parse_fingerprint(text: &str) -> Result<String, String> {
    let b64 = text
        .trim()
        .strip_prefix("SHA256:")
        .ok_or_else(|| format!("`{text}` is not a fingerprint: it starts with SHA256:"))?;
    let bytes = data_encoding::BASE64_NOPAD
        .decode(b64.trim_end_matches('=').as_bytes())
        .map_err(|_| format!("`{text}` is not a fingerprint (base64 after SHA256:)"))?;
    if bytes.len() != 32 {
        return Err(format!("`{text}` is not a SHA-256 fingerprint"));
    }
    Ok(format!(
        "SHA256:{}",
        data_encoding::BASE64_NOPAD.encode(&bytes)
    ))
}

fn pins() -> &'static RwLock<HashMap<String, String>> {
    static PINS: OnceLock<RwLock<HashMap<String, String>>> = OnceLock::new();
    PINS.get_or_init(Default::default)
}

/// Trusts the certificate with `fingerprint` (checked) for `host:port`.
pub fn pin(host_port: &str, fingerprint: &str) -> Result<(), String> {
    let fingerprint = parse_fingerprint(fingerprint)?;
    let mut pins = pins().write().unwrap_or_else(|e| e.into_inner());
    pins.insert(host_port.to_owned(), fingerprint);
    Ok(())
}

/// The TLS settings for a pinned `host:port`, if it is pinned.
pub fn pinned_config(host_port: &str) -> Option<Arc<rustls::ClientConfig>> {
    let pins = pins().read().unwrap_or_else(|e| e.into_inner());
    let expected = pins.get(host_port)?.clone();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let verifier = Arc::new(Pinned {
        expected,
        provider: provider.clone(),
    });
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .ok()?
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_no_client_auth();
    Some(Arc::new(config))
}

/// Accepts exactly the certificate whose fingerprint is `expected`; its
/// signatures on the handshake are still checked.
#[derive(Debug)]
struct Pinned {
    expected: String,
    provider: Arc<CryptoProvider>,
}

impl ServerCertVerifier for Pinned {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let seen = fingerprint(end_entity);
        if seen == self.expected {
            Ok(ServerCertVerified::assertion())
        } else {
            Err(rustls::Error::General(format!(
                "THE HOST'S CERTIFICATE HAS CHANGED: expected {}, got {seen}. \
                 Someone may be in the middle; if the host made a new certificate, \
                 pin the new fingerprint (--fingerprint, or config.toml)",
                self.expected
            )))
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprints_read_back_as_written() {
        let fp = fingerprint(b"a certificate");
        assert!(fp.starts_with("SHA256:") && fp.len() == 7 + 43, "{fp}");
        assert_eq!(parse_fingerprint(&fp).unwrap(), fp);
        assert_eq!(parse_fingerprint(&format!("{fp}=")).unwrap(), fp);
        assert!(parse_fingerprint("MD5:abc").is_err());
        assert!(parse_fingerprint("SHA256:abc").is_err());
    }
}
