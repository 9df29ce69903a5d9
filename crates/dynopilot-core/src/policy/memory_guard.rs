//! Memory guard: restart a dyno whose memory stays above its threshold for N consecutive
//! samples of its current run, or that reported R14/R15; escalate (upsize one step, then
//! alert) when a process type keeps needing memory restarts.

use crate::size::DynoSize;
use crate::time::Timestamp;

use super::config::{MemoryGuardConfig, MemoryMeasure, ProcessTypeConfig, Severity};
use super::decision::{Action, Reason};
use super::engine::Proposal;
use super::state::{DynoLifecycle, DynoState, MemorySample, PolicyState, ProcessTypeState};

pub const POLICY: &str = "memory guard";

pub fn propose(
    process_type: &str,
    pt: &ProcessTypeConfig,
    obs: &ProcessTypeState,
    state: &PolicyState,
    size: Option<&'static DynoSize>,
    now: Timestamp,
) -> Vec<Proposal> {
    let Some(cfg) = &pt.memory_guard else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for (name, dyno) in &obs.dynos {
        let key = format!("memory:{name}");
        if dyno.lifecycle != DynoLifecycle::Up || state.in_cooldown(&key, now) {
            continue;
        }
        let after = state
            .last_restart
            .get(name)
            .copied()
            .unwrap_or(Timestamp::from_millis(i64::MIN));
        let Some(reason) = memory_error(cfg, name, dyno, after, now)
            .or_else(|| over_threshold(cfg, name, dyno, after, size))
        else {
            continue;
        };
        let restart = Proposal::new(
            Action::RestartDyno {
                dyno: name.clone(),
                instance_id: dyno.instance_id.clone(),
            },
            reason,
        )
        .with_cooldown(key, cfg.cooldown.get());
        out.extend(escalate(process_type, pt, state, size, restart, now));
    }
    out
}

/// The most recent R15 (preferred) or R14 of the current run, if recent enough and enabled.
fn memory_error(
    cfg: &MemoryGuardConfig,
    name: &str,
    dyno: &DynoState,
    after: Timestamp,
    now: Timestamp,
) -> Option<Reason> {
    let since = now.minus(cfg.error_window.get());
    let enabled = |code: &str| match code {
        "R15" => cfg.restart_on_r15,
        "R14" => cfg.restart_on_r14,
        _ => false,
    };
    let recent = |code: &str| {
        dyno.errors.iter().rev().find(|e| {
            e.code == code && e.at > after && e.at >= since && e.at >= dyno.since && e.at <= now
        })
    };
    ["R15", "R14"]
        .into_iter()
        .filter(|c| enabled(c))
        .find_map(|code| {
            recent(code).map(|e| Reason::MemoryError {
                dyno: name.to_owned(),
                code: code.to_owned(),
                at: e.at,
            })
        })
}

fn measured(cfg: &MemoryGuardConfig, s: &MemorySample) -> f64 {
    match cfg.measure {
        MemoryMeasure::RssSwap => s.rss_mb + s.swap_mb,
        MemoryMeasure::Total => s.total_mb,
    }
}

/// The last `samples` samples of the current run, newer than the last restart, all at or
/// above the threshold.
fn over_threshold(
    cfg: &MemoryGuardConfig,
    name: &str,
    dyno: &DynoState,
    after: Timestamp,
    size: Option<&DynoSize>,
) -> Option<Reason> {
    let n = usize::try_from(cfg.samples.max(1)).unwrap_or(usize::MAX);
    let recent: Vec<&MemorySample> = dyno
        .current_memory()
        .rev()
        .take_while(|s| s.at > after)
        .take(n)
        .collect();
    if recent.len() < n {
        return None;
    }
    let newest = recent[0];
    let quota_mb = newest
        .quota_mb
        .or_else(|| size.map(|s| f64::from(s.memory_mb)))?;
    let threshold_mb = cfg.threshold.as_mb(quota_mb);
    let all_over = recent.iter().all(|s| measured(cfg, s) >= threshold_mb);
    all_over.then(|| Reason::MemoryOver {
        dyno: name.to_owned(),
        measure: match cfg.measure {
            MemoryMeasure::RssSwap => "rss+swap",
            MemoryMeasure::Total => "memory_total",
        }
        .to_owned(),
        value_mb: measured(cfg, newest),
        threshold: cfg.threshold,
        threshold_mb,
        quota_mb,
        samples: cfg.samples,
    })
}

/// Restart → upsize → alert: once a type needed `escalation.restarts` memory restarts within
/// the window, the next step is one size up (which restarts every dyno of the type anyway),
/// or, at the top of the ladder or the max size, a critical alert besides the restart.
fn escalate(
    process_type: &str,
    pt: &ProcessTypeConfig,
    state: &PolicyState,
    size: Option<&'static DynoSize>,
    restart: Proposal,
    now: Timestamp,
) -> Vec<Proposal> {
    let Some(esc) = &pt.escalation else {
        return vec![restart];
    };
    let since = now.minus(esc.window.get());
    let restarts = state
        .restarts
        .iter()
        .filter(|r| r.at > since && r.policy == POLICY && dyno_type(&r.target) == process_type)
        .count();
    let key = format!("escalation:{process_type}");
    if restarts < esc.restarts as usize || state.in_cooldown(&key, now) {
        return vec![restart];
    }
    let count = u32::try_from(restarts).unwrap_or(u32::MAX);
    let next_up = size
        .filter(|_| esc.upsize)
        .and_then(|s| s.next_up().map(|n| (s, n)));
    let below_cap = |next: &DynoSize| {
        pt.max_size
            .as_deref()
            .and_then(|m| DynoSize::lookup(m).ok())
            .is_none_or(|max| next.ladder_key() <= max.ladder_key())
    };
    let reason = |next: String| Reason::Escalation {
        process_type: process_type.to_owned(),
        restarts: count,
        window: esc.window,
        next,
    };
    match next_up.filter(|(_, n)| below_cap(n)) {
        Some((from, to)) => vec![
            Proposal::new(
                Action::Resize {
                    process_type: process_type.to_owned(),
                    from: from.name.to_owned(),
                    to: to.name.to_owned(),
                },
                reason(format!("upsize to {}", to.name)),
            )
            .with_cooldown(key, esc.window.get()),
        ],
        None => {
            let alert = Proposal::new(
                Action::Alert {
                    topic: format!("escalation:{process_type}"),
                    severity: Severity::Critical,
                    message: format!(
                        "{process_type} keeps exceeding memory and cannot be upsized further"
                    ),
                },
                reason("alert (no larger size allowed)".to_owned()),
            )
            .with_cooldown(key, esc.window.get());
            vec![restart, alert]
        }
    }
}

fn dyno_type(target: &str) -> &str {
    crate::names::split_dyno_name(target).map_or(target, |(ty, _)| ty)
}
