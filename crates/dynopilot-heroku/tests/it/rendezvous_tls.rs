//! Rendezvous over TLS as Heroku speaks it, against a real TLS listener on loopback using the
//! simulator's certificate: trusted only through the extra CA, the secret line and
//! end-of-input arrive, and `run_one_off` passes the command's exit status on (marker
//! stripped) or stops the dyno when its timeout passes.

use std::sync::Arc;
use std::time::Duration;

use dynopilot_heroku::exit_status::MARKER;
use dynopilot_heroku::rendezvous::AttachUrl;
use dynopilot_heroku::{OneOffEnd, OneOffRequest, RendezvousTls};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::fake::{Fake, RecordingClock, Scripted, client};

const CA: &[u8] = include_bytes!("../../../dynopilot-sim/src/rendezvous_tls/cert.pem");
const SERVER: &[u8] = include_bytes!("../../../dynopilot-sim/src/rendezvous_tls/server.pem");
const KEY: &[u8] = include_bytes!("../../../dynopilot-sim/src/rendezvous_tls/key.pem");

/// What the server saw: the secret line and whether end-of-input (0x04) came.
type Seen = (String, bool);

/// A TLS rendezvous endpoint: checks the secret, sends the banner, then `output` (or hangs
/// when `hang`), then waits for end-of-input.
async fn tls_server(
    secret: &'static str,
    output: Vec<u8>,
    hang: bool,
) -> (u16, tokio::task::JoinHandle<Option<Seen>>) {
    let chain = vec![
        CertificateDer::from_pem_slice(SERVER).unwrap(),
        CertificateDer::from_pem_slice(CA).unwrap(),
    ];
    let key = PrivateKeyDer::from_pem_slice(KEY).unwrap();
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let task = tokio::spawn(async move {
        let (socket, _) = listener.accept().await.unwrap();
        // A client that rejects the certificate ends here.
        let tls = acceptor.accept(socket).await.ok()?;
        let mut tls = BufReader::new(tls);
        let mut hello = String::new();
        tls.read_line(&mut hello).await.unwrap();
        if hello != format!("{secret}\r\n") {
            return Some((hello, false));
        }
        tls.write_all(b"rendezvous\r\n").await.unwrap();
        tls.flush().await.unwrap();
        let mut eot = [0u8; 1];
        tls.read_exact(&mut eot).await.unwrap();
        if hang {
            std::future::pending::<()>().await;
        }
        tls.write_all(&output).await.unwrap();
        tls.shutdown().await.unwrap();
        Some((hello, eot[0] == 0x04))
    });
    (port, task)
}

#[tokio::test]
async fn connects_only_when_the_authority_is_trusted() {
    let (port, server) = tls_server("s3cr3t", b"hi\n".to_vec(), false).await;
    let url = AttachUrl::parse(&format!("rendezvous://127.0.0.1:{port}/s3cr3t")).unwrap();
    let err = RendezvousTls::webpki()
        .unwrap()
        .connect(&url)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("rendezvous TLS"), "{err}");
    assert_eq!(server.await.unwrap(), None);

    let (port, server) = tls_server("s3cr3t", b"hi\n".to_vec(), false).await;
    let url = AttachUrl::parse(&format!("rendezvous://localhost:{port}/s3cr3t")).unwrap();
    let tls = RendezvousTls::with_extra_roots_pem(CA).unwrap();
    let mut attached = tls.connect(&url).await.unwrap();
    attached.get_mut().write_all(&[0x04]).await.unwrap();
    let mut rest = String::new();
    attached.read_to_string(&mut rest).await.unwrap();
    assert_eq!(rest, "hi\n");
    assert_eq!(server.await.unwrap(), Some(("s3cr3t\r\n".to_owned(), true)));
    assert!(RendezvousTls::with_extra_roots_pem(b"not pem").is_err());
}

fn created(port: u16) -> Scripted {
    Scripted::json(
        201,
        serde_json::json!({"id": "d1", "name": "run.7", "type": "run", "state": "starting",
            "attach_url": format!("rendezvous://127.0.0.1:{port}/s3cr3t")}),
    )
}

fn request(command: &str, timeout: Duration) -> OneOffRequest {
    OneOffRequest {
        command: command.to_owned(),
        size: Some("standard-2X".to_owned()),
        timeout,
        env: Default::default(),
    }
}

#[tokio::test]
async fn run_one_off_streams_output_and_returns_the_remote_status() {
    let output = format!("line 1\nline 2\n{MARKER} 3\n").into_bytes();
    let (port, server) = tls_server("s3cr3t", output, false).await;
    let fake = Fake::start().await;
    fake.push("POST /apps/shop/dynos", created(port));
    let tls = RendezvousTls::with_extra_roots_pem(CA).unwrap();
    let mut out = Vec::new();
    // Longer than the recording clock's horizon: the timeout never fires.
    let report = client(&fake, &RecordingClock::new())
        .run_one_off(
            "shop",
            &request("sh -c 'exit 3'", Duration::from_secs(3600)),
            &tls,
            &mut out,
            &CancellationToken::new(),
        )
        .await
        .unwrap();
    assert_eq!(report.end, OneOffEnd::Exited(3));
    assert_eq!(report.dyno, "run.7");
    assert_eq!(out, b"line 1\nline 2\n");
    assert!(server.await.unwrap().unwrap().1, "end-of-input sent");
    let body = fake.requests_to("POST /apps/shop/dynos")[0].json();
    assert_eq!(body["attach"], true);
    assert_eq!(body["size"], "standard-2X");
    assert_eq!(body["type"], "run");
    assert_eq!(body["time_to_live"], 3660);
    assert_eq!(
        body["command"],
        format!("sh -c 'sh -c '\\''exit 3'\\'''; echo \"{MARKER} $?\"")
    );
    assert!(
        fake.requests_to("POST /apps/shop/dynos/run.7/actions/stop")
            .is_empty()
    );
}

#[tokio::test]
async fn a_timeout_stops_the_dyno() {
    let (port, _server) = tls_server("s3cr3t", Vec::new(), true).await;
    let fake = Fake::start().await;
    fake.push("POST /apps/shop/dynos", created(port));
    fake.push(
        "POST /apps/shop/dynos/run.7/actions/stop",
        Scripted::json(202, serde_json::json!({})),
    );
    let tls = RendezvousTls::with_extra_roots_pem(CA).unwrap();
    let mut out = Vec::new();
    let report = client(&fake, &RecordingClock::new())
        .run_one_off(
            "shop",
            &request("sleep 100", Duration::from_secs(5)),
            &tls,
            &mut out,
            &CancellationToken::new(),
        )
        .await
        .unwrap();
    assert_eq!(report.end, OneOffEnd::TimedOut);
    assert!(report.stop_error.is_none());
    assert_eq!(
        fake.requests_to("POST /apps/shop/dynos/run.7/actions/stop")
            .len(),
        1
    );
}
