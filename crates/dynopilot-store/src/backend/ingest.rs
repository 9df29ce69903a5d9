//! Samples, rollups and retention: the write-heavy half of the store, generated per backend by
//! `ingest!`. Rollup upserts merge in Rust inside the batch's transaction: insert if absent,
//! otherwise read the row (locked), merge, and write it back.

macro_rules! ingest {
    ($store:ident, $db:ty, $backend:expr, begin = $begin:literal, lock = $lock:literal) => {
        type DbTx = sqlx::Transaction<'static, $db>;
        type DbRow = <$db as sqlx::Database>::Row;

        impl $store {
            async fn write_batch_impl(&self, batch: &crate::Batch) -> Result<(), crate::StoreError> {
                if batch.is_empty() {
                    return Ok(());
                }
                let q = |op| crate::StoreError::query($backend, op);
                let mut tx = self.pool.begin_with($begin).await.map_err(q("begin a batch"))?;
                let minutes = crate::rollup::coalesce(&batch.rollups);
                for rollup in &minutes {
                    upsert_rollup(&mut tx, crate::rollup::Tier::Minute, rollup).await?;
                }
                for rollup in crate::rollup::merge_by_step(minutes, crate::rollup::HOUR_MS) {
                    upsert_rollup(&mut tx, crate::rollup::Tier::Hour, &rollup).await?;
                }
                for sample in &batch.samples {
                    insert_sample(&mut tx, sample).await?;
                }
                for e in &batch.events {
                    sqlx::query(
                        "INSERT INTO events (app, at, kind, message, detail) \
                         VALUES ($1, $2, $3, $4, $5)",
                    )
                    .bind(&e.app)
                    .bind(e.at.as_millis())
                    .bind(&e.kind)
                    .bind(&e.message)
                    .bind(e.detail.to_string())
                    .execute(&mut *tx)
                    .await
                    .map_err(q("insert an event"))?;
                }
                tx.commit().await.map_err(q("commit a batch"))
            }

            async fn samples_impl(
                &self,
                app: &str,
                filter: &crate::SampleFilter,
                range: crate::TimeRange,
            ) -> Result<Vec<crate::Sample>, crate::StoreError> {
                use crate::SampleFilter as F;
                let (sql, name) = match filter {
                    F::Dyno(d) => (
                        "SELECT app, dyno, instance_id, at, span_ms, sample_count, memory_total_mb, \
                         memory_rss_mb, memory_swap_mb, memory_quota_mb, load_1m FROM samples \
                         WHERE app = $1 AND at >= $2 AND at < $3 AND dyno = $4 ORDER BY at, dyno",
                        Some(d),
                    ),
                    F::ProcessType(t) => (
                        "SELECT app, dyno, instance_id, at, span_ms, sample_count, memory_total_mb, \
                         memory_rss_mb, memory_swap_mb, memory_quota_mb, load_1m FROM samples \
                         WHERE app = $1 AND at >= $2 AND at < $3 AND process_type = $4 \
                         ORDER BY at, dyno",
                        Some(t),
                    ),
                    F::AllDynos => (
                        "SELECT app, dyno, instance_id, at, span_ms, sample_count, memory_total_mb, \
                         memory_rss_mb, memory_swap_mb, memory_quota_mb, load_1m FROM samples \
                         WHERE app = $1 AND at >= $2 AND at < $3 ORDER BY at, dyno",
                        None,
                    ),
                };
                let mut query = sqlx::query(sql)
                    .bind(app)
                    .bind(range.start.as_millis())
                    .bind(range.end.as_millis());
                if let Some(name) = name {
                    query = query.bind(name);
                }
                let rows = query
                    .fetch_all(&self.pool)
                    .await
                    .map_err(crate::StoreError::query($backend, "read samples"))?;
                rows.iter().map(sample_from_row).collect()
            }

            async fn memory_peaks_impl(
                &self,
                app: &str,
                range: crate::TimeRange,
                step: std::time::Duration,
            ) -> Result<Vec<crate::MemoryPeak>, crate::StoreError> {
                use sqlx::Row;
                let step_ms = crate::backend::duration_ms(step);
                if step_ms <= 0 {
                    return Err(crate::StoreError::Invalid("memory peaks need a step".to_owned()));
                }
                // Integer division buckets `at` (never before the range start) from the start.
                let rows = sqlx::query(
                    "SELECT dyno, (at - $2) / $4 AS bucket, MAX(memory_total_mb) AS total, \
                     MAX(memory_quota_mb) AS quota FROM samples \
                     WHERE app = $1 AND at >= $2 AND at < $3 \
                     GROUP BY dyno, bucket ORDER BY bucket, dyno",
                )
                .bind(app)
                .bind(range.start.as_millis())
                .bind(range.end.as_millis())
                .bind(step_ms)
                .fetch_all(&self.pool)
                .await
                .map_err(crate::StoreError::query($backend, "read memory peaks"))?;
                let peak = |row: &DbRow| -> Result<crate::MemoryPeak, sqlx::Error> {
                    let bucket: i64 = row.try_get("bucket")?;
                    Ok(crate::MemoryPeak {
                        dyno: row.try_get("dyno")?,
                        at: range.start.plus(std::time::Duration::from_millis(
                            crate::backend::to_u64(bucket.saturating_mul(step_ms)),
                        )),
                        memory_total_mb: row.try_get("total")?,
                        memory_quota_mb: row.try_get("quota")?,
                    })
                };
                rows.iter()
                    .map(|row| peak(row).map_err(|e| crate::StoreError::corrupt("samples", e)))
                    .collect()
            }

            async fn rollups_impl(
                &self,
                app: &str,
                process_type: &str,
                range: crate::TimeRange,
                step: std::time::Duration,
            ) -> Result<Vec<crate::Rollup>, crate::StoreError> {
                use crate::rollup::Tier;
                let step_ms = crate::rollup::step_millis(step)?;
                let (start, end) = (range.start.as_millis(), range.end.as_millis());
                if !crate::rollup::hourly_fits(step_ms, range) {
                    let rollups = self.read_rollups(Tier::Minute, app, process_type, start, end).await?;
                    return Ok(crate::rollup::merge_by_step(rollups, step_ms));
                }
                // Hours before the app's first hourly row (written before the hourly tier
                // existed) still come from the minute rows.
                let first_hour: Option<i64> = sqlx::query_scalar(
                    "SELECT MIN(minute) FROM rollups_hourly WHERE app = $1 AND process_type = $2",
                )
                .bind(app)
                .bind(process_type)
                .fetch_one(&self.pool)
                .await
                .map_err(crate::StoreError::query($backend, "read the first hourly rollup"))?;
                let split = first_hour.map_or(end, |first| first.clamp(start, end));
                let mut rollups = self.read_rollups(Tier::Minute, app, process_type, start, split).await?;
                rollups.extend(self.read_rollups(Tier::Hour, app, process_type, split, end).await?);
                Ok(crate::rollup::merge_by_step(rollups, step_ms))
            }

            async fn read_rollups(
                &self,
                tier: crate::rollup::Tier,
                app: &str,
                process_type: &str,
                start: i64,
                end: i64,
            ) -> Result<Vec<crate::Rollup>, crate::StoreError> {
                if start >= end {
                    return Ok(Vec::new());
                }
                // The only interpolation is the table name, from a closed enum.
                let sql = format!(
                    "SELECT app, process_type, minute, requests, status_1xx, status_2xx, \
                     status_3xx, status_4xx, status_5xx, service_sketch, connect_sketch, errors, \
                     queue_sketch FROM {} WHERE app = $1 AND process_type = $2 \
                     AND minute >= $3 AND minute < $4 ORDER BY minute",
                    tier.table()
                );
                let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
                    .bind(app)
                    .bind(process_type)
                    .bind(start)
                    .bind(end)
                    .fetch_all(&self.pool)
                    .await
                    .map_err(crate::StoreError::query($backend, "read rollups"))?;
                rows.iter().map(rollup_from_row).collect()
            }

            async fn prune_impl(
                &self,
                now: dynopilot_core::Timestamp,
                retention: &crate::Retention,
            ) -> Result<crate::PruneReport, crate::StoreError> {
                let q = |op| crate::StoreError::query($backend, op);
                let mut report = crate::PruneReport::default();
                let mut tx = self.pool.begin_with($begin).await.map_err(q("begin a prune"))?;
                report.samples_deleted = sqlx::query("DELETE FROM samples WHERE at < $1")
                    .bind(now.minus(retention.raw).as_millis())
                    .execute(&mut *tx)
                    .await
                    .map_err(q("delete old samples"))?
                    .rows_affected();
                report.rollups_deleted = sqlx::query("DELETE FROM rollups WHERE minute < $1")
                    .bind(now.minus(retention.rollups).as_millis())
                    .execute(&mut *tx)
                    .await
                    .map_err(q("delete old rollups"))?
                    .rows_affected();
                report.deliveries_deleted = sqlx::query(
                    "DELETE FROM alert_deliveries WHERE state <> 'pending' AND updated_at < $1",
                )
                .bind(now.minus(retention.rollups).as_millis())
                .execute(&mut *tx)
                .await
                .map_err(q("delete old alert deliveries"))?
                .rows_affected();
                // An hour goes once all of it is past retention, so a chart never shows a
                // partial hour at its start.
                sqlx::query("DELETE FROM rollups_hourly WHERE minute < $1")
                    .bind(now.minus(retention.rollups).as_millis() - crate::rollup::HOUR_MS)
                    .execute(&mut *tx)
                    .await
                    .map_err(q("delete old hourly rollups"))?;
                if let Some(cutoff) = retention.downsample_cutoff(now) {
                    let rows = sqlx::query(
                        "SELECT app, dyno, instance_id, at, span_ms, sample_count, memory_total_mb, \
                         memory_rss_mb, memory_swap_mb, memory_quota_mb, load_1m FROM samples \
                         WHERE span_ms = 0 AND at < $1",
                    )
                    .bind(cutoff.as_millis())
                    .fetch_all(&mut *tx)
                    .await
                    .map_err(q("read samples to downsample"))?;
                    let raw = rows.iter().map(sample_from_row).collect::<Result<Vec<_>, _>>()?;
                    let rows = crate::retention::downsample(&raw);
                    report.samples_downsampled =
                        sqlx::query("DELETE FROM samples WHERE span_ms = 0 AND at < $1")
                            .bind(cutoff.as_millis())
                            .execute(&mut *tx)
                            .await
                            .map_err(q("delete downsampled samples"))?
                            .rows_affected();
                    for row in &rows {
                        insert_sample(&mut tx, row).await?;
                    }
                    report.downsampled_rows = u64::try_from(rows.len()).unwrap_or(u64::MAX);
                }
                tx.commit().await.map_err(q("commit a prune"))?;
                Ok(report)
            }
        }

        async fn insert_sample(tx: &mut DbTx, s: &crate::Sample) -> Result<(), crate::StoreError> {
            sqlx::query(
                "INSERT INTO samples (app, dyno, process_type, instance_id, at, span_ms, \
                 sample_count, memory_total_mb, memory_rss_mb, memory_swap_mb, memory_quota_mb, \
                 load_1m) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
            )
            .bind(&s.app)
            .bind(&s.dyno)
            .bind(s.process_type())
            .bind(&s.instance_id)
            .bind(s.at.as_millis())
            .bind(crate::backend::duration_ms(s.span))
            .bind(i64::from(s.count))
            .bind(s.memory_total_mb)
            .bind(s.memory_rss_mb)
            .bind(s.memory_swap_mb)
            .bind(s.memory_quota_mb)
            .bind(s.load_1m)
            .execute(&mut **tx)
            .await
            .map_err(crate::StoreError::query($backend, "insert a sample"))?;
            Ok(())
        }

        fn sample_from_row(row: &DbRow) -> Result<crate::Sample, crate::StoreError> {
            use sqlx::Row;
            let read = || -> Result<crate::Sample, sqlx::Error> {
                Ok(crate::Sample {
                    app: row.try_get("app")?,
                    dyno: row.try_get("dyno")?,
                    instance_id: row.try_get("instance_id")?,
                    at: dynopilot_core::Timestamp::from_millis(row.try_get("at")?),
                    span: std::time::Duration::from_millis(crate::backend::to_u64(
                        row.try_get("span_ms")?,
                    )),
                    count: u32::try_from(row.try_get::<i64, _>("sample_count")?).unwrap_or(0),
                    memory_total_mb: row.try_get("memory_total_mb")?,
                    memory_rss_mb: row.try_get("memory_rss_mb")?,
                    memory_swap_mb: row.try_get("memory_swap_mb")?,
                    memory_quota_mb: row.try_get("memory_quota_mb")?,
                    load_1m: row.try_get("load_1m")?,
                })
            };
            read().map_err(|e| crate::StoreError::corrupt("samples", e))
        }

        /// Inserts `r`, or merges it into the row already there for its minute.
        async fn upsert_rollup(
            tx: &mut DbTx,
            tier: crate::rollup::Tier,
            r: &crate::Rollup,
        ) -> Result<(), crate::StoreError> {
            let q = |op| crate::StoreError::query($backend, op);
            // The only interpolation is the table name, from a closed enum.
            let table = tier.table();
            let insert = format!(
                "INSERT INTO {table} (app, process_type, minute, requests, status_1xx, \
                 status_2xx, status_3xx, status_4xx, status_5xx, service_sketch, \
                 connect_sketch, errors, queue_sketch) VALUES ($1, $2, $3, $4, $5, $6, $7, \
                 $8, $9, $10, $11, $12, $13) ON CONFLICT (app, process_type, minute) DO NOTHING"
            );
            let inserted = bind_rollup(sqlx::query(sqlx::AssertSqlSafe(insert)), r)
                .execute(&mut **tx)
                .await
                .map_err(q("insert a rollup"))?
                .rows_affected();
            if inserted == 1 {
                return Ok(());
            }
            let select = format!(
                "SELECT app, process_type, minute, requests, status_1xx, status_2xx, status_3xx, \
                 status_4xx, status_5xx, service_sketch, connect_sketch, errors, queue_sketch \
                 FROM {table} WHERE app = $1 AND process_type = $2 AND minute = $3{}",
                $lock
            );
            let row = sqlx::query(sqlx::AssertSqlSafe(select))
                .bind(&r.app)
                .bind(&r.process_type)
                .bind(r.minute.as_millis())
                .fetch_one(&mut **tx)
                .await
                .map_err(q("read a rollup to merge"))?;
            let mut merged = rollup_from_row(&row)?;
            merged.merge(r);
            let update = format!(
                "UPDATE {table} SET requests = $4, status_1xx = $5, status_2xx = $6, \
                 status_3xx = $7, status_4xx = $8, status_5xx = $9, service_sketch = $10, \
                 connect_sketch = $11, errors = $12, queue_sketch = $13 \
                 WHERE app = $1 AND process_type = $2 AND minute = $3"
            );
            bind_rollup(sqlx::query(sqlx::AssertSqlSafe(update)), &merged)
                .execute(&mut **tx)
                .await
                .map_err(q("update a rollup"))?;
            Ok(())
        }

        /// Binds $1..$13 in the column order of the rollups table.
        fn bind_rollup<'q>(
            query: sqlx::query::Query<'q, $db, <$db as sqlx::Database>::Arguments>,
            r: &crate::Rollup,
        ) -> sqlx::query::Query<'q, $db, <$db as sqlx::Database>::Arguments> {
            let mut query = query
                .bind(r.app.clone())
                .bind(r.process_type.clone())
                .bind(r.minute.as_millis())
                .bind(crate::backend::to_i64(r.requests));
            for n in r.status {
                query = query.bind(crate::backend::to_i64(n));
            }
            query
                .bind(r.service.to_bytes())
                .bind(r.connect.to_bytes())
                .bind(r.errors_json())
                .bind(r.queue_bytes())
        }

        fn rollup_from_row(row: &DbRow) -> Result<crate::Rollup, crate::StoreError> {
            use sqlx::Row;
            let get = |e: sqlx::Error| crate::StoreError::corrupt("rollups", e);
            let count = |col: &str| -> Result<u64, crate::StoreError> {
                row.try_get::<i64, _>(col).map(crate::backend::to_u64).map_err(get)
            };
            let service: Vec<u8> = row.try_get("service_sketch").map_err(get)?;
            let connect: Vec<u8> = row.try_get("connect_sketch").map_err(get)?;
            let errors: String = row.try_get("errors").map_err(get)?;
            let queue: Option<Vec<u8>> = row.try_get("queue_sketch").map_err(get)?;
            Ok(crate::Rollup {
                app: row.try_get("app").map_err(get)?,
                process_type: row.try_get("process_type").map_err(get)?,
                minute: dynopilot_core::Timestamp::from_millis(row.try_get("minute").map_err(get)?),
                requests: count("requests")?,
                status: [
                    count("status_1xx")?,
                    count("status_2xx")?,
                    count("status_3xx")?,
                    count("status_4xx")?,
                    count("status_5xx")?,
                ],
                service: crate::Rollup::parse_sketch(&service)?,
                connect: crate::Rollup::parse_sketch(&connect)?,
                errors: crate::Rollup::parse_errors(&errors)?,
                queue: match queue {
                    Some(bytes) => crate::Rollup::parse_sketch(&bytes)?,
                    None => dynopilot_core::LatencySketch::default(),
                },
            })
        }
    };
}
