//! The policy runner: every second, and at once on urgent observations, it closes router
//! windows, evaluates every app's policies, journals the decisions (before any action starts),
//! saves the policy state, and hands executable decisions to the executor.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use dynopilot_core::policy::decision::clock;
use dynopilot_core::policy::{self, Action, Decision, PolicyState};
use dynopilot_core::{Clock, Timestamp};
use dynopilot_store::{DecisionRecord, Store};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::ingest::Ingest;

pub struct Runner {
    pub ingest: Ingest,
    pub store: Arc<dyn Store>,
    pub clock: Arc<dyn Clock>,
    pub policies: BTreeMap<String, policy::Config>,
    pub states: BTreeMap<String, PolicyState>,
    pub executor: mpsc::Sender<Decision>,
    pub tick: Duration,
    /// Each still-blocked action: the core proposes it again every tick while the guardrail
    /// holds; it is printed once, then summarised, and journaled once a minute.
    pub blocked_seen: BTreeMap<(String, String), Held>,
    /// Controls, modes and counters shared with the dashboard (`web::control`).
    pub web: crate::web::link::RunnerLink,
    /// Set while the decision journal fails, so an outage is logged once as an error (and its
    /// end once), not on every tick.
    pub journal_down: AtomicBool,
    /// Announces policies that are blind (no log source, runtime metrics off).
    pub blind: crate::blind_watch::BlindWatch,
    /// The watched apps when discovery may change them while running (`None`: `policies` is
    /// fixed).
    pub following: Following,
}

/// The shared set of watched apps the runner follows, and the generation it last applied.
#[derive(Debug, Default)]
pub struct Following {
    pub apps: Option<Arc<crate::watched::WatchedApps>>,
    applied: Option<u64>,
}

impl Following {
    pub fn apps(apps: Arc<crate::watched::WatchedApps>) -> Self {
        Following {
            apps: Some(apps),
            applied: None,
        }
    }
}

/// The parts of the store the runner reports on to `StoreHealth`.
const JOURNAL: &str = "decision journal";
const POLICY_STATE: &str = "policy state";

/// A blocked action that keeps being proposed is journaled again after this long.
const BLOCKED_REPEAT: Duration = Duration::from_secs(60);

/// One action held back by a guardrail tick after tick.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Held {
    pub first: Timestamp,
    pub last_journaled: Timestamp,
    /// Ticks on which it was proposed and held.
    pub times: u32,
}

impl Runner {
    /// Loads each app's saved policy state, so cooldowns and budgets survive a restart.
    pub async fn load_states(&mut self) {
        let apps: Vec<String> = self.policies.keys().cloned().collect();
        for app in apps {
            self.load_state(&app).await;
        }
    }

    async fn load_state(&mut self, app: &str) {
        match self.store.policy_state(app).await {
            Ok(Some(record)) => match serde_json::from_value::<PolicyState>(record.state) {
                Ok(state) => {
                    self.states.insert(app.to_owned(), state);
                }
                Err(e) => {
                    tracing::error!(app, error = %e, "saved policy state unreadable; starting fresh")
                }
            },
            Ok(None) => {}
            Err(e) => tracing::error!(app, error = %e, "cannot load policy state"),
        }
    }

    /// Takes up apps discovery added (with their saved state: an app retired and found again
    /// keeps its budgets) and drops retired ones (their state stays in the store).
    async fn follow_watched_apps(&mut self) {
        let Some(watched) = self.following.apps.clone() else {
            return;
        };
        let generation = watched.generation();
        if self.following.applied == Some(generation) {
            return;
        }
        self.following.applied = Some(generation);
        let now = watched.snapshot();
        self.policies.retain(|app, _| now.contains_key(app));
        self.states.retain(|app, _| now.contains_key(app));
        self.blocked_seen
            .retain(|(app, _), _| now.contains_key(app));
        for (app, config) in now {
            if self.policies.insert(app.clone(), config).is_none() {
                self.load_state(&app).await;
            }
        }
    }

    pub async fn run(mut self, cancel: CancellationToken) {
        self.load_states().await;
        loop {
            tokio::select! {
                biased;
                () = cancel.cancelled() => return,
                Some(control) = self.web.next_control() => {
                    self.handle_control(control).await;
                    continue;
                }
                () = self.ingest.urgent.notified() => {}
                () = self.clock.sleep(self.tick) => {}
            }
            let now = self.clock.now();
            self.tick_once(now).await;
            let took = self.clock.now().since(now);
            self.web
                .stats
                .record_tick(took.as_millis().try_into().unwrap_or(u64::MAX));
            self.web.stats.ticked_at(now, self.tick);
        }
    }

    /// One evaluation of every app; returns the decisions made (for tests and the demo).
    pub async fn tick_once(&mut self, now: Timestamp) -> Vec<Decision> {
        self.follow_watched_apps().await;
        self.forget_not_carried_out();
        let observed: Vec<(String, policy::ObservedState, bool)> = {
            let Ok(mut fleet) = self.ingest.fleet.lock() else {
                return Vec::new();
            };
            fleet.close_windows(now);
            self.policies
                .keys()
                .map(|app| {
                    let state = fleet.app(app);
                    (
                        app.clone(),
                        state.map(|a| a.observed.clone()).unwrap_or_default(),
                        state.is_some_and(|a| a.status.error.is_some()),
                    )
                })
                .collect()
        };
        let mut all = Vec::new();
        for (app, observed, in_error) in observed {
            let Some(config) = self.policies.get(&app) else {
                continue;
            };
            if in_error {
                // What is known about an app in error may be stale (it may be gone): nothing
                // is decided for it until the poller reaches it again.
                all.extend(self.announce_app_error(&app, config, now).await);
                continue;
            }
            self.expire_pauses(&app, now).await;
            let previous = self.states.get(&app).cloned().unwrap_or_default();
            // Dry-run may be switched from the dashboard; pauses block formation changes.
            let mut config = config.clone();
            config.guardrails.dry_run = self.web.modes.dry_run(&app, &config);
            let was_blind = self.blind.last(&app);
            let blind = self.blind.report(&app, &config, &observed, now);
            self.alert_blind_changes(&app, &was_blind, &blind, now);
            let (mut decisions, state) = policy::evaluate(&config, &observed, &previous, now);
            crate::web::control::block_paused(&self.web.modes, &mut decisions);
            let decisions = self.drop_repeated_blocks(&app, decisions, now);
            if !self.journal(&decisions).await {
                // Not journaled means not acted on; the state is not advanced either, so the
                // same decisions come back next tick.
                continue;
            }
            self.save_state(&app, now, &state).await;
            self.publish_status(&app, &config, &observed, &state, now);
            self.states.insert(app.clone(), state);
            if decisions.iter().any(|d| d.executed) {
                crate::reconcile::test_pause("decision-journaled").await;
            }
            for decision in decisions {
                log_decision(&decision, self.held(&app, &decision));
                self.web.stats.count_decision(&decision);
                if decision.executed && self.executor.send(decision.clone()).await.is_err() {
                    tracing::error!("executor has stopped; decision not carried out");
                }
                all.push(decision);
            }
        }
        all
    }

    /// Takes decisions that failed or were abandoned out of the policy state (restart records,
    /// last-restart times, what dynopilot set), so they count in no cooldown or budget.
    fn forget_not_carried_out(&mut self) {
        for decision in self.web.not_carried_out.take() {
            if let Some(state) = self.states.get_mut(&decision.app) {
                crate::reconcile::forget(state, &decision);
                tracing::info!(app = %decision.app, action = %decision.action, "not carried out; no longer counted in cooldowns and budgets");
            }
        }
    }

    /// Keeps a blocked decision only when its action was not already journaled as blocked in
    /// the last minute; forgets actions that are no longer proposed.
    fn drop_repeated_blocks(
        &mut self,
        app: &str,
        decisions: Vec<Decision>,
        now: Timestamp,
    ) -> Vec<Decision> {
        let mut kept = Vec::with_capacity(decisions.len());
        let mut still_blocked = Vec::new();
        for decision in decisions {
            if !decision.is_blocked() || decision.dry_run {
                kept.push(decision);
                continue;
            }
            let key = (app.to_owned(), hold_key(&decision.action));
            let held = self.blocked_seen.entry(key.clone()).or_insert(Held {
                first: now,
                last_journaled: now,
                times: 0,
            });
            held.times += 1;
            let due = now.since(held.last_journaled) >= BLOCKED_REPEAT;
            if held.times == 1 || due {
                held.last_journaled = now;
                kept.push(decision);
            }
            still_blocked.push(key);
        }
        self.blocked_seen.retain(|key, held| {
            let keep = key.0 != app || still_blocked.contains(key);
            if !keep && held.times > 1 {
                tracing::info!(
                    app,
                    "no longer held: {} (held {} times since {})",
                    key.1,
                    held.times,
                    clock(held.first)
                );
            }
            keep
        });
        kept
    }

    /// How often `decision`'s action has been held so far, when it is a repeat.
    fn held(&self, app: &str, decision: &Decision) -> Option<Held> {
        if !decision.is_blocked() {
            return None;
        }
        let key = (app.to_owned(), hold_key(&decision.action));
        self.blocked_seen.get(&key).copied().filter(|h| h.times > 1)
    }

    /// Raises the one alert of an app's error episode (journaled, then sent like any alert).
    async fn announce_app_error(
        &self,
        app: &str,
        config: &policy::Config,
        now: Timestamp,
    ) -> Option<Decision> {
        let error = {
            let mut fleet = self.ingest.fleet.lock().ok()?;
            let error = fleet.app_mut(app).status.error.as_mut()?;
            if error.announced {
                return None;
            }
            error.announced = true;
            error.clone()
        };
        let dry_run = self.web.modes.dry_run(app, config);
        let alert = policy::notify::app_error(app, error.kind, &error.message, dry_run, now);
        if !self.journal(std::slice::from_ref(&alert)).await {
            return None;
        }
        log_decision(&alert, None);
        if alert.executed && self.executor.send(alert.clone()).await.is_err() {
            tracing::error!("executor has stopped; alert not sent");
        }
        Some(alert)
    }

    /// One `blind` alert per policy that became blind, and its resolve when it sees again.
    fn alert_blind_changes(
        &self,
        app: &str,
        was: &[policy::Blind],
        now_blind: &[policy::Blind],
        now: Timestamp,
    ) {
        let target = |b: &policy::Blind| format!("{} of {}", b.policy, b.process_type);
        for b in now_blind.iter().filter(|b| !was.contains(b)) {
            let why = b.missing_signal.to_string();
            self.web.alerts.event(dynopilot_notify::topic::blind_event(
                app,
                &target(b),
                &why,
                true,
                now,
            ));
        }
        for b in was.iter().filter(|b| !now_blind.contains(b)) {
            self.web.alerts.event(dynopilot_notify::topic::blind_event(
                app,
                &target(b),
                "",
                false,
                now,
            ));
        }
    }

    /// Shows the manual-change overrides in force on the dashboard until they end, and the
    /// budgets left and holds in force (`dynopilot status`, the JSON app view).
    fn publish_status(
        &self,
        app: &str,
        config: &policy::Config,
        observed: &policy::ObservedState,
        state: &PolicyState,
        now: Timestamp,
    ) {
        let allowance = policy::allowance::allowance(config, observed, state, now);
        if let Ok(mut fleet) = self.ingest.fleet.lock() {
            let status = &mut fleet.app_mut(app).status;
            status.overrides = state.overrides.clone();
            status.allowance = Some(allowance);
        }
    }

    pub(crate) async fn journal(&self, decisions: &[Decision]) -> bool {
        let health = &self.web.store_health;
        if decisions.is_empty() {
            self.probe_journal().await;
        }
        for decision in decisions {
            let record = match DecisionRecord::from_decision(decision) {
                Ok(r) => r,
                Err(e) => {
                    tracing::error!(error = %e, "decision not serialisable");
                    return false;
                }
            };
            if let Err(e) = self.store.insert_decision(&record).await {
                health.failed(JOURNAL, &e, self.clock.now());
                if self.journal_down.swap(true, Ordering::Relaxed) {
                    tracing::debug!(error = %e, "decision journal still failing");
                } else {
                    tracing::error!(error = %e, "cannot journal decisions; holding every action back until the store accepts them");
                }
                return false;
            }
        }
        for decision in decisions {
            self.web.alerts.decision(decision);
        }
        if !decisions.is_empty() {
            health.succeeded(JOURNAL, self.clock.now());
            if self.journal_down.swap(false, Ordering::Relaxed) {
                tracing::warn!("decision journal is back; acting again");
            }
        }
        true
    }

    /// While the journal is down and nothing needs journaling, one small read tells whether
    /// it is back, so the outage can end without waiting for the next decision.
    async fn probe_journal(&self) {
        if !self.journal_down.load(Ordering::Relaxed) {
            return;
        }
        let Some(app) = self.policies.keys().next() else {
            return;
        };
        let now = self.clock.now();
        let span = dynopilot_store::TimeRange::new(now, now.plus(Duration::from_millis(1)));
        if self.store.decisions(app, span, 1).await.is_ok() {
            self.journal_down.store(false, Ordering::Relaxed);
            self.web.store_health.succeeded(JOURNAL, now);
            tracing::warn!("decision journal is back; acting again");
        }
    }

    async fn save_state(&self, app: &str, now: Timestamp, state: &PolicyState) {
        match serde_json::to_value(state) {
            Ok(json) => match self.store.put_policy_state(app, now, &json).await {
                Ok(()) => self.web.store_health.succeeded(POLICY_STATE, now),
                Err(e) => {
                    tracing::error!(app, error = %e, "cannot save policy state");
                    self.web.store_health.failed(POLICY_STATE, &e, now);
                }
            },
            Err(e) => tracing::error!(app, error = %e, "policy state not serialisable"),
        }
    }
}

/// What makes two held decisions "the same": a scale held at a bound keeps being proposed
/// with a changing target, and is one hold per process type and direction.
fn hold_key(action: &Action) -> String {
    match action {
        Action::ScaleFormation {
            process_type,
            from,
            to,
        } => {
            let direction = if to > from { "up" } else { "down" };
            format!("scale {process_type} {direction}")
        }
        other => other.to_string(),
    }
}

/// One line in words (`restart web.3 (memory …)`, `held: scale web 6 → 8 — deploy freeze …`);
/// a hold seen before is summarised with how often and since when.
fn log_decision(decision: &Decision, held: Option<Held>) {
    let app = &decision.app;
    match held {
        Some(h) => tracing::info!(
            app,
            "still {decision} (held {} times since {})",
            h.times,
            clock(h.first)
        ),
        None => match &decision.action {
            Action::Alert { severity, .. } if *severity != policy::Severity::Info => {
                tracing::warn!(app, "{decision}")
            }
            _ => tracing::info!(app, "{decision}"),
        },
    }
}
