//! A backtest and the daemon's own observation path make the same decisions on the same
//! trace. Both run in the backtest's virtual time on the same simulated formation; the
//! backtest fills `ObservedState` directly from its model, the daemon side gets the lines
//! those requests would log (`heroku logs` text: one router line per request, one
//! `measure#queue_time` line from the app) through `server::ingest` (parser, actionability
//! checks, fleet windows closed by `Fleet::close_windows`) and a Platform-API-like dyno list,
//! under a `ManualClock`. Each side calls `policy::evaluate` with the same configuration.
//!
//! Tolerance: none. The backtest rounds waits and responses to whole milliseconds, as the
//! lines print them, so both sides hold the same sketches and sums, and every decision must
//! match. What this does not cover: the runner's 1 s tick (it evaluates up to a tick after a
//! window closes; both sides here evaluate at the window's end plus the 2 s grace), the
//! journal and the executor's HTTP calls (the simulated formation executes both sides).

use std::sync::Arc;

use dynopilot_backtest::dynopilot::{self as bt, APP, PROCESS_TYPE, at, step_lines};
use dynopilot_backtest::{Controller, Fidelity, Scenario, Trace, View, run};
use dynopilot_core::policy::{self, Action, Config, PolicyState};
use dynopilot_core::{ManualClock, Timestamp};
use dynopilot_logplex::encode::{Record, push_line, router};
use dynopilot_logplex::message::RouterLine;
use dynopilot_server::fleet::ROUTER_WINDOW_GRACE_MS;
use dynopilot_server::ingest::Ingest;

/// Every decision either side made: (virtual second, quantity set).
type Decisions = Vec<(u64, u32)>;

/// dynopilot as a backtest controller, recording what it set.
struct Backtest {
    inner: bt::Dynopilot,
    decisions: Decisions,
}

impl Controller for Backtest {
    fn name(&self) -> String {
        "backtest".into()
    }

    fn decide(&mut self, view: &View<'_>) -> Option<u32> {
        let to = self.inner.decide(view);
        if let Some(q) = to {
            self.decisions.push((view.now_s as u64, q));
        }
        to
    }
}

/// The daemon's path: lines → `Ingest` → fleet windows → `policy::evaluate`.
struct Daemon {
    config: Config,
    state: PolicyState,
    ingest: Ingest,
    clock: Arc<ManualClock>,
    last_eval_s: f64,
    carry: f64,
    decisions: Decisions,
    lines: u64,
}

impl Daemon {
    fn new(config: Config) -> Self {
        let clock = Arc::new(ManualClock::new(at(0.0)));
        let ingest = Ingest::new(clock.clone());
        ingest.start_listening(APP);
        Daemon {
            config,
            state: PolicyState::default(),
            ingest,
            clock,
            last_eval_s: 0.0,
            carry: 0.0,
            decisions: Vec::new(),
            lines: 0,
        }
    }

    /// What a poll of the Platform API would bring: the formation and the dyno list.
    fn poll(&self, view: &View<'_>) {
        let mut fleet = self.ingest.fleet.lock().unwrap();
        let app = fleet.app_mut(APP);
        let dynos = bt::dynos(view);
        app.set_dyno_list(dynos.iter().map(|(name, _)| name.clone()));
        let pt = app
            .observed
            .process_types
            .entry(PROCESS_TYPE.into())
            .or_default();
        pt.formation = Some(bt::formation(view));
        pt.dynos = dynos.into_iter().collect();
    }

    /// Each request of the steps since the last evaluation as its router line and its app's
    /// queue-time line, stamped within its step, on dynos of the current list.
    fn log(&mut self, view: &View<'_>) {
        let dynos = u64::from(view.quantity.max(1));
        let mut text = String::new();
        for o in view.since(self.last_eval_s) {
            let stamp = dynopilot_logplex::timestamp::format(at(o.at_s + o.dt / 2.0));
            let mut i = 0u64;
            for (n, wait, response) in step_lines(o, &mut self.carry) {
                for _ in 0..n {
                    let dyno = format!("web.{}", i % dynos + 1);
                    i += 1;
                    let line = RouterLine {
                        at: Some("info"),
                        method: Some("GET"),
                        path: Some("/"),
                        host: Some("backtest.herokuapp.com"),
                        request_id: Some("r"),
                        fwd: Some("203.0.113.9"),
                        dyno: Some(dyno.as_str()),
                        connect_ms: Some(0.0),
                        service_ms: Some(response),
                        status: Some(200),
                        bytes: Some(512),
                        protocol: Some("https"),
                        ..RouterLine::default()
                    };
                    let message = router(&line);
                    let queue = format!("measure#queue_time={wait}ms");
                    for (source, process, message) in [
                        ("heroku", "router", message.as_str()),
                        ("app", dyno.as_str(), queue.as_str()),
                    ] {
                        let record = Record {
                            priority: 158,
                            timestamp: &stamp,
                            source,
                            process,
                            message,
                        };
                        push_line(&mut text, &record);
                    }
                }
            }
        }
        for line in text.lines() {
            assert!(
                self.ingest.apply_log_line(APP, line.as_bytes()),
                "not a log line: {line}"
            );
            self.lines += 1;
        }
    }
}

impl Controller for Daemon {
    fn name(&self) -> String {
        "daemon".into()
    }

    fn decide(&mut self, view: &View<'_>) -> Option<u32> {
        let now = at(view.now_s);
        self.clock.set(now);
        self.poll(view);
        self.log(view);
        self.last_eval_s = view.now_s;
        // The runner's tick once the window's grace has passed.
        let observed = {
            let mut fleet = self.ingest.fleet.lock().unwrap();
            fleet.close_windows(Timestamp::from_millis(
                now.as_millis() + ROUTER_WINDOW_GRACE_MS,
            ));
            fleet.app(APP).unwrap().observed.clone()
        };
        let (decisions, next) = policy::evaluate(&self.config, &observed, &self.state, now);
        self.state = next;
        let to = decisions.iter().find_map(|d| match &d.action {
            Action::ScaleFormation { to, .. } if d.executed => Some(*to),
            _ => None,
        });
        if let Some(q) = to {
            self.decisions.push((view.now_s as u64, q));
        }
        to
    }
}

#[test]
fn the_daemon_path_and_the_backtest_decide_the_same_on_a_short_trace() {
    // 20 minutes: quiet, a ramp to 6×, a plateau and a fall.
    let trace = Trace::from_points(vec![
        (0.0, 50.0),
        (240.0, 120.0),
        (300.0, 200.0),
        (360.0, 300.0),
        (420.0, 300.0),
        (840.0, 100.0),
        (1200.0, 100.0),
    ])
    .unwrap();
    let s = Scenario {
        min: 1,
        max: 20,
        initial: Some(1),
        ..Scenario::default()
    };
    let autoscale = bt::configured("dynopilot", &s).unwrap();
    let config = bt::policy_config(
        autoscale.clone(),
        s.min,
        s.max,
        s.formation_changes_per_hour,
    );
    let mut backtest = Backtest {
        inner: bt::Dynopilot::new(
            "dynopilot",
            autoscale,
            s.min,
            s.max,
            s.formation_changes_per_hour,
        ),
        decisions: Vec::new(),
    };
    let mut daemon = Daemon::new(config);
    let a = run(&trace, &s, Fidelity::Fast, 1, &mut backtest).unwrap();
    let b = run(&trace, &s, Fidelity::Fast, 1, &mut daemon).unwrap();
    assert!(daemon.lines > 50_000, "{} lines", daemon.lines);
    assert!(
        backtest.decisions.len() >= 3,
        "the trace must make the policy act: {:?}",
        backtest.decisions
    );
    assert_eq!(backtest.decisions, daemon.decisions);
    assert_eq!(a.formation_changes, b.formation_changes);
    assert_eq!(a.dyno_seconds, b.dyno_seconds);
}
