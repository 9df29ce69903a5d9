//! A dyno's files as the simulator models them: regular files and symbolic links by absolute
//! path, each with a size and a modification time, so a `find -mmin` has ages to compare.
//! Directories exist implicitly as the parents of their entries.

use std::collections::BTreeMap;

use dynopilot_core::Timestamp;
use serde::{Deserialize, Serialize};

/// One entry of a dyno's filesystem.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub size: u64,
    pub modified: Timestamp,
    /// Set for a symbolic link (its target, never followed by the simulator).
    pub symlink_to: Option<String>,
}

/// A filesystem: entries by absolute path.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SimFs {
    pub entries: BTreeMap<String, Entry>,
}

/// One file as `PUT /_sim/apps/{app}/files` takes it.
#[derive(Debug, Clone, Deserialize)]
pub struct FileSeed {
    pub path: String,
    #[serde(default)]
    pub size: u64,
    /// Seconds since the last modification, counted from the moment of the `PUT`.
    #[serde(default)]
    pub age_secs: u64,
    #[serde(default)]
    pub symlink_to: Option<String>,
}

/// One file as `GET /_sim/apps/{app}/dynos/{dyno}/files` shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FileView {
    pub path: String,
    pub size: u64,
    pub age_secs: u64,
    pub symlink_to: Option<String>,
}

impl SimFs {
    /// Files from seeds, aged relative to `now`; a relative path or one with `..` is refused.
    pub fn from_seeds(seeds: &[FileSeed], now: Timestamp) -> Result<SimFs, String> {
        let mut fs = SimFs::default();
        for seed in seeds {
            let clean = seed.path.starts_with('/')
                && !seed.path.ends_with('/')
                && seed.path.split('/').all(|c| c != ".." && c != ".");
            if !clean {
                return Err(format!("path {:?} is not a clean absolute path", seed.path));
            }
            let modified = now.minus(std::time::Duration::from_secs(seed.age_secs));
            fs.entries.insert(
                seed.path.clone(),
                Entry {
                    size: seed.size,
                    modified,
                    symlink_to: seed.symlink_to.clone(),
                },
            );
        }
        Ok(fs)
    }

    /// Every entry, ages relative to `now`.
    pub fn view(&self, now: Timestamp) -> Vec<FileView> {
        self.entries
            .iter()
            .map(|(path, e)| FileView {
                path: path.clone(),
                size: e.size,
                age_secs: now.since(e.modified).as_secs(),
                symlink_to: e.symlink_to.clone(),
            })
            .collect()
    }
}
