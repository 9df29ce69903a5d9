//! Thresholds → ok / degraded / down: the worst verdict of any measured value, and which
//! values decided it, in words.

use std::collections::BTreeMap;

use dynopilot_core::policy::CheckState;

use crate::config::Threshold;

/// Values where less is worse (days before a certificate expires).
const COUNTS_DOWN: &[&str] = &["tls_days_left"];

pub fn judge(
    values: &BTreeMap<String, f64>,
    thresholds: &BTreeMap<String, Threshold>,
) -> (CheckState, String) {
    let mut state = CheckState::Ok;
    let mut why = Vec::new();
    for (name, t) in thresholds {
        let Some(&value) = values.get(name) else {
            continue;
        };
        let down = COUNTS_DOWN.contains(&name.as_str());
        let past =
            |limit: Option<f64>| limit.filter(|&l| if down { value <= l } else { value >= l });
        let (verdict, limit) = match (past(t.down), past(t.degraded)) {
            (Some(l), _) => (CheckState::Down, l),
            (None, Some(l)) => (CheckState::Degraded, l),
            (None, None) => continue,
        };
        let op = if down { "≤" } else { "≥" };
        why.push(format!("{name} {} {op} {}", show(value), show(limit)));
        state = state.max(verdict);
    }
    (state, why.join(", "))
}

fn show(v: f64) -> String {
    if v.fract() == 0.0 {
        format!("{v:.0}")
    } else {
        format!("{v:.1}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_worst_value_decides_and_days_left_count_down() {
        let values = BTreeMap::from([
            ("latency_ms".to_owned(), 700.0),
            ("tls_days_left".to_owned(), 1.0),
        ]);
        let thresholds = BTreeMap::from([
            (
                "latency_ms".to_owned(),
                Threshold {
                    degraded: Some(500.0),
                    down: Some(3000.0),
                },
            ),
            (
                "tls_days_left".to_owned(),
                Threshold {
                    degraded: Some(14.0),
                    down: Some(2.0),
                },
            ),
        ]);
        let (state, why) = judge(&values, &thresholds);
        assert_eq!(state, CheckState::Down);
        assert_eq!(why, "latency_ms 700 ≥ 500, tls_days_left 1 ≤ 2");
        let calm = BTreeMap::from([("latency_ms".to_owned(), 20.0)]);
        assert_eq!(judge(&calm, &thresholds).0, CheckState::Ok);
    }
}
