//! The properties Heroku's schema declares that dynopilot's client never reads: the simulator
//! still sends them, so a response has the full documented shape (see the schema test).

use std::ops::Deref;

use dynopilot_heroku::wire::NamedRef;
use serde::Serialize;

/// A client wire type with the schema's remaining properties beside it in the same object.
#[derive(Debug, Serialize)]
pub struct WithExtras<T, E> {
    #[serde(flatten)]
    pub base: T,
    #[serde(flatten)]
    pub extras: E,
}

impl<T, E> Deref for WithExtras<T, E> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.base
    }
}

#[derive(Debug, Serialize)]
pub struct AccountExtras {
    pub allow_tracking: bool,
    pub beta: bool,
    pub country_of_residence: Option<String>,
    pub default_organization: Option<NamedRef>,
    pub default_team: Option<NamedRef>,
    pub federated: bool,
    pub identity_provider: Option<NamedRef>,
    pub last_login: Option<jiff::Timestamp>,
    pub sms_number: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct AppExtras {
    pub acm: bool,
    pub archived_at: Option<jiff::Timestamp>,
    pub build_stack: Option<NamedRef>,
    pub buildpack_provided_description: Option<String>,
    pub git_url: String,
    pub internal_routing: Option<bool>,
    pub organization: Option<NamedRef>,
    pub repo_size: Option<u64>,
    pub slug_size: Option<u64>,
}

#[derive(Debug, Serialize)]
pub struct FeatureExtras {
    pub feedback_email: String,
}

#[derive(Debug, Serialize)]
pub struct SlugRef {
    pub id: String,
}

#[derive(Debug, Serialize)]
pub struct ReleaseArtifact {
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub id: String,
}

#[derive(Debug, Serialize)]
pub struct ReleaseExtras {
    pub addon_plan_names: Vec<String>,
    pub artifacts: Vec<ReleaseArtifact>,
    pub eligible_for_rollback: bool,
    pub output_stream_url: Option<String>,
    pub slug: Option<SlugRef>,
}

/// Heroku's Enterprise consumption unit: the known values per size (pricing page, 2019 table);
/// sizes without a published figure get their price relative to Standard-1X's.
pub fn precise_dyno_units(name: &str, monthly_cents: u32) -> f64 {
    match name {
        "Eco" => 0.0,
        "Basic" => 0.28,
        "Standard-1X" => 1.0,
        "Standard-2X" => 2.0,
        "Performance-M" => 8.0,
        "Performance-L" => 16.0,
        _ => (f64::from(monthly_cents) / 2500.0 * 100.0).round() / 100.0,
    }
}
