//! TLS for rendezvous, as Heroku's endpoint speaks it: which certificates are trusted (the
//! WebPKI roots, plus any extra authority the caller names, e.g. the simulator's) and the
//! connect-handshake step before the rendezvous secret is sent.

use std::sync::Arc;

use rustls::ClientConfig;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use tokio::io::BufReader;
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;

use crate::error::HerokuError;
use crate::rendezvous::{AttachUrl, handshake};

/// A rendezvous connection after the handshake: reads are the dyno's output, writes its stdin.
pub type Attached = BufReader<TlsStream<TcpStream>>;

/// Which servers a rendezvous connection trusts.
#[derive(Clone)]
pub struct RendezvousTls {
    connector: TlsConnector,
}

impl std::fmt::Debug for RendezvousTls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RendezvousTls(..)")
    }
}

impl RendezvousTls {
    /// Trusts the WebPKI roots only: what Heroku's `rendezvous.runtime.heroku.com` presents.
    pub fn webpki() -> Result<Self, HerokuError> {
        Self::with_roots(Vec::new())
    }

    /// Trusts the WebPKI roots and every certificate authority in `pem` (for the simulator,
    /// whose authority is `dynopilot-sim/src/rendezvous_tls/cert.pem`, or a proxy).
    pub fn with_extra_roots_pem(pem: &[u8]) -> Result<Self, HerokuError> {
        let extra = CertificateDer::pem_slice_iter(pem)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| HerokuError::invalid(format!("rendezvous CA certificates: {e}")))?;
        if extra.is_empty() {
            return Err(HerokuError::invalid(
                "rendezvous CA file holds no PEM certificate",
            ));
        }
        Self::with_roots(extra)
    }

    fn with_roots(extra: Vec<CertificateDer<'static>>) -> Result<Self, HerokuError> {
        let mut roots = rustls::RootCertStore::empty();
        roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
        for cert in extra {
            roots
                .add(cert)
                .map_err(|e| HerokuError::invalid(format!("rendezvous CA certificate: {e}")))?;
        }
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let config = ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| HerokuError::invalid(format!("rendezvous TLS: {e}")))?
            .with_root_certificates(roots)
            .with_no_client_auth();
        Ok(RendezvousTls {
            connector: TlsConnector::from(Arc::new(config)),
        })
    }

    /// Connects to `url`'s host and port, completes the TLS handshake (verifying the server
    /// for the URL's host) and the rendezvous handshake.
    pub async fn connect(&self, url: &AttachUrl) -> Result<Attached, HerokuError> {
        let name = ServerName::try_from(url.host.clone())
            .map_err(|e| HerokuError::invalid(format!("attach URL host: {e}")))?;
        let tcp = TcpStream::connect((url.host.as_str(), url.port))
            .await
            .map_err(|e| transport(&e))?;
        let tls = self
            .connector
            .connect(name, tcp)
            .await
            .map_err(|e| transport(&e))?;
        handshake(tls, url.secret()).await
    }
}

fn transport(err: &std::io::Error) -> HerokuError {
    HerokuError::Transport {
        message: format!("rendezvous TLS: {err}"),
    }
}
