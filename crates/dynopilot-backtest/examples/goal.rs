//! The goal table: every shipped trace rescaled so its peak needs 20 dynos at 70 %
//! busy, every policy, fast model; then whether the default policy meets the goal on each.
//!
//! `cargo run --release -p dynopilot-backtest --example goal [-- TRACE… | --only dynopilot,…]`

use dynopilot_backtest::{Fidelity, Report, Scenario, Trace, report};

const TRACES: [&str; 5] = [
    "flash-crowd",
    "slow-ramp",
    "noisy-plateau",
    "on-off-batch",
    "diurnal-week",
];

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (only, names): (Vec<&String>, Vec<&String>) =
        args.iter().partition(|a| a.starts_with("--only="));
    let policies: Vec<String> = match only.first() {
        Some(o) => o
            .trim_start_matches("--only=")
            .split(',')
            .map(str::to_owned)
            .collect(),
        None => report::all_policies(),
    };
    let traces: Vec<&str> = if names.is_empty() {
        TRACES.to_vec()
    } else {
        names.iter().map(|s| s.as_str()).collect()
    };
    let s = Scenario::default();
    let mut verdicts = Vec::new();
    for name in traces {
        let path = format!(
            "{}/../../samples/traces/{name}.csv",
            env!("CARGO_MANIFEST_DIR")
        );
        let trace = Trace::from_csv(&std::fs::read_to_string(&path)?)?
            .rescaled_to_peak(s.rps_for(20, 0.7))?;
        let (rep, _) = report::compare(name, &trace, &s, Fidelity::Fast, &policies, &mut |_| {})?;
        println!("{}", rep.table());
        verdicts.push(verdict(&rep));
    }
    println!(
        "trace            ≤0.5% late  ≤oracle+25%  fewer late than every peer        no peer cheaper and less late"
    );
    for v in verdicts {
        println!("{v}");
    }
    Ok(())
}

/// The goal's four checks for `dynopilot` against the peers (not dynopilot's other configs).
fn verdict(rep: &Report) -> String {
    let Some(d) = rep.rows.iter().find(|r| r.policy == "dynopilot") else {
        return format!("{:<16} (dynopilot not run)", rep.trace);
    };
    let peers = rep
        .rows
        .iter()
        .filter(|r| !r.policy.starts_with("dynopilot") && r.policy != "oracle");
    let less_late: Vec<String> = peers
        .clone()
        .filter(|r| r.late_pct <= d.late_pct)
        .map(|r| {
            format!(
                "{} {:.3}% at {:.2}×",
                r.policy, r.late_pct, r.cost_vs_oracle
            )
        })
        .collect();
    let dominating: Vec<&str> = peers
        .filter(|r| r.late_pct < d.late_pct && r.cost_dollars < d.cost_dollars)
        .map(|r| r.policy.as_str())
        .collect();
    format!(
        "{:<16} {:<11} {:<12} {:<33} {}",
        rep.trace,
        format!(
            "{} {:.3}",
            if d.late_pct <= 0.5 { "yes" } else { "NO" },
            d.late_pct
        ),
        format!(
            "{} {:.2}",
            if d.cost_vs_oracle <= 1.25 {
                "yes"
            } else {
                "NO"
            },
            d.cost_vs_oracle
        ),
        if less_late.is_empty() {
            "yes".to_owned()
        } else {
            format!("no: {}", less_late.join(", "))
        },
        if dominating.is_empty() {
            "yes".to_owned()
        } else {
            format!("NO: {}", dominating.join(", "))
        },
    )
}
