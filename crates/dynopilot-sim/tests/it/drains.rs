//! Drains: real POSTs to a tiny receiver with Logplex's headers, retries reusing the frame id,
//! 4xx dropping the batch, and the L10 overflow notice.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use dynopilot_core::Clock;
use dynopilot_sim::config::DEMO_EMAIL;
use dynopilot_sim::{AppSpec, DrainConfig, LogRecord, SimConfig};

use crate::harness::{APP, Sim};

#[derive(Default)]
struct Receiver {
    /// Statuses to answer, in order; 200 once exhausted.
    script: VecDeque<u16>,
    got: Vec<(HeaderMap, Vec<u8>)>,
}

type Shared = Arc<Mutex<Receiver>>;

async fn receive(State(r): State<Shared>, headers: HeaderMap, body: Bytes) -> StatusCode {
    let mut r = r.lock().unwrap();
    r.got.push((headers, body.to_vec()));
    StatusCode::from_u16(r.script.pop_front().unwrap_or(200)).unwrap()
}

async fn receiver(script: &[u16]) -> (String, Shared) {
    let shared: Shared = Arc::new(Mutex::new(Receiver {
        script: script.iter().copied().collect(),
        got: Vec::new(),
    }));
    let app = axum::Router::new()
        .route("/logs", post(receive))
        .with_state(Arc::clone(&shared));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://user:secret@{addr}/logs"), shared)
}

fn say(sim: &Sim, message: &str) {
    let record = LogRecord::new(sim.clock.now(), "app", "web.1", message);
    assert!(sim.handle.emit(APP, record));
}

fn header<'a>(h: &'a HeaderMap, name: &str) -> &'a str {
    h.get(name).unwrap().to_str().unwrap()
}

#[tokio::test]
async fn drain_receives_frames_with_logplex_headers() {
    let sim = Sim::start().await;
    let (url, got) = receiver(&[]).await;
    let drain = sim.client().log_drain_add(APP, &url).await.unwrap();
    assert!(drain.token.starts_with("d."));
    say(&sim, "hello drain");
    sim.wait_until(Duration::from_millis(100), || {
        !got.lock().unwrap().got.is_empty()
    })
    .await;
    let (headers, body) = got.lock().unwrap().got[0].clone();
    let (headers, body) = (&headers, &body);
    assert_eq!(header(headers, "content-type"), "application/logplex-1");
    assert_eq!(header(headers, "logplex-drain-token"), drain.token);
    assert!(header(headers, "user-agent").starts_with("Logplex/v"));
    assert_eq!(header(headers, "authorization"), "Basic dXNlcjpzZWNyZXQ=");
    let id = header(headers, "logplex-frame-id");
    assert!(
        id.len() == 32
            && id
                .chars()
                .all(|c| c.is_ascii_digit() || c.is_ascii_uppercase())
    );
    let parsed = dynopilot_logplex::parse_body(body);
    assert!(parsed.issues.is_empty());
    assert_eq!(
        header(headers, "logplex-msg-count"),
        parsed.frames.len().to_string()
    );
    assert!(parsed.frames.iter().any(|f| f.message == b"hello drain"));
    let listed = sim.client().log_drains_list(APP).await.unwrap();
    assert_eq!(listed.len(), 1);
    sim.client()
        .log_drain_remove(APP, &drain.token)
        .await
        .unwrap();
    assert!(sim.client().log_drains_list(APP).await.unwrap().is_empty());
}

#[tokio::test]
async fn retries_reuse_the_frame_id_and_4xx_drops_the_batch() {
    let sim = Sim::start().await;
    let (url, got) = receiver(&[503, 500]).await;
    sim.client().log_drain_add(APP, &url).await.unwrap();
    say(&sim, "third time lucky");
    sim.wait_until(Duration::from_millis(100), || {
        got.lock().unwrap().got.len() >= 3
    })
    .await;
    {
        let r = got.lock().unwrap();
        let ids: Vec<&str> = r
            .got
            .iter()
            .map(|(h, _)| header(h, "logplex-frame-id"))
            .collect();
        assert_eq!(ids.len(), 3);
        assert!(ids.iter().all(|id| *id == ids[0]), "{ids:?}");
    }
    sim.wait_until(Duration::from_millis(100), || {
        sim.handle.drain_stats(APP)[0].delivered_batches == 1
    })
    .await;

    let (url, got) = receiver(&[400]).await;
    sim.client().log_drain_add(APP, &url).await.unwrap();
    say(&sim, "rejected");
    sim.wait_until(Duration::from_millis(100), || {
        sim.handle.drain_stats(APP)[1].dropped_batches == 1
    })
    .await;
    assert_eq!(sim.handle.drain_stats(APP)[1].attempts, 1);
    assert_eq!(got.lock().unwrap().got.len(), 1);
}

#[tokio::test]
async fn overflow_drops_oldest_and_injects_l10() {
    let mut config = SimConfig::empty().with_app(AppSpec::plain(APP, DEMO_EMAIL, 1, 0));
    config.drain = DrainConfig {
        buffer_size: 10,
        ..DrainConfig::default()
    };
    let sim = Sim::with(config).await;
    let (url, got) = receiver(&[]).await;
    sim.client().log_drain_add(APP, &url).await.unwrap();
    // This test runs on one thread: the delivery task cannot run until we await.
    for i in 0..25 {
        say(&sim, &format!("burst {i}"));
    }
    sim.wait_until(Duration::from_millis(100), || {
        !got.lock().unwrap().got.is_empty()
    })
    .await;
    let r = got.lock().unwrap();
    let parsed = dynopilot_logplex::parse_body(&r.got[0].1);
    let messages: Vec<String> = parsed
        .frames
        .iter()
        .map(|f| String::from_utf8_lossy(f.message).into_owned())
        .collect();
    assert!(
        messages[0].starts_with("Error L10 (output buffer overflow): 15 messages dropped since "),
        "{messages:?}"
    );
    assert_eq!(parsed.frames[0].source, "heroku");
    assert_eq!(parsed.frames[0].process, "logplex");
    assert_eq!(messages.len(), 11);
    assert_eq!(messages[1], "burst 15");
    assert_eq!(header(&r.got[0].0, "logplex-msg-count"), "11");
}

/// A flood the drain cannot keep up with: every request stays within Logplex's 100 KB and
/// 1,024 messages, `Logplex-Msg-Count` matches the frames, each batch has its own frame id,
/// and what was not delivered is accounted for by the L10 notice.
#[tokio::test]
async fn a_flood_arrives_in_bounded_batches_and_the_rest_is_reported_by_l10() {
    let sim = Sim::with(SimConfig::empty().with_app(AppSpec::plain(APP, DEMO_EMAIL, 1, 0))).await;
    let (url, got) = receiver(&[]).await;
    sim.client().log_drain_add(APP, &url).await.unwrap();
    let padding = "p".repeat(120);
    let flood = 5_000;
    // One thread: all of it is queued before the delivery task first runs.
    for i in 0..flood {
        say(&sim, &format!("flood {i} {padding}"));
    }
    let expected = DrainConfig::default().buffer_size;
    sim.wait_until(Duration::from_millis(100), || {
        let r = got.lock().unwrap();
        let frames: usize = r
            .got
            .iter()
            .map(|(h, _)| header(h, "logplex-msg-count").parse::<usize>().unwrap())
            .sum();
        frames > expected
    })
    .await;
    let r = got.lock().unwrap();
    let (mut delivered, mut dropped, mut ids) = (Vec::new(), 0u64, Vec::new());
    for (headers, body) in &r.got {
        assert!(body.len() <= 102_400, "batch of {} bytes", body.len());
        let parsed = dynopilot_logplex::parse_body(body);
        assert!(parsed.issues.is_empty(), "{:?}", parsed.issues);
        let count: usize = header(headers, "logplex-msg-count").parse().unwrap();
        assert_eq!(count, parsed.frames.len());
        assert!(count <= 1024, "{count} messages in one batch");
        ids.push(header(headers, "logplex-frame-id").to_owned());
        for frame in &parsed.frames {
            let message = String::from_utf8_lossy(frame.message);
            if let Some(rest) = message.strip_prefix("Error L10 (output buffer overflow): ") {
                assert_eq!(frame.process, "logplex");
                dropped += rest.split(' ').next().unwrap().parse::<u64>().unwrap();
            } else if let Some(rest) = message.strip_prefix("flood ") {
                delivered.push(rest.split(' ').next().unwrap().parse::<u64>().unwrap());
            }
        }
    }
    assert!(r.got.len() >= 2, "{} batches", r.got.len());
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), r.got.len(), "a frame id reused across batches");
    assert!(delivered.windows(2).all(|w| w[0] < w[1]), "out of order");
    assert_eq!(delivered.last(), Some(&(flood - 1)));
    // Every flood line was either delivered or counted as dropped (other lines of the world
    // may be among the dropped too).
    assert!(
        delivered.len() as u64 + dropped >= flood,
        "{} + {dropped}",
        delivered.len()
    );
    assert!(dropped >= flood - expected as u64, "{dropped}");
}
