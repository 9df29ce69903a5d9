//! The simulated app a trace is replayed against: threads per dyno, service time, boot time,
//! dyno size and price, min/max, the lateness target, and the backtest's own knobs. Read from
//! flags or a TOML scenario file; every field has the reference value as default.

use dynopilot_core::DynoSize;
use serde::{Deserialize, Serialize};

use crate::error::BacktestError;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Scenario {
    /// Concurrent requests per dyno (Puma processes × threads).
    pub threads: u32,
    /// Mean service time in ms (exponential in the fast model and the exact one).
    pub service_ms: f64,
    /// Seconds from a scale-up until the new dyno takes traffic.
    pub boot_s: f64,
    /// Heroku size name; its price comes from dynopilot's size table.
    pub size: String,
    pub min: u32,
    pub max: u32,
    /// A request is late when it waits longer than this in the queue (ms).
    pub late_ms: f64,
    /// The share of late requests the oracle allows in any second.
    pub late_goal: f64,
    /// The router's timeout: waits past it end as H12 (s).
    pub request_timeout_s: f64,
    /// Model step in seconds (1 = per second; 60 for months of traffic).
    pub resolution_s: f64,
    /// How often policies evaluate (s); dynopilot's runner ticks every 10 s.
    pub evaluate_every_s: f64,
    /// Formation changes allowed per rolling hour (dynopilot's guardrail; the oracle too).
    pub formation_changes_per_hour: u32,
    /// Dynos at the start of the trace (`None`: what the oracle needs at second 0).
    pub initial: Option<u32>,
    pub seed: u64,
}

impl Default for Scenario {
    fn default() -> Self {
        Scenario {
            threads: 8,
            service_ms: 100.0,
            boot_s: 45.0,
            size: "Standard-2X".into(),
            min: 1,
            max: 60,
            late_ms: 100.0,
            late_goal: 0.005,
            request_timeout_s: 30.0,
            resolution_s: 1.0,
            evaluate_every_s: 10.0,
            formation_changes_per_hour: 20,
            initial: None,
            seed: 1,
        }
    }
}

impl Scenario {
    pub fn from_toml(text: &str) -> Result<Self, BacktestError> {
        let s: Scenario = toml::from_str(text).map_err(|e| BacktestError::Scenario {
            key: "file".into(),
            message: e.to_string(),
        })?;
        s.validate()?;
        Ok(s)
    }

    pub fn validate(&self) -> Result<(), BacktestError> {
        let bad = |key: &str, message: String| {
            Err(BacktestError::Scenario {
                key: key.into(),
                message,
            })
        };
        let positive = [
            ("service_ms", self.service_ms),
            ("late_ms", self.late_ms),
            ("late_goal", self.late_goal),
            ("request_timeout_s", self.request_timeout_s),
            ("resolution_s", self.resolution_s),
            ("evaluate_every_s", self.evaluate_every_s),
        ];
        for (key, v) in positive {
            if !(v.is_finite() && v > 0.0) {
                return bad(key, format!("{v} must be a positive number"));
            }
        }
        if !(self.boot_s.is_finite() && self.boot_s >= 0.0) {
            return bad("boot_s", format!("{} must be ≥ 0", self.boot_s));
        }
        if self.threads == 0 {
            return bad("threads", "must be at least 1".into());
        }
        if self.max == 0 || self.min > self.max {
            return bad(
                "max",
                format!("max {} must be ≥ 1 and ≥ min {}", self.max, self.min),
            );
        }
        if self.evaluate_every_s < self.resolution_s {
            return bad("evaluate_every_s", "must be ≥ resolution_s".into());
        }
        if self.formation_changes_per_hour == 0 {
            return bad("formation_changes_per_hour", "must be at least 1".into());
        }
        self.dyno_size()?;
        Ok(())
    }

    pub fn dyno_size(&self) -> Result<&'static DynoSize, BacktestError> {
        DynoSize::lookup(&self.size).map_err(|e| BacktestError::Scenario {
            key: "size".into(),
            message: e.to_string(),
        })
    }

    /// Requests per second one dyno serves flat out.
    pub fn dyno_capacity_rps(&self) -> f64 {
        f64::from(self.threads) * 1000.0 / self.service_ms
    }

    /// The rate at which `dynos` dynos are `busy` (0..1) busy: the rescaling rule.
    pub fn rps_for(&self, dynos: u32, busy: f64) -> f64 {
        f64::from(dynos) * self.dyno_capacity_rps() * busy
    }
}
