//! log-runtime-metrics samples (memory and load) and `Process running mem=…` lines.

use super::units;
use crate::logfmt::{self, split_number};

/// A memory sample of one dyno instance. Values in MB, page counters in pages.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct MemorySample<'a> {
    /// `source=` (the formation name, e.g. `web.1`).
    pub source: Option<&'a str>,
    /// `dyno=heroku.N.uuid`: one boot of one dyno; it changes on every restart.
    pub dyno_id: Option<&'a str>,
    pub total_mb: Option<f64>,
    pub rss_mb: Option<f64>,
    pub cache_mb: Option<f64>,
    pub swap_mb: Option<f64>,
    pub pgpgin_pages: Option<u64>,
    pub pgpgout_pages: Option<u64>,
    pub quota_mb: Option<f64>,
    /// Percent of quota: as written by `Process running`, else total ÷ quota.
    pub quota_pct: Option<f64>,
}

/// A load-average sample of one dyno instance.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct LoadSample<'a> {
    pub source: Option<&'a str>,
    pub dyno_id: Option<&'a str>,
    pub avg_1m: Option<f64>,
    pub avg_5m: Option<f64>,
    pub avg_15m: Option<f64>,
}

/// What a runtime-metrics line held.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum RuntimeSample<'a> {
    Memory(MemorySample<'a>),
    Load(LoadSample<'a>),
}

/// Parses `source=web.1 dyno=… sample#memory_total=…` and the 2013 `measure=load_avg_1m val=…`.
pub fn parse(message: &str) -> Option<RuntimeSample<'_>> {
    let mut memory = MemorySample::default();
    let mut load = LoadSample::default();
    let (mut saw_memory, mut saw_load) = (false, false);
    let mut measure = None;
    for pair in logfmt::pairs(message) {
        let Some(value) = pair.value else { continue };
        let name = pair.key.strip_prefix("sample#").unwrap_or(pair.key);
        match name {
            "source" => (memory.source, load.source) = (Some(value), Some(value)),
            "dyno" => (memory.dyno_id, load.dyno_id) = (Some(value), Some(value)),
            "measure" => measure = Some(value),
            "val" => {
                if let Some(name) = measure.take() {
                    let matched = assign_memory(&mut memory, name, value);
                    saw_memory |= matched;
                    saw_load |= !matched && assign_load(&mut load, name, value);
                }
            }
            _ => {
                let matched = assign_memory(&mut memory, name, value);
                saw_memory |= matched;
                saw_load |= !matched && assign_load(&mut load, name, value);
            }
        }
    }
    if saw_memory {
        if let (Some(total), Some(quota)) = (memory.total_mb, memory.quota_mb.filter(|q| *q > 0.0))
        {
            memory.quota_pct = Some(total / quota * 100.0);
        }
        Some(RuntimeSample::Memory(memory))
    } else if saw_load {
        Some(RuntimeSample::Load(load))
    } else {
        None
    }
}

fn assign_memory(m: &mut MemorySample<'_>, name: &str, value: &str) -> bool {
    let slot = match name {
        "memory_total" => &mut m.total_mb,
        "memory_rss" => &mut m.rss_mb,
        "memory_cache" => &mut m.cache_mb,
        "memory_swap" => &mut m.swap_mb,
        "memory_quota" => &mut m.quota_mb,
        "memory_pgpgin" | "memory_pgin" => {
            m.pgpgin_pages = units::pages(value);
            return true;
        }
        "memory_pgpgout" | "memory_pgout" => {
            m.pgpgout_pages = units::pages(value);
            return true;
        }
        _ => return false,
    };
    *slot = units::memory_mb(value);
    true
}

fn assign_load(l: &mut LoadSample<'_>, name: &str, value: &str) -> bool {
    let slot = match name {
        "load_avg_1m" => &mut l.avg_1m,
        "load_avg_5m" => &mut l.avg_5m,
        "load_avg_15m" => &mut l.avg_15m,
        _ => return false,
    };
    *slot = split_number(value).map(|(n, _)| n);
    true
}

/// Parses `Process running mem=594M(109.6%)` (also `mem=1028MB(103.3%)`).
pub fn parse_process_running(message: &str) -> Option<MemorySample<'static>> {
    let rest = message.strip_prefix("Process running mem=")?;
    let open = rest.find('(')?;
    let total = units::memory_mb(&rest[..open])?;
    let pct = rest[open + 1..].strip_suffix("%)")?.parse::<f64>().ok()?;
    Some(MemorySample {
        total_mb: Some(total),
        quota_pct: Some(pct),
        ..MemorySample::default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_sample_with_quota() {
        let Some(RuntimeSample::Memory(m)) = parse(
            "source=web.1 dyno=heroku.54241834.4b88c98d-6243-4194-af49-8db9b53be371 sample#memory_total=154.85MB sample#memory_rss=139.79MB sample#memory_cache=3.63MB sample#memory_swap=11.43MB sample#memory_pgpgin=80522pages sample#memory_pgpgout=53004pages sample#memory_quota=512.00MB",
        ) else {
            panic!("not memory")
        };
        assert_eq!(m.source, Some("web.1"));
        assert_eq!(
            m.dyno_id,
            Some("heroku.54241834.4b88c98d-6243-4194-af49-8db9b53be371")
        );
        assert_eq!(m.total_mb, Some(154.85));
        assert_eq!(m.swap_mb, Some(11.43));
        assert_eq!(m.pgpgin_pages, Some(80522));
        assert_eq!(m.quota_mb, Some(512.0));
        assert!((m.quota_pct.unwrap() - 30.244).abs() < 0.01);
    }

    #[test]
    fn load_sample_partial_and_legacy() {
        let Some(RuntimeSample::Load(l)) =
            parse("source=run.1 dyno=heroku.1.a sample#load_avg_1m=1.36")
        else {
            panic!("not load")
        };
        assert_eq!((l.avg_1m, l.avg_5m), (Some(1.36), None));
        let Some(RuntimeSample::Load(l)) = parse("measure=load_avg_1m val=2.46") else {
            panic!("not legacy load")
        };
        assert_eq!(l.avg_1m, Some(2.46));
    }

    #[test]
    fn process_running() {
        let m = parse_process_running("Process running mem=594M(109.6%)").unwrap();
        assert_eq!((m.total_mb, m.quota_pct), (Some(594.0), Some(109.6)));
        let m = parse_process_running("Process running mem=1028MB(103.3%)").unwrap();
        assert_eq!(m.total_mb, Some(1028.0));
        assert!(parse_process_running("Process running mem=lots").is_none());
    }
}
