//! Bad input is reported with what to fix: the CSV line, the missing or negative rate, the
//! scenario key, the unknown policy.

use dynopilot_backtest::{BacktestError, Fidelity, Scenario, Trace, report};

#[test]
fn a_bad_csv_row_names_its_line() {
    let err = Trace::from_csv("t_seconds,requests_per_second\n0,10\n60,abc\n").unwrap_err();
    assert_eq!(
        err.to_string(),
        "trace line 3: `abc` is not a number of requests per second"
    );
    let err = Trace::from_csv("0,10\n# note\n\n60,5\n30,5\n").unwrap_err();
    assert!(
        matches!(err, BacktestError::TraceLine { line: 5, .. }),
        "{err}"
    );
    let err = Trace::from_csv("0,10\nsixty,5\n").unwrap_err();
    assert_eq!(
        err.to_string(),
        "trace line 2: `sixty` is not a time in seconds"
    );
}

#[test]
fn negative_or_missing_rates_are_clear_errors() {
    let err = Trace::from_csv("0,10\n60,-3\n").unwrap_err();
    assert_eq!(
        err.to_string(),
        "trace line 2: rate -3 must be a finite number ≥ 0"
    );
    let err = Trace::from_csv("0,10\n60\n").unwrap_err();
    assert_eq!(err.to_string(), "trace line 2: the rate is missing");
    let err = Trace::from_csv("0,10\n60,\n").unwrap_err();
    assert_eq!(err.to_string(), "trace line 2: the rate is missing");
    let err = Trace::from_csv("t_seconds,requests_per_second\n").unwrap_err();
    assert_eq!(err.to_string(), "trace: no data rows");
}

#[test]
fn bad_scenarios_and_policies_name_what_to_fix() {
    let err = Scenario::from_toml("threads = 0\n").unwrap_err();
    assert_eq!(err.to_string(), "scenario `threads`: must be at least 1");
    let err = Scenario::from_toml("size = \"Huge-9X\"\n").unwrap_err();
    assert!(err.to_string().starts_with("scenario `size`:"), "{err}");
    let err = Scenario::from_toml("boot = 3\n").unwrap_err();
    assert!(err.to_string().contains("boot"), "{err}");
    let trace = Trace::from_points(vec![(0.0, 10.0)]).unwrap();
    let err = report::compare(
        "t",
        &trace,
        &Scenario::default(),
        Fidelity::Fast,
        &["kube".into()],
        &mut |_| {},
    )
    .unwrap_err();
    assert!(
        err.to_string()
            .starts_with("unknown policy `kube` (known: dynopilot,"),
        "{err}"
    );
}
