//! Fleet state from parsed log lines: runs of a dyno, lifecycle, router windows, queues.

use dynopilot_core::Timestamp;
use dynopilot_core::policy::DynoLifecycle;
use dynopilot_logplex::parse_message;
use dynopilot_server::fleet::{Fleet, ROUTER_WINDOW_GRACE_MS, ROUTER_WINDOW_MS, Urgency};

fn at(s: i64) -> Timestamp {
    Timestamp::from_secs(1_764_064_800 + s)
}

fn observe(fleet: &mut Fleet, t: i64, source: &str, process: &str, message: &str) -> Urgency {
    fleet.observe(
        "shop",
        at(t),
        process,
        &parse_message(source, process, message),
    )
}

fn memory_line(id: &str, mb: f64) -> String {
    format!(
        "source=web.1 dyno={id} sample#memory_total={mb:.2}MB sample#memory_rss={mb:.2}MB sample#memory_cache=0.00MB sample#memory_swap=0.00MB sample#memory_pgpgin=1pages sample#memory_pgpgout=1pages sample#memory_quota=512.00MB"
    )
}

#[test]
fn a_new_run_replaces_the_old_and_late_samples_of_the_old_run_do_not_flip_it_back() {
    let mut fleet = Fleet::default();
    observe(
        &mut fleet,
        0,
        "heroku",
        "web.1",
        &memory_line("heroku.1.old", 300.0),
    );
    observe(
        &mut fleet,
        20,
        "heroku",
        "web.1",
        &memory_line("heroku.1.new", 100.0),
    );
    observe(
        &mut fleet,
        21,
        "heroku",
        "web.1",
        &memory_line("heroku.1.old", 310.0),
    );
    let app = fleet.app("shop").unwrap();
    let web1 = app.observed.dyno("web.1").unwrap();
    assert_eq!(web1.instance_id.as_deref(), Some("heroku.1.new"));
    let current: Vec<f64> = web1.current_memory().map(|s| s.total_mb).collect();
    assert_eq!(current, vec![100.0]);
}

#[test]
fn over_quota_crashes_and_r15_are_urgent() {
    let mut fleet = Fleet::default();
    assert_eq!(
        observe(
            &mut fleet,
            0,
            "heroku",
            "web.1",
            &memory_line("heroku.1.a", 400.0)
        ),
        Urgency::Routine
    );
    assert_eq!(
        observe(
            &mut fleet,
            20,
            "heroku",
            "web.1",
            &memory_line("heroku.1.a", 600.0)
        ),
        Urgency::Urgent
    );
    assert_eq!(
        observe(
            &mut fleet,
            21,
            "heroku",
            "web.1",
            "Error R15 (Memory quota vastly exceeded)"
        ),
        Urgency::Urgent
    );
    assert_eq!(
        observe(
            &mut fleet,
            22,
            "heroku",
            "web.1",
            "State changed from up to crashed"
        ),
        Urgency::Urgent
    );
    let web1 = fleet.app("shop").unwrap().observed.dyno("web.1").unwrap();
    assert_eq!(web1.lifecycle, DynoLifecycle::Crashed);
    assert_eq!(web1.since, at(22));
    observe(
        &mut fleet,
        30,
        "heroku",
        "web.1",
        "State changed from crashed to starting",
    );
    observe(
        &mut fleet,
        38,
        "heroku",
        "web.1",
        "State changed from starting to up",
    );
    let web1 = fleet.app("shop").unwrap().observed.dyno("web.1").unwrap();
    assert_eq!((web1.lifecycle, web1.since), (DynoLifecycle::Up, at(38)));
}

#[test]
fn router_lines_fill_windows_that_close_with_time() {
    let mut fleet = Fleet::default();
    for (t, status, ms) in [(0, 200, 30), (1, 200, 50), (2, 503, 30000), (3, 404, 5)] {
        let line = format!(
            "at=info method=GET path=\"/\" host=h request_id=r fwd=\"1.1.1.1\" dyno=web.1 connect=1ms service={ms}ms status={status} bytes=1 protocol=https"
        );
        observe(&mut fleet, t, "heroku", "router", &line);
    }
    observe(&mut fleet, 4, "app", "web.1", "measure#queue_time=120ms");
    assert!(
        fleet
            .app("shop")
            .unwrap()
            .observed
            .process_types
            .get("web")
            .is_none_or(|w| w.router.is_empty())
    );
    fleet.close_windows(ms_after(0, ROUTER_WINDOW_MS + ROUTER_WINDOW_GRACE_MS));
    let web = &fleet.app("shop").unwrap().observed.process_types["web"];
    let window = &web.router[0];
    assert_eq!(
        (
            window.count,
            window.status_2xx,
            window.status_4xx,
            window.status_5xx
        ),
        (4, 2, 1, 1)
    );
    assert_eq!(window.service_ms.count(), 4);
    assert_eq!(window.queue_ms.count(), 1);
}

fn ms_after(t: i64, ms: i64) -> Timestamp {
    Timestamp::from_millis(at(t).as_millis() + ms)
}

fn router_line(ms: u32) -> String {
    format!(
        "at=info method=GET path=\"/\" host=h request_id=r fwd=\"1.1.1.1\" dyno=web.1 connect=1ms service={ms}ms status=200 bytes=1 protocol=https"
    )
}

/// (start offset in s, request count, p95 ms) of web's closed windows.
fn web_windows(fleet: &Fleet) -> Vec<(i64, u64, u64)> {
    fleet.app("shop").unwrap().observed.process_types["web"]
        .router
        .iter()
        .map(|w| {
            let p95 = w.service_ms.quantile(0.95).unwrap().round() as u64;
            (
                (w.start.as_millis() - at(0).as_millis()) / 1000,
                w.count,
                p95,
            )
        })
        .collect()
}

#[test]
fn a_window_stays_open_through_the_grace_period_and_late_lines_join_their_own_window() {
    let mut fleet = Fleet::default();
    // A slow first window, then the next window's lines start arriving.
    for t in 0..10 {
        observe(&mut fleet, t, "heroku", "router", &router_line(2000));
    }
    observe(&mut fleet, 10, "heroku", "router", &router_line(100));
    let window_end = ROUTER_WINDOW_MS;
    fleet.close_windows(ms_after(0, window_end + ROUTER_WINDOW_GRACE_MS - 1));
    assert!(
        fleet
            .app("shop")
            .unwrap()
            .observed
            .process_types
            .get("web")
            .is_none_or(|w| w.router.is_empty()),
        "closed before the grace period ended"
    );
    // A straggler of the first window, still within the grace period.
    observe(&mut fleet, 9, "heroku", "router", &router_line(2000));
    fleet.close_windows(ms_after(0, window_end + ROUTER_WINDOW_GRACE_MS));
    assert_eq!(web_windows(&fleet).len(), 1);
    // Fast lines that arrive after the first window closed: they must not form a second,
    // fast-looking window of the same period that would hide the slow one.
    for _ in 0..3 {
        observe(&mut fleet, 9, "heroku", "router", &router_line(100));
    }
    fleet.close_windows(ms_after(0, 2 * window_end + ROUTER_WINDOW_GRACE_MS));
    let windows = web_windows(&fleet);
    assert_eq!(windows.len(), 2, "{windows:?}");
    let (start, count, p95) = windows[0];
    assert_eq!((start, count), (0, 14));
    assert!(p95 > 1500, "{windows:?}");
    assert_eq!((windows[1].0, windows[1].1), (10, 1));
}

#[test]
fn worker_queue_metrics_releases_and_scale_lines() {
    let mut fleet = Fleet::default();
    observe(
        &mut fleet,
        0,
        "app",
        "worker.1",
        "sample#queue.depth=42 sample#queue.latency=1500ms sample#queue.busy=5",
    );
    observe(
        &mut fleet,
        1,
        "app",
        "api",
        "Release v12 created by user a@b.c",
    );
    observe(
        &mut fleet,
        2,
        "app",
        "api",
        "Scaled to web@3:Standard-2X worker@1:Standard-1X by user a@b.c",
    );
    // With the workers at zero, web reports their queue: `source=` says whose it is.
    observe(
        &mut fleet,
        3,
        "app",
        "web.1",
        "source=worker sample#queue.depth=7",
    );
    observe(
        &mut fleet,
        4,
        "app",
        "clock.1",
        "source=worker.2 sample#queue.depth=9",
    );
    let observed = &fleet.app("shop").unwrap().observed;
    let depths: Vec<u64> = observed.process_types["worker"]
        .queue
        .iter()
        .map(|q| q.depth)
        .collect();
    assert_eq!(depths, [42, 7, 9]);
    assert!(!observed.process_types.contains_key("clock"));
    assert!(
        observed
            .process_types
            .get("web")
            .is_none_or(|w| w.queue.is_empty())
    );
    let queue = &observed.process_types["worker"].queue[0];
    assert_eq!(
        (queue.depth, queue.latency_ms, queue.busy),
        (42, Some(1500.0), Some(5))
    );
    assert_eq!(observed.latest_release().unwrap().version, 12);
    let web = observed.process_types["web"].formation.as_ref().unwrap();
    assert_eq!((web.quantity, web.size.as_str()), (3, "Standard-2X"));
}
