//! TLS of the host's own (`tether serve --tls-cert FILE --tls-key FILE`):
//! `wss://` and `https://` with rustls, no proxy in front. The
//! certificate chain and key are PEM files, read at start.

use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

use crate::host::error::{Error, Result};

/// The acceptor for a certificate chain and its key, both PEM; a clear
/// error naming the file for what is missing or wrong.
pub fn acceptor(cert: &Path, key: &Path) -> Result<tokio_rustls::TlsAcceptor> {
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert)
        .map_err(|e| bad(cert, &format!("cannot read certificates: {e}")))?
        .collect::<std::result::Result<_, _>>()
        .map_err(|e| bad(cert, &format!("not a PEM certificate: {e}")))?;
    if chain.is_empty() {
        return Err(bad(cert, "holds no certificate (PEM `BEGIN CERTIFICATE`)"));
    }
    refuse_readable(key)?;
    let key = PrivateKeyDer::from_pem_file(key)
        .map_err(|e| bad(key, &format!("not a PEM private key: {e}")))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| Error::Invalid(format!("TLS: {e}")))?
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .map_err(|e| Error::Invalid(format!("TLS: the key does not fit the certificate: {e}")))?;
    Ok(tokio_rustls::TlsAcceptor::from(Arc::new(config)))
}

/// A private key others can read is refused, as the auth file is.
fn refuse_readable(key: &Path) -> Result<()> {
    use std::os::unix::fs::MetadataExt;
    let meta = std::fs::metadata(key).map_err(|e| bad(key, &format!("cannot read: {e}")))?;
    let mode = meta.mode() & 0o777;
    if mode & 0o077 != 0 {
        return Err(bad(
            key,
            &format!(
                "is readable by group or others (mode {mode:o}); run `chmod 600 {}`",
                key.display()
            ),
        ));
    }
    Ok(())
}

/// The acceptor in force, swapped when the files change.
pub type SharedAcceptor = Arc<RwLock<tokio_rustls::TlsAcceptor>>;

/// The two files' stamps, taken before they are read (a change made
/// while the host starts is not missed).
pub type Stamps = (
    Option<crate::host::auth::FileStamp>,
    Option<crate::host::auth::FileStamp>,
);

pub fn stamps(cert: &Path, key: &Path) -> Stamps {
    use crate::host::auth::FileStamp;
    (FileStamp::of(cert), FileStamp::of(key))
}

/// What the reload task follows: the acceptor, its files, their stamps.
pub type Followed = ((SharedAcceptor, (PathBuf, PathBuf)), Stamps);

/// How often the certificate files are looked at for a change.
const RELOAD_POLL: Duration = Duration::from_secs(1);

/// Reloads the certificate and key when either file changes (a renewed
/// certificate is served without a restart); a pair that does not load
/// keeps the one in force, with a warning. Runs until `closing`.
pub async fn follow_files(
    shared: SharedAcceptor,
    (cert, key): (PathBuf, PathBuf),
    seen: Stamps,
    mut closing: tokio::sync::watch::Receiver<bool>,
) {
    let mut seen = seen;
    loop {
        tokio::select! {
            () = tokio::time::sleep(RELOAD_POLL) => {}
            _ = closing.changed() => return,
        }
        let now = stamps(&cert, &key);
        if now == seen {
            continue;
        }
        seen = now;
        match acceptor(&cert, &key) {
            Ok(fresh) => {
                *shared.write().unwrap_or_else(|e| e.into_inner()) = fresh;
                eprintln!("tls: reloaded {}", cert.display());
            }
            Err(e) => eprintln!("tls: {e}; the certificate in force stays"),
        }
    }
}

/// The first certificate of a PEM file (DER), for its fingerprint.
pub fn first_certificate(path: &Path) -> Option<Vec<u8>> {
    let first = CertificateDer::pem_file_iter(path).ok()?.next()?.ok()?;
    Some(first.to_vec())
}

fn bad(path: &Path, what: &str) -> Error {
    Error::Invalid(format!("{}: {what}", path.display()))
}
