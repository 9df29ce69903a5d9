//! Transcripts of decisions through topic derivation, routing and cooling: what a person would
//! receive, message by message.

use std::time::Duration;

use dynopilot_core::Timestamp;
use dynopilot_core::policy::{Action, Blocked, Decision, Guardrail, Reason, Severity};

use crate::cooling::{Cooling, Verdict};
use crate::event::{AlertEvent, EventKind};
use crate::route::{DEFAULT_COOLING, DefaultRoute, Glob, Route, Routes};
use crate::topic::{self, EventSettings, event_for};

fn at(h: i64, m: i64) -> Timestamp {
    // 2026-12-05 00:00 UTC
    Timestamp::from_secs(1_796_428_800 + h * 3600 + m * 60)
}

fn decision(id: &str, app: &str, when: Timestamp, action: Action) -> Decision {
    Decision {
        id: id.to_owned(),
        app: app.to_owned(),
        at: when,
        action,
        reason: Reason::Notify {
            event: "memory 1,130 MB ≥ 1,024 MB".to_owned(),
        },
        executed: true,
        dry_run: false,
        blocked: Vec::new(),
        limited_by: Vec::new(),
    }
}

fn restart(id: &str, dyno: &str, when: Timestamp) -> Decision {
    decision(
        id,
        "shop",
        when,
        Action::RestartDyno {
            dyno: dyno.to_owned(),
            instance_id: None,
        },
    )
}

fn alert(id: &str, topic: &str, severity: Severity, when: Timestamp) -> Decision {
    decision(
        id,
        "shop",
        when,
        Action::Alert {
            topic: topic.to_owned(),
            severity,
            message: format!("{topic} happened"),
        },
    )
}

fn settings() -> EventSettings {
    EventSettings {
        big_swing: 5,
        public_url: Some("https://pilot.example.com/".to_owned()),
    }
}

fn route(topics: &[&str], min: Severity, apps: &[&str], channels: &[&str]) -> Route {
    Route {
        topics: topics.iter().map(|t| Glob::parse(t).unwrap()).collect(),
        min_severity: min,
        apps: apps.iter().map(|a| (*a).to_owned()).collect(),
        channels: channels.iter().map(|c| (*c).to_owned()).collect(),
        cooling: None,
    }
}

fn routes() -> Routes {
    Routes {
        routes: vec![
            route(&["restart", "escalation"], Severity::Info, &[], &["email"]),
            route(&["rule:*"], Severity::Warning, &[], &["slack", "pager"]),
            route(&["*"], Severity::Critical, &[], &["pager"]),
            route(&["restart"], Severity::Info, &["billing"], &["sms"]),
        ],
        default: DefaultRoute {
            min_severity: Severity::Warning,
            channels: vec!["slack".to_owned()],
        },
        cooling: DEFAULT_COOLING,
    }
}

/// Routes and cools each decision; one line per (channel, message) or a "dropped" line.
fn transcript(decisions: &[Decision], routes: &Routes) -> Vec<String> {
    let mut cooling = Cooling::new();
    let mut lines = Vec::new();
    for d in decisions {
        let Some(mut event) = event_for(d, &settings()) else {
            lines.push(format!("{}: no alert", d.id));
            continue;
        };
        let routed = routes.route(&event.topic, event.severity, &event.app);
        match cooling.offer(&event, routed.cooling) {
            Verdict::Dropped => lines.push(format!("{}: dropped by cooling", d.id)),
            Verdict::Send(digest) => {
                event.digest = digest;
                for channel in &routed.channels {
                    lines.push(line(channel, &event));
                }
                if routed.channels.is_empty() {
                    lines.push(format!("{}: no route", d.id));
                }
            }
        }
    }
    lines
}

fn line(channel: &str, e: &AlertEvent) -> String {
    let kind = match e.kind {
        EventKind::Trigger => "trigger",
        EventKind::Resolve => "resolve",
    };
    let digest = e
        .digest
        .as_ref()
        .map(|d| format!(" + {}", d.text))
        .unwrap_or_default();
    format!(
        "{channel}: {kind} {} {} [{}]{digest}",
        e.severity, e.topic, e.dedup_key
    )
}

#[test]
fn restarts_within_cooling_are_held_back_and_summarised_in_the_next_message() {
    let decisions = [
        restart("d1", "worker.1", at(10, 0)),
        restart("d2", "worker.2", at(10, 2)),
        restart("d3", "worker.1", at(10, 5)),
        restart("d4", "web.2", at(10, 6)),
        restart("d5", "worker.1", at(10, 11)),
        restart("d6", "worker.1", at(10, 12)),
    ];
    assert_eq!(
        transcript(&decisions, &routes()),
        [
            "email: trigger warning restart [shop/restart/worker]",
            "d2: dropped by cooling",
            "d3: dropped by cooling",
            "email: trigger warning restart [shop/restart/web]",
            "email: trigger warning restart [shop/restart/worker] + and 2 more restarts of worker since 10:02",
            "d6: dropped by cooling",
        ]
    );
}

/// Topic, severity, target, kind.
type Expected = (&'static str, Severity, &'static str, EventKind);

#[test]
fn topics_from_each_kind_of_decision() {
    let mut capped = alert("c", "capped_at_max:web", Severity::Warning, at(9, 0));
    capped.id = "c".into();
    let mut blocked = restart("b", "web.1", at(9, 0));
    blocked.blocked.push(Blocked {
        guardrail: Guardrail::Bounds,
        detail: "x".into(),
    });
    let cases: Vec<(Decision, Option<Expected>)> = vec![
        (
            restart("r", "web.1", at(9, 0)),
            Some(("restart", Severity::Warning, "web", EventKind::Trigger)),
        ),
        (blocked, None),
        (
            decision(
                "s",
                "shop",
                at(9, 0),
                Action::ScaleFormation {
                    process_type: "web".into(),
                    from: 2,
                    to: 3,
                },
            ),
            Some(("scale-up", Severity::Info, "web", EventKind::Trigger)),
        ),
        (
            decision(
                "s2",
                "shop",
                at(9, 0),
                Action::ScaleFormation {
                    process_type: "web".into(),
                    from: 9,
                    to: 2,
                },
            ),
            Some(("big-swing", Severity::Warning, "web", EventKind::Trigger)),
        ),
        (
            decision(
                "s3",
                "shop",
                at(9, 0),
                Action::ScaleFormation {
                    process_type: "web".into(),
                    from: 3,
                    to: 2,
                },
            ),
            Some(("scale-down", Severity::Info, "web", EventKind::Trigger)),
        ),
        (
            decision(
                "z",
                "shop",
                at(9, 0),
                Action::Resize {
                    process_type: "web".into(),
                    from: "standard-1x".into(),
                    to: "standard-2x".into(),
                },
            ),
            Some(("resize", Severity::Warning, "web", EventKind::Trigger)),
        ),
        (
            capped,
            Some((
                "capped-at-max",
                Severity::Warning,
                "web",
                EventKind::Trigger,
            )),
        ),
        (
            alert("m", "below_min:worker", Severity::Warning, at(9, 0)),
            Some((
                "held-at-min",
                Severity::Warning,
                "worker",
                EventKind::Trigger,
            )),
        ),
        (
            alert("e", "escalation:web", Severity::Critical, at(9, 0)),
            Some(("escalation", Severity::Critical, "web", EventKind::Trigger)),
        ),
        (
            alert("h", "rule:H12-storm:web.2", Severity::Warning, at(9, 0)),
            Some((
                "rule:H12-storm",
                Severity::Warning,
                "web.2",
                EventKind::Trigger,
            )),
        ),
        (
            alert("p", "probe-failing:health", Severity::Critical, at(9, 0)),
            Some((
                "probe-failing",
                Severity::Critical,
                "health",
                EventKind::Trigger,
            )),
        ),
        (
            alert("p2", "probe-recovered:health", Severity::Info, at(9, 0)),
            Some((
                "probe-recovered",
                Severity::Info,
                "health",
                EventKind::Resolve,
            )),
        ),
        (
            alert(
                "a",
                "api_failure:restart web.1",
                Severity::Critical,
                at(9, 0),
            ),
            Some((
                "api-failing",
                Severity::Critical,
                "restart web.1",
                EventKind::Trigger,
            )),
        ),
        (
            alert("ae", "app-error", Severity::Critical, at(9, 0)),
            Some(("app-error", Severity::Critical, "app", EventKind::Trigger)),
        ),
        (
            alert("ar", "app-reachable", Severity::Info, at(9, 0)),
            Some(("app-reachable", Severity::Info, "app", EventKind::Resolve)),
        ),
        (
            alert("pf", "api_failure:poll", Severity::Critical, at(9, 0)),
            Some((
                "api-failing",
                Severity::Critical,
                "poll",
                EventKind::Trigger,
            )),
        ),
        (
            alert("pr", "api-recovered:poll", Severity::Info, at(9, 0)),
            Some(("api-recovered", Severity::Info, "poll", EventKind::Resolve)),
        ),
        (
            alert("ad", "app-discovered", Severity::Info, at(9, 0)),
            Some(("app-discovered", Severity::Info, "app", EventKind::Trigger)),
        ),
        (
            alert("rt", "app-retired", Severity::Warning, at(9, 0)),
            Some(("app-retired", Severity::Warning, "app", EventKind::Trigger)),
        ),
        (
            alert("mo", "manual-override", Severity::Warning, at(9, 0)),
            Some((
                "manual-override",
                Severity::Warning,
                "app",
                EventKind::Trigger,
            )),
        ),
        (
            alert("bl", "blind:memory-guard", Severity::Warning, at(9, 0)),
            Some((
                "blind",
                Severity::Warning,
                "memory-guard",
                EventKind::Trigger,
            )),
        ),
        (alert("sc", "scaled:web", Severity::Info, at(9, 0)), None),
        (
            decision("k", "shop", at(9, 0), Action::RunHook { name: "x".into() }),
            None,
        ),
    ];
    for (d, want) in cases {
        let got = event_for(&d, &settings());
        let got = got.map(|e| {
            assert_eq!(e.decision_id.as_deref(), Some(d.id.as_str()));
            (
                e.topic.clone(),
                e.severity,
                topic::target_of(&e).to_owned(),
                e.kind,
            )
        });
        let want = want.map(|(t, s, target, k)| (t.to_owned(), s, target.to_owned(), k));
        assert_eq!(got, want, "decision {}", d.id);
    }
}

#[test]
fn trigger_and_resolve_share_a_dedup_key_and_resolves_are_never_cooled() {
    let decisions = [
        alert("f1", "probe-failing:health", Severity::Critical, at(12, 0)),
        alert("r1", "probe-recovered:health", Severity::Info, at(12, 1)),
        alert("f2", "probe-failing:health", Severity::Critical, at(12, 2)),
        alert("r2", "probe-recovered:health", Severity::Info, at(12, 3)),
    ];
    let mut routes = routes();
    routes
        .routes
        .push(route(&["probe-*"], Severity::Info, &[], &["pager"]));
    assert_eq!(
        transcript(&decisions, &routes),
        [
            "pager: trigger critical probe-failing [shop/probe-failing/health]",
            "pager: resolve info probe-recovered [shop/probe-failing/health]",
            "f2: dropped by cooling",
            "pager: resolve info probe-recovered [shop/probe-failing/health]",
        ]
    );
}

#[test]
fn routes_by_severity_app_override_and_default() {
    let r = routes();
    let names = |t: &str, s: Severity, app: &str| -> Vec<String> {
        r.route(t, s, app).channels.into_iter().collect()
    };
    // A matching general route, and a critical catch-all adding the pager.
    assert_eq!(names("restart", Severity::Warning, "shop"), ["email"]);
    assert_eq!(
        names("escalation", Severity::Critical, "shop"),
        ["email", "pager"]
    );
    // `rule:*` needs warning; an info rule alert falls through to the default, which needs
    // warning too: nowhere.
    assert_eq!(
        names("rule:H12", Severity::Warning, "shop"),
        ["pager", "slack"]
    );
    assert!(names("rule:H12", Severity::Info, "shop").is_empty());
    // No route takes `manual-override`: the default route.
    assert_eq!(
        names("manual-override", Severity::Warning, "shop"),
        ["slack"]
    );
    // billing overrides the restart route for itself only.
    assert_eq!(names("restart", Severity::Warning, "billing"), ["sms"]);
    assert_eq!(
        names("escalation", Severity::Critical, "billing"),
        ["email", "pager"]
    );
}

#[test]
fn per_route_cooling_applies_and_the_shortest_wins() {
    let mut r = routes();
    r.routes[0].cooling = Some(Duration::from_secs(60));
    assert_eq!(
        r.route("restart", Severity::Warning, "shop").cooling,
        Duration::from_secs(60)
    );
    assert_eq!(
        r.route("manual-override", Severity::Warning, "shop")
            .cooling,
        DEFAULT_COOLING
    );
    let decisions = [
        restart("d1", "web.1", at(10, 0)),
        restart("d2", "web.1", at(10, 0).plus(Duration::from_secs(30))),
        restart("d3", "web.1", at(10, 2)),
    ];
    assert_eq!(
        transcript(&decisions, &r),
        [
            "email: trigger warning restart [shop/restart/web]",
            "d2: dropped by cooling",
            "email: trigger warning restart [shop/restart/web] + and 1 more restart of web since 10:00",
        ]
    );
}

#[test]
fn events_are_stable_linked_and_in_words() {
    let d = restart("abc123", "web.3", at(10, 0));
    let a = event_for(&d, &settings()).unwrap();
    let b = event_for(&d, &settings()).unwrap();
    assert_eq!(a.id, b.id, "same decision, same event id");
    assert_ne!(
        a.id,
        event_for(&restart("abc124", "web.3", at(10, 0)), &settings())
            .unwrap()
            .id
    );
    assert_eq!(
        a.link.as_deref(),
        Some("https://pilot.example.com/apps/shop#decision-abc123")
    );
    assert_eq!(a.title, "shop: restart web.3");
    assert_eq!(a.message, "restart web.3 (memory 1,130 MB ≥ 1,024 MB)");
    assert_eq!(a.dyno.as_deref(), Some("web.3"));
    assert_eq!(a.process_type.as_deref(), Some("web"));
    let mut dry = d.clone();
    dry.dry_run = true;
    assert_eq!(
        event_for(&dry, &settings()).unwrap().title,
        "shop: restart web.3 (dry run)"
    );
    let started = topic::lifecycle_event(true, at(8, 0), "version 1.2");
    assert_eq!(started.topic, "dynopilot-started");
    assert_eq!(started.app, "dynopilot");
    assert_eq!(started.message, "dynopilot started: version 1.2");
}

#[test]
fn the_app_reachable_resolve_ends_the_app_error_condition() {
    let error = event_for(
        &alert("ae", "app-error", Severity::Critical, at(9, 0)),
        &settings(),
    )
    .unwrap();
    let back = topic::app_reachable("shop", at(9, 30), "forbidden");
    assert_eq!(back.kind, EventKind::Resolve);
    assert_eq!(back.topic, "app-reachable");
    assert_eq!(back.dedup_key, error.dedup_key);
    assert_eq!(
        back.message,
        "shop is reachable again (was in error: forbidden); watching it"
    );
    let mut cooling = Cooling::new();
    assert_eq!(cooling.offer(&error, DEFAULT_COOLING), Verdict::Send(None));
    assert_eq!(cooling.offer(&back, DEFAULT_COOLING), Verdict::Send(None));
}

#[test]
fn a_rule_webhook_action_goes_to_the_named_channel_as_the_rule_alert() {
    let mut d = decision(
        "w1",
        "shop",
        at(9, 0),
        Action::RunHook {
            name: "pager".into(),
        },
    );
    d.reason = Reason::RuleCodes {
        rule: "router-timeouts".into(),
        target: "web".into(),
        codes: vec!["H12".into()],
        count: 12,
        at_least: 10,
        window: dynopilot_core::policy::ConfigDuration::from_mins(5),
    };
    let (event, channel) = topic::hook_event(&d, &settings()).unwrap();
    assert_eq!(channel, "pager");
    assert_eq!(event.topic, "rule:router-timeouts");
    assert_eq!(event.dedup_key, "shop/rule:router-timeouts/web");
    assert_eq!(
        event.message,
        "rule router-timeouts: 12 × H12 on web within 5m, at least 10"
    );
    assert!(topic::hook_event(&restart("r", "web.1", at(9, 0)), &settings()).is_none());
}

#[test]
fn blind_and_seeing_again_are_one_condition() {
    let blind = topic::blind_event(
        "shop",
        "memory guard of web",
        "log-runtime-metrics off",
        true,
        at(9, 0),
    );
    let again = topic::blind_event("shop", "memory guard of web", "", false, at(9, 5));
    assert_eq!(blind.kind, EventKind::Trigger);
    assert_eq!(again.kind, EventKind::Resolve);
    assert_eq!(blind.dedup_key, again.dedup_key);
    assert_ne!(blind.id, again.id);
    assert_eq!(
        blind.message,
        "memory guard of web is blind: log-runtime-metrics off; no action taken"
    );
    assert_eq!(blind.severity, Severity::Info);
    assert!(
        routes()
            .route("blind", blind.severity, "shop")
            .channels
            .is_empty()
    );
}
