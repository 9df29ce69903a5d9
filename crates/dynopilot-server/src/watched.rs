//! The apps the daemon watches right now, with their policies: fixed at start for listed apps,
//! changed while running by discovery (`crate::discovery`). The runner, the pollers and the web
//! side read it; a generation number tells the runner when to pick up a change.

use std::collections::BTreeMap;
use std::sync::RwLock;
use std::sync::atomic::{AtomicU64, Ordering};

use dynopilot_core::policy;

#[derive(Debug, Default)]
pub struct WatchedApps {
    apps: RwLock<BTreeMap<String, policy::Config>>,
    generation: AtomicU64,
}

impl WatchedApps {
    pub fn new(apps: BTreeMap<String, policy::Config>) -> Self {
        WatchedApps {
            apps: RwLock::new(apps),
            generation: AtomicU64::new(0),
        }
    }

    /// The policy of `app`, when it is watched.
    pub fn get(&self, app: &str) -> Option<policy::Config> {
        self.apps.read().ok()?.get(app).cloned()
    }

    pub fn contains(&self, app: &str) -> bool {
        self.apps.read().is_ok_and(|apps| apps.contains_key(app))
    }

    /// Watched app names, sorted.
    pub fn names(&self) -> Vec<String> {
        self.apps
            .read()
            .map(|apps| apps.keys().cloned().collect())
            .unwrap_or_default()
    }

    pub fn len(&self) -> usize {
        self.apps.read().map(|apps| apps.len()).unwrap_or(0)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn snapshot(&self) -> BTreeMap<String, policy::Config> {
        self.apps
            .read()
            .map(|apps| apps.clone())
            .unwrap_or_default()
    }

    /// Changes with every insert or removal.
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// Starts watching `app` (or replaces its policy).
    pub fn insert(&self, app: &str, config: policy::Config) {
        if let Ok(mut apps) = self.apps.write() {
            apps.insert(app.to_owned(), config);
            self.generation.fetch_add(1, Ordering::AcqRel);
        }
    }

    /// Stops watching `app`; false when it was not watched.
    pub fn remove(&self, app: &str) -> bool {
        let Ok(mut apps) = self.apps.write() else {
            return false;
        };
        let removed = apps.remove(app).is_some();
        if removed {
            self.generation.fetch_add(1, Ordering::AcqRel);
        }
        removed
    }
}
