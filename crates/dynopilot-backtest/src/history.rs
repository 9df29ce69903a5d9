//! Traces from dynopilot's own store: the per-minute router rollups of a process type give the
//! arrival rate and the service-time mean, so a backtest can replay what an app really had
//! ("what would this policy have done on my last week").

use dynopilot_store::Rollup;

use crate::error::BacktestError;
use crate::logs::FromLogs;
use crate::trace::Trace;

/// One row per minute from `rollups` (oldest first, as `Store::rollups` returns them);
/// minutes without a rollup had no traffic.
pub fn from_rollups(app: &str, rollups: &[Rollup]) -> Result<FromLogs, BacktestError> {
    let (Some(first), Some(last)) = (rollups.first(), rollups.last()) else {
        return Err(BacktestError::NoHistory(app.to_owned()));
    };
    let start = first.minute.as_millis();
    let minutes = usize::try_from((last.minute.as_millis() - start) / 60_000 + 1).unwrap_or(0);
    let mut rates = vec![0.0; minutes];
    let (mut service_sum, mut answered) = (0.0, 0u64);
    for r in rollups {
        let i = usize::try_from((r.minute.as_millis() - start) / 60_000).unwrap_or(0);
        if let Some(slot) = rates.get_mut(i) {
            *slot += r.requests as f64 / 60.0;
        }
        if let Some(mean) = r.service.mean() {
            service_sum += mean * r.service.count() as f64;
            answered += r.service.count();
        }
    }
    let points = rates
        .into_iter()
        .enumerate()
        .map(|(i, r)| (i as f64 * 60.0, r))
        .collect();
    Ok(FromLogs {
        trace: Trace::from_points(points)?,
        service_mean_ms: if answered > 0 {
            service_sum / answered as f64
        } else {
            0.0
        },
        router_lines: rollups.iter().map(|r| r.requests).sum(),
        skipped: 0,
    })
}
