//! Backtest speed: `exact` over 24 h at 500 rps and `fast` over 90 days at 1-minute resolution,
//! one policy each (dynopilot's default), plus the oracle's plan. Prints wall seconds.

use dynopilot_backtest::dynopilot::Dynopilot;
use dynopilot_backtest::{Fidelity, Scenario, Trace, oracle, run};

fn diurnal(days: u32, peak: f64) -> Trace {
    let points = (0..days * 1_440)
        .map(|m| {
            let hour = f64::from(m % 1_440) / 60.0;
            let level =
                0.15 + 0.85 * 0.5 * (1.0 + ((hour - 15.0) / 24.0 * std::f64::consts::TAU).cos());
            (f64::from(m) * 60.0, peak * level)
        })
        .collect();
    Trace::from_points(points).unwrap_or_else(|e| panic!("{e}"))
}

/// This process's CPU seconds (user + system) from `/proc/self/stat` (Linux, 100 ticks/s):
/// on a shared machine the wall time mostly measures the other processes.
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let after_name = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    (ticks(11) + ticks(12)) / 100.0
}

#[allow(clippy::disallowed_methods)] // benches measure wall time
fn timed<T>(label: &str, f: impl FnOnce() -> T) -> T {
    let began = std::time::Instant::now();
    let cpu = cpu_seconds();
    let out = f();
    println!(
        "{label}: {:.2} s wall, {:.2} s CPU",
        began.elapsed().as_secs_f64(),
        cpu_seconds() - cpu
    );
    out
}

/// `cargo bench -p dynopilot-backtest --bench speed [-- exact|fast]`: both parts by default.
fn main() {
    let only: Option<String> = std::env::args().skip(1).find(|a| !a.starts_with('-'));
    let wants = |part: &str| only.as_deref().is_none_or(|o| o == part);
    let s = Scenario::default();
    if wants("exact") {
        exact(&s);
    }
    if wants("fast") {
        fast(&s);
    }
}

fn exact(s: &Scenario) {
    let day =
        Trace::from_points(vec![(0.0, 500.0), (43_200.0, 500.0)]).unwrap_or_else(|e| panic!("{e}"));
    let initial = 10;
    let exact = timed(
        "exact 24 h at 500 rps, dynopilot target-tracking config",
        || {
            let mut c = Dynopilot::new(
                "dynopilot",
                None,
                s.min,
                s.max,
                s.formation_changes_per_hour,
            );
            run(&day, s, Fidelity::Exact, initial, &mut c)
        },
    );
    match exact {
        Ok(r) => println!(
            "  {:.0} requests, {:.3} % late, {} changes",
            r.requests,
            100.0 * r.late / r.requests,
            r.formation_changes
        ),
        Err(e) => println!("  error: {e}"),
    }
}

fn fast(s: &Scenario) {
    let long = Scenario {
        resolution_s: 60.0,
        evaluate_every_s: 60.0,
        ..Scenario::default()
    };
    let quarter = diurnal(90, long.rps_for(20, 0.7));
    let plan = timed("oracle plan, 90 days at 1-minute resolution", || {
        oracle::plan(&quarter, &long)
    });
    let fast = timed(
        "fast 90 days at 1-minute resolution, dynopilot target-tracking config",
        || {
            let mut c = Dynopilot::new(
                "dynopilot",
                None,
                long.min,
                long.max,
                long.formation_changes_per_hour,
            );
            run(&quarter, &long, Fidelity::Fast, plan.at(0.0), &mut c)
        },
    );
    match fast {
        Ok(r) => println!(
            "  {:.0} requests, {:.3} % late, {} changes",
            r.requests,
            100.0 * r.late / r.requests,
            r.formation_changes
        ),
        Err(e) => println!("  error: {e}"),
    }
    // The default web policy (`capacity`, with its learned pattern) over the same quarter.
    let capacity = dynopilot_backtest::dynopilot::configured("dynopilot", &long).flatten();
    let fast = timed(
        "fast 90 days at 1-minute resolution, dynopilot's default (capacity)",
        || {
            let mut c = Dynopilot::new(
                "dynopilot",
                capacity,
                long.min,
                long.max,
                long.formation_changes_per_hour,
            );
            run(&quarter, &long, Fidelity::Fast, plan.at(0.0), &mut c)
        },
    );
    match fast {
        Ok(r) => println!(
            "  {:.0} requests, {:.3} % late, {} changes",
            r.requests,
            100.0 * r.late / r.requests,
            r.formation_changes
        ),
        Err(e) => println!("  error: {e}"),
    }
    let week = diurnal(7, s.rps_for(20, 0.7));
    let _ = timed(
        "fast 7 days at 1-second resolution, dynopilot target-tracking config",
        || {
            let mut c = Dynopilot::new(
                "dynopilot",
                None,
                s.min,
                s.max,
                s.formation_changes_per_hour,
            );
            run(&week, s, Fidelity::Fast, 20, &mut c).map(|r| r.requests)
        },
    );
}
