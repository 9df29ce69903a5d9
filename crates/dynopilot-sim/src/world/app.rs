//! One simulated app: its metadata, Labs features, config vars, add-ons, releases, drains,
//! one-off dynos, log history and the physics that runs its formation.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use dynopilot_core::Timestamp;

use super::addon::Addon;
use super::physics::Physics;
use crate::drain::DrainOutlet;
use crate::logs::{AppLog, LogRecord};
use crate::shell::fs::SimFs;

/// A Heroku Labs feature of an app.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Feature {
    pub id: String,
    pub name: String,
    pub description: String,
    pub enabled: bool,
    /// `general` for generally available features (`heroku features`), `beta` for Labs
    /// (`heroku labs`).
    pub state: &'static str,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// The features every simulated app has: name, description, state.
pub const FEATURES: &[(&str, &str, &str)] = &[
    (
        "log-runtime-metrics",
        "Emit dyno resource usage information into app logs",
        "beta",
    ),
    ("preboot", "Provide seamless web dyno deploys", "general"),
    (
        "http-routing-2-dot-0",
        "Use Router 2.0 for routing HTTP requests",
        "beta",
    ),
];

/// One entry of `GET /apps/{app}/releases`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReleaseRecord {
    pub id: String,
    pub version: u64,
    pub description: String,
    pub user_email: String,
    pub user_id: String,
    pub created_at: Timestamp,
    /// The config vars this release runs with.
    pub config: BTreeMap<String, String>,
}

/// A log drain and the outlet its delivery task reads.
#[derive(Debug)]
pub struct Drain {
    pub id: String,
    pub url: String,
    pub token: String,
    pub created_at: Timestamp,
    pub outlet: Arc<DrainOutlet>,
}

/// A one-off dyno (`heroku run`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OneOff {
    pub id: String,
    pub name: String,
    pub command: String,
    pub size: String,
    pub attach_url: Option<String>,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
}

/// One app of the world.
pub struct SimApp {
    pub id: String,
    pub name: String,
    pub owner_id: String,
    pub region: String,
    pub stack: String,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub features: Vec<Feature>,
    pub config_vars: BTreeMap<String, String>,
    pub addons: Vec<Addon>,
    pub physics: Box<dyn Physics>,
    pub releases: Vec<ReleaseRecord>,
    pub drains: Vec<Drain>,
    pub log: AppLog,
    pub one_offs: Vec<OneOff>,
    /// The files every new dyno starts with (seeded by tests through `PUT /_sim/apps/{app}/files`).
    pub image: SimFs,
    /// Each one-off dyno's own files, as its command left them, by dyno name.
    pub dyno_files: BTreeMap<String, SimFs>,
    /// Formation changes are refused (409) until then, as during a preboot deploy.
    pub preboot_until: Option<Timestamp>,
}

impl std::fmt::Debug for SimApp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SimApp")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

impl SimApp {
    pub fn new(name: &str, owner_id: &str, physics: Box<dyn Physics>, now: Timestamp) -> SimApp {
        let features = FEATURES
            .iter()
            .map(|(name, description, state)| Feature {
                id: uuid::Uuid::new_v4().to_string(),
                name: (*name).to_string(),
                description: (*description).to_string(),
                enabled: false,
                state,
                created_at: now,
                updated_at: now,
            })
            .collect();
        let id = uuid::Uuid::new_v4().to_string();
        let postgres = Addon::postgres(&id, name, now);
        let config_vars = postgres.config.clone().into_iter().collect();
        SimApp {
            id,
            name: name.to_string(),
            owner_id: owner_id.to_string(),
            region: "us".to_string(),
            stack: "heroku-24".to_string(),
            created_at: now,
            updated_at: now,
            features,
            config_vars,
            addons: vec![postgres],
            physics,
            releases: Vec::new(),
            drains: Vec::new(),
            log: AppLog::default(),
            one_offs: Vec::new(),
            image: SimFs::default(),
            dyno_files: BTreeMap::new(),
            preboot_until: None,
        }
    }

    /// Records a line in the history, for tailing sessions and every drain.
    pub fn emit(&mut self, record: LogRecord) {
        emit_to(&mut self.log, &self.drains, record);
    }

    /// Runs the physics up to `now`, fanning its lines out; expires one-off dynos.
    pub fn advance(&mut self, now: Timestamp) {
        let SimApp {
            physics,
            log,
            drains,
            ..
        } = self;
        physics.advance_to(now, &mut |record| emit_to(log, drains, record));
        let expired: Vec<OneOff> = self
            .one_offs
            .iter()
            .filter(|o| o.expires_at <= now)
            .cloned()
            .collect();
        for one_off in expired {
            self.complete_one_off(&one_off.id, one_off.expires_at);
        }
        if self.preboot_until.is_some_and(|t| t <= now) {
            self.preboot_until = None;
        }
    }

    /// Crashes one formation dyno at `now` (see `Physics::crash_dyno`); its lines go out at once.
    /// False when there is no such dyno or the physics cannot crash one.
    pub fn crash_dyno(&mut self, now: Timestamp, dyno: &str, restart_after: Duration) -> bool {
        self.advance(now);
        let crashed = self.physics.crash_dyno(now, dyno, restart_after);
        self.advance(now);
        crashed.is_ok()
    }

    /// A one-off dyno finished: it leaves the dyno list with a `complete` line.
    pub fn complete_one_off(&mut self, id: &str, at: Timestamp) {
        let Some(i) = self.one_offs.iter().position(|o| o.id == id) else {
            return;
        };
        let one_off = self.one_offs.remove(i);
        self.emit(LogRecord::new(
            at,
            "heroku",
            one_off.name.as_str(),
            "State changed from up to complete",
        ));
    }

    /// A new release with the current config vars, as Heroku makes on a config change:
    /// the `app[api]` line saying what changed, then every dyno restarts onto it.
    pub fn release(&mut self, now: Timestamp, description: &str, user: (&str, &str)) -> u64 {
        let (user_id, user_email) = user;
        self.emit(LogRecord::new(
            now,
            "app",
            "api",
            format!("{description} by user {user_email}"),
        ));
        let version = self.physics.release(now, description, user_email);
        self.releases.push(ReleaseRecord {
            id: uuid::Uuid::new_v4().to_string(),
            version,
            description: description.to_string(),
            user_email: user_email.to_string(),
            user_id: user_id.to_string(),
            created_at: now,
            config: self.config_vars.clone(),
        });
        self.updated_at = now;
        version
    }

    pub fn feature(&self, name: &str) -> Option<&Feature> {
        self.features
            .iter()
            .find(|f| f.name == name || f.id == name)
    }

    pub fn feature_mut(&mut self, name: &str) -> Option<&mut Feature> {
        self.features
            .iter_mut()
            .find(|f| f.name == name || f.id == name)
    }

    /// A drain by id, URL or token.
    pub fn drain_index(&self, key: &str) -> Option<usize> {
        self.drains
            .iter()
            .position(|d| d.id == key || d.url == key || d.token == key)
    }
}

fn emit_to(log: &mut AppLog, drains: &[Drain], record: LogRecord) {
    let record = Arc::new(record);
    for drain in drains {
        drain.outlet.push(Arc::clone(&record));
    }
    log.push(record);
}
