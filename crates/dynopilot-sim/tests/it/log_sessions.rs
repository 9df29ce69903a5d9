//! Log sessions: backlog with filters, tailing with heartbeats, and the end of a session.

use std::time::Duration;

use dynopilot_core::Clock;
use dynopilot_heroku::wire::LogSessionCreate;
use dynopilot_heroku::{LogStreamOptions, StreamEnd};
use dynopilot_sim::LogRecord;
use tokio_util::sync::CancellationToken;

use crate::harness::{APP, Sim};

fn say(sim: &Sim, source: &str, process: &str, message: &str) {
    let record = LogRecord::new(sim.clock.now(), source, process, message);
    assert!(sim.handle.emit(APP, record));
}

#[tokio::test]
async fn backlog_honours_lines_and_filters_and_ends_without_tail() {
    let sim = Sim::start().await;
    for i in 0..5 {
        say(&sim, "app", "web.1", &format!("web says {i}"));
        say(&sim, "app", "worker.1", &format!("worker says {i}"));
    }
    let mut lines = Vec::new();
    let create = LogSessionCreate {
        dyno_name: Some("web".into()),
        source: Some("app".into()),
        lines: Some(3),
        ..LogSessionCreate::default()
    };
    let end = sim
        .client()
        .stream_logs(
            APP,
            create,
            &LogStreamOptions::default(),
            &CancellationToken::new(),
            &mut |l| lines.push(l.to_string()),
        )
        .await
        .unwrap();
    assert_eq!(end, StreamEnd::Finished);
    assert_eq!(lines.len(), 3, "{lines:?}");
    assert!(
        lines[0].ends_with(" app[web.1]: web says 2"),
        "{}",
        lines[0]
    );
    assert!(
        lines[2].ends_with(" app[web.1]: web says 4"),
        "{}",
        lines[2]
    );
}

#[tokio::test]
async fn tailing_session_streams_new_lines_sends_heartbeats_and_ends() {
    let sim = Sim::start().await;
    say(&sim, "app", "web.1", "before");
    let session = sim
        .client()
        .log_session_create(
            APP,
            &LogSessionCreate {
                tail: Some(true),
                lines: Some(1),
                ..LogSessionCreate::default()
            },
        )
        .await
        .unwrap();
    assert!(session.logplex_url.contains("/sessions/"));
    let mut response = reqwest::get(&session.logplex_url).await.unwrap();
    assert_eq!(response.status(), 200);
    let backlog = response.chunk().await.unwrap().unwrap();
    assert!(String::from_utf8_lossy(&backlog).ends_with("app[web.1]: before\n"));

    say(&sim, "heroku", "router", "at=info method=GET path=/");
    let live = response.chunk().await.unwrap().unwrap();
    assert!(String::from_utf8_lossy(&live).contains("heroku[router]: at=info"));

    // Idle: a NUL heartbeat after 5 s.
    sim.advance(Duration::from_secs(5));
    let beat = response.chunk().await.unwrap().unwrap();
    assert_eq!(&beat[..], b"\0");

    // Heroku ends sessions; the simulator after 15 minutes.
    let reader = tokio::spawn(async move {
        let mut rest = Vec::new();
        while let Some(chunk) = response.chunk().await.unwrap() {
            rest.extend_from_slice(&chunk);
        }
        rest
    });
    sim.wait_until(Duration::from_secs(60), || reader.is_finished())
        .await;
    let rest = reader.await.unwrap();
    assert!(rest.iter().all(|b| *b == 0), "only heartbeats while idle");
    // A session URL is single use.
    let again = reqwest::get(&session.logplex_url).await.unwrap();
    assert_eq!(again.status(), 404);
}

/// The same backlog read as plain text and as Server-Sent Events gives the same lines; the
/// simulator frames by `Accept`, the client reads by `Content-Type`.
#[tokio::test]
async fn our_client_reads_plain_text_and_event_stream_sessions_alike() {
    let sim = Sim::start().await;
    for i in 0..4 {
        say(&sim, "app", "web.1", &format!("line {i}"));
    }
    let mut seen = Vec::new();
    for event_stream in [false, true] {
        let mut lines = Vec::new();
        let options = LogStreamOptions {
            event_stream,
            ..LogStreamOptions::default()
        };
        let create = LogSessionCreate {
            source: Some("app".into()),
            dyno_name: Some("web.1".into()),
            lines: Some(4),
            ..LogSessionCreate::default()
        };
        let end = sim
            .client()
            .stream_logs(APP, create, &options, &CancellationToken::new(), &mut |l| {
                lines.push(l.to_string());
            })
            .await
            .unwrap();
        assert_eq!(end, StreamEnd::Finished);
        assert_eq!(lines.len(), 4, "event_stream={event_stream}: {lines:?}");
        assert!(lines[3].ends_with(" app[web.1]: line 3"), "{}", lines[3]);
        seen.push(lines);
    }
    assert_eq!(seen[0], seen[1]);
}

/// On the wire: `data:` events and comment heartbeats for `text/event-stream`, NULs otherwise.
#[tokio::test]
async fn event_stream_sessions_frame_lines_as_data_events() {
    let sim = Sim::start().await;
    say(&sim, "app", "web.1", "hello");
    let created: serde_json::Value = sim
        .raw(reqwest::Method::POST, &format!("/apps/{APP}/log-sessions"))
        .json(&serde_json::json!({ "source": "app", "lines": 1 }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let url = created["logplex_url"].as_str().unwrap();
    let response = reqwest::Client::new()
        .get(url)
        .header("Accept", "text/event-stream")
        .send()
        .await
        .unwrap();
    let content_type = response.headers()["content-type"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        content_type.starts_with("text/event-stream"),
        "{content_type}"
    );
    let body = response.text().await.unwrap();
    assert!(body.starts_with("data: "), "{body:?}");
    assert!(body.ends_with(" app[web.1]: hello\n\n"), "{body:?}");
    assert_eq!(body.matches('\n').count(), 2, "{body:?}");
}
