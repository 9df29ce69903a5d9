use dynopilot_backtest::dynopilot::Dynopilot;
use dynopilot_backtest::*;
use dynopilot_core::scaling::{CapacityConfig, HorizontalConfig};

#[test]
#[ignore]
fn tune() {
    let env = |k: &str, d: f64| {
        std::env::var(k)
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(d)
    };
    let s = Scenario::default();
    for name in crate::support::SHIPPED {
        let (from, hours) = match name {
            "flash-crowd" => (1.0, 3.0),
            "diurnal-week" => (0.0, 48.0),
            _ => (0.0, 12.0),
        };
        let trace = crate::support::shipped(name, from, hours);
        let plan = oracle::plan(&trace, &s);
        let cfg = CapacityConfig {
            concurrency: 8,
            late_share: env("LS", 0.005),
            lead: jiff::SignedDuration::from_secs(env("LEAD", 60.0) as i64),
            trend_window: jiff::SignedDuration::from_secs(env("TW", 180.0) as i64),
            down_stabilization: jiff::SignedDuration::from_secs(env("DS", 180.0) as i64),
            ..CapacityConfig::default()
        };
        let mut c = Dynopilot::new("x", Some(HorizontalConfig::Capacity(cfg)), s.min, s.max, 20);
        let r = run(&trace, &s, Fidelity::Fast, plan.at(0.0), &mut c).unwrap();
        let mut o = oracle::Oracle::new(plan.clone());
        let ro = run(&trace, &s, Fidelity::Fast, plan.at(0.0), &mut o).unwrap();
        println!(
            "{name:<14} late {:.3}% cost ×{:.3} changes {} (oracle late {:.3}%)",
            100.0 * r.late / r.requests,
            r.cost_dollars / ro.cost_dollars,
            r.formation_changes,
            100.0 * ro.late / ro.requests
        );
    }
}
