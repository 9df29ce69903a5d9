//! Platform API v3 JSON shapes, field names exactly as in Heroku's published schema.
//!
//! Response types tolerate unknown fields (serde's default) and treat most fields as optional
//! where the schema allows `null`, because Heroku adds fields over time and older apps omit some.
//! Timestamps stay as `jiff::Timestamp` (RFC 3339 on the wire).

use serde::{Deserialize, Serialize};

mod app;
mod dyno;
mod formation;
mod logs;

pub use app::{Account, App, AppFeature, AppOwner, RateLimits, Release, ReleaseUser};
pub use dyno::{Dyno, DynoCreate, DynoSizeCost, DynoSizeInfo, ReleaseRef};
pub use formation::{
    DynoSizeRef, Formation, FormationBatchItem, FormationBatchUpdate, FormationUpdate,
};
pub use logs::{AddonRef, LogDrain, LogDrainCreate, LogSession, LogSessionCreate};

/// `{id, name}` reference to an app, as embedded in formations, dynos, drains and releases.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppRef {
    pub id: String,
    pub name: String,
}

/// `{id, name}` reference used by `region`, `stack`, `generation` and similar embedded objects.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NamedRef {
    #[serde(default)]
    pub id: Option<String>,
    #[serde(default)]
    pub name: Option<String>,
}

/// Heroku's error body: `{"id": "not_found", "message": "…", "url": "…"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    pub id: String,
    pub message: String,
    #[serde(default)]
    pub url: Option<String>,
}
