//! Platform API v3 JSON shapes, field names exactly as in Heroku's published schema.
//!
//! Response types tolerate unknown fields (serde's default) and treat most fields as optional
//! where the schema allows `null`, because Heroku adds fields over time and older apps omit some.
//! Timestamps stay as `jiff::Timestamp` (RFC 3339 on the wire).

use std::collections::BTreeMap;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

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

/// A formation's `dyno_size`: `{id}` or `{name}` when sent, both when received.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DynoSizeRef {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

impl DynoSizeRef {
    pub fn named(name: impl Into<String>) -> Self {
        DynoSizeRef {
            id: None,
            name: Some(name.into()),
        }
    }
}

/// `GET /apps/{app}/formation[/{type}]`: the desired quantity and size of one process type.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Formation {
    pub id: String,
    #[serde(rename = "type")]
    pub process_type: String,
    pub quantity: u32,
    /// Deprecated by Heroku in favour of `dyno_size`, still sent (e.g. `"Standard-1X"`).
    #[serde(default)]
    pub size: Option<String>,
    #[serde(default)]
    pub dyno_size: Option<DynoSizeRef>,
    #[serde(default)]
    pub command: Option<String>,
    pub app: AppRef,
    #[serde(default)]
    pub created_at: Option<Timestamp>,
    #[serde(default)]
    pub updated_at: Option<Timestamp>,
}

impl Formation {
    /// The size name, preferring `dyno_size.name` over the deprecated `size`.
    pub fn size_name(&self) -> Option<&str> {
        self.dyno_size
            .as_ref()
            .and_then(|d| d.name.as_deref())
            .or(self.size.as_deref())
    }
}

/// Body of `PATCH /apps/{app}/formation/{type}`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FormationUpdate {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quantity: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dyno_size: Option<DynoSizeRef>,
}

impl FormationUpdate {
    pub fn quantity(quantity: u32) -> Self {
        FormationUpdate {
            quantity: Some(quantity),
            dyno_size: None,
        }
    }

    pub fn size(name: impl Into<String>) -> Self {
        FormationUpdate {
            quantity: None,
            dyno_size: Some(DynoSizeRef::named(name)),
        }
    }

    pub fn with_size(mut self, name: impl Into<String>) -> Self {
        self.dyno_size = Some(DynoSizeRef::named(name));
        self
    }
}

/// One element of a batch formation update.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FormationBatchItem {
    #[serde(rename = "type")]
    pub process_type: String,
    #[serde(flatten)]
    pub update: FormationUpdate,
}

/// Body of `PATCH /apps/{app}/formation`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FormationBatchUpdate {
    pub updates: Vec<FormationBatchItem>,
}

/// `{id, version}` of the release a dyno runs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReleaseRef {
    pub id: String,
    pub version: u64,
}

/// `GET /apps/{app}/dynos[/{dyno}]`, `POST /apps/{app}/dynos`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Dyno {
    pub id: String,
    pub name: String,
    #[serde(rename = "type")]
    pub process_type: String,
    /// `crashed`, `down`, `idle`, `starting` or `up` (kept as text: Heroku may add states).
    pub state: String,
    #[serde(default)]
    pub size: Option<String>,
    #[serde(default)]
    pub command: Option<String>,
    #[serde(default)]
    pub release: Option<ReleaseRef>,
    #[serde(default)]
    pub app: Option<AppRef>,
    #[serde(default)]
    pub attach_url: Option<String>,
    #[serde(default)]
    pub created_at: Option<Timestamp>,
    /// When the dyno last changed state.
    #[serde(default)]
    pub updated_at: Option<Timestamp>,
}

/// Body of `POST /apps/{app}/dynos` (a one-off dyno).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DynoCreate {
    pub command: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attach: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub env: Option<BTreeMap<String, String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub force_no_tty: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<String>,
    /// Seconds until the dyno expires; Heroku's maximum is 86400.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_to_live: Option<u32>,
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub process_type: Option<String>,
}

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

/// Price of a dyno size.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DynoSizeCost {
    #[serde(default)]
    pub cents: Option<i64>,
    #[serde(default)]
    pub unit: Option<String>,
}

/// `GET /dyno-sizes`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DynoSizeInfo {
    #[serde(default)]
    pub id: Option<String>,
    pub name: String,
    /// Gigabytes.
    pub memory: f64,
    /// Minimum vCPUs.
    #[serde(default)]
    pub compute: Option<u32>,
    #[serde(default)]
    pub cost: Option<DynoSizeCost>,
    #[serde(default)]
    pub dedicated: bool,
    #[serde(default)]
    pub precise_dyno_units: Option<f64>,
    #[serde(default)]
    pub private_space_only: Option<bool>,
    #[serde(default)]
    pub architecture: Option<String>,
    #[serde(default)]
    pub generation: Option<NamedRef>,
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

/// Heroku's error body: `{"id": "not_found", "message": "…", "url": "…"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    pub id: String,
    pub message: String,
    #[serde(default)]
    pub url: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formation_reads_schema_example_and_ignores_unknown_fields() {
        let json = r#"{"app":{"name":"example","id":"01234567-89ab-cdef-0123-456789abcdef"},
            "command":"bundle exec rails server -p $PORT","created_at":"2012-01-01T12:00:00Z",
            "dyno_size":{"id":"abc","name":"Standard-2X"},"id":"f1","quantity":2,
            "size":"standard-1X","type":"web","updated_at":"2012-01-01T12:00:00Z","surprise":[1]}"#;
        let f: Formation = serde_json::from_str(json).unwrap();
        assert_eq!(f.process_type, "web");
        assert_eq!(f.quantity, 2);
        assert_eq!(f.size_name(), Some("Standard-2X"));
        assert_eq!(f.app.name, "example");
    }

    #[test]
    fn batch_update_serialises_type_and_dyno_size_only_when_set() {
        let body = FormationBatchUpdate {
            updates: vec![
                FormationBatchItem {
                    process_type: "web".into(),
                    update: FormationUpdate::quantity(3).with_size("Performance-M"),
                },
                FormationBatchItem {
                    process_type: "worker".into(),
                    update: FormationUpdate::quantity(0),
                },
            ],
        };
        let v = serde_json::to_value(&body).unwrap();
        assert_eq!(
            v,
            serde_json::json!({"updates":[
                {"type":"web","quantity":3,"dyno_size":{"name":"Performance-M"}},
                {"type":"worker","quantity":0}]})
        );
    }

    #[test]
    fn dyno_create_omits_unset_fields() {
        let body = DynoCreate {
            command: "bash".into(),
            attach: Some(true),
            time_to_live: Some(600),
            ..DynoCreate::default()
        };
        let v = serde_json::to_value(&body).unwrap();
        assert_eq!(
            v,
            serde_json::json!({"command":"bash","attach":true,"time_to_live":600})
        );
    }

    #[test]
    fn dyno_with_null_attach_url_and_release() {
        let json = r#"{"id":"d1","name":"web.1","type":"web","state":"up","size":"standard-1X",
            "command":"puma","attach_url":null,"release":{"id":"r1","version":11},
            "created_at":"2024-01-01T09:00:00Z","updated_at":"2024-01-01T09:01:00.123Z"}"#;
        let d: Dyno = serde_json::from_str(json).unwrap();
        assert_eq!(d.attach_url, None);
        assert_eq!(d.release.map(|r| r.version), Some(11));
        assert!(d.updated_at.is_some());
    }

    #[test]
    fn dyno_size_with_null_cost() {
        let json = r#"{"id":"s","name":"Performance-M","memory":2.5,"compute":2,"cost":null,
            "dedicated":true,"precise_dyno_units":8.0,"private_space_only":false}"#;
        let s: DynoSizeInfo = serde_json::from_str(json).unwrap();
        assert_eq!(s.cost, None);
        assert!(s.dedicated);
        assert!((s.memory - 2.5).abs() < f64::EPSILON);
    }
}
