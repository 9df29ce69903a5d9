//! Attaching to a one-off dyno's output over a real TCP socket.

use dynopilot_heroku::rendezvous::attach_plain;
use dynopilot_heroku::wire::DynoCreate;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

use crate::fake::{Fake, RecordingClock, Scripted, client};

/// A rendezvous endpoint: checks the secret line, sends the banner, then `output`.
async fn rendezvous_server(
    secret: &'static str,
    output: &'static [u8],
) -> (u16, tokio::task::JoinHandle<String>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let task = tokio::spawn(async move {
        let (socket, _) = listener.accept().await.unwrap();
        let mut socket = BufReader::new(socket);
        let mut hello = String::new();
        socket.read_line(&mut hello).await.unwrap();
        if hello == format!("{secret}\r\n") {
            socket.write_all(b"rendezvous\r\n").await.unwrap();
            socket.write_all(output).await.unwrap();
        }
        socket.shutdown().await.unwrap();
        hello
    });
    (port, task)
}

#[tokio::test]
async fn one_off_dyno_output_streams_through_rendezvous() {
    let (port, server) = rendezvous_server("s3cr3t", b"Migrating...\r\ndone\r\n").await;
    let fake = Fake::start().await;
    fake.push(
        "POST /apps/shop/dynos",
        Scripted::json(
            201,
            serde_json::json!({"id": "d1", "name": "run.1", "type": "run",
            "state": "starting", "attach_url": format!("rendezvous://127.0.0.1:{port}/s3cr3t")}),
        ),
    );
    let create = DynoCreate {
        command: "rake db:migrate".into(),
        attach: Some(true),
        ..DynoCreate::default()
    };
    let dyno = client(&fake, &RecordingClock::new())
        .dyno_create("shop", &create)
        .await
        .unwrap();
    let mut out = Vec::new();
    let n = attach_plain(dyno.attach_url.as_deref().unwrap(), &mut out)
        .await
        .unwrap();
    assert_eq!(out, b"Migrating...\r\ndone\r\n");
    assert_eq!(n, out.len() as u64);
    assert_eq!(server.await.unwrap(), "s3cr3t\r\n");
}

#[tokio::test]
async fn wrong_secret_gets_no_banner_and_fails() {
    let (port, server) = rendezvous_server("expected", b"never sent").await;
    let mut out = Vec::new();
    let err = attach_plain(&format!("rendezvous://127.0.0.1:{port}/other"), &mut out)
        .await
        .unwrap_err();
    assert!(
        matches!(err, dynopilot_heroku::HerokuError::Decode { .. }),
        "{err:?}"
    );
    assert!(out.is_empty());
    assert_eq!(server.await.unwrap(), "other\r\n");
}
