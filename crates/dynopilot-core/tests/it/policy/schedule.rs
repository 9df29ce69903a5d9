//! Schedules in a named time zone: entries follow local wall-clock time across both DST
//! transitions of America/New_York in 2026 (March 8 and November 1).

use dynopilot_core::Timestamp;
use dynopilot_core::policy::schedule::{active_bounds, time_zone};
use dynopilot_core::policy::{
    Config, PolicyState, ProcessTypeConfig, ScheduleEntry, Weekday, evaluate,
};

use super::harness::{app, render};

fn config() -> Config {
    let mut c = Config::new("shop");
    c.time_zone = "America/New_York".into();
    c.process_types.insert(
        "web".into(),
        ProcessTypeConfig {
            min: Some(1),
            max: Some(10),
            schedule: vec![
                ScheduleEntry {
                    days: Weekday::ALL.to_vec(),
                    from: "09:00".into(),
                    to: "17:00".into(),
                    min: 4,
                    max: 10,
                },
                // An entry inside the hour that DST skips (March) or repeats (November).
                ScheduleEntry {
                    days: vec![Weekday::Sun],
                    from: "01:30".into(),
                    to: "02:30".into(),
                    min: 3,
                    max: 3,
                },
            ],
            ..ProcessTypeConfig::default()
        },
    );
    c
}

fn utc(s: &str) -> Timestamp {
    Timestamp::from_jiff(s.parse().unwrap())
}

#[test]
fn schedule_entries_follow_local_time_across_dst() {
    let c = config();
    c.check().unwrap();
    let tz = time_zone(&c.time_zone);
    let pt = &c.process_types["web"];
    let instants = [
        // Saturday before spring-forward: EST, UTC-5.
        "2026-03-07T13:59:00Z",
        "2026-03-07T14:00:00Z",
        // Sunday: 01:30 EST exists, 02:00-03:00 is skipped.
        "2026-03-08T06:30:00Z",
        "2026-03-08T07:00:00Z",
        // Sunday after spring-forward: EDT, UTC-4, so 09:00 local is 13:00 UTC.
        "2026-03-08T12:59:00Z",
        "2026-03-08T13:00:00Z",
        "2026-03-08T21:00:00Z",
        // Fall back: 01:30 happens twice (EDT then EST); both are inside the entry.
        "2026-11-01T05:30:00Z",
        "2026-11-01T06:30:00Z",
        "2026-11-01T07:30:00Z",
        // Sunday after fall-back: EST again, 09:00 local is 14:00 UTC.
        "2026-11-01T13:30:00Z",
        "2026-11-01T14:00:00Z",
    ];
    let mut lines = Vec::new();
    for instant in instants {
        let now = utc(instant);
        let b = active_bounds(pt, &tz, None, now);
        let local = now.to_jiff().to_zoned(tz.clone());
        let (decisions, _) = evaluate(
            &c,
            &app(&[("web", 2, "Standard-1X")]),
            &PolicyState::default(),
            now,
        );
        let decided = decisions.first().map_or_else(|| "hold".to_owned(), render);
        lines.push(format!(
            "{instant}  {}  min={} max={} ({})  → {decided}",
            local.strftime("%a %H:%M %Z"),
            b.min,
            b.max,
            b.source
        ));
    }
    insta::assert_snapshot!(lines.join("\n"));
}
