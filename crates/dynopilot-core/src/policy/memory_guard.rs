//! Memory guard: restart a dyno whose memory stays above its threshold for N consecutive
//! samples of its current run, or that reported R14/R15; escalate (upsize one step, then
//! alert "leak not fixed by restarts") when a dyno keeps needing memory restarts.

use jiff::tz::TimeZone;

use crate::size::DynoSize;
use crate::time::Timestamp;

use super::config::{MemoryGuardConfig, MemoryMeasure, ProcessTypeConfig, Severity};
use super::decision::{Action, Reason};
use super::engine::Proposal;
use super::state::{DynoLifecycle, DynoState, MemorySample, PolicyState, ProcessTypeState};

pub const POLICY: &str = "memory guard";

pub fn propose(
    ctx: &Context<'_>,
    obs: &ProcessTypeState,
    state: &PolicyState,
    now: Timestamp,
) -> Vec<Proposal> {
    let (pt, size) = (ctx.pt, ctx.size);
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
        out.extend(escalate(name, ctx, state, restart, now));
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

/// Restart → upsize → alert: once a dyno needed `escalation.restarts` memory restarts within
/// the window, restarting it again blindly is not enough. The next step is one size up for the
/// whole type (which restarts every dyno of it anyway) when an explicit max size allows it and
/// the vertical scaler's resize windows are open; else the restart goes ahead (within the
/// budgets) together with a critical alert "leak not fixed by restarts" and the history.
fn escalate(
    dyno: &str,
    ctx: &Context<'_>,
    state: &PolicyState,
    restart: Proposal,
    now: Timestamp,
) -> Vec<Proposal> {
    let Some(esc) = &ctx.pt.escalation else {
        return vec![restart];
    };
    let since = now.minus(esc.window.get());
    let history: Vec<Timestamp> = state
        .restarts
        .iter()
        .filter(|r| r.at > since && r.policy == POLICY && r.target == dyno)
        .map(|r| r.at)
        .collect();
    let key = format!("escalation:{dyno}");
    if history.len() < esc.restarts as usize || state.in_cooldown(&key, now) {
        return vec![restart];
    }
    let process_type = ctx.process_type;
    let reason = |next: String| Reason::Escalation {
        process_type: process_type.to_owned(),
        dyno: Some(dyno.to_owned()),
        restarts: u32::try_from(history.len()).unwrap_or(u32::MAX),
        window: esc.window,
        next,
    };
    let upsize = if esc.upsize {
        ctx.upsize(now)
    } else {
        Err("upsize = false".to_owned())
    };
    match upsize {
        Ok((from, to)) => vec![
            Proposal::new(
                Action::Resize {
                    process_type: process_type.to_owned(),
                    from: from.name.to_owned(),
                    to: to.name.to_owned(),
                },
                reason(format!("upsize {process_type} to {}", to.name)),
            )
            .with_cooldown(key, esc.window.get()),
        ],
        Err(why) => {
            let times: Vec<String> = history.iter().map(ToString::to_string).collect();
            let alert = Proposal::new(
                Action::Alert {
                    topic: format!("escalation:{process_type}"),
                    severity: Severity::Critical,
                    message: format!(
                        "leak not fixed by restarts: {dyno} was restarted for memory {} times in {} (at {}); no upsize ({why}); restarts continue within the budget",
                        history.len(),
                        esc.window,
                        times.join(", ")
                    ),
                },
                reason(format!("alert: leak not fixed by restarts; no upsize ({why})")),
            )
            .with_cooldown(key, esc.window.get());
            vec![restart, alert]
        }
    }
}

/// What escalation needs to know about the process type besides its config.
pub struct Context<'a> {
    pub process_type: &'a str,
    pub pt: &'a ProcessTypeConfig,
    pub size: Option<&'static DynoSize>,
    pub tz: &'a TimeZone,
}

impl Context<'_> {
    /// One step up, when allowed: an explicit max size (`max_size` or `vertical.max_size`)
    /// that the next size stays within, and, with a vertical scaler, an open resize window.
    fn upsize(&self, now: Timestamp) -> Result<(&'static DynoSize, &'static DynoSize), String> {
        let caps: Vec<&'static DynoSize> = [
            self.pt.max_size.as_deref(),
            self.pt
                .vertical
                .as_ref()
                .and_then(|v| v.max_size.as_deref()),
        ]
        .into_iter()
        .flatten()
        .filter_map(|m| DynoSize::lookup(m).ok())
        .collect();
        let Some(cap) = caps.into_iter().min_by_key(|s| s.ladder_key()) else {
            return Err("no max_size is configured".to_owned());
        };
        let current = self.size.ok_or("the current size is unknown")?;
        let next = current
            .next_up()
            .ok_or_else(|| format!("{} is the top of the ladder", current.name))?;
        if next.ladder_key() > cap.ladder_key() {
            return Err(format!("{} is above max size {}", next.name, cap.name));
        }
        if let Some(v) = &self.pt.vertical
            && !v.window_open(self.tz, now)
        {
            return Err("outside the allowed resize windows".to_owned());
        }
        Ok((current, next))
    }
}
