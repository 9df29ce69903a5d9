//! TLS for the rendezvous listener, as Heroku's rendezvous speaks it (the official CLI's
//! `heroku run` connects with `tls.connect`). The certificate is self-signed for `127.0.0.1`
//! and `localhost` and lives in the repository: it guards nothing, it only lets a TLS client
//! finish a handshake with the simulator (clients skip verification, e.g.
//! `NODE_TLS_REJECT_UNAUTHORIZED=0`, or trust `cert.pem`).

use std::sync::Arc;

use rustls::ServerConfig;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::TlsAcceptor;

/// The self-signed certificate, PEM, for clients that want to trust it.
pub const CERT_PEM: &[u8] = include_bytes!("cert.pem");
const KEY_PEM: &[u8] = include_bytes!("key.pem");

/// The first byte of a TLS handshake record (a ClientHello), which no rendezvous secret
/// starts with.
pub const HANDSHAKE_BYTE: u8 = 0x16;

/// The acceptor for TLS rendezvous connections.
pub fn acceptor() -> Result<TlsAcceptor, rustls::Error> {
    let cert = CertificateDer::from_pem_slice(CERT_PEM)
        .map_err(|e| rustls::Error::General(format!("rendezvous certificate: {e}")))?;
    let key = PrivateKeyDer::from_pem_slice(KEY_PEM)
        .map_err(|e| rustls::Error::General(format!("rendezvous key: {e}")))?;
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(vec![cert], key)?;
    Ok(TlsAcceptor::from(Arc::new(config)))
}
