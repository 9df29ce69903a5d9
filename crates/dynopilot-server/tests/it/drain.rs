//! The drain endpoint over real HTTP on loopback, fed with bodies from the log crate's encoder.

use std::sync::{Arc, RwLock};

use base64::Engine as _;

use dynopilot_core::{ManualClock, Timestamp};
use dynopilot_logplex::encode::{self, Record};
use dynopilot_server::ingest::Ingest;
use dynopilot_server::ingest::drain::{self, AppDirectory, DrainSettings};

const SECRET: &str = "s3cret-drain";

struct Server {
    url: String,
    ingest: Ingest,
    directory: Arc<RwLock<AppDirectory>>,
}

async fn start() -> Server {
    let clock = Arc::new(ManualClock::new(Timestamp::from_secs(1_764_064_900)));
    let ingest = Ingest::new(clock);
    let directory = Arc::new(RwLock::new(AppDirectory::default()));
    directory.write().unwrap().apps.insert("shop".to_owned());
    directory
        .write()
        .unwrap()
        .tokens
        .insert("d.1111".to_owned(), "shop".to_owned());
    let settings = DrainSettings {
        secret: SECRET.to_owned(),
        max_body_bytes: 1 << 20,
        max_in_flight: 4,
    };
    let app = drain::router(ingest.clone(), settings, directory.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    Server {
        url,
        ingest,
        directory,
    }
}

fn body() -> (Vec<u8>, usize) {
    let records = [
        Record {
            priority: 45,
            timestamp: "2025-11-25T10:01:00.000000+00:00",
            source: "heroku",
            process: "web.2",
            message: "source=web.2 dyno=heroku.1.aaaa sample#memory_total=600.00MB sample#memory_rss=500.00MB sample#memory_cache=0.00MB sample#memory_swap=100.00MB sample#memory_pgpgin=1pages sample#memory_pgpgout=1pages sample#memory_quota=512.00MB",
        },
        Record {
            priority: 45,
            timestamp: "2025-11-25T10:01:00.100000+00:00",
            source: "heroku",
            process: "web.2",
            message: "Error R14 (Memory quota exceeded)",
        },
        Record {
            priority: 158,
            timestamp: "2025-11-25T10:01:01.000000+00:00",
            source: "heroku",
            process: "router",
            message: "at=info method=GET path=\"/\" host=shop.herokuapp.com request_id=1 fwd=\"1.2.3.4\" dyno=web.1 connect=1ms service=40ms status=200 bytes=10 protocol=https",
        },
    ];
    encode::encode_body(&records)
}

async fn post(url: &str, body: Vec<u8>, headers: &[(&str, &str)]) -> u16 {
    let mut request = reqwest::Client::new()
        .post(url)
        .header("content-type", "application/logplex-1")
        .body(body);
    for (k, v) in headers {
        request = request.header(*k, *v);
    }
    request.send().await.unwrap().status().as_u16()
}

fn web2_memory(ingest: &Ingest) -> usize {
    let fleet = ingest.fleet.lock().unwrap();
    fleet
        .app("shop")
        .and_then(|a| a.observed.dyno("web.2"))
        .map_or(0, |d| d.memory.len())
}

#[tokio::test]
async fn accepted_batch_updates_the_fleet_and_wakes_the_runner() {
    let server = start().await;
    let (body, count) = body();
    let woken = server.ingest.urgent.clone();
    let status = post(
        &format!("{}/drain/shop/{SECRET}", server.url),
        body,
        &[
            ("logplex-msg-count", &count.to_string()),
            ("logplex-frame-id", "09C557EAFCFB6CF2740EE62F62971098"),
        ],
    )
    .await;
    assert_eq!(status, 204);
    assert_eq!(server.ingest.metrics.lines(), 3);
    assert_eq!(web2_memory(&server.ingest), 1);
    {
        let fleet = server.ingest.fleet.lock().unwrap();
        let web2 = fleet.app("shop").unwrap().observed.dyno("web.2").unwrap();
        assert_eq!(web2.instance_id.as_deref(), Some("heroku.1.aaaa"));
        assert_eq!(web2.errors[0].code, "R14");
    }
    tokio::time::timeout(std::time::Duration::from_secs(1), woken.notified())
        .await
        .expect("urgent observation wakes the runner");
}

#[tokio::test]
async fn wrong_or_missing_secret_is_401_and_stores_nothing() {
    let server = start().await;
    assert_eq!(
        post(&format!("{}/drain/shop/wrong", server.url), body().0, &[]).await,
        401
    );
    assert_eq!(
        post(&format!("{}/drain/shop", server.url), body().0, &[]).await,
        401
    );
    assert_eq!(server.ingest.metrics.lines(), 0);
    assert_eq!(server.ingest.metrics.dropped()["unauthorized"], 2);
}

#[tokio::test]
async fn basic_auth_and_drain_token_map_to_the_app() {
    let server = start().await;
    let auth = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("user:{SECRET}"))
    );
    assert_eq!(
        post(
            &format!("{}/drain/d.1111", server.url),
            body().0,
            &[("authorization", &auth)]
        )
        .await,
        204
    );
    assert_eq!(web2_memory(&server.ingest), 1);
    assert_eq!(
        post(
            &format!("{}/drain/other", server.url),
            body().0,
            &[("authorization", &auth)]
        )
        .await,
        404
    );
    server
        .directory
        .write()
        .unwrap()
        .tokens
        .insert("d.2222".to_owned(), "shop".to_owned());
    assert_eq!(
        post(
            &format!("{}/drain/anything", server.url),
            body().0,
            &[("authorization", &auth), ("logplex-drain-token", "d.2222")]
        )
        .await,
        204
    );
    assert_eq!(web2_memory(&server.ingest), 2);
}

#[tokio::test]
async fn a_retried_batch_is_applied_once() {
    let server = start().await;
    let url = format!("{}/drain/shop/{SECRET}", server.url);
    let headers = [("logplex-frame-id", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")];
    assert_eq!(post(&url, body().0, &headers).await, 204);
    assert_eq!(post(&url, body().0, &headers).await, 204);
    assert_eq!(web2_memory(&server.ingest), 1);
    assert_eq!(server.ingest.metrics.dropped()["duplicate_batch"], 1);
}

/// Found by the drain fuzzer: a frame id that is not plain text (bytes over 0x7f are legal in
/// a header) was ignored, so its retry was applied a second time.
#[tokio::test]
async fn a_retried_batch_with_a_non_ascii_frame_id_is_applied_once() {
    let server = start().await;
    let url = format!("{}/drain/shop/{SECRET}", server.url);
    let id = reqwest::header::HeaderValue::from_bytes(b"\xf5A1").unwrap();
    for _ in 0..2 {
        let status = reqwest::Client::new()
            .post(&url)
            .header("content-type", "application/logplex-1")
            .header("logplex-frame-id", id.clone())
            .body(body().0)
            .send()
            .await
            .unwrap()
            .status();
        assert_eq!(status, 204);
    }
    assert_eq!(web2_memory(&server.ingest), 1);
    assert_eq!(server.ingest.metrics.dropped()["duplicate_batch"], 1);
}

#[tokio::test]
async fn garbage_is_counted_and_what_parses_is_kept() {
    let server = start().await;
    let mut bytes = b"\x00\xffnot a frame ".to_vec();
    bytes.extend(body().0);
    let status = post(
        &format!("{}/drain/shop/{SECRET}", server.url),
        bytes,
        &[("logplex-msg-count", "5")],
    )
    .await;
    assert_eq!(status, 204);
    assert_eq!(server.ingest.metrics.lines(), 3);
    let dropped = server.ingest.metrics.dropped();
    assert_eq!(dropped["bad_frame"], 1);
    assert_eq!(dropped["msg_count_mismatch"], 2);
}

#[tokio::test]
async fn oversized_bodies_are_refused() {
    let server = start().await;
    let status = post(
        &format!("{}/drain/shop/{SECRET}", server.url),
        vec![b'x'; 2 << 20],
        &[],
    )
    .await;
    assert_eq!(status, 413);
}

/// Refusals are RFC 9457 problem documents with the security headers, like the API's.
#[tokio::test]
async fn refusals_are_problem_details() {
    let server = start().await;
    let client = reqwest::Client::new();
    for (url, status, kind) in [
        (
            format!("{}/drain/shop/wrong-secret", server.url),
            401,
            "unauthorized",
        ),
        (
            format!("{}/drain/nope/{SECRET}", server.url),
            404,
            "not_found",
        ),
    ] {
        let response = client
            .post(&url)
            .header("content-type", "application/logplex-1")
            .body("")
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), status, "{url}");
        assert_eq!(
            response.headers()["content-type"],
            "application/problem+json"
        );
        assert_eq!(response.headers()["x-content-type-options"], "nosniff");
        let json: serde_json::Value = response.json().await.unwrap();
        assert_eq!(json["status"], status);
        assert_eq!(json["error"], kind, "{json}");
    }
}

/// Ten thousand H12 lines posted in ten drain batches: a rule at `at_least = 10000` fires
/// (errors are counted in buckets, not kept in a bounded list), one at 10001 does not.
#[tokio::test]
async fn a_rule_at_ten_thousand_h12_fires_from_drained_lines() {
    use dynopilot_core::policy::{
        self, Action, Condition, ConfigDuration, PolicyState, RuleAction, RuleConfig, Selector,
        Severity,
    };

    let server = start().await;
    // 100 lines a second for the 100 seconds before the clock's 10:01:40.
    let stamps: Vec<String> = (0..10_000)
        .map(|i| {
            let (secs, micros) = (i / 100, i % 100 * 10_000);
            format!(
                "2025-11-25T10:{:02}:{:02}.{micros:06}+00:00",
                secs / 60,
                secs % 60
            )
        })
        .collect();
    let message = "at=error code=H12 desc=\"Request timeout\" method=GET path=\"/\" host=shop.herokuapp.com request_id=1 fwd=\"1.2.3.4\" dyno=web.1 connect=1ms service=30000ms status=503 bytes=0 protocol=https";
    for (batch, chunk) in stamps.chunks(1000).enumerate() {
        let records: Vec<Record<'_>> = chunk
            .iter()
            .map(|t| Record {
                priority: 158,
                timestamp: t,
                source: "heroku",
                process: "router",
                message,
            })
            .collect();
        let (body, count) = encode::encode_body(&records);
        let frame = format!("{batch:032X}");
        let status = post(
            &format!("{}/drain/shop/{SECRET}", server.url),
            body,
            &[
                ("logplex-msg-count", &count.to_string()),
                ("logplex-frame-id", &frame),
            ],
        )
        .await;
        assert_eq!(status, 204);
    }
    assert_eq!(server.ingest.metrics.lines(), 10_000);

    let rule = |at_least| RuleConfig {
        name: "timeouts".to_owned(),
        selector: Selector {
            process_type: Some("web".to_owned()),
            dyno: None,
        },
        condition: Condition::Codes {
            codes: vec!["H12".to_owned()],
            at_least,
            window: ConfigDuration::from_mins(5),
        },
        actions: vec![RuleAction::Alert {
            severity: Severity::Critical,
        }],
        cooldown: ConfigDuration::from_mins(5),
    };
    let now = Timestamp::from_secs(1_764_064_900);
    let fleet = server.ingest.fleet.lock().unwrap();
    let observed = &fleet.app("shop").unwrap().observed;
    assert_eq!(observed.dyno("web.1").unwrap().errors.total(), 10_000);
    let alerts = |at_least| {
        let mut config = policy::Config::new("shop");
        config.rules.push(rule(at_least));
        let (decisions, _) = policy::evaluate(&config, observed, &PolicyState::default(), now);
        decisions
            .into_iter()
            .filter(|d| matches!(d.action, Action::Alert { .. }))
            .map(|d| d.reason.to_string())
            .collect::<Vec<_>>()
    };
    let fired = alerts(10_000);
    assert_eq!(fired.len(), 1, "{fired:?}");
    assert!(fired[0].contains("10000"), "{fired:?}");
    assert!(alerts(10_001).is_empty());
}
