//! Log sessions: NUL heartbeats dropped, lines split, tailing sessions reconnected.

use dynopilot_heroku::wire::LogSessionCreate;
use dynopilot_heroku::{LogStreamOptions, StreamEnd};
use tokio_util::sync::CancellationToken;

use crate::fake::{Fake, RecordingClock, Scripted, client};

fn options() -> LogStreamOptions {
    LogStreamOptions {
        idle_timeout: std::time::Duration::from_secs(3600),
        ..LogStreamOptions::default()
    }
}

fn session(fake: &Fake, n: u32) -> Scripted {
    Scripted::json(
        201,
        serde_json::json!({"id": format!("ls{n}"),
            "logplex_url": format!("{}/sessions/ls{n}?srv=1", fake.base)}),
    )
}

#[tokio::test]
async fn non_tail_session_yields_backlog_lines_without_heartbeats() {
    let fake = Fake::start().await;
    fake.push("POST /apps/shop/log-sessions", session(&fake, 1))
        .push(
            "GET /sessions/ls1",
            Scripted::chunks(
                200,
                &[
                    b"\0",
                    b"2024-01-01T00:00:00+00:00 app[web.1]: one\n\0",
                    b"\0two\n",
                ],
            ),
        );
    let mut lines = Vec::new();
    let create = LogSessionCreate {
        lines: Some(2),
        ..LogSessionCreate::default()
    };
    let end = client(&fake, &RecordingClock::new())
        .stream_logs(
            "shop",
            create,
            &options(),
            &CancellationToken::new(),
            &mut |l: &str| lines.push(l.to_string()),
        )
        .await
        .unwrap();
    assert_eq!(end, StreamEnd::Finished);
    assert_eq!(lines, ["2024-01-01T00:00:00+00:00 app[web.1]: one", "two"]);
    let stream_req = &fake.requests_to("GET /sessions/ls1")[0];
    assert_eq!(
        stream_req.header("authorization"),
        None,
        "API key sent to the log host"
    );
}

#[tokio::test]
async fn tail_session_reconnects_when_heroku_ends_it() {
    let fake = Fake::start().await;
    fake.push("POST /apps/shop/log-sessions", session(&fake, 1))
        .push("POST /apps/shop/log-sessions", session(&fake, 2))
        .push(
            "GET /sessions/ls1",
            Scripted::chunks(200, &[b"first\n", b"\0"]),
        )
        .push("GET /sessions/ls2", Scripted::chunks(200, &[b"\0second\n"]));
    let cancel = CancellationToken::new();
    let mut lines = Vec::new();
    let create = LogSessionCreate {
        tail: Some(true),
        lines: Some(100),
        ..LogSessionCreate::default()
    };
    let end = client(&fake, &RecordingClock::new())
        .stream_logs("shop", create, &options(), &cancel, &mut |l: &str| {
            lines.push(l.to_string());
            if lines.len() == 2 {
                cancel.cancel();
            }
        })
        .await
        .unwrap();
    assert_eq!(end, StreamEnd::Cancelled);
    assert_eq!(lines, ["first", "second"]);
    let creates = fake.requests_to("POST /apps/shop/log-sessions");
    assert_eq!(creates.len(), 2);
    assert_eq!(
        creates[0].json(),
        serde_json::json!({"tail": true, "lines": 100})
    );
    // The reconnect must not replay the backlog.
    assert_eq!(
        creates[1].json(),
        serde_json::json!({"tail": true, "lines": 0})
    );
}

#[tokio::test]
async fn expired_session_url_is_replaced_with_backoff() {
    let fake = Fake::start().await;
    fake.push("POST /apps/shop/log-sessions", session(&fake, 1))
        .push("POST /apps/shop/log-sessions", session(&fake, 2))
        .push(
            "GET /sessions/ls1",
            Scripted::error(404, "not_found", "session expired"),
        )
        .push("GET /sessions/ls2", Scripted::chunks(200, &[b"back\n"]));
    let cancel = CancellationToken::new();
    let clock = RecordingClock::new();
    let mut lines = Vec::new();
    let create = LogSessionCreate {
        tail: Some(true),
        ..LogSessionCreate::default()
    };
    client(&fake, &clock)
        .stream_logs("shop", create, &options(), &cancel, &mut |l: &str| {
            lines.push(l.to_string());
            cancel.cancel();
        })
        .await
        .unwrap();
    assert_eq!(lines, ["back"]);
    assert_eq!(clock.sleeps(), [std::time::Duration::from_millis(500)]);
}

#[tokio::test]
async fn session_creation_failure_that_is_permanent_is_returned() {
    let fake = Fake::start().await;
    fake.push(
        "POST /apps/shop/log-sessions",
        Scripted::error(403, "forbidden", "Tail sessions forbidden"),
    );
    let create = LogSessionCreate {
        tail: Some(true),
        ..LogSessionCreate::default()
    };
    let err = client(&fake, &RecordingClock::new())
        .stream_logs(
            "shop",
            create,
            &options(),
            &CancellationToken::new(),
            &mut |_: &str| {},
        )
        .await
        .unwrap_err();
    assert!(matches!(
        err,
        dynopilot_heroku::HerokuError::Forbidden { .. }
    ));
}

#[tokio::test]
async fn silent_stream_is_abandoned_after_the_idle_timeout_and_reopened() {
    use std::sync::Arc;
    use std::time::Duration;

    use dynopilot_core::{Clock, ManualClock, Timestamp};

    let fake = Fake::start().await;
    fake.push("POST /apps/shop/log-sessions", session(&fake, 1))
        .push("POST /apps/shop/log-sessions", session(&fake, 2))
        .push(
            "GET /sessions/ls1",
            Scripted::chunks(200, &[b"before\n"]).then_hang(),
        )
        .push(
            "GET /sessions/ls2",
            Scripted::chunks(200, &[b"after\n"]).then_hang(),
        );
    let clock = ManualClock::new(Timestamp::from_secs(1_000));
    let c = crate::fake::client_on(&fake.base, Arc::new(clock.clone()), Default::default());
    let cancel = CancellationToken::new();
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<String>();
    let task = tokio::spawn({
        let cancel = cancel.clone();
        async move {
            let create = LogSessionCreate {
                tail: Some(true),
                ..LogSessionCreate::default()
            };
            let opts = LogStreamOptions::default();
            c.stream_logs("shop", create, &opts, &cancel, &mut |l: &str| {
                tx.send(l.to_string()).unwrap();
            })
            .await
        }
    });
    assert_eq!(rx.recv().await.unwrap(), "before");
    // Nothing more arrives; time passes on the manual clock until the client gives up on the
    // silent stream (30 s), backs off, and opens a new session.
    let mut rounds = 0;
    let second = loop {
        rounds += 1;
        assert!(rounds < 400, "no reconnect after {rounds} clock steps");
        clock.advance(Duration::from_secs(5));
        tokio::time::sleep(Duration::from_millis(5)).await;
        if let Ok(line) = rx.try_recv() {
            break line;
        }
    };
    assert_eq!(second, "after");
    assert!(clock.now().since(Timestamp::from_secs(1_000)) >= Duration::from_secs(30));
    cancel.cancel();
    assert_eq!(task.await.unwrap().unwrap(), StreamEnd::Cancelled);
    assert_eq!(fake.requests_to("POST /apps/shop/log-sessions").len(), 2);
}
