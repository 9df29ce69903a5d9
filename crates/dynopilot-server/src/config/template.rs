//! Policy templates: the built-in default (memory guard + zombie restart for every process type),
//! and the key-by-key merge of an app's own policy keys over the template.

use dynopilot_core::policy::{
    self, EscalationConfig, GuardrailsConfig, MemoryGuardConfig, NotifyConfig, ProcessTypeConfig,
    ZombieConfig,
};

use super::raw::PolicyTemplate;

/// Keys that select an enum variant: a table whose tag changes is replaced, not merged, since
/// the fields of one variant are unknown to another.
const TAG_KEYS: [&str; 2] = ["algorithm", "type"];

impl PolicyTemplate {
    /// What every app gets when nothing else is configured: restart dynos that leak memory or go
    /// silent, under the default guardrails, and escalate (an alert; an upsize only with an
    /// explicit max size) when restarts do not fix a leak. Nothing scales without explicit
    /// configuration.
    pub fn builtin() -> Self {
        PolicyTemplate {
            time_zone: Some("UTC".to_owned()),
            guardrails: Some(GuardrailsConfig::default()),
            notify: Some(NotifyConfig::default()),
            process_type_defaults: Some(ProcessTypeConfig {
                memory_guard: Some(MemoryGuardConfig::default()),
                zombie: Some(ZombieConfig::default()),
                escalation: Some(EscalationConfig::default()),
                ..ProcessTypeConfig::default()
            }),
            process_types: Default::default(),
            rules: Vec::new(),
        }
    }
}

/// A template resolved to typed policy: what an app gets before its own overrides.
#[derive(Clone, Debug, PartialEq)]
pub struct ResolvedPolicy {
    /// The app's policy; `process_types` holds the listed types, each over the defaults.
    pub policy: policy::Config,
    /// Applies to process types the app runs but the config doesn't list.
    pub process_type_defaults: Option<ProcessTypeConfig>,
}

/// Deep-merges `over` into `base`: tables merge key by key, everything else is replaced.
pub fn merge(base: &mut toml::Table, over: &toml::Table) {
    for (k, v) in over {
        match (base.get_mut(k), v) {
            (Some(toml::Value::Table(b)), toml::Value::Table(o)) if !tag_changes(b, o) => {
                merge(b, o);
            }
            _ => {
                base.insert(k.clone(), v.clone());
            }
        }
    }
}

fn tag_changes(base: &toml::Table, over: &toml::Table) -> bool {
    TAG_KEYS
        .iter()
        .any(|t| matches!((base.get(*t), over.get(*t)), (Some(a), Some(b)) if a != b))
}

/// The policy of app `name`: `overrides` (the app's own policy keys) merged over `template`,
/// with `process_type_defaults` merged under every listed process type.
pub fn resolve(
    name: &str,
    template: &toml::Table,
    overrides: &toml::Table,
) -> Result<ResolvedPolicy, String> {
    let mut table = template.clone();
    merge(&mut table, overrides);
    let defaults = match table.remove("process_type_defaults") {
        Some(toml::Value::Table(t)) => Some(t),
        _ => None,
    };
    if let (Some(defaults), Some(toml::Value::Table(types))) =
        (&defaults, table.get_mut("process_types"))
    {
        for (_, value) in types.iter_mut() {
            if let toml::Value::Table(own) = value {
                let mut merged = defaults.clone();
                merge(&mut merged, own);
                *own = merged;
            }
        }
    }
    table.insert("app".to_owned(), toml::Value::String(name.to_owned()));
    let policy: policy::Config = table.try_into().map_err(|e| e.message().to_owned())?;
    let process_type_defaults = defaults
        .map(|t| t.try_into::<ProcessTypeConfig>())
        .transpose()
        .map_err(|e| e.message().to_owned())?;
    Ok(ResolvedPolicy {
        policy,
        process_type_defaults,
    })
}

impl ResolvedPolicy {
    /// The policy for an app running `process_types`: listed types as configured, the others
    /// with `process_type_defaults` (if any).
    pub fn policy_for<'a>(
        &self,
        process_types: impl IntoIterator<Item = &'a str>,
    ) -> policy::Config {
        let mut policy = self.policy.clone();
        if let Some(defaults) = &self.process_type_defaults {
            for name in process_types {
                policy
                    .process_types
                    .entry(name.to_owned())
                    .or_insert_with(|| defaults.clone());
            }
        }
        policy
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(s: &str) -> toml::Table {
        toml::from_str(s).unwrap()
    }

    #[test]
    fn merges_tables_key_by_key_and_replaces_arrays() {
        let mut base = table("a = 1\nlist = [1, 2]\n[t]\nx = 1\ny = 2\n");
        merge(&mut base, &table("list = [3]\n[t]\ny = 5\n"));
        assert_eq!(base, table("a = 1\nlist = [3]\n[t]\nx = 1\ny = 5\n"));
    }

    #[test]
    fn a_changed_tag_replaces_the_table() {
        let mut base = table("[s]\nalgorithm = \"target\"\ntarget = 1.0\n");
        merge(&mut base, &table("[s]\nalgorithm = \"queue\"\n"));
        assert_eq!(base, table("[s]\nalgorithm = \"queue\"\n"));
    }

    #[test]
    fn listed_process_types_inherit_the_defaults() {
        let template = toml::Table::try_from(PolicyTemplate::builtin()).unwrap();
        let own =
            table("[process_types.web]\nmax = 4\n[process_types.web.memory_guard]\nsamples = 5\n");
        let r = resolve("shop", &template, &own).unwrap();
        let web = &r.policy.process_types["web"];
        assert_eq!(web.max, Some(4));
        assert_eq!(web.memory_guard.as_ref().unwrap().samples, 5);
        assert_eq!(
            web.memory_guard.as_ref().unwrap().cooldown,
            MemoryGuardConfig::default().cooldown
        );
        assert!(web.zombie.is_some());
        let all = r.policy_for(["web", "worker"]);
        assert_eq!(all.process_types["web"].max, Some(4));
        assert_eq!(
            all.process_types["worker"],
            r.process_type_defaults.clone().unwrap()
        );
    }
}
