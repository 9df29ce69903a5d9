//! Same trace, scenario and seed: byte-identical JSON, for both fidelities.

use dynopilot_backtest::{Fidelity, Scenario, report};

use crate::support::shipped;

#[test]
fn same_seed_gives_byte_identical_json() {
    let trace = shipped("flash-crowd", 1.8, 0.5);
    let s = Scenario::default();
    let policies = report::all_policies();
    let json = |f| {
        let (rep, _) = report::compare("flash", &trace, &s, f, &policies, &mut |_| {}).unwrap();
        rep.json()
    };
    let first = json(Fidelity::Fast);
    assert_eq!(first, json(Fidelity::Fast));
    assert!(
        first.contains("\"policy\": \"heartbeat-streak\""),
        "{first}"
    );
    let short = trace.range(0.0, Some(600.0)).unwrap();
    let exact = |seed| {
        let s = Scenario {
            seed,
            ..Scenario::default()
        };
        report::compare(
            "flash",
            &short,
            &s,
            Fidelity::Exact,
            &["dynopilot".into()],
            &mut |_| {},
        )
        .unwrap()
        .0
        .json()
    };
    assert_eq!(exact(7), exact(7));
    assert_ne!(
        exact(7),
        exact(8),
        "a different seed draws different requests"
    );
}
