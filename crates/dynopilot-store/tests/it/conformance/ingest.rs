//! Conformance pieces for ingest data: rollup upserts, step queries, samples and retention.

use std::sync::Arc;
use std::time::Duration;

use dynopilot_core::LatencySketch;
use dynopilot_store::{
    Batch, DOWNSAMPLE_WINDOW, MINUTE_MS, Retention, Rollup, Sample, SampleFilter, Store, TimeRange,
};

use super::t;

const MINUTE: Duration = Duration::from_secs(60);

/// Deterministic latencies spread over three orders of magnitude.
fn latencies(n: usize, seed: u64) -> Vec<f64> {
    let mut x = seed;
    (0..n)
        .map(|_| {
            x = x
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            let u = (x >> 11) as f64 / (1u64 << 53) as f64;
            (1.0 + 999.0 * u * u).round()
        })
        .collect()
}

fn rollup_of(minute_s: i64, values: &[f64], status: u16) -> Rollup {
    let mut r = Rollup::new("app", "web", t(minute_s));
    for v in values {
        r.record_request(status, *v, v / 10.0);
    }
    r
}

fn batch_of(rollups: Vec<Rollup>) -> Batch {
    Batch {
        rollups,
        ..Batch::default()
    }
}

pub async fn rollups_merge_counts_and_sketches_across_batches(store: Arc<dyn Store>) {
    let all = latencies(3000, 7);
    let (a, rest) = all.split_at(1000);
    let (b, c) = rest.split_at(1200);
    let mut first = rollup_of(0, a, 200);
    first.record_error("H12");
    let mut second = rollup_of(0, b, 503);
    second.record_error("H12");
    second.record_error("H18");
    // Two rows for one minute in a single batch are merged as well as across batches.
    store
        .write_batch(&batch_of(vec![first, rollup_of(30, c, 404)]))
        .await
        .unwrap();
    store.write_batch(&batch_of(vec![second])).await.unwrap();

    let got = store
        .rollups("app", "web", TimeRange::new(t(0), t(60)), MINUTE)
        .await
        .unwrap();
    assert_eq!(got.len(), 1);
    let r = &got[0];
    assert_eq!(r.minute, t(0));
    assert_eq!(r.requests, 3000);
    assert_eq!(r.status, [0, 1000, 0, c.len() as u64, 1200]);
    assert_eq!(r.errors.get("H12"), Some(&2));
    assert_eq!(r.errors.get("H18"), Some(&1));
    assert_eq!(r.service.count(), 3000);
    assert_eq!(r.connect.count(), 3000);

    let mut sorted = all.clone();
    sorted.sort_by(f64::total_cmp);
    let mut direct = LatencySketch::new();
    all.iter().for_each(|v| direct.add(*v));
    for q in [0.0, 0.5, 0.9, 0.95, 0.99, 1.0] {
        let merged = r.service.quantile(q).unwrap();
        let exact = sorted[(q * (sorted.len() - 1) as f64).floor() as usize];
        assert!(
            (merged - exact).abs() <= exact * 0.01 + 1e-9,
            "q={q}: {merged} vs exact {exact}"
        );
        assert_eq!(
            Some(merged),
            direct.quantile(q),
            "merging loses nothing at q={q}"
        );
    }
}

pub async fn rollups_keep_queue_time_and_merge_it(store: Arc<dyn Store>) {
    // Queue time comes from app metrics, so one minute may have it in one write only.
    let mut with_queue = rollup_of(0, &[10.0], 200);
    with_queue.queue.add(4.0);
    with_queue.queue.add(250.0);
    let later = rollup_of(0, &[20.0], 200);
    let mut second_minute = rollup_of(60, &[30.0], 200);
    second_minute.queue.add_n(40.0, 3);
    let no_queue = rollup_of(120, &[5.0], 200);
    store
        .write_batch(&batch_of(vec![with_queue, second_minute, no_queue]))
        .await
        .unwrap();
    store.write_batch(&batch_of(vec![later])).await.unwrap();

    let range = TimeRange::new(t(0), t(180));
    let minutes = store.rollups("app", "web", range, MINUTE).await.unwrap();
    let queue: Vec<(u64, Option<f64>)> = minutes
        .iter()
        .map(|r| (r.queue.count(), r.queue.max()))
        .collect();
    assert_eq!(queue, vec![(2, Some(250.0)), (3, Some(40.0)), (0, None)]);
    assert_eq!(
        minutes[0].requests, 2,
        "the later write merged into minute 0"
    );

    let merged = store
        .rollups("app", "web", range, 3 * MINUTE)
        .await
        .unwrap();
    assert_eq!(merged.len(), 1);
    assert_eq!(merged[0].queue.count(), 5);
    assert_eq!(merged[0].queue.min(), Some(4.0));
}

pub async fn memory_peaks_are_per_dyno_and_bucket(store: Arc<dyn Store>) {
    let mut samples = vec![
        sample("web.1", 0, 300.0),
        sample("web.1", 20, 350.0),
        sample("web.2", 40, 100.0),
        sample("web.1", 300, 200.0),
        sample("web.1", 600, 999.0),
    ];
    samples[1].memory_quota_mb = Some(1024.0);
    let mut other = sample("web.1", 20, 5000.0);
    other.app = "other".into();
    samples.push(other);
    store
        .write_batch(&Batch {
            samples,
            ..Batch::default()
        })
        .await
        .unwrap();
    // Buckets of five minutes from t(0); t(600) is the range's end, so excluded.
    let peaks = store
        .memory_peaks("app", TimeRange::new(t(0), t(600)), 5 * MINUTE)
        .await
        .unwrap();
    let got: Vec<(&str, i64, Option<f64>, Option<f64>)> = peaks
        .iter()
        .map(|p| {
            (
                p.dyno.as_str(),
                (p.at.as_millis() - t(0).as_millis()) / 1000,
                p.memory_total_mb,
                p.memory_quota_mb,
            )
        })
        .collect();
    assert_eq!(
        got,
        vec![
            ("web.1", 0, Some(350.0), Some(1024.0)),
            ("web.2", 0, Some(100.0), Some(512.0)),
            ("web.1", 300, Some(200.0), Some(512.0)),
        ]
    );
}

pub async fn rollup_steps_merge_minutes_within_the_range(store: Arc<dyn Store>) {
    // Minutes 0..10 of the hour starting at t(0), which is aligned to five minutes.
    let rows: Vec<Rollup> = (0..10)
        .map(|m| rollup_of(m * 60, &[10.0 * (m + 1) as f64], 200))
        .collect();
    let mut worker = rollup_of(0, &[1.0], 200);
    worker.process_type = "worker".into();
    store.write_batch(&batch_of(rows)).await.unwrap();
    store.write_batch(&batch_of(vec![worker])).await.unwrap();

    // [minute 1, minute 9): minutes 1..=4 in the first bucket, 5..=8 in the second.
    let range = TimeRange::new(t(60), t(9 * 60));
    let got = store
        .rollups("app", "web", range, 5 * MINUTE)
        .await
        .unwrap();
    let summary: Vec<(i64, u64, Option<f64>)> = got
        .iter()
        .map(|r| {
            (
                (r.minute.as_millis() - t(0).as_millis()) / MINUTE_MS,
                r.requests,
                r.service.max(),
            )
        })
        .collect();
    assert_eq!(summary, vec![(0, 4, Some(50.0)), (5, 4, Some(90.0))]);

    let minutes = store.rollups("app", "web", range, MINUTE).await.unwrap();
    assert_eq!(
        minutes.first().map(|r| r.minute),
        Some(t(60)),
        "start is inclusive"
    );
    assert_eq!(
        minutes.last().map(|r| r.minute),
        Some(t(8 * 60)),
        "end is exclusive"
    );
    assert!(
        store
            .rollups("app", "web", range, Duration::from_secs(90))
            .await
            .is_err()
    );
}

fn sample(dyno: &str, at_s: i64, total: f64) -> Sample {
    Sample {
        instance_id: Some(format!("heroku.{dyno}")),
        memory_total_mb: Some(total),
        memory_rss_mb: Some(total * 0.9),
        memory_swap_mb: Some(0.0),
        memory_quota_mb: Some(512.0),
        load_1m: Some(0.25),
        ..Sample::new("app", dyno, t(at_s))
    }
}

pub async fn sample_queries_filter_by_dyno_and_process_type_half_open(store: Arc<dyn Store>) {
    let samples = vec![
        sample("web.1", 0, 100.0),
        sample("web.1", 20, 110.0),
        sample("web.2", 20, 200.0),
        sample("worker.1", 20, 300.0),
        sample("web.1", 40, 120.0),
        Sample {
            app: "other".into(),
            ..sample("web.1", 20, 1.0)
        },
    ];
    store
        .write_batch(&Batch {
            samples: samples.clone(),
            ..Batch::default()
        })
        .await
        .unwrap();
    let range = TimeRange::new(t(0), t(40));
    let web1 = store
        .samples("app", &SampleFilter::Dyno("web.1".into()), range)
        .await
        .unwrap();
    assert_eq!(
        web1,
        samples[..2].to_vec(),
        "every field round trips; end excluded"
    );
    let web = store
        .samples("app", &SampleFilter::ProcessType("web".into()), range)
        .await
        .unwrap();
    let names: Vec<(&str, f64)> = web
        .iter()
        .map(|s| (s.dyno.as_str(), s.memory_total_mb.unwrap()))
        .collect();
    assert_eq!(
        names,
        [("web.1", 100.0), ("web.1", 110.0), ("web.2", 200.0)]
    );
    let all = store
        .samples("app", &SampleFilter::AllDynos, TimeRange::new(t(20), t(41)))
        .await
        .unwrap();
    assert_eq!(all.len(), 4);
}

pub async fn prune_deletes_old_rows_and_downsamples(store: Arc<dyn Store>) {
    let hour = 3600;
    let now = t(100 * hour);
    let retention = Retention {
        raw: Duration::from_secs(48 * 3600),
        rollups: Duration::from_secs(30 * 24 * 3600),
        downsample_after: Some(Duration::from_secs(6 * 3600)),
    };
    let old = 100 * hour - 50 * hour; // beyond 48 h: deleted
    let mid = 100 * hour - 10 * hour; // between 6 h and 48 h: downsampled
    let recent = 100 * hour - hour; // kept raw
    let samples = vec![
        sample("web.1", old, 1.0),
        sample("web.1", mid, 100.0),
        sample("web.1", mid + 20, 300.0),
        sample("web.1", mid + 40, 200.0),
        sample("web.2", mid, 50.0),
        sample("web.1", recent, 10.0),
    ];
    let rollups = vec![
        rollup_of(100 * hour - 31 * 24 * hour, &[1.0], 200),
        rollup_of(100 * hour - 29 * 24 * hour, &[1.0], 200),
    ];
    store
        .write_batch(&Batch {
            samples,
            rollups,
            events: vec![],
        })
        .await
        .unwrap();

    let report = store.prune(now, &retention).await.unwrap();
    assert_eq!(report.samples_deleted, 1);
    assert_eq!(report.rollups_deleted, 1);
    assert_eq!(report.samples_downsampled, 4);
    assert_eq!(report.downsampled_rows, 2);

    let everything = TimeRange::new(t(-40 * 24 * hour), now);
    let web1 = store
        .samples("app", &SampleFilter::Dyno("web.1".into()), everything)
        .await
        .unwrap();
    let rows: Vec<(i64, Duration, u32, Option<f64>)> = web1
        .iter()
        .map(|s| (s.at.as_millis(), s.span, s.count, s.memory_total_mb))
        .collect();
    assert_eq!(
        rows,
        vec![
            (t(mid).as_millis(), DOWNSAMPLE_WINDOW, 3, Some(300.0)),
            (t(recent).as_millis(), Duration::ZERO, 1, Some(10.0)),
        ]
    );
    let left = store
        .rollups("app", "web", everything, MINUTE)
        .await
        .unwrap();
    assert_eq!(left.len(), 1);

    let again = store.prune(now, &retention).await.unwrap();
    assert_eq!(
        again,
        Default::default(),
        "a second prune at the same time changes nothing"
    );
}

pub async fn concurrent_batches_lose_nothing(store: Arc<dyn Store>) {
    let tasks: Vec<_> = (0..8)
        .map(|w| {
            let store = store.clone();
            tokio::spawn(async move {
                for i in 0..15 {
                    let batch = Batch {
                        samples: vec![sample(&format!("web.{w}"), i, 1.0)],
                        // Every writer hits the same two minutes, in different orders.
                        rollups: vec![
                            rollup_of(60 * ((w + i) % 2), &[5.0], 200),
                            rollup_of(60 * ((w + i + 1) % 2), &[7.0], 500),
                        ],
                        events: vec![],
                    };
                    store.write_batch(&batch).await.unwrap();
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
    let got = store
        .rollups("app", "web", TimeRange::new(t(0), t(120)), MINUTE)
        .await
        .unwrap();
    let totals: Vec<(u64, [u64; 5])> = got.iter().map(|r| (r.requests, r.status)).collect();
    assert_eq!(totals, vec![(120, [0, 60, 0, 0, 60]); 2]);
    let samples = store
        .samples("app", &SampleFilter::AllDynos, TimeRange::new(t(0), t(60)))
        .await
        .unwrap();
    assert_eq!(samples.len(), 8 * 15);
}

pub async fn hourly_rollups_answer_whole_hour_steps_like_the_minutes_do(store: Arc<dyn Store>) {
    // Three hours of minutes, written in batches that cut across hours, some minutes twice.
    let all = latencies(180 * 4, 11);
    let rows: Vec<Rollup> = (0..180)
        .map(|m| {
            let mut r = rollup_of(m * 60, &all[m as usize * 4..m as usize * 4 + 4], 200);
            if m % 50 == 0 {
                r.record_error("H12");
            }
            r
        })
        .collect();
    for chunk in rows.chunks(70) {
        store.write_batch(&batch_of(chunk.to_vec())).await.unwrap();
    }
    store
        .write_batch(&batch_of(vec![rollup_of(61 * 60, &[5000.0], 503)]))
        .await
        .unwrap();

    let range = TimeRange::new(t(0), t(3 * 3600));
    let hourly = store
        .rollups("app", "web", range, Duration::from_secs(3600))
        .await
        .unwrap();
    let minutes = store.rollups("app", "web", range, MINUTE).await.unwrap();
    let expected = dynopilot_store::merge_by_step(minutes, dynopilot_store::HOUR_MS);
    // Everything but float sums, which depend on the order of addition.
    let summary = |rows: &[Rollup]| -> Vec<_> {
        rows.iter()
            .map(|r| {
                let q = |s: &LatencySketch| [0.5, 0.95, 0.99].map(|p| s.quantile(p));
                (
                    r.minute,
                    r.requests,
                    r.status,
                    r.errors.clone(),
                    q(&r.service),
                    q(&r.connect),
                )
            })
            .collect()
    };
    assert_eq!(hourly.len(), 3);
    assert_eq!(summary(&hourly), summary(&expected));
    assert_eq!(hourly[1].requests, 241);
    assert_eq!(hourly[1].status[4], 1);
    assert_eq!(hourly[1].service.max(), Some(5000.0));

    // A range that does not start on the hour is answered from the minutes, exactly.
    let offset = TimeRange::new(t(30 * 60), t(3 * 3600));
    let got = store
        .rollups("app", "web", offset, Duration::from_secs(3600))
        .await
        .unwrap();
    assert_eq!(got.iter().map(|r| r.requests).sum::<u64>(), 150 * 4 + 1);
}
