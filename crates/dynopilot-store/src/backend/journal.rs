//! Decisions, actions, events and policy state: the journal half of the store, generated per
//! backend by `journal!`. Decision ids are deterministic, so inserting one twice is a no-op.

macro_rules! journal {
    ($store:ident, $db:ty, $backend:expr) => {
        impl $store {
            async fn insert_decision_impl(
                &self,
                d: &crate::DecisionRecord,
            ) -> Result<bool, crate::StoreError> {
                let done = sqlx::query(
                    "INSERT INTO decisions (id, app, at, kind, executed, dry_run, reason, decision) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (id) DO NOTHING",
                )
                .bind(&d.id)
                .bind(&d.app)
                .bind(d.at.as_millis())
                .bind(&d.kind)
                .bind(d.executed)
                .bind(d.dry_run)
                .bind(&d.reason)
                .bind(d.decision.to_string())
                .execute(&self.pool)
                .await
                .map_err(crate::StoreError::query($backend, "insert a decision"))?;
                Ok(done.rows_affected() == 1)
            }

            async fn decisions_impl(
                &self,
                app: &str,
                range: crate::TimeRange,
                limit: u32,
            ) -> Result<Vec<crate::DecisionRecord>, crate::StoreError> {
                let rows = sqlx::query(
                    "SELECT id, app, at, kind, executed, dry_run, reason, decision FROM decisions \
                     WHERE app = $1 AND at >= $2 AND at < $3 ORDER BY at DESC, id DESC LIMIT $4",
                )
                .bind(app)
                .bind(range.start.as_millis())
                .bind(range.end.as_millis())
                .bind(i64::from(limit))
                .fetch_all(&self.pool)
                .await
                .map_err(crate::StoreError::query($backend, "read decisions"))?;
                rows.iter().map(decision_from_row).collect()
            }

            async fn record_action_impl(
                &self,
                a: &crate::ActionRecord,
            ) -> Result<(), crate::StoreError> {
                sqlx::query(
                    "INSERT INTO actions (decision_id, attempt, started_at, finished_at, outcome, \
                     error) VALUES ($1, $2, $3, $4, $5, $6) \
                     ON CONFLICT (decision_id, attempt) DO UPDATE SET \
                     started_at = excluded.started_at, finished_at = excluded.finished_at, \
                     outcome = excluded.outcome, error = excluded.error",
                )
                .bind(&a.decision_id)
                .bind(i64::from(a.attempt))
                .bind(a.started_at.as_millis())
                .bind(a.finished_at.map(dynopilot_core::Timestamp::as_millis))
                .bind(a.outcome.as_str())
                .bind(&a.error)
                .execute(&self.pool)
                .await
                .map_err(crate::StoreError::query($backend, "record an action"))?;
                Ok(())
            }

            async fn actions_impl(
                &self,
                app: &str,
                range: crate::TimeRange,
                limit: u32,
            ) -> Result<Vec<crate::ActionRecord>, crate::StoreError> {
                let rows = sqlx::query(
                    "SELECT a.decision_id, a.attempt, a.started_at, a.finished_at, a.outcome, \
                     a.error FROM actions a JOIN decisions d ON d.id = a.decision_id \
                     WHERE d.app = $1 AND a.started_at >= $2 AND a.started_at < $3 \
                     ORDER BY a.started_at DESC, a.decision_id DESC, a.attempt DESC LIMIT $4",
                )
                .bind(app)
                .bind(range.start.as_millis())
                .bind(range.end.as_millis())
                .bind(i64::from(limit))
                .fetch_all(&self.pool)
                .await
                .map_err(crate::StoreError::query($backend, "read actions"))?;
                rows.iter().map(action_from_row).collect()
            }

            async fn completed_decision_ids_impl(
                &self,
                app: &str,
            ) -> Result<std::collections::HashSet<String>, crate::StoreError> {
                use sqlx::Row;
                let rows = sqlx::query(
                    "SELECT DISTINCT a.decision_id FROM actions a \
                     JOIN decisions d ON d.id = a.decision_id \
                     WHERE d.app = $1 AND a.outcome IN ('ok', 'skipped', 'abandoned')",
                )
                .bind(app)
                .fetch_all(&self.pool)
                .await
                .map_err(crate::StoreError::query($backend, "read completed decisions"))?;
                rows.iter()
                    .map(|r| {
                        r.try_get::<String, _>(0)
                            .map_err(|e| crate::StoreError::corrupt("actions", e))
                    })
                    .collect()
            }

            async fn unfinished_actions_impl(
                &self,
                app: &str,
            ) -> Result<Vec<crate::UnfinishedAction>, crate::StoreError> {
                use sqlx::Row;
                // Only the last attempt counts: a failed attempt 1 followed by an ok attempt 2
                // is finished. The outcome filter matches the partial index `actions_open`.
                let rows = sqlx::query(
                    "SELECT d.id, d.app, d.at, d.kind, d.executed, d.dry_run, d.reason, \
                     d.decision, a.attempt, a.started_at, a.outcome FROM actions a \
                     JOIN decisions d ON d.id = a.decision_id \
                     WHERE d.app = $1 \
                     AND a.outcome NOT IN ('ok', 'failed', 'skipped', 'abandoned') \
                     AND a.attempt = (SELECT MAX(b.attempt) FROM actions b \
                                      WHERE b.decision_id = a.decision_id) \
                     ORDER BY a.started_at, d.id",
                )
                .bind(app)
                .fetch_all(&self.pool)
                .await
                .map_err(crate::StoreError::query($backend, "read unfinished actions"))?;
                rows.iter()
                    .map(|row| {
                        let get = |e: sqlx::Error| crate::StoreError::corrupt("actions", e);
                        let attempt: i64 = row.try_get("attempt").map_err(get)?;
                        Ok(crate::UnfinishedAction {
                            decision: decision_from_row(row)?,
                            attempt: u32::try_from(attempt)
                                .map_err(|e| crate::StoreError::corrupt("actions", e))?,
                            started_at: dynopilot_core::Timestamp::from_millis(
                                row.try_get("started_at").map_err(get)?,
                            ),
                            outcome: row.try_get("outcome").map_err(get)?,
                        })
                    })
                    .collect()
            }

            async fn unattempted_decisions_impl(
                &self,
                app: &str,
            ) -> Result<Vec<crate::DecisionRecord>, crate::StoreError> {
                let rows = sqlx::query(
                    "SELECT id, app, at, kind, executed, dry_run, reason, decision FROM decisions d \
                     WHERE d.app = $1 AND d.executed \
                     AND NOT EXISTS (SELECT 1 FROM actions a WHERE a.decision_id = d.id) \
                     ORDER BY d.at, d.id",
                )
                .bind(app)
                .fetch_all(&self.pool)
                .await
                .map_err(crate::StoreError::query($backend, "read unattempted decisions"))?;
                rows.iter().map(decision_from_row).collect()
            }

            async fn events_impl(
                &self,
                app: &str,
                range: crate::TimeRange,
                limit: u32,
            ) -> Result<Vec<crate::Event>, crate::StoreError> {
                use sqlx::Row;
                let rows = sqlx::query(
                    "SELECT app, at, kind, message, detail FROM events \
                     WHERE app = $1 AND at >= $2 AND at < $3 ORDER BY at DESC, id DESC LIMIT $4",
                )
                .bind(app)
                .bind(range.start.as_millis())
                .bind(range.end.as_millis())
                .bind(i64::from(limit))
                .fetch_all(&self.pool)
                .await
                .map_err(crate::StoreError::query($backend, "read events"))?;
                rows.iter()
                    .map(|row| {
                        let get = |e: sqlx::Error| crate::StoreError::corrupt("events", e);
                        let detail: String = row.try_get("detail").map_err(get)?;
                        Ok(crate::Event {
                            app: row.try_get("app").map_err(get)?,
                            at: dynopilot_core::Timestamp::from_millis(
                                row.try_get("at").map_err(get)?,
                            ),
                            kind: row.try_get("kind").map_err(get)?,
                            message: row.try_get("message").map_err(get)?,
                            detail: crate::backend::parse_json("events", &detail)?,
                        })
                    })
                    .collect()
            }

            async fn put_policy_state_impl(
                &self,
                app: &str,
                updated_at: dynopilot_core::Timestamp,
                state: &serde_json::Value,
            ) -> Result<(), crate::StoreError> {
                sqlx::query(
                    "INSERT INTO policy_state (app, updated_at, state) VALUES ($1, $2, $3) \
                     ON CONFLICT (app) DO UPDATE SET \
                     updated_at = excluded.updated_at, state = excluded.state",
                )
                .bind(app)
                .bind(updated_at.as_millis())
                .bind(state.to_string())
                .execute(&self.pool)
                .await
                .map_err(crate::StoreError::query($backend, "write policy state"))?;
                Ok(())
            }

            async fn policy_state_impl(
                &self,
                app: &str,
            ) -> Result<Option<crate::PolicyStateRecord>, crate::StoreError> {
                use sqlx::Row;
                let row = sqlx::query("SELECT app, updated_at, state FROM policy_state WHERE app = $1")
                    .bind(app)
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(crate::StoreError::query($backend, "read policy state"))?;
                let Some(row) = row else { return Ok(None) };
                let get = |e: sqlx::Error| crate::StoreError::corrupt("policy_state", e);
                let state: String = row.try_get("state").map_err(get)?;
                Ok(Some(crate::PolicyStateRecord {
                    app: row.try_get("app").map_err(get)?,
                    updated_at: dynopilot_core::Timestamp::from_millis(
                        row.try_get("updated_at").map_err(get)?,
                    ),
                    state: crate::backend::parse_json("policy_state", &state)?,
                }))
            }
        }

        fn decision_from_row(
            row: &<$db as sqlx::Database>::Row,
        ) -> Result<crate::DecisionRecord, crate::StoreError> {
            use sqlx::Row;
            let get = |e: sqlx::Error| crate::StoreError::corrupt("decisions", e);
            let json: String = row.try_get("decision").map_err(get)?;
            Ok(crate::DecisionRecord {
                id: row.try_get("id").map_err(get)?,
                app: row.try_get("app").map_err(get)?,
                at: dynopilot_core::Timestamp::from_millis(row.try_get("at").map_err(get)?),
                kind: row.try_get("kind").map_err(get)?,
                executed: row.try_get("executed").map_err(get)?,
                dry_run: row.try_get("dry_run").map_err(get)?,
                reason: row.try_get("reason").map_err(get)?,
                decision: crate::backend::parse_json("decisions", &json)?,
            })
        }

        fn action_from_row(
            row: &<$db as sqlx::Database>::Row,
        ) -> Result<crate::ActionRecord, crate::StoreError> {
            use sqlx::Row;
            let get = |e: sqlx::Error| crate::StoreError::corrupt("actions", e);
            let outcome: String = row.try_get("outcome").map_err(get)?;
            let attempt: i64 = row.try_get("attempt").map_err(get)?;
            let finished: Option<i64> = row.try_get("finished_at").map_err(get)?;
            let error: Option<String> = row.try_get("error").map_err(get)?;
            // A state this version does not know (a newer dynopilot, a hand edit) is listed as
            // unsettled with what it says, not a failed read: reconciliation reports such rows
            // and never acts on them, and the rest of the journal stays readable.
            let (outcome, error) = match crate::ActionOutcome::parse(&outcome) {
                Some(known) => (known, error),
                None => (
                    crate::ActionOutcome::Unknown,
                    Some(format!(
                        "the journal holds an outcome this version does not know (`{outcome}`); it is reported and not acted on"
                    )),
                ),
            };
            Ok(crate::ActionRecord {
                decision_id: row.try_get("decision_id").map_err(get)?,
                attempt: u32::try_from(attempt).map_err(|e| crate::StoreError::corrupt("actions", e))?,
                started_at: dynopilot_core::Timestamp::from_millis(
                    row.try_get("started_at").map_err(get)?,
                ),
                finished_at: finished.map(dynopilot_core::Timestamp::from_millis),
                outcome,
                error,
            })
        }
    };
}
