//! The alert delivery journal's SQL, generated per backend by `deliveries!`. Claiming pushes
//! the claimed rows' `next_attempt_at` forward by a lease, so a process that dies mid-send
//! leaves them due again later instead of lost; `lock` makes a concurrent claimer wait for
//! the first and then re-check the rows (Postgres).

macro_rules! deliveries {
    ($store:ident, $db:ty, $backend:expr, lock = $lock:literal) => {
        const DELIVERY_COLUMNS: &str = "event_id, channel, app, topic, decision_id, state, \
             attempts, next_attempt_at, last_error, receipt, created_at, updated_at, event";

        impl $store {
            async fn insert_delivery_impl(
                &self,
                d: &crate::DeliveryRecord,
            ) -> Result<bool, crate::StoreError> {
                let done = sqlx::query(
                    "INSERT INTO alert_deliveries (event_id, channel, app, topic, decision_id, \
                     state, attempts, next_attempt_at, last_error, receipt, created_at, \
                     updated_at, event) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, \
                     $12, $13) ON CONFLICT (event_id, channel) DO NOTHING",
                )
                .bind(&d.event_id)
                .bind(&d.channel)
                .bind(&d.app)
                .bind(&d.topic)
                .bind(&d.decision_id)
                .bind(d.state.as_str())
                .bind(i64::from(d.attempts))
                .bind(d.next_attempt_at.map(dynopilot_core::Timestamp::as_millis))
                .bind(&d.last_error)
                .bind(&d.receipt)
                .bind(d.created_at.as_millis())
                .bind(d.updated_at.as_millis())
                .bind(d.event.to_string())
                .execute(&self.pool)
                .await
                .map_err(crate::StoreError::query($backend, "journal an alert delivery"))?;
                Ok(done.rows_affected() == 1)
            }

            async fn claim_due_deliveries_impl(
                &self,
                now: dynopilot_core::Timestamp,
                lease: std::time::Duration,
                limit: u32,
            ) -> Result<Vec<crate::DeliveryRecord>, crate::StoreError> {
                let sql = format!(
                    "UPDATE alert_deliveries SET next_attempt_at = $1 \
                     WHERE (event_id, channel) IN (SELECT event_id, channel FROM \
                     alert_deliveries WHERE state = 'pending' AND next_attempt_at <= $2 \
                     ORDER BY next_attempt_at, created_at LIMIT $3{}) \
                     RETURNING {DELIVERY_COLUMNS}",
                    $lock
                );
                let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
                    .bind(now.plus(lease).as_millis())
                    .bind(now.as_millis())
                    .bind(i64::from(limit))
                    .fetch_all(&self.pool)
                    .await
                    .map_err(crate::StoreError::query($backend, "claim due alert deliveries"))?;
                let mut out = rows
                    .iter()
                    .map(delivery_from_row)
                    .collect::<Result<Vec<_>, _>>()?;
                // RETURNING follows no order: oldest first, as they were journaled.
                out.sort_by(|a, b| {
                    (a.created_at, &a.event_id, &a.channel).cmp(&(
                        b.created_at,
                        &b.event_id,
                        &b.channel,
                    ))
                });
                Ok(out)
            }

            async fn update_delivery_impl(
                &self,
                u: &crate::DeliveryUpdate,
            ) -> Result<bool, crate::StoreError> {
                let done = sqlx::query(
                    "UPDATE alert_deliveries SET state = $1, attempts = $2, next_attempt_at = $3, \
                     last_error = $4, receipt = $5, updated_at = $6 \
                     WHERE event_id = $7 AND channel = $8 AND state = 'pending'",
                )
                .bind(u.state.as_str())
                .bind(i64::from(u.attempts))
                .bind(u.next_attempt_at.map(dynopilot_core::Timestamp::as_millis))
                .bind(&u.last_error)
                .bind(&u.receipt)
                .bind(u.updated_at.as_millis())
                .bind(&u.event_id)
                .bind(&u.channel)
                .execute(&self.pool)
                .await
                .map_err(crate::StoreError::query($backend, "update an alert delivery"))?;
                Ok(done.rows_affected() == 1)
            }

            async fn deliveries_impl(
                &self,
                app: &str,
                limit: u32,
            ) -> Result<Vec<crate::DeliveryRecord>, crate::StoreError> {
                let sql = format!(
                    "SELECT {DELIVERY_COLUMNS} FROM alert_deliveries WHERE app = $1 \
                     ORDER BY created_at DESC, event_id DESC, channel LIMIT $2"
                );
                let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
                    .bind(app)
                    .bind(i64::from(limit))
                    .fetch_all(&self.pool)
                    .await
                    .map_err(crate::StoreError::query($backend, "read alert deliveries"))?;
                rows.iter().map(delivery_from_row).collect()
            }
        }

        fn delivery_from_row(
            row: &<$db as sqlx::Database>::Row,
        ) -> Result<crate::DeliveryRecord, crate::StoreError> {
            use sqlx::Row;
            let get = |e: sqlx::Error| crate::StoreError::corrupt("alert_deliveries", e);
            let state: String = row.try_get("state").map_err(get)?;
            let attempts: i64 = row.try_get("attempts").map_err(get)?;
            let next: Option<i64> = row.try_get("next_attempt_at").map_err(get)?;
            let event: String = row.try_get("event").map_err(get)?;
            Ok(crate::DeliveryRecord {
                event_id: row.try_get("event_id").map_err(get)?,
                channel: row.try_get("channel").map_err(get)?,
                app: row.try_get("app").map_err(get)?,
                topic: row.try_get("topic").map_err(get)?,
                decision_id: row.try_get("decision_id").map_err(get)?,
                state: crate::DeliveryState::parse(&state).ok_or_else(|| {
                    crate::StoreError::corrupt(
                        "alert_deliveries",
                        format!("unknown delivery state `{state}`"),
                    )
                })?,
                attempts: u32::try_from(attempts)
                    .map_err(|e| crate::StoreError::corrupt("alert_deliveries", e))?,
                next_attempt_at: next.map(dynopilot_core::Timestamp::from_millis),
                last_error: row.try_get("last_error").map_err(get)?,
                receipt: row.try_get("receipt").map_err(get)?,
                created_at: dynopilot_core::Timestamp::from_millis(
                    row.try_get("created_at").map_err(get)?,
                ),
                updated_at: dynopilot_core::Timestamp::from_millis(
                    row.try_get("updated_at").map_err(get)?,
                ),
                event: crate::backend::parse_json("alert_deliveries", &event)?,
            })
        }
    };
}
