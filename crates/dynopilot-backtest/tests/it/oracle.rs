//! The oracle is the floor: no policy is both cheaper and at most as late, and the oracle
//! itself keeps every step within the lateness goal.

use dynopilot_backtest::{Fidelity, Scenario, report};

use crate::support::{SHIPPED, shipped};

#[test]
fn no_policy_beats_the_oracle_on_cost_at_equal_or_lower_lateness() {
    let s = Scenario::default();
    let policies = report::all_policies();
    for name in SHIPPED {
        // The steepest two hours of each trace (flash crowd: its crowd; others: their start).
        let from = if name == "flash-crowd" { 1.5 } else { 0.0 };
        let trace = shipped(name, from, 2.0);
        let (rep, _) =
            report::compare(name, &trace, &s, Fidelity::Fast, &policies, &mut |_| {}).unwrap();
        let oracle = rep.rows.last().unwrap();
        assert_eq!(oracle.policy, "oracle");
        assert!(
            oracle.worst_step_late_pct <= 100.0 * s.late_goal + 1e-6,
            "{name}: the oracle let {}% of one step be late",
            oracle.worst_step_late_pct
        );
        for row in &rep.rows[..rep.rows.len() - 1] {
            let beats =
                row.cost_dollars < oracle.cost_dollars - 1e-9 && row.late_pct <= oracle.late_pct;
            assert!(
                !beats,
                "{name}: {} costs {} < oracle {} at {}% ≤ {}% late\n{}",
                row.policy,
                row.cost_dollars,
                oracle.cost_dollars,
                row.late_pct,
                oracle.late_pct,
                rep.table()
            );
        }
    }
}

#[test]
fn the_oracle_starts_new_dynos_a_boot_time_before_a_step() {
    // 100 rps for 10 minutes, then 600: the oracle must have the extra dynos up at the step,
    // so it has started them at least 45 s earlier.
    let trace =
        dynopilot_backtest::Trace::from_points(vec![(0.0, 100.0), (600.0, 600.0), (1200.0, 600.0)])
            .unwrap();
    let s = Scenario::default();
    let (rep, runs) =
        report::compare("step", &trace, &s, Fidelity::Fast, &[], &mut |_| {}).unwrap();
    let oracle = &runs[0];
    let before_step: Vec<_> = oracle.timeline.iter().filter(|p| p.t_s <= 600.0).collect();
    let at_step = before_step.last().unwrap();
    assert!(
        at_step.up > 2,
        "only {} up at the step\n{}",
        at_step.up,
        rep.table()
    );
    assert_eq!(rep.rows[0].late_pct, rep.rows[0].late_pct.min(0.5));
    assert_eq!(rep.rows[0].h12, 0);
}
