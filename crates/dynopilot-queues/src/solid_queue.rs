//! Solid Queue: a job ready to run has a row in `solid_queue_ready_executions` (with its
//! `queue_name`), a running one a row in `solid_queue_claimed_executions`; both point at
//! `solid_queue_jobs` by `job_id`. The wait counts from the job's `scheduled_at` (set to the
//! enqueue time for jobs not scheduled), else its `created_at`.

/// `(queue, depth, oldest runnable ms, busy)`; `$1` is unused (readiness is Solid Queue's).
pub(crate) const SQL: &str = "
WITH ready AS (
  SELECT r.queue_name AS queue, count(*) AS depth,
         (min(extract(epoch FROM COALESCE(j.scheduled_at, j.created_at))) * 1000)::float8 AS oldest_ms
    FROM solid_queue_ready_executions r
    JOIN solid_queue_jobs j ON j.id = r.job_id
   GROUP BY 1
), claimed AS (
  SELECT j.queue_name AS queue, count(*) AS busy
    FROM solid_queue_claimed_executions c
    JOIN solid_queue_jobs j ON j.id = c.job_id
   GROUP BY 1
)
SELECT COALESCE(ready.queue, claimed.queue)::text AS queue,
       COALESCE(ready.depth, 0) AS depth,
       ready.oldest_ms,
       COALESCE(claimed.busy, 0) AS busy
  FROM ready FULL OUTER JOIN claimed ON ready.queue = claimed.queue
 WHERE $1::float8 IS NOT NULL";
