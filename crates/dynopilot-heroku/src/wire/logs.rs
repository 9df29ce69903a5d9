//! Log sessions and log drains.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use super::AppRef;

/// Body of `POST /apps/{app}/log-sessions`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogSessionCreate {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dyno_name: Option<String>,
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub process_type: Option<String>,
    /// `app` or `heroku`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lines: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tail: Option<bool>,
}

/// Response of `POST /apps/{app}/log-sessions`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LogSession {
    pub id: String,
    pub logplex_url: String,
    #[serde(default)]
    pub created_at: Option<Timestamp>,
    #[serde(default)]
    pub updated_at: Option<Timestamp>,
}

/// Body of `POST /apps/{app}/log-drains`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogDrainCreate {
    pub url: String,
}

/// Add-on owning a drain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AddonRef {
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub app: Option<AppRef>,
}

/// `GET /apps/{app}/log-drains`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LogDrain {
    pub id: String,
    pub url: String,
    /// Drain token such as `d.01234567-…`; Logplex puts it in the `Logplex-Drain-Token` header.
    pub token: String,
    #[serde(default)]
    pub addon: Option<AddonRef>,
    #[serde(default)]
    pub app: Option<AppRef>,
    #[serde(default)]
    pub created_at: Option<Timestamp>,
    #[serde(default)]
    pub updated_at: Option<Timestamp>,
}
