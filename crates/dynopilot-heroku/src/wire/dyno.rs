//! Dynos, one-off dyno creation and the dyno size catalogue.

use std::collections::BTreeMap;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use super::{AppRef, NamedRef};

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

#[cfg(test)]
mod tests {
    use super::*;

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
