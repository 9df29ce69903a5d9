//! Account, apps, Labs features and releases.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use super::{AppRef, NamedRef};

/// `GET /account`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Account {
    pub id: String,
    pub email: String,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub verified: Option<bool>,
    #[serde(default)]
    pub two_factor_authentication: Option<bool>,
    #[serde(default)]
    pub suspended_at: Option<Timestamp>,
    #[serde(default)]
    pub delinquent_at: Option<Timestamp>,
    #[serde(default)]
    pub created_at: Option<Timestamp>,
    #[serde(default)]
    pub updated_at: Option<Timestamp>,
}

/// `GET /account/rate-limits` (costs no token).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct RateLimits {
    pub remaining: u32,
}

/// `GET /apps`, `GET /apps/{app}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct App {
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub generation: Option<NamedRef>,
    #[serde(default)]
    pub maintenance: Option<bool>,
    #[serde(default)]
    pub owner: Option<AppOwner>,
    #[serde(default)]
    pub region: Option<NamedRef>,
    #[serde(default)]
    pub stack: Option<NamedRef>,
    #[serde(default)]
    pub space: Option<serde_json::Value>,
    #[serde(default)]
    pub team: Option<NamedRef>,
    #[serde(default)]
    pub web_url: Option<String>,
    #[serde(default)]
    pub released_at: Option<Timestamp>,
    #[serde(default)]
    pub created_at: Option<Timestamp>,
    #[serde(default)]
    pub updated_at: Option<Timestamp>,
}

/// `owner` of an app.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppOwner {
    pub id: String,
    #[serde(default)]
    pub email: Option<String>,
}

/// `GET /apps/{app}/features[/{name}]` (Heroku Labs, e.g. `log-runtime-metrics`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AppFeature {
    pub id: String,
    pub name: String,
    pub enabled: bool,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub doc_url: Option<String>,
    #[serde(default)]
    pub state: Option<String>,
    #[serde(default)]
    pub display_name: Option<String>,
    #[serde(default)]
    pub created_at: Option<Timestamp>,
    #[serde(default)]
    pub updated_at: Option<Timestamp>,
}

/// Who created a release.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReleaseUser {
    pub id: String,
    pub email: String,
}

/// `GET /apps/{app}/releases`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Release {
    pub id: String,
    pub version: u64,
    #[serde(default)]
    pub description: Option<String>,
    /// `failed`, `pending`, `succeeded` or `expired`.
    pub status: String,
    #[serde(default)]
    pub current: Option<bool>,
    #[serde(default)]
    pub user: Option<ReleaseUser>,
    #[serde(default)]
    pub app: Option<AppRef>,
    #[serde(default)]
    pub created_at: Option<Timestamp>,
    #[serde(default)]
    pub updated_at: Option<Timestamp>,
}
