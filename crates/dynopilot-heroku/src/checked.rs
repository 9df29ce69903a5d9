//! Writes that happen at most once: when a non-repeatable write's answer is lost (5xx, timeout,
//! reset after sending), Heroku's state is read before anything is resent, and the write is
//! resent only when that state shows it did not land. Also the "did it land?" checks on their
//! own, which reconciliation after a crash uses with the journaled attempt's start time.
//!
//! Heroku's `created_at` / `updated_at` may carry whole seconds only, so an attempt's start is
//! rounded down to its second before comparing: a change in the same second counts as ours.
//! That errs towards "landed" (no second restart), never towards acting twice.

use dynopilot_core::Timestamp;

use crate::client::HerokuClient;
use crate::error::{HerokuError, WriteOutcome};
use crate::wire::{Dyno, DynoCreate, Formation, FormationUpdate};

/// How a write came to be known as done.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Landed {
    /// Heroku answered success.
    Answered,
    /// The answer was lost, but Heroku's state shows the write took effect.
    Confirmed,
}

/// What "the write landed" means for each checked write.
#[derive(Debug, Clone, PartialEq)]
pub enum WriteCheck<'a> {
    RestartDyno {
        dyno: &'a str,
    },
    RestartProcessType {
        process_type: &'a str,
    },
    RestartAll,
    Formation {
        process_type: &'a str,
        update: &'a FormationUpdate,
    },
}

/// The second `t` falls in, as Heroku's timestamps may be rounded to it.
fn floor_second(t: Timestamp) -> Timestamp {
    Timestamp::from_millis(t.as_millis().div_euclid(1000) * 1000)
}

/// When Heroku's state is read, relative to the attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hindsight {
    /// Right after the lost answer (milliseconds): a restarted dyno is still `starting`, so a
    /// dyno that merely finished booting (`up` since) is not taken for a restart (which
    /// would lose it).
    JustNow,
    /// Long after (reconciliation at the next start): a restarted dyno may be `up` again, so
    /// any change of state since the attempt counts as landed; never restarting twice wins
    /// over the rare missed restart.
    Later,
}

/// True when the dyno was (re)started at or after `since`, judged with `hindsight`.
pub fn dyno_changed_since(dyno: &Dyno, since: Timestamp, hindsight: Hindsight) -> bool {
    let since = floor_second(since);
    let changed = |t: Option<jiff::Timestamp>| t.is_some_and(|t| Timestamp::from_jiff(t) >= since);
    let state_ok = hindsight == Hindsight::Later || dyno.state == "starting";
    changed(dyno.created_at) || (state_ok && changed(dyno.updated_at))
}

/// True when `formation` already has everything `update` asks for.
pub fn formation_matches(formation: &Formation, update: &FormationUpdate) -> bool {
    let quantity_ok = update.quantity.is_none_or(|q| formation.quantity == q);
    let size_ok = update.dyno_size.as_ref().is_none_or(|want| {
        formation
            .size_name()
            .zip(want.name.as_deref())
            .is_some_and(|(have, want)| have.eq_ignore_ascii_case(want))
    });
    quantity_ok && size_ok
}

impl HerokuClient {
    /// Whether the write described by `check`, attempted at `since`, took effect, read long
    /// after the attempt (see [`Hindsight::Later`]).
    pub async fn write_landed(
        &self,
        app: &str,
        check: &WriteCheck<'_>,
        since: Timestamp,
    ) -> Result<bool, HerokuError> {
        self.landed(app, check, since, Hindsight::Later).await
    }

    async fn landed(
        &self,
        app: &str,
        check: &WriteCheck<'_>,
        since: Timestamp,
        hindsight: Hindsight,
    ) -> Result<bool, HerokuError> {
        match check {
            WriteCheck::RestartDyno { dyno } => match self.dyno_info(app, dyno).await {
                Ok(d) => Ok(dyno_changed_since(&d, since, hindsight)),
                // Gone since: nothing left to restart, and nothing to restart twice.
                Err(HerokuError::NotFound { .. }) => Ok(true),
                Err(e) => Err(e),
            },
            WriteCheck::RestartProcessType { process_type } => {
                let dynos = self.dynos_list(app).await?;
                Ok(dynos
                    .iter()
                    .filter(|d| d.process_type == *process_type)
                    .all(|d| dyno_changed_since(d, since, hindsight)))
            }
            WriteCheck::RestartAll => {
                let dynos = self.dynos_list(app).await?;
                Ok(dynos
                    .iter()
                    .all(|d| dyno_changed_since(d, since, hindsight)))
            }
            WriteCheck::Formation {
                process_type,
                update,
            } => {
                let formation = self.formation_info(app, process_type).await?;
                Ok(formation_matches(&formation, update))
            }
        }
    }

    /// Carries out `check`'s write at most once: on an unknown outcome Heroku's state is read;
    /// landed → `Confirmed`; not landed → resent after the usual backoff, within the retry
    /// policy's attempts. When the state cannot be read the unknown error is returned as is.
    pub async fn write_checked(
        &self,
        app: &str,
        check: &WriteCheck<'_>,
    ) -> Result<Landed, HerokuError> {
        let since = self.clock.now();
        let policy = *self.retry_policy();
        let mut attempt = 1;
        loop {
            let err = match self.send_write(app, check).await {
                Ok(()) => return Ok(Landed::Answered),
                Err(e) if e.write_outcome() == WriteOutcome::NotApplied => return Err(e),
                Err(e) => e,
            };
            match self.landed(app, check, since, Hindsight::JustNow).await {
                Ok(true) => {
                    tracing::warn!(app, error = %err, "answer lost, but Heroku shows the write took effect");
                    return Ok(Landed::Confirmed);
                }
                Ok(false) if attempt < policy.max_attempts => {
                    tracing::warn!(app, error = %err, attempt, "answer lost and the write did not land; sending it again");
                }
                Ok(false) => return Err(err),
                Err(read) => {
                    tracing::warn!(app, error = %err, check_error = %read, "answer lost and Heroku's state unreadable; outcome unknown");
                    return Err(err);
                }
            }
            self.clock
                .sleep(policy.backoff(attempt, &*self.jitter))
                .await;
            attempt += 1;
        }
    }

    async fn send_write(&self, app: &str, check: &WriteCheck<'_>) -> Result<(), HerokuError> {
        match check {
            WriteCheck::RestartDyno { dyno } => self.restart_dyno(app, dyno).await,
            WriteCheck::RestartProcessType { process_type } => {
                self.restart_process_type(app, process_type).await
            }
            WriteCheck::RestartAll => self.restart_all(app).await,
            WriteCheck::Formation {
                process_type,
                update,
            } => self
                .formation_update(app, process_type, update)
                .await
                .map(drop),
        }
    }

    /// `POST /apps/{app}/dynos` at most once: after an unknown outcome, a dyno running the
    /// same command created since the attempt's start is taken as ours; otherwise the
    /// outcome stays unknown (a one-off is not resent: its command may not be repeatable).
    pub async fn dyno_create_checked(
        &self,
        app: &str,
        create: &DynoCreate,
    ) -> Result<Dyno, HerokuError> {
        let since = self.clock.now();
        let err = match self.dyno_create(app, create).await {
            Ok(dyno) => return Ok(dyno),
            Err(e) if e.write_outcome() == WriteOutcome::NotApplied => return Err(e),
            Err(e) => e,
        };
        let since_second = floor_second(since);
        let found = self.dynos_list(app).await.ok().and_then(|dynos| {
            dynos.into_iter().find(|d| {
                d.command.as_deref() == Some(create.command.as_str())
                    && d.created_at
                        .is_some_and(|t| Timestamp::from_jiff(t) >= since_second)
            })
        });
        found.ok_or(err)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dyno(updated: &str) -> Dyno {
        serde_json::from_value(serde_json::json!({
            "id": "d", "name": "web.1", "type": "web", "state": "starting",
            "created_at": "2024-01-01T09:00:00Z", "updated_at": updated
        }))
        .unwrap()
    }

    fn ts(s: &str) -> Timestamp {
        Timestamp::from_jiff(s.parse().unwrap())
    }

    #[test]
    fn a_dyno_changed_in_the_attempts_second_counts_as_restarted() {
        let since = ts("2024-01-01T10:00:00.700Z");
        let now = Hindsight::JustNow;
        assert!(dyno_changed_since(
            &dyno("2024-01-01T10:00:00Z"),
            since,
            now
        ));
        assert!(dyno_changed_since(
            &dyno("2024-01-01T10:00:05Z"),
            since,
            now
        ));
        assert!(!dyno_changed_since(
            &dyno("2024-01-01T09:59:59Z"),
            since,
            now
        ));
        let mut booted = dyno("2024-01-01T10:00:05Z");
        booted.state = "up".into();
        assert!(
            !dyno_changed_since(&booted, since, now),
            "finishing a boot is no restart"
        );
        assert!(
            dyno_changed_since(&booted, since, Hindsight::Later),
            "long after, a restarted dyno may be up again"
        );
    }

    #[test]
    fn formation_matches_compares_only_what_the_update_sets() {
        let formation: Formation = serde_json::from_value(serde_json::json!({
            "id": "f", "type": "web", "quantity": 3, "size": "Standard-1X",
            "app": {"id": "a", "name": "shop"}
        }))
        .unwrap();
        assert!(formation_matches(&formation, &FormationUpdate::quantity(3)));
        assert!(!formation_matches(
            &formation,
            &FormationUpdate::quantity(4)
        ));
        assert!(formation_matches(
            &formation,
            &FormationUpdate::size("standard-1x")
        ));
        assert!(!formation_matches(
            &formation,
            &FormationUpdate::quantity(3).with_size("Standard-2X")
        ));
    }
}
