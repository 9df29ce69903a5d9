//! Runs every requested policy, the peers and the oracle over one trace and reports cost and
//! lateness side by side: a table for people, JSON for machines.

use serde::Serialize;

use crate::dynopilot::{self, Dynopilot};
use crate::engine::{Controller, Fidelity, RunResult, run};
use crate::error::BacktestError;
use crate::oracle::{self, Oracle};
use crate::peers;
use crate::scenario::Scenario;
use crate::trace::Trace;

/// One policy's line of the table.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PolicyRow {
    pub policy: String,
    pub cost_dollars: f64,
    /// Billed dyno-hours, booting included.
    pub dyno_hours: f64,
    /// Requests whose queue wait exceeded `late_ms` (H12 included), in percent.
    pub late_pct: f64,
    pub p50_ms: f64,
    pub p95_ms: f64,
    pub p99_ms: f64,
    pub h12: u64,
    pub formation_changes: u32,
    /// Cost divided by the oracle's cost.
    pub cost_vs_oracle: f64,
    /// The worst step's share of late requests, in percent.
    pub worst_step_late_pct: f64,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Report {
    pub trace: String,
    pub fidelity: Fidelity,
    pub duration_s: f64,
    pub requests: u64,
    pub peak_rps: f64,
    pub scenario: Scenario,
    /// Seconds between the oracle's possible changes (the change limit decides it).
    pub oracle_change_every_s: f64,
    pub rows: Vec<PolicyRow>,
}

/// Every policy name `--all` runs, oracle last.
pub fn all_policies() -> Vec<String> {
    dynopilot::NAMES
        .iter()
        .chain(peers::NAMES.iter())
        .map(|s| (*s).to_owned())
        .collect()
}

fn known() -> String {
    let mut names = all_policies();
    names.push("oracle".into());
    names.join(", ")
}

/// Runs `policies` (and the oracle, always) over `trace`; `progress` hears each finished name.
pub fn compare(
    name: &str,
    trace: &Trace,
    s: &Scenario,
    fidelity: Fidelity,
    policies: &[String],
    progress: &mut dyn FnMut(&str),
) -> Result<(Report, Vec<RunResult>), BacktestError> {
    s.validate()?;
    let plan = oracle::plan(trace, s);
    let initial = s
        .initial
        .unwrap_or_else(|| plan.at(0.0))
        .clamp(s.min, s.max);
    let mut controllers: Vec<Box<dyn Controller>> = Vec::new();
    for p in policies.iter().filter(|p| p.as_str() != "oracle") {
        controllers.push(controller(p, s, plan.peak())?);
    }
    controllers.push(Box::new(Oracle::new(plan.clone())));
    let mut results = Vec::with_capacity(controllers.len());
    for c in &mut controllers {
        let r = run(trace, s, fidelity, initial, c.as_mut())?;
        progress(&r.policy);
        results.push(r);
    }
    let oracle_cost = results.last().map_or(0.0, |r| r.cost_dollars);
    let rows = results.iter().map(|r| row(r, oracle_cost)).collect();
    let report = Report {
        trace: name.to_owned(),
        fidelity,
        duration_s: trace.duration_s(),
        requests: results.last().map_or(0, |r| r.requests.round() as u64),
        peak_rps: trace.peak(),
        scenario: s.clone(),
        oracle_change_every_s: plan.change_every_s,
        rows,
    };
    Ok((report, results))
}

pub fn controller(
    name: &str,
    s: &Scenario,
    peak: u32,
) -> Result<Box<dyn Controller>, BacktestError> {
    if let Some(autoscale) = dynopilot::configured(name, s) {
        return Ok(Box::new(Dynopilot::new(
            name,
            autoscale,
            s.min,
            s.max,
            s.formation_changes_per_hour,
        )));
    }
    peers::by_name(name, s.seed, peak)
        .ok_or_else(|| BacktestError::UnknownPolicy(name.into(), known()))
}

fn row(r: &RunResult, oracle_cost: f64) -> PolicyRow {
    let [p50, p95, p99] = r.percentiles().map(round2);
    PolicyRow {
        policy: r.policy.clone(),
        cost_dollars: round4(r.cost_dollars),
        dyno_hours: round2(r.dyno_seconds / 3_600.0),
        late_pct: round4(if r.requests > 0.0 {
            100.0 * r.late / r.requests
        } else {
            0.0
        }),
        p50_ms: p50,
        p95_ms: p95,
        p99_ms: p99,
        h12: r.h12.round() as u64,
        formation_changes: r.formation_changes,
        cost_vs_oracle: round4(if oracle_cost > 0.0 {
            r.cost_dollars / oracle_cost
        } else {
            0.0
        }),
        worst_step_late_pct: round2(100.0 * r.worst_step_late),
    }
}

// Rounded so the JSON is stable and readable; the table shows fewer digits anyway.
fn round2(v: f64) -> f64 {
    (v * 100.0).round() / 100.0
}

fn round4(v: f64) -> f64 {
    (v * 10_000.0).round() / 10_000.0
}

impl Report {
    /// The table, one line per policy.
    pub fn table(&self) -> String {
        let mut out = format!(
            "trace {} ({:.1} h, {} requests, peak {:.0} rps, {:?}); late = queue wait > {} ms\n",
            self.trace,
            self.duration_s / 3_600.0,
            self.requests,
            self.peak_rps,
            self.fidelity,
            self.scenario.late_ms
        );
        out.push_str(&format!(
            "{:<18} {:>10} {:>9} {:>8} {:>7} {:>7} {:>8} {:>7} {:>7} {:>8}\n",
            "policy",
            "cost $",
            "dyno-h",
            "late %",
            "p50 ms",
            "p95 ms",
            "p99 ms",
            "H12",
            "changes",
            "×oracle"
        ));
        for r in &self.rows {
            out.push_str(&format!(
                "{:<18} {:>10.2} {:>9.1} {:>8.3} {:>7.0} {:>7.0} {:>8.0} {:>7} {:>7} {:>8.2}\n",
                r.policy,
                r.cost_dollars,
                r.dyno_hours,
                r.late_pct,
                r.p50_ms,
                r.p95_ms,
                r.p99_ms,
                r.h12,
                r.formation_changes,
                r.cost_vs_oracle
            ));
        }
        out
    }

    /// Pretty JSON; same inputs, same bytes.
    pub fn json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"))
    }
}
