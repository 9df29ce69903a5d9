//! Sidekiq, RQ, Celery and Resque read from the real Redis, jobs written the way each library
//! writes them; garbage in a key is a fault of that queue only; a closed port is a source error.

use std::time::Duration;

use dynopilot_queues::{Adapter, QueueSource, SourceError};
use redis::AsyncCommands;
use redis::aio::MultiplexedConnection;
use serde_json::json;

use crate::support::{now, read, redis_url, spec, unique};

async fn conn() -> MultiplexedConnection {
    let client = redis::Client::open(redis_url()).unwrap();
    client.get_multiplexed_async_connection().await.unwrap()
}

async fn delete_matching(c: &mut MultiplexedConnection, pattern: &str) {
    let keys: Vec<String> = c.keys(pattern).await.unwrap();
    if !keys.is_empty() {
        let _: () = c.del(keys).await.unwrap();
    }
}

fn secs_ago(s: i64) -> f64 {
    (now().as_millis() - s * 1000) as f64 / 1000.0
}

fn sidekiq_job(queue: &str, enqueued_at: serde_json::Value) -> String {
    json!({
        "class": "HardJob", "args": [1, "x"], "retry": true, "queue": queue,
        "jid": unique(""), "created_at": enqueued_at.clone(), "enqueued_at": enqueued_at,
    })
    .to_string()
}

#[tokio::test]
#[cfg_attr(
    not(dynopilot_has_redis),
    ignore = "needs Redis: set DYNOPILOT_TEST_REDIS_URL=redis://127.0.0.1:6379"
)]
async fn sidekiq_depth_latency_and_busy_per_queue_in_seconds_and_milliseconds() {
    let ns = unique("dp-sidekiq-");
    let mut c = conn().await;
    let _: () = c
        .sadd(format!("{ns}:queues"), &["default", "mailers"])
        .await
        .unwrap();
    // Sidekiq ≤ 7: LPUSH, float seconds; the oldest (30 s) is at the right end.
    for age in [30, 20, 10] {
        let job = sidekiq_job("default", json!(secs_ago(age)));
        let _: () = c.lpush(format!("{ns}:queue:default"), job).await.unwrap();
    }
    // Sidekiq 8: integer milliseconds.
    let ms = now().as_millis() - 4_500;
    let _: () = c
        .lpush(
            format!("{ns}:queue:mailers"),
            sidekiq_job("mailers", json!(ms)),
        )
        .await
        .unwrap();
    // One live process working one default job; a dead one (heartbeat hash expired) is ignored.
    let _: () = c
        .sadd(format!("{ns}:processes"), &["web.1:12:abc", "gone:1:def"])
        .await
        .unwrap();
    let _: () = c
        .hset(format!("{ns}:web.1:12:abc"), "busy", 1)
        .await
        .unwrap();
    let work = json!({"queue": "default", "payload": sidekiq_job("default", json!(secs_ago(1))), "run_at": secs_ago(1)});
    let _: () = c
        .hset(format!("{ns}:web.1:12:abc:work"), "tid-1", work.to_string())
        .await
        .unwrap();
    let _: () = c
        .hset(format!("{ns}:gone:1:def:work"), "tid-2", work.to_string())
        .await
        .unwrap();

    let snapshot = read(spec(Adapter::Sidekiq, &redis_url(), &[], Some(&ns))).await;
    delete_matching(&mut c, &format!("{ns}:*")).await;

    assert!(snapshot.faults.is_empty(), "{:?}", snapshot.faults);
    let default = snapshot.reading("default").unwrap();
    assert_eq!(default.depth, 3);
    assert_eq!(default.busy, Some(1));
    assert_eq!(default.latency_ms(now()), Some(30_000.0));
    let mailers = snapshot.reading("mailers").unwrap();
    assert_eq!((mailers.depth, mailers.busy), (1, Some(0)));
    assert_eq!(mailers.latency_ms(now()), Some(4_500.0));
    let total = snapshot.total(now());
    assert_eq!(
        (total.depth, total.busy, total.latency_ms),
        (4, Some(1), Some(30_000.0))
    );
}

#[tokio::test]
#[cfg_attr(
    not(dynopilot_has_redis),
    ignore = "needs Redis: set DYNOPILOT_TEST_REDIS_URL=redis://127.0.0.1:6379"
)]
async fn garbage_in_one_sidekiq_queue_is_a_fault_and_the_others_are_still_read() {
    let ns = unique("dp-sidekiq-");
    let mut c = conn().await;
    let _: () = c
        .sadd(format!("{ns}:queues"), &["default", "wrongtype", "badjson"])
        .await
        .unwrap();
    let _: () = c
        .lpush(
            format!("{ns}:queue:default"),
            sidekiq_job("default", json!(secs_ago(5))),
        )
        .await
        .unwrap();
    let _: () = c
        .set(format!("{ns}:queue:wrongtype"), "not a list")
        .await
        .unwrap();
    let _: () = c
        .lpush(format!("{ns}:queue:badjson"), "{not json")
        .await
        .unwrap();

    let snapshot = read(spec(Adapter::Sidekiq, &redis_url(), &[], Some(&ns))).await;
    delete_matching(&mut c, &format!("{ns}:*")).await;

    assert_eq!(snapshot.reading("default").map(|q| q.depth), Some(1));
    let faulty: Vec<&str> = snapshot.faults.iter().map(|f| f.queue.as_str()).collect();
    assert_eq!(faulty, ["badjson", "wrongtype"]);
    assert!(
        snapshot.faults[1].reason.contains("WRONGTYPE"),
        "{:?}",
        snapshot.faults
    );
}

#[tokio::test]
async fn a_closed_port_is_a_source_error_not_an_empty_queue() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    let mut s = spec(
        Adapter::Sidekiq,
        &format!("redis://127.0.0.1:{port}"),
        &["default"],
        None,
    );
    s.timeout = Duration::from_millis(300);
    let source = QueueSource::new(s).unwrap();
    let started = tokio::time::Instant::now();
    let err = source.read(now()).await.unwrap_err();
    assert!(
        matches!(err, SourceError::Redis { .. } | SourceError::Timeout { .. }),
        "{err}"
    );
    assert!(started.elapsed() < Duration::from_secs(3));
}

#[tokio::test]
#[cfg_attr(
    not(dynopilot_has_redis),
    ignore = "needs Redis: set DYNOPILOT_TEST_REDIS_URL=redis://127.0.0.1:6379"
)]
async fn rq_depth_from_the_id_list_latency_from_the_job_hash_busy_from_the_started_registry() {
    let q = unique("dp-rq-");
    let mut c = conn().await;
    let _: () = c.sadd("rq:queues", format!("rq:queue:{q}")).await.unwrap();
    let ids = [unique(""), unique("")];
    for (id, when) in ids
        .iter()
        .zip(["2026-05-28T20:25:40.250000Z", "2026-05-28T20:26:30.000000Z"])
    {
        // RQ: RPUSH the id, the job itself is a hash.
        let _: () = c.rpush(format!("rq:queue:{q}"), id).await.unwrap();
        let _: () = c
            .hset_multiple(
                format!("rq:job:{id}"),
                &[
                    ("enqueued_at", when),
                    ("status", "queued"),
                    ("origin", q.as_str()),
                ],
            )
            .await
            .unwrap();
    }
    let _: () = c
        .zadd(format!("rq:wip:{q}"), unique(""), 1_780_000_180)
        .await
        .unwrap();

    let snapshot = read(spec(Adapter::Rq, &redis_url(), &[], None)).await;
    let _: () = c.srem("rq:queues", format!("rq:queue:{q}")).await.unwrap();
    let _: () = c
        .del(&[
            format!("rq:queue:{q}"),
            format!("rq:wip:{q}"),
            format!("rq:job:{}", ids[0]),
            format!("rq:job:{}", ids[1]),
        ])
        .await
        .unwrap();

    let reading = snapshot.reading(&q).unwrap();
    assert_eq!((reading.depth, reading.busy), (2, Some(1)));
    // now() is 2026-05-28T20:26:40Z: the first job waited 59.75 s.
    assert_eq!(reading.latency_ms(now()), Some(59_750.0));
}

#[tokio::test]
#[cfg_attr(
    not(dynopilot_has_redis),
    ignore = "needs Redis: set DYNOPILOT_TEST_REDIS_URL=redis://127.0.0.1:6379"
)]
async fn celery_depth_counts_the_priority_lists_and_records_no_latency() {
    let prefix = unique("dp-celery-");
    let mut c = conn().await;
    let message = json!({
        "body": "W1siYSJdLCB7fSwgeyJjYWxsYmFja3MiOiBudWxsfV0=",
        "content-encoding": "utf-8", "content-type": "application/json",
        "headers": {"lang": "py", "task": "tasks.add", "id": "7c1d", "root_id": "7c1d", "retries": 0, "eta": null},
        "properties": {"correlation_id": "7c1d", "delivery_mode": 2, "delivery_tag": "d1", "priority": 0,
                        "delivery_info": {"exchange": "", "routing_key": "celery"}, "body_encoding": "base64"},
    })
    .to_string();
    for _ in 0..3 {
        let _: () = c.lpush(format!("{prefix}celery"), &message).await.unwrap();
    }
    let _: () = c
        .lpush(format!("{prefix}celery\x06\x166"), &message)
        .await
        .unwrap();
    let _: () = c
        .lpush(format!("{prefix}reports"), "garbage")
        .await
        .unwrap();

    let snapshot = read(spec(
        Adapter::Celery,
        &redis_url(),
        &["celery", "reports"],
        Some(&prefix),
    ))
    .await;
    delete_matching(&mut c, &format!("{prefix}*")).await;

    let celery = snapshot.reading("celery").unwrap();
    assert_eq!(
        (celery.depth, celery.busy, celery.oldest_enqueued_at),
        (4, None, None)
    );
    assert_eq!(celery.latency_ms(now()), None);
    assert_eq!(snapshot.faults.len(), 1);
    assert_eq!(snapshot.faults[0].queue, "reports");
}

#[tokio::test]
#[cfg_attr(
    not(dynopilot_has_redis),
    ignore = "needs Redis: set DYNOPILOT_TEST_REDIS_URL=redis://127.0.0.1:6379"
)]
async fn resque_depth_per_queue_and_busy_from_working_workers() {
    let ns = unique("dp-resque-");
    let mut c = conn().await;
    let _: () = c
        .sadd(format!("{ns}:queues"), &["high", "low"])
        .await
        .unwrap();
    for _ in 0..2 {
        let job = json!({"class": "Archive", "args": [42, "repo"]}).to_string();
        let _: () = c.rpush(format!("{ns}:queue:high"), job).await.unwrap();
    }
    let _: () = c
        .sadd(
            format!("{ns}:workers"),
            &["host:100:high,low", "host:101:low"],
        )
        .await
        .unwrap();
    let working = json!({"queue": "low", "run_at": "2026/05/28 20:26:00 UTC", "payload": {"class": "Archive", "args": []}});
    let _: () = c
        .set(format!("{ns}:worker:host:101:low"), working.to_string())
        .await
        .unwrap();

    let snapshot = read(spec(Adapter::Resque, &redis_url(), &[], Some(&ns))).await;
    delete_matching(&mut c, &format!("{ns}:*")).await;

    assert!(snapshot.faults.is_empty(), "{:?}", snapshot.faults);
    let high = snapshot.reading("high").unwrap();
    assert_eq!((high.depth, high.busy), (2, Some(0)));
    let low = snapshot.reading("low").unwrap();
    assert_eq!((low.depth, low.busy), (0, Some(1)));
    assert_eq!(snapshot.total(now()).latency_ms, None);
}

#[tokio::test]
async fn an_insecure_tls_url_reaches_the_network_step() {
    // `rediss://…#insecure` (Heroku Key-Value Store) needs a rustls crypto provider; without one
    // the error would be a client-config error before any connection is tried.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    let mut s = spec(
        Adapter::Sidekiq,
        &format!("rediss://127.0.0.1:{port}/#insecure"),
        &["default"],
        None,
    );
    s.timeout = Duration::from_millis(300);
    let err = QueueSource::new(s).unwrap().read(now()).await.unwrap_err();
    assert!(!err.to_string().contains("crypto provider"), "{err}");
}
