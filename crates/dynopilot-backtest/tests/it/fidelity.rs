//! `fast` (Erlang C per dyno) and `exact` (every request simulated by the workload crate) agree
//! on the same trace within the stated tolerance: late share within 0.3 percentage points or
//! 25 % of each other, p95 response within 10 %, same dyno-hours.

use dynopilot_backtest::{Fidelity, Scenario, Trace, report};

fn close(a: f64, b: f64, relative: f64) -> bool {
    (a - b).abs() <= relative * a.abs().max(b.abs())
}

#[test]
fn fast_and_exact_agree_on_a_short_trace() {
    // 40 minutes on 3 dynos, from 42 % to 71 % busy and back.
    let trace = Trace::from_points(vec![
        (0.0, 100.0),
        (600.0, 150.0),
        (1200.0, 170.0),
        (1800.0, 100.0),
    ])
    .unwrap()
    .range(0.0, Some(2400.0))
    .unwrap();
    let s = Scenario {
        min: 3,
        max: 3,
        initial: Some(3),
        ..Scenario::default()
    };
    let run = |f| {
        let (rep, _) =
            report::compare("short", &trace, &s, f, &["static-peak".into()], &mut |_| {}).unwrap();
        rep.rows[0].clone()
    };
    let (fast, exact) = (run(Fidelity::Fast), run(Fidelity::Exact));
    let late_ok =
        (fast.late_pct - exact.late_pct).abs() <= 0.3 || close(fast.late_pct, exact.late_pct, 0.25);
    assert!(late_ok, "late: fast {fast:?}\nexact {exact:?}");
    assert!(
        close(fast.p95_ms, exact.p95_ms, 0.10),
        "p95: fast {fast:?}\nexact {exact:?}"
    );
    assert!(
        close(fast.p50_ms, exact.p50_ms, 0.10),
        "p50: fast {fast:?}\nexact {exact:?}"
    );
    assert_eq!(fast.dyno_hours, exact.dyno_hours);
    assert!(
        fast.late_pct > 0.5,
        "the trace must make some requests late: {fast:?}"
    );
}
