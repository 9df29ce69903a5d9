//! Renders the summary for a person: aligned sections, the worst things first within each.

use std::fmt::Write as _;

use super::input::InputStats;
use super::summary::{DynoStats, KINDS, Summary, TrafficStats};

/// How many timeline entries are printed (the rest are counted).
const TIMELINE_SHOWN: usize = 200;
/// How many shapes of unknown lines are printed.
const SHAPES_SHOWN: usize = 10;

pub fn render(summary: &Summary, stats: &InputStats, inputs: usize) -> String {
    let mut out = String::new();
    let kinds: Vec<String> = KINDS
        .iter()
        .zip(summary.kinds)
        .filter(|(_, n)| *n > 0)
        .map(|(k, n)| format!("{k} {n}"))
        .collect();
    let _ = writeln!(
        out,
        "Read {} input(s), {:.1} MB, {} log entries ({})",
        inputs,
        stats.bytes as f64 / 1e6,
        stats.entries + stats.unknown_lines,
        if kinds.is_empty() {
            "none".to_owned()
        } else {
            kinds.join(", ")
        }
    );
    dynos(&mut out, summary);
    traffic(&mut out, summary);
    errors(&mut out, summary);
    timeline(&mut out, summary);
    unknown(&mut out, summary);
    problems(&mut out, summary, stats);
    out
}

fn unknown(out: &mut String, summary: &Summary) {
    let _ = writeln!(out, "\nNot understood (kind unknown)");
    let total = summary.kinds[KINDS.len() - 1];
    if total == 0 {
        let _ = writeln!(out, "  none: every line was read and named");
        return;
    }
    let shapes = summary.unknown.by_count();
    let _ = writeln!(
        out,
        "  {total} line(s) in {} shape(s){}; most frequent first:",
        shapes.len(),
        if summary.unknown.unshaped > 0 {
            format!(" (+{} of further shapes)", summary.unknown.unshaped)
        } else {
            String::new()
        }
    );
    for (shape, count, example) in shapes.iter().take(SHAPES_SHOWN) {
        let _ = writeln!(out, "  {count:>10}  {shape}");
        let _ = writeln!(out, "  {:>10}  e.g. {example}", "");
    }
    if shapes.len() > SHAPES_SHOWN {
        let _ = writeln!(
            out,
            "  … and {} more shape(s) (use --json: kind \"unknown\", fields.shape)",
            shapes.len() - SHAPES_SHOWN
        );
    }
}

fn dynos(out: &mut String, summary: &Summary) {
    let _ = writeln!(out, "\nDynos (memory from log-runtime-metrics)");
    if summary.dynos.is_empty() {
        let _ = writeln!(
            out,
            "  no memory or load samples: is the log-runtime-metrics feature enabled?"
        );
        return;
    }
    let _ = writeln!(
        out,
        "  {:<24} {:>10} {:>10} {:>10} {:>7} {:>10} {:>11} {:>6}",
        "dyno", "peak MB", "last MB", "quota MB", "peak %", "peak swap", "load pk/last", "boots"
    );
    for (name, d) in &summary.dynos {
        let _ = writeln!(
            out,
            "  {:<24} {:>10} {:>10} {:>10} {:>7} {:>10.1} {:>11} {:>6}{}",
            name,
            mb(d.memory_samples, d.peak_memory_mb),
            opt(d.last_memory_mb, 1),
            opt(d.quota_mb, 0),
            if d.peak_quota_pct > 0.0 {
                format!("{:.0}%", d.peak_quota_pct)
            } else {
                "-".into()
            },
            d.peak_swap_mb,
            load(d),
            d.instances,
            if d.peak_quota_pct >= 100.0 {
                "  over quota"
            } else {
                ""
            }
        );
    }
}

fn mb(samples: u64, v: f64) -> String {
    if samples == 0 {
        "-".into()
    } else {
        format!("{v:.1}")
    }
}

fn opt(v: Option<f64>, decimals: usize) -> String {
    v.map_or_else(|| "-".into(), |v| format!("{v:.decimals$}"))
}

fn load(d: &DynoStats) -> String {
    match d.last_load {
        Some(last) => format!("{:.2}/{last:.2}", d.peak_load),
        None => "-".into(),
    }
}

fn traffic(out: &mut String, summary: &Summary) {
    let _ = writeln!(out, "\nRequests by process type (router)");
    if summary.process_types.is_empty() {
        let _ = writeln!(out, "  no router lines");
        return;
    }
    for (name, t) in &summary.process_types {
        let c = &t.status_classes;
        let _ = writeln!(
            out,
            "  {name:<12} {} requests  2xx {}  3xx {}  4xx {}  5xx {}{}",
            t.requests,
            c[2],
            c[3],
            c[4],
            c[5],
            if c[1] + c[0] > 0 {
                format!("  other {}", c[1] + c[0])
            } else {
                String::new()
            }
        );
        let _ = writeln!(out, "  {:<12} service {}", "", percentiles(t, true));
        let _ = writeln!(out, "  {:<12} connect {}", "", percentiles(t, false));
    }
}

fn percentiles(t: &TrafficStats, service: bool) -> String {
    let sketch = if service {
        &t.service_ms
    } else {
        &t.connect_ms
    };
    if sketch.is_empty() {
        return "no samples".into();
    }
    let q = |p: f64| {
        sketch
            .quantile(p)
            .map_or_else(|| "-".into(), |v| format!("{v:.0}"))
    };
    format!(
        "p50 {} ms  p95 {} ms  p99 {} ms  max {} ms",
        q(0.5),
        q(0.95),
        q(0.99),
        q(1.0)
    )
}

fn errors(out: &mut String, summary: &Summary) {
    let _ = writeln!(out, "\nErrors by code");
    if summary.errors.is_empty() {
        let _ = writeln!(out, "  none");
        return;
    }
    let mut sorted: Vec<_> = summary.errors.iter().collect();
    sorted.sort_by(|a, b| b.1.count.cmp(&a.1.count).then(a.0.cmp(b.0)));
    for (code, e) in sorted {
        let _ = writeln!(
            out,
            "  {code:<5} {:>10}  {}",
            e.count,
            e.desc.as_deref().unwrap_or("")
        );
    }
}

fn timeline(out: &mut String, summary: &Summary) {
    let _ = writeln!(
        out,
        "\nTimeline (restarts, crashes, exits, releases, scaling)"
    );
    if summary.timeline.is_empty() {
        let _ = writeln!(out, "  nothing happened");
        return;
    }
    for e in summary.timeline.iter().take(TIMELINE_SHOWN) {
        let _ = writeln!(out, "  {}  {:<14} {}", e.timestamp, e.process, e.what);
    }
    let hidden =
        (summary.timeline.len().saturating_sub(TIMELINE_SHOWN)) as u64 + summary.timeline_dropped;
    if hidden > 0 {
        let _ = writeln!(out, "  … and {hidden} more (use --json for all)");
    }
}

fn problems(out: &mut String, summary: &Summary, stats: &InputStats) {
    let _ = writeln!(out, "\nInput problems");
    let mut any = false;
    let mut line = |n: u64, what: &str| {
        if n > 0 {
            any = true;
            let _ = writeln!(out, "  {n} {what}");
        }
    };
    line(
        stats.frame_issues,
        "drain framing issue(s) (skipped or recovered)",
    );
    line(
        stats.unknown_lines,
        "line(s) that are not log lines (kept as kind unknown, see above)",
    );
    line(stats.oversized_lines, "line(s) over 1 MB (skipped)");
    line(
        summary.not_utf8,
        "message(s) that are not valid UTF-8 (counted as other)",
    );
    if let Some(first) = &stats.first_frame_issue {
        let _ = writeln!(out, "  first framing issue: {first}");
    }
    for e in &stats.read_errors {
        any = true;
        let _ = writeln!(out, "  read error: {e}");
    }
    if !any {
        let _ = writeln!(out, "  none");
    }
}
