//! Which lines may drive an action: stale, future and unknown-dyno lines change no dyno and
//! are counted; the log source's first line and gaps are tracked.

use std::time::Duration;

use dynopilot_core::Timestamp;
use dynopilot_core::policy::{Availability, DynoLifecycle};
use dynopilot_logplex::parse_message;
use dynopilot_server::fleet::{AppState, Fleet, NotActionable};

fn at(s: i64) -> Timestamp {
    Timestamp::from_secs(1_764_064_800 + s)
}

fn memory(dyno: &str, mb: f64) -> String {
    format!(
        "source={dyno} dyno=heroku.1.{dyno} sample#memory_total={mb:.2}MB sample#memory_rss={mb:.2}MB sample#memory_cache=0.00MB sample#memory_swap=0.00MB sample#memory_pgpgin=1pages sample#memory_pgpgout=1pages sample#memory_quota=512.00MB"
    )
}

/// `line` about `dyno`, written at `written` and received at `received` (seconds).
fn apply(app: &mut AppState, written: i64, received: i64, dyno: &str, line: &str) {
    let message = parse_message("heroku", dyno, line);
    app.apply_line(at(written), at(received), dyno, &message);
}

fn listening_app(fleet: &mut Fleet) -> &mut AppState {
    let app = fleet.app_mut("shop");
    app.start_listening(at(0));
    app.set_dyno_list(["web.1".to_owned(), "web.2".to_owned()]);
    app
}

fn count(app: &AppState, reason: NotActionable) -> u64 {
    app.not_actionable().get(&reason).copied().unwrap_or(0)
}

#[test]
fn old_future_and_unknown_dyno_lines_change_no_dyno_and_are_counted() {
    let mut fleet = Fleet::default();
    let app = listening_app(&mut fleet);
    let thirteen_days = 13 * 86_400;
    apply(
        app,
        100 - thirteen_days,
        100,
        "web.1",
        &memory("web.1", 500.0),
    );
    apply(app, 100 + 180, 100, "web.1", &memory("web.1", 500.0));
    apply(app, 100, 100, "web.7", &memory("web.7", 500.0));
    apply(app, 100, 100, "web.7", "State changed from up to crashed");
    assert_eq!(count(app, NotActionable::Stale), 1);
    assert_eq!(count(app, NotActionable::Future), 1);
    assert_eq!(count(app, NotActionable::UnknownDyno), 2);
    assert!(app.observed.dyno("web.7").is_none(), "no phantom dyno");
    assert!(
        app.observed.dyno("web.1").is_none(),
        "nothing from stale lines"
    );
    // A line 4 minutes late and one a minute ahead are still actionable.
    apply(app, 100 - 240, 100, "web.1", &memory("web.1", 300.0));
    apply(app, 100 + 60, 100, "web.1", &memory("web.1", 310.0));
    let web1 = app.observed.dyno("web.1").unwrap();
    assert_eq!(web1.current_memory().count(), 2);
    assert_eq!(web1.lifecycle, DynoLifecycle::Up);
    // Ahead-of-clock lines are taken as written (almost) now, never later.
    assert!(web1.last_metrics_at.unwrap() <= at(100).plus(Duration::from_secs(5)));
}

#[test]
fn the_source_is_proven_by_its_first_line_and_a_long_gap_counts_as_a_reconnect() {
    let mut fleet = Fleet::default();
    let app = listening_app(&mut fleet);
    assert!(!app.observed.log_source.delivering());
    apply(app, 5, 5, "web.1", &memory("web.1", 200.0));
    assert_eq!(app.observed.log_source.first_line_at, Some(at(5)));
    assert!(app.observed.log_source.delivering());
    assert_eq!(
        app.observed.log_source.runtime_metrics,
        Availability::Known(true),
        "a runtime-metrics sample proves the feature is on"
    );
    apply(app, 60, 60, "web.1", &memory("web.1", 200.0));
    assert_eq!(app.observed.log_source.last_reconnect, None);
    apply(app, 200, 200, "web.1", &memory("web.1", 200.0));
    assert_eq!(app.observed.log_source.last_reconnect, Some(at(200)));
    assert_eq!(app.observed.log_source.observed_since(), Some(at(200)));
}

#[test]
fn without_a_tracked_dyno_list_every_dyno_is_accepted() {
    // Offline use (tests, analysis) has no API poll: lines are taken as they come.
    let mut fleet = Fleet::default();
    let app = fleet.app_mut("shop");
    apply(app, 5, 5, "web.9", &memory("web.9", 200.0));
    assert!(app.observed.dyno("web.9").is_some());
}
