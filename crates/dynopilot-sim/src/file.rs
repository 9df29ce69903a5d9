//! The simulator's TOML file (`dynopilot sim --config sim.toml`): port, number of demo apps and
//! the `[faults]` table, whose rules use the `--faults` syntax and its one validator.

use serde::Deserialize;
use toml::Spanned;

use crate::faults::{FaultPlan, FaultSpecError};

/// What the file sets; anything unset is left to the command line or its defaults.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SimFile {
    pub port: Option<u16>,
    pub apps: Option<u32>,
    pub faults: FaultPlan,
}

/// Why a simulator file cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SimFileError {
    /// Bad TOML, an unknown key or a value of the wrong type (toml's message names the line).
    #[error("{source_name}: {message}")]
    Toml {
        source_name: String,
        message: String,
    },
    #[error(transparent)]
    Fault(#[from] FaultSpecError),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    port: Option<u16>,
    apps: Option<u32>,
    faults: Option<RawFaults>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFaults {
    #[serde(default)]
    seed: u64,
    #[serde(default)]
    rules: Vec<Spanned<String>>,
}

impl SimFile {
    /// Parses the file's `text`; `source_name` (its path) starts every error.
    pub fn from_toml(text: &str, source_name: &str) -> Result<SimFile, SimFileError> {
        let raw: RawFile = toml::from_str(text).map_err(|e| SimFileError::Toml {
            source_name: source_name.to_string(),
            message: e.to_string().trim_end().to_string(),
        })?;
        let mut faults = FaultPlan::default();
        if let Some(table) = raw.faults {
            faults.seed = table.seed;
            for (i, rule) in table.rules.iter().enumerate() {
                let line = text[..rule.span().start].matches('\n').count() + 1;
                let origin = format!("{source_name}:{line} (faults.rules[{i}])");
                let before = faults.rules.len();
                faults.add_spec(rule.get_ref(), &origin)?;
                if faults.rules.len() != before + 1 {
                    return Err(FaultSpecError {
                        origin,
                        column: 1,
                        key: "rules".to_string(),
                        message: "each entry is exactly one fault rule; set the seed with `seed =`"
                            .to_string(),
                    }
                    .into());
                }
            }
        }
        Ok(SimFile {
            port: raw.port,
            apps: raw.apps,
            faults,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_documented_example_parses() {
        let text = include_str!("../../../docs/sim.example.toml");
        let file = SimFile::from_toml(text, "sim.example.toml").unwrap();
        assert_eq!(file.port, Some(5050));
        assert_eq!(file.faults.seed, 42);
        assert_eq!(file.faults.rules.len(), 3);
        assert_eq!(
            file.faults.rules[0].to_string(),
            "apply-then-fail=1:DELETE /apps/*/dynos/*:count=1"
        );
    }

    #[test]
    fn a_bad_rule_names_the_file_line_key_and_column() {
        let text = "[faults]\nseed = 3\nrules = [\n  \"latency=50ms\",\n  \"5xx=1.5:PATCH\",\n]\n";
        let err = SimFile::from_toml(text, "sim.toml").unwrap_err();
        assert_eq!(
            err.to_string(),
            "sim.toml:5 (faults.rules[1]), column 1: `5xx`: rate must be between 0 and 1, got 1.5"
        );
        let err =
            SimFile::from_toml("[faults]\nrules = [\"reset=0.1,latency=1s\"]\n", "s").unwrap_err();
        assert!(err.to_string().contains("exactly one fault rule"), "{err}");
    }

    #[test]
    fn an_unknown_key_names_it_and_its_line() {
        let err = SimFile::from_toml("port = 1\n[faults]\nrate = 0.5\n", "sim.toml").unwrap_err();
        let text = err.to_string();
        assert!(text.starts_with("sim.toml: "), "{text}");
        assert!(text.contains("line 3"), "{text}");
        assert!(text.contains("unknown field `rate`"), "{text}");
    }
}
