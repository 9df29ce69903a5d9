//! Configuration loading, overrides and validation.

mod alert_routes;
mod alerts;
mod auth;
mod bounds;
mod clean;
mod env;
mod errors;
mod example;
mod fleet;
mod probes;
mod queues;
mod show;

use std::collections::BTreeMap;

use dynopilot_server::config::{Config, ConfigErrors};

pub fn env(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

pub fn load(text: &str) -> Result<Config, ConfigErrors> {
    Config::load(text, "dynopilot.toml", &BTreeMap::new())
}

pub fn load_err(text: &str) -> ConfigErrors {
    match load(text) {
        Ok(_) => panic!("expected errors for:\n{text}"),
        Err(e) => e,
    }
}

/// The (line, message) reported for `key`, failing with every error when there is none.
pub fn at(errors: &ConfigErrors, key: &str) -> (usize, String) {
    let e = errors
        .find(key)
        .unwrap_or_else(|| panic!("no error for `{key}`; got:\n{errors}"));
    (e.line().unwrap_or(0), e.message.clone())
}
