//! `tether serve --tls-self-signed`: a certificate of the host's own, made
//! once (rcgen) for the names and addresses it is reached by, kept in
//! `<state dir>/tether/tls/` (the key 0600), and its fingerprint, which
//! clients pin (`tether attach --fingerprint`).

use std::net::SocketAddr;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::PathBuf;

use color_eyre::eyre::{Result, WrapErr, eyre};

/// The certificate and key files, made when missing.
pub fn ensure(listen: SocketAddr) -> Result<(PathBuf, PathBuf)> {
    let dir = dirs::state_dir()
        .ok_or_else(|| eyre!("no state directory to keep the certificate in (set $HOME)"))?
        .join("tether")
        .join("tls");
    let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
    if cert.exists() && key.exists() {
        return Ok((cert, key));
    }
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(&dir)
        .wrap_err_with(|| format!("cannot make {}", dir.display()))?;
    let mut names = vec!["localhost".to_owned(), "127.0.0.1".to_owned()];
    if !listen.ip().is_unspecified() && !listen.ip().is_loopback() {
        names.push(listen.ip().to_string());
    }
    if let Ok(host) = std::fs::read_to_string("/proc/sys/kernel/hostname")
        && !host.trim().is_empty()
    {
        names.push(host.trim().to_owned());
    }
    let made = rcgen::generate_simple_self_signed(names).wrap_err("cannot make a certificate")?;
    write_private(&key, made.signing_key.serialize_pem().as_bytes())?;
    std::fs::write(&cert, made.cert.pem())
        .wrap_err_with(|| format!("cannot write {}", cert.display()))?;
    Ok((cert, key))
}

fn write_private(path: &std::path::Path, bytes: &[u8]) -> Result<()> {
    use std::io::Write;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .wrap_err_with(|| format!("cannot write {}", path.display()))?;
    file.write_all(bytes)?;
    Ok(())
}

/// The fingerprint of the certificate `--tls-self-signed` keeps here, if
/// it made one.
pub fn kept_fingerprint() -> Option<String> {
    let cert = dirs::state_dir()?
        .join("tether")
        .join("tls")
        .join("cert.pem");
    fingerprint_of(&cert)
}

/// The fingerprint of the first certificate in a PEM file, as clients pin
/// it.
pub fn fingerprint_of(cert: &std::path::Path) -> Option<String> {
    let first = tether::host::first_certificate(cert)?;
    Some(tether::client::pinning::fingerprint(&first))
}
