//! Service URLs and throwaway key prefixes / schemas, so parallel tests never collide.

use std::time::Duration;

use dynopilot_core::Timestamp;
use dynopilot_queues::{Adapter, QueueSource, Snapshot, SourceSpec};

pub const NEEDS_REDIS: &str = "needs Redis: set DYNOPILOT_TEST_REDIS_URL=redis://127.0.0.1:6379";
pub const NEEDS_POSTGRES: &str =
    "needs Postgres: set DYNOPILOT_TEST_DATABASE_URL=postgres://postgres@127.0.0.1:5432/test";

pub fn redis_url() -> String {
    std::env::var("DYNOPILOT_TEST_REDIS_URL").expect(NEEDS_REDIS)
}

pub fn postgres_url() -> String {
    std::env::var("DYNOPILOT_TEST_DATABASE_URL")
        .or_else(|_| std::env::var("DYNOPILOT_TEST_POSTGRES_URL"))
        .expect(NEEDS_POSTGRES)
}

pub fn unique(prefix: &str) -> String {
    format!("{prefix}{}", uuid::Uuid::new_v4().simple())
}

/// A fixed "now" well after the jobs' enqueue times.
pub fn now() -> Timestamp {
    Timestamp::from_secs(1_780_000_000)
}

pub fn spec(adapter: Adapter, url: &str, queues: &[&str], namespace: Option<&str>) -> SourceSpec {
    SourceSpec {
        adapter,
        url: url.to_owned(),
        queues: queues.iter().map(|q| (*q).to_owned()).collect(),
        namespace: namespace.map(str::to_owned),
        timeout: Duration::from_secs(2),
    }
}

pub async fn read(spec: SourceSpec) -> Snapshot {
    let source = QueueSource::new(spec).unwrap();
    let snapshot = source.read(now()).await.unwrap();
    source.close().await;
    snapshot
}
