//! Judoscale adapter reports (`POST <JUDOSCALE_URL>/v3/reports`): `{container | dyno, pid,
//! config, adapters?, metrics: [[unix_seconds, value, measurement, queue | null]], metadata?}`.
//! Measurements: `qt` queue time in ms (web requests when the queue is null, the oldest job of
//! a named queue otherwise), `qd` queue depth, `busy` busy jobs, `at` app time, `up`
//! utilization, `nt` network time; the old Python adapter wrote `queue_time`. Unknown
//! measurements and fields are ignored, as the adapters add new ones over time.

use dynopilot_core::Timestamp;
use serde::Deserialize;

use super::report::{JobMeasure, Report, ReportError};

#[derive(Deserialize)]
struct Wire {
    #[serde(default)]
    container: Option<String>,
    /// The pre-1.0 Python adapter's name for `container`.
    #[serde(default)]
    dyno: Option<String>,
    metrics: Vec<serde_json::Value>,
}

/// Parses one report body; a metric that is not a well-formed tuple makes the whole report
/// malformed (the adapter sends none of those: something else is posting).
pub fn parse(body: &[u8]) -> Result<Report, ReportError> {
    let wire: Wire =
        serde_json::from_slice(body).map_err(|e| ReportError::Malformed(e.to_string()))?;
    let mut report = Report {
        container: wire.container.or(wire.dyno),
        ..Report::default()
    };
    for (i, metric) in wire.metrics.iter().enumerate() {
        let (at, value, measurement, queue) = tuple(metric).ok_or_else(|| {
            ReportError::Malformed(format!(
                "metrics[{i}] is not [unix_seconds, value, measurement, queue|null]"
            ))
        })?;
        match (measurement, queue) {
            ("qt" | "queue_time", None) => report.queue_time.push((at, value)),
            ("qt" | "queue_time", Some(q)) => report.job(at, q, JobMeasure::LatencyMs, value),
            ("qd", Some(q)) => report.job(at, q, JobMeasure::Depth, value),
            ("busy", Some(q)) => report.job(at, q, JobMeasure::Busy, value),
            _ => report.ignored += 1,
        }
    }
    Ok(report)
}

fn tuple(metric: &serde_json::Value) -> Option<(Timestamp, f64, &str, Option<&str>)> {
    let items = metric.as_array()?;
    if items.len() != 4 {
        return None;
    }
    let seconds = items[0].as_f64()?;
    let value = items[1].as_f64().filter(|v| v.is_finite() && *v >= 0.0)?;
    let measurement = items[2].as_str()?;
    let queue = match &items[3] {
        serde_json::Value::Null => None,
        serde_json::Value::String(q) if !q.is_empty() => Some(q.as_str()),
        _ => return None,
    };
    if !(0.0..1e11).contains(&seconds) {
        return None;
    }
    let at = Timestamp::from_millis((seconds * 1000.0) as i64);
    Some((at, value, measurement, queue))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_web_and_job_metrics_of_a_v3_report() {
        let body = br#"{"container":"web.1","pid":4242,"config":{"log_level":"WARN","report_interval_seconds":10},
            "adapters":{"judoscale-python":{"runtime_version":"3.12.1","adapter_version":"1.14.0"}},
            "metrics":[[1767225600,37,"qt",null],[1767225600,112,"at",null],[1767225600,64,"up",null],
                       [1767225600,5200,"qt","default"],[1767225600,14,"qd","default"],[1767225600,3,"busy","default"]],
            "metadata":{}}"#;
        let r = parse(body).unwrap();
        assert_eq!(r.container.as_deref(), Some("web.1"));
        assert_eq!(
            r.queue_time,
            [(Timestamp::from_millis(1_767_225_600_000), 37.0)]
        );
        assert_eq!(r.jobs.len(), 3);
        assert_eq!(r.ignored, 2, "app time and utilization are not used");
    }

    #[test]
    fn reads_the_legacy_python_report() {
        let body = br#"{"dyno":"worker.1","pid":1,"config":{},"metrics":[[1767225600,1.25,"queue_time","default"]]}"#;
        let r = parse(body).unwrap();
        assert_eq!(r.container.as_deref(), Some("worker.1"));
        assert_eq!(r.jobs[0].queue, "default");
        assert_eq!(r.jobs[0].value, 1.25);
    }

    #[test]
    fn refuses_what_no_adapter_sends() {
        for body in [
            &b"not json"[..],
            br#"{"container":"web.1"}"#,
            br#"{"metrics":[[1767225600,"37","qt",null]]}"#,
            br#"{"metrics":[[1767225600,37,"qt"]]}"#,
            br#"{"metrics":[[1767225600,-5,"qt",null]]}"#,
            br#"{"metrics":[[1767225600,5,"qt",7]]}"#,
        ] {
            assert!(
                matches!(parse(body), Err(ReportError::Malformed(_))),
                "{}",
                String::from_utf8_lossy(body)
            );
        }
    }
}
