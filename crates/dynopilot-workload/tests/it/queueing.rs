//! Queueing against theory: one dyno is an M/M/c queue; random routing over n dynos queues more
//! than one shared M/M/(n·c) queue would.

use dynopilot_workload::ServiceDistribution;

use crate::support::{erlang_c_wait, mean_queue_ms, queueing, run, web};

#[test]
fn erlang_c_formula_matches_known_values() {
    // M/M/1: Wq = ρ/(μ−λ); M/M/2 with a = 1: C = 1/3, Wq = C/(2μ−λ).
    assert!((erlang_c_wait(1, 0.5, 1.0) - 1.0).abs() < 1e-12);
    assert!((erlang_c_wait(2, 1.0, 1.0) - 1.0 / 3.0).abs() < 1e-12);
}

#[test]
fn one_dyno_mean_wait_matches_erlang_c() {
    // c = 4 threads, mean service 100 ms (μ = 10/s), λ = 30/s: ρ = 0.75.
    let mean_ms = 100.0;
    let median_ms = mean_ms * std::f64::consts::LN_2;
    let config = queueing(
        30.0,
        median_ms,
        ServiceDistribution::Exponential,
        web(1, 4, "Standard-1X"),
    );
    let (model, _) = run(config, 8 * 3_600, 3_600);
    let simulated = mean_queue_ms(&model, 2);
    let theory = erlang_c_wait(4, 30.0, 10.0) * 1_000.0;
    let error = (simulated - theory).abs() / theory;
    assert!(
        error < 0.05,
        "simulated {simulated:.2} ms vs Erlang C {theory:.2} ms"
    );
}

#[test]
fn random_routing_queues_more_than_one_shared_queue() {
    // 4 dynos × 2 threads, ρ = 0.7: each dyno is an M/M/2 with a quarter of the traffic.
    let (lambda, mu) = (56.0, 10.0);
    let median_ms = 100.0 * std::f64::consts::LN_2;
    let config = queueing(
        lambda,
        median_ms,
        ServiceDistribution::Exponential,
        web(4, 2, "Standard-1X"),
    );
    let (model, _) = run(config, 4 * 3_600, 3_600);
    let simulated = mean_queue_ms(&model, 2);
    let pooled = erlang_c_wait(8, lambda, mu) * 1_000.0;
    let split = erlang_c_wait(2, lambda / 4.0, mu) * 1_000.0;
    assert!(
        simulated > 2.0 * pooled,
        "random {simulated:.2} ms vs pooled {pooled:.2} ms"
    );
    let error = (simulated - split).abs() / split;
    assert!(
        error < 0.1,
        "random {simulated:.2} ms vs 4 × M/M/2 {split:.2} ms"
    );
}

#[test]
fn a_bigger_size_serves_the_cpu_part_faster() {
    let median = |size: &str| {
        let config = queueing(5.0, 200.0, ServiceDistribution::Lognormal, web(1, 4, size));
        let (model, _) = run(config, 1_800, 600);
        model.truth().totals().latency.quantile(0.5).unwrap()
    };
    let (small, large) = (median("Standard-1X"), median("Performance-M"));
    // Half the time is CPU; Performance-M speeds it up 3× (the configured cap).
    let expected = 200.0 * (0.5 / 3.0 + 0.5);
    assert!(
        (small - 200.0).abs() / 200.0 < 0.05,
        "Standard-1X p50 {small}"
    );
    assert!(
        (large - expected).abs() / expected < 0.05,
        "Performance-M p50 {large}"
    );
}

#[test]
fn overload_ends_in_h12_after_thirty_seconds() {
    // One thread, 2 s requests, 1 rps: the queue grows without bound.
    let config = queueing(
        1.0,
        2_000.0,
        ServiceDistribution::Lognormal,
        web(1, 1, "Standard-1X"),
    );
    let (model, sink) = run(config, 600, 600);
    let totals = model.truth().totals();
    let h12 = totals.codes.get("H12").copied().unwrap_or(0);
    assert!(h12 > 100, "H12 count {h12}");
    let line = sink
        .lines
        .iter()
        .find(|l| l.message.contains("code=H12"))
        .expect("an H12 line");
    assert!(line.message.contains("desc=\"Request timeout\""));
    assert!(line.message.contains("service=30000ms status=503 bytes=0"));
}

#[test]
fn sampled_queue_time_lines_report_the_true_queue_from_the_serving_dyno() {
    let median_ms = 100.0 * std::f64::consts::LN_2;
    let mut config = queueing(
        56.0,
        median_ms,
        ServiceDistribution::Exponential,
        web(4, 2, "Standard-1X"),
    );
    config.queue_time_sampling = 0.1;
    let (model, sink) = run(config, 3_600, 600);

    let logged: Vec<f64> = sink
        .lines
        .iter()
        .filter(|l| l.source == "app" && l.message.starts_with("measure#queue_time="))
        .map(|l| {
            assert!(l.process.starts_with("web."), "{}", l.process);
            let value = &l.message["measure#queue_time=".len()..];
            value.trim_end_matches("ms").parse::<f64>().unwrap()
        })
        .collect();
    let truth = model.truth().totals();
    let share = logged.len() as f64 / truth.queue.count() as f64;
    assert!((share - 0.1).abs() < 0.01, "sampled share {share:.3}");
    let logged_mean = logged.iter().sum::<f64>() / logged.len() as f64;
    let true_mean = truth.queue.sum() / truth.queue.count() as f64;
    assert!(
        (logged_mean - true_mean).abs() / true_mean < 0.1,
        "logged mean {logged_mean:.2} ms vs true {true_mean:.2} ms"
    );
}
