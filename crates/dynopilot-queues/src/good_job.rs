//! GoodJob: one `good_jobs` row per job. Queued: `finished_at IS NULL AND performed_at IS
//! NULL`, runnable once `scheduled_at` (or `created_at` when unset, GoodJob < 3) has passed;
//! running: `performed_at` set and `finished_at` not. A retry puts the row back to queued.

/// `(queue, depth, oldest runnable ms, busy)`; `$1` is now in epoch ms.
pub(crate) const SQL: &str = "
SELECT COALESCE(queue_name, 'default') AS queue,
       count(*) FILTER (WHERE performed_at IS NULL
                          AND COALESCE(scheduled_at, created_at) <= to_timestamp($1 / 1000.0)) AS depth,
       (min(extract(epoch FROM COALESCE(scheduled_at, created_at)))
          FILTER (WHERE performed_at IS NULL
                    AND COALESCE(scheduled_at, created_at) <= to_timestamp($1 / 1000.0)) * 1000)::float8 AS oldest_ms,
       count(*) FILTER (WHERE performed_at IS NOT NULL) AS busy
  FROM good_jobs
 WHERE finished_at IS NULL
 GROUP BY 1";
