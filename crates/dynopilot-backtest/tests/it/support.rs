//! Shared helpers: the shipped traces, cut and rescaled like the reference scenario.

use dynopilot_backtest::{Scenario, Trace};

pub const SHIPPED: [&str; 5] = [
    "diurnal-week",
    "flash-crowd",
    "slow-ramp",
    "noisy-plateau",
    "on-off-batch",
];

/// A shipped trace, `hours` long from `from_h`, rescaled so its peak needs 20 dynos at 70 %.
pub fn shipped(name: &str, from_h: f64, hours: f64) -> Trace {
    let path = format!(
        "{}/../../samples/traces/{name}.csv",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let s = Scenario::default();
    Trace::from_csv(&text)
        .unwrap()
        .range(from_h * 3_600.0, Some((from_h + hours) * 3_600.0))
        .unwrap()
        .rescaled_to_peak(s.rps_for(20, 0.7))
        .unwrap()
}
