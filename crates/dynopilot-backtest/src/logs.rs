//! Traces from logs: router lines (a drain capture or `heroku logs` output) give the arrival
//! rate per minute and the service-time distribution, so a backtest can replay an app's own
//! traffic.

use crate::error::BacktestError;
use crate::trace::Trace;

/// What the router lines of a log said.
#[derive(Clone, Debug, PartialEq)]
pub struct FromLogs {
    pub trace: Trace,
    /// Mean `service=` of answered requests (ms).
    pub service_mean_ms: f64,
    pub router_lines: u64,
    /// Lines that were not router lines or could not be read (counted, skipped).
    pub skipped: u64,
}

/// Reads `heroku logs` lines: one per line, `TIME heroku[router]: at=info … service=NNms …`.
pub fn from_lines(text: &str, bucket_s: i64) -> Result<FromLogs, BacktestError> {
    let mut per_bucket: std::collections::BTreeMap<i64, u64> = std::collections::BTreeMap::new();
    let (mut service_sum, mut served, mut router, mut skipped) = (0.0, 0u64, 0u64, 0u64);
    for raw in text.lines() {
        let Some(line) = dynopilot_logplex::line::parse_line(raw.as_bytes()) else {
            skipped += u64::from(!raw.trim().is_empty());
            continue;
        };
        if line.source != "heroku" || line.process != "router" {
            skipped += 1;
            continue;
        }
        router += 1;
        let (Some(at), Ok(message)) = (
            dynopilot_logplex::timestamp::parse(line.timestamp),
            std::str::from_utf8(line.message),
        ) else {
            skipped += 1;
            continue;
        };
        let t = at.as_millis().div_euclid(1000);
        *per_bucket
            .entry(t.div_euclid(bucket_s) * bucket_s)
            .or_default() += 1;
        for pair in dynopilot_logplex::logfmt::pairs(message) {
            if pair.key == "service"
                && let Some((ms, _)) = pair.value.and_then(dynopilot_logplex::logfmt::split_number)
            {
                service_sum += ms;
                served += 1;
            }
        }
    }
    let (Some(first), Some(last)) = (
        per_bucket.keys().next().copied(),
        per_bucket.keys().last().copied(),
    ) else {
        return Err(BacktestError::Logs(format!(
            "no router lines in the input ({skipped} other lines): nothing to derive traffic from"
        )));
    };
    let points = (first..=last)
        .step_by(bucket_s as usize)
        .map(|b| {
            (
                (b - first) as f64,
                per_bucket.get(&b).copied().unwrap_or(0) as f64 / bucket_s as f64,
            )
        })
        .collect();
    Ok(FromLogs {
        trace: Trace::from_points(points)?,
        service_mean_ms: if served > 0 {
            service_sum / served as f64
        } else {
            0.0
        },
        router_lines: router,
        skipped,
    })
}
