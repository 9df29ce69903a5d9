//! Policy evaluation: turns observed state and configuration into decisions with reasons.
//!
//! `evaluate(config, observed, policy_state, now)` is the single entry point; it is pure (no
//! I/O, no clock reads) and deterministic. Policies (memory guard, zombie, restart counter,
//! rules, schedules) propose; guardrails decide last; notifications report.

pub mod allowance;
pub mod autoscale;
pub mod blind;
mod checks;
pub mod config;
pub mod decision;
pub mod duration;
pub mod engine;
pub mod error_codes;
pub mod error_log;
pub mod guardrails;
pub mod memory_guard;
pub mod notify;
pub mod restart_counter;
pub mod rule_config;
pub mod rules;
pub mod schedule;
pub mod serde_ts;
pub mod state;
pub mod status_checks;
pub mod storm;
pub mod zombie;

pub use blind::{Blind, blind_policies};
pub use config::{
    Condition, Config, EscalationConfig, GuardrailsConfig, MemoryGuardConfig, MemoryMeasure,
    MemoryThreshold, Metric, NotifyConfig, ProcessTypeConfig, RestartCounterConfig, RuleAction,
    RuleConfig, ScheduleEntry, Selector, Severity, Weekday, ZombieConfig,
};
pub use decision::{Action, Blocked, Decision, Guardrail, Reason};
pub use duration::ConfigDuration;
pub use engine::evaluate;
pub use state::{
    ApiFailure, Availability, DynoLifecycle, DynoState, ErrorLog, ErrorOccurrence, Formation,
    LoadSample, LogSourceState, MemorySample, ObservedState, PolicyState, ProbeResult,
    ProcessTypeState, QueueSample, Release, Ring, RouterWindow,
};
pub use status_checks::{CheckKind, CheckSample, CheckState, CheckStatus, GatesConfig};
