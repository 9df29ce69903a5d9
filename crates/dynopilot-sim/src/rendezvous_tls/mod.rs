//! TLS for the rendezvous listener, as Heroku's rendezvous speaks it (the official CLI's
//! `heroku run` connects with `tls.connect`). `cert.pem` is a throwaway certificate authority
//! whose key was discarded after it signed `server.pem`, the listener's certificate for
//! `127.0.0.1` and `localhost`; both live in the repository: they guard nothing, they only let
//! a verifying TLS client finish a handshake with the simulator by trusting `cert.pem` (e.g.
//! `NODE_EXTRA_CA_CERTS`, or `dynopilot exec --rendezvous-ca`). A CA plus a separate leaf,
//! rather than one self-signed certificate, because WebPKI verifiers (rustls) refuse a CA
//! certificate used as the server's own.

use std::sync::Arc;

use rustls::ServerConfig;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::TlsAcceptor;

/// The certificate authority, PEM, for clients that want to trust the simulator.
pub const CERT_PEM: &[u8] = include_bytes!("cert.pem");
/// The listener's certificate, signed by [`CERT_PEM`].
const SERVER_PEM: &[u8] = include_bytes!("server.pem");
const KEY_PEM: &[u8] = include_bytes!("key.pem");

/// The first byte of a TLS handshake record (a ClientHello), which no rendezvous secret
/// starts with.
pub const HANDSHAKE_BYTE: u8 = 0x16;

/// The acceptor for TLS rendezvous connections.
pub fn acceptor() -> Result<TlsAcceptor, rustls::Error> {
    let pem = |bytes: &[u8]| {
        CertificateDer::from_pem_slice(bytes)
            .map_err(|e| rustls::Error::General(format!("rendezvous certificate: {e}")))
    };
    let chain = vec![pem(SERVER_PEM)?, pem(CERT_PEM)?];
    let key = PrivateKeyDer::from_pem_slice(KEY_PEM)
        .map_err(|e| rustls::Error::General(format!("rendezvous key: {e}")))?;
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(chain, key)?;
    Ok(TlsAcceptor::from(Arc::new(config)))
}
