//! delayed_job (ActiveRecord backend): one `delayed_jobs` row per job. Runnable: `run_at`
//! passed, `locked_at` and `failed_at` NULL; locked and not failed: running. A NULL `queue`
//! is reported as `default`.

/// `(queue, depth, oldest runnable ms, busy)`; `$1` is now in epoch ms.
pub(crate) const SQL: &str = "
SELECT COALESCE(queue, 'default')::text AS queue,
       count(*) FILTER (WHERE locked_at IS NULL AND run_at <= to_timestamp($1 / 1000.0)) AS depth,
       (min(extract(epoch FROM run_at))
          FILTER (WHERE locked_at IS NULL AND run_at <= to_timestamp($1 / 1000.0)) * 1000)::float8 AS oldest_ms,
       count(*) FILTER (WHERE locked_at IS NOT NULL) AS busy
  FROM delayed_jobs
 WHERE failed_at IS NULL
 GROUP BY 1";
