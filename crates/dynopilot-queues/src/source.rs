//! A configured queue source: the library, where it keeps its queues, which queues to read;
//! and the connection (Redis manager or Postgres pool) kept between reads.

use std::fmt;
use std::time::Duration;

use dynopilot_core::Timestamp;
use sqlx::PgPool;

use crate::adapter::Adapter;
use crate::redis_backend::{self, Conn};
use crate::{Snapshot, SourceError};
use crate::{celery, delayed_job, good_job, postgres, que, resque, rq, sidekiq, solid_queue};

/// What to read. `url` may carry a password: `Debug` hides it.
#[derive(Clone)]
pub struct SourceSpec {
    pub adapter: Adapter,
    pub url: String,
    /// Queue names to read; empty means every queue the library lists (Celery: `celery`).
    pub queues: Vec<String>,
    /// Sidekiq's redis-namespace, Resque's namespace (default `resque`), Celery's
    /// `global_keyprefix`; not used by the others.
    pub namespace: Option<String>,
    /// Bound on one whole read, and the Postgres statement timeout.
    pub timeout: Duration,
}

impl fmt::Debug for SourceSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SourceSpec")
            .field("adapter", &self.adapter)
            .field("url", &"****")
            .field("queues", &self.queues)
            .field("namespace", &self.namespace)
            .field("timeout", &self.timeout)
            .finish()
    }
}

enum Backend {
    Redis(Conn),
    Postgres(PgPool),
}

/// A source ready to read; connects on the first read and reconnects by itself.
pub struct QueueSource {
    spec: SourceSpec,
    backend: Backend,
}

impl fmt::Debug for QueueSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("QueueSource")
            .field("spec", &self.spec)
            .finish()
    }
}

impl QueueSource {
    /// Checks the URL; connects nothing yet (a backend down at start is a read error later).
    pub fn new(spec: SourceSpec) -> Result<QueueSource, SourceError> {
        let backend = if spec.adapter.uses_redis() {
            Backend::Redis(redis_backend::connect_lazy(
                spec.adapter,
                &spec.url,
                spec.timeout,
            )?)
        } else {
            Backend::Postgres(postgres::pool(spec.adapter, &spec.url, spec.timeout)?)
        };
        Ok(QueueSource { spec, backend })
    }

    pub fn spec(&self) -> &SourceSpec {
        &self.spec
    }

    /// One read of every selected queue at `now`. `Err` means nothing may be concluded (the
    /// backend did not answer); garbage in one queue is a fault inside the snapshot.
    pub async fn read(&self, now: Timestamp) -> Result<Snapshot, SourceError> {
        let timeout = self.spec.timeout;
        let adapter = self.spec.adapter.as_str();
        // Redis reads are several round trips: bound the whole, not just each command.
        match tokio::time::timeout(timeout.saturating_mul(2), self.read_unbounded(now)).await {
            Ok(result) => result,
            Err(_) => Err(SourceError::Timeout {
                adapter,
                timeout_ms: timeout.saturating_mul(2).as_millis(),
            }),
        }
    }

    async fn read_unbounded(&self, now: Timestamp) -> Result<Snapshot, SourceError> {
        let spec = &self.spec;
        match &self.backend {
            Backend::Redis(conn) => {
                let mut conn = conn.clone();
                match spec.adapter {
                    Adapter::Sidekiq => sidekiq::read(&mut conn, spec).await,
                    Adapter::Rq => rq::read(&mut conn, spec).await,
                    Adapter::Celery => celery::read(&mut conn, spec).await,
                    // Only the four Redis libraries get a Redis backend (`QueueSource::new`).
                    _ => resque::read(&mut conn, spec).await,
                }
            }
            Backend::Postgres(pool) => {
                let sql = match spec.adapter {
                    Adapter::GoodJob => good_job::SQL,
                    Adapter::Que => que::SQL,
                    Adapter::SolidQueue => solid_queue::SQL,
                    // Only the four Postgres libraries get a pool (`QueueSource::new`).
                    _ => delayed_job::SQL,
                };
                postgres::read(pool, spec, sql, now).await
            }
        }
    }

    /// Closes the Postgres pool (Redis managers close when dropped).
    pub async fn close(&self) {
        if let Backend::Postgres(pool) = &self.backend {
            pool.close().await;
        }
    }
}
