//! Formation: desired quantity and size per process type, and its update bodies.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use super::AppRef;

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
}
