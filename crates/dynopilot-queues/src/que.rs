//! Que (1.x and 2.x): one `que_jobs` row per job. Runnable: `finished_at`, `expired_at`
//! NULL and `run_at` passed. A worker holds a session advisory lock on the job id while it
//! works it (`pg_try_advisory_lock(id)`: in `pg_locks` the high 32 bits are `classid`, the
//! low 32 bits `objid`, `objsubid = 1`), so a locked job is running, not waiting.

/// `(queue, depth, oldest runnable ms, busy)`; `$1` is now in epoch ms.
pub(crate) const SQL: &str = "
WITH locked AS (
  SELECT (classid::bigint << 32) | objid::bigint AS id
    FROM pg_locks
   WHERE locktype = 'advisory' AND objsubid = 1 AND granted
), jobs AS (
  SELECT j.queue, j.run_at, EXISTS (SELECT 1 FROM locked l WHERE l.id = j.id) AS running
    FROM que_jobs j
   WHERE j.finished_at IS NULL AND j.expired_at IS NULL
)
SELECT queue::text,
       count(*) FILTER (WHERE NOT running AND run_at <= to_timestamp($1 / 1000.0)) AS depth,
       (min(extract(epoch FROM run_at))
          FILTER (WHERE NOT running AND run_at <= to_timestamp($1 / 1000.0)) * 1000)::float8 AS oldest_ms,
       count(*) FILTER (WHERE running) AS busy
  FROM jobs
 GROUP BY 1";
