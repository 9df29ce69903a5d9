//! The job libraries dynopilot can read, by the name used in the config file.

use std::fmt;

/// A job library and the store it keeps its queues in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Adapter {
    Sidekiq,
    Rq,
    Celery,
    Resque,
    GoodJob,
    Que,
    SolidQueue,
    DelayedJob,
}

impl Adapter {
    pub const ALL: [Adapter; 8] = [
        Adapter::Sidekiq,
        Adapter::Rq,
        Adapter::Celery,
        Adapter::Resque,
        Adapter::GoodJob,
        Adapter::Que,
        Adapter::SolidQueue,
        Adapter::DelayedJob,
    ];

    pub fn parse(s: &str) -> Option<Adapter> {
        Adapter::ALL.into_iter().find(|a| a.as_str() == s)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Adapter::Sidekiq => "sidekiq",
            Adapter::Rq => "rq",
            Adapter::Celery => "celery",
            Adapter::Resque => "resque",
            Adapter::GoodJob => "good_job",
            Adapter::Que => "que",
            Adapter::SolidQueue => "solid_queue",
            Adapter::DelayedJob => "delayed_job",
        }
    }

    /// Whether the library keeps its queues in Redis (else Postgres).
    pub fn uses_redis(self) -> bool {
        matches!(
            self,
            Adapter::Sidekiq | Adapter::Rq | Adapter::Celery | Adapter::Resque
        )
    }

    /// Whether the `namespace` setting means anything to the library's keys.
    pub fn namespaced(self) -> bool {
        matches!(self, Adapter::Sidekiq | Adapter::Resque | Adapter::Celery)
    }

    /// The URL schemes a source of this library accepts.
    pub fn schemes(self) -> &'static [&'static str] {
        if self.uses_redis() {
            &["redis", "rediss"]
        } else {
            &["postgres", "postgresql"]
        }
    }
}

impl fmt::Display for Adapter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
