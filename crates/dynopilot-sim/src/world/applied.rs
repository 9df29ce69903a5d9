//! The simulator's own record of writes that landed in the world (restarts, stops, formation
//! changes, one-off dynos, config vars, features), with whether the client's answer was faulted. Served as JSON at
//! `GET /_sim/actions` so tests and people can count what really happened.

use dynopilot_core::Timestamp;
use serde::Serialize;

/// What kind of write landed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AppliedKind {
    RestartDyno,
    RestartProcessType,
    RestartAll,
    StopDyno,
    StopProcessType,
    FormationUpdate,
    DynoCreate,
    ConfigVarsUpdate,
    FeatureUpdate,
}

/// A value before and after a change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FromTo<T> {
    pub from: T,
    pub to: T,
}

/// One write that changed the simulated world.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AppliedAction {
    /// 1, 2, 3… in the order the writes landed.
    pub seq: u64,
    #[serde(serialize_with = "rfc3339")]
    pub at: Timestamp,
    pub app: String,
    pub kind: AppliedKind,
    /// The dyno (`web.1`, `run.1001`), the process type (`web`) or `all`.
    pub target: String,
    /// What changed, in words (`restarted`, `quantity 2 → 3`).
    pub change: String,
    /// Set for formation updates that changed the quantity.
    pub quantity: Option<FromTo<u32>>,
    /// Set for formation updates that changed the size.
    pub size: Option<FromTo<String>>,
    /// The request that made the change (`DELETE /apps/shop/dynos/web.1`).
    pub request: String,
    /// `None` when the client got the real answer; else what it got instead
    /// (`"503"`, `"reset"`): the write landed but the answer was lost.
    pub faulted: Option<String>,
}

fn rfc3339<S: serde::Serializer>(at: &Timestamp, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(&at.to_jiff())
}

impl AppliedAction {
    /// A change to `target` of `app`; the HTTP layer fills in `seq`, `at`, `request` and
    /// `faulted` when it records it.
    pub fn new(kind: AppliedKind, app: &str, target: &str, change: impl Into<String>) -> Self {
        AppliedAction {
            seq: 0,
            at: Timestamp::from_millis(0),
            app: app.to_string(),
            kind,
            target: target.to_string(),
            change: change.into(),
            quantity: None,
            size: None,
            request: String::new(),
            faulted: None,
        }
    }
}
