//! Add-ons of a simulated app: each app starts with one Heroku Postgres database attached as
//! `DATABASE`, so `heroku addons`, `apps:info` and `config` have what a real app shows.

use dynopilot_core::Timestamp;

use super::stable_id;

/// One add-on and its single attachment to the app that owns it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Addon {
    pub id: String,
    /// Heroku's generated name, e.g. `postgresql-rigid-04721`.
    pub name: String,
    /// `heroku-postgresql`.
    pub service: &'static str,
    /// `heroku-postgresql:essential-0`.
    pub plan: &'static str,
    /// Monthly price in cents.
    pub price_cents: u32,
    pub attachment_id: String,
    /// The attachment's name, also the config var prefix (`DATABASE` → `DATABASE_URL`).
    pub attachment_name: &'static str,
    /// Config vars the add-on sets on the app.
    pub config: Vec<(String, String)>,
    pub created_at: Timestamp,
}

impl Addon {
    /// The Essential-0 Postgres every simulated app has; names and credentials derive from the
    /// app so they stay the same across runs.
    pub fn postgres(app_id: &str, app_name: &str, now: Timestamp) -> Addon {
        let id = stable_id(&format!("{app_name}/addon/postgres"));
        let digits: String = id.chars().filter(char::is_ascii_digit).take(5).collect();
        let user: String = id
            .chars()
            .filter(char::is_ascii_alphabetic)
            .take(14)
            .collect();
        let hex: String = id.chars().filter(char::is_ascii_hexdigit).collect();
        let (database, password) = hex.split_at(hex.len().min(8));
        let url = format!(
            "postgres://u{user}:p{password}@c5hilnj7pn10vb.cluster-abc.us-east-1.rds.amazonaws.com:5432/d{database}"
        );
        Addon {
            name: format!("postgresql-rigid-{digits:0>5}"),
            service: "heroku-postgresql",
            plan: "heroku-postgresql:essential-0",
            price_cents: 500,
            attachment_id: stable_id(&format!("{app_id}/attachment/DATABASE")),
            attachment_name: "DATABASE",
            config: vec![("DATABASE_URL".to_string(), url)],
            created_at: now,
            id,
        }
    }
}
