//! Fuzzes configuration loading: any text, TOML or not, goes through parsing, environment
//! overrides and validation into a config or into errors that each name where they are; never
//! a panic. A config that loads can be shown (`config show`, secrets masked).
#![no_main]

use std::collections::BTreeMap;

use dynopilot_server::config::Config;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let env = BTreeMap::new();
    match Config::load(text, "fuzz.toml", &env) {
        Ok(config) => {
            let shown = config.show();
            assert!(!shown.is_empty());
        }
        Err(errors) => {
            assert!(!errors.errors.is_empty(), "an error without a message");
            let _ = errors.to_string();
        }
    }
});
