//! 24 simulated hours at 500 requests per second with per-request routing, logged to a sink
//! that counts lines without formatting them. Prints wall seconds and simulated requests/s.

use dynopilot_core::Timestamp;
use dynopilot_workload::{CountingSink, Model, TrafficPattern, WorkloadConfig};

fn config() -> WorkloadConfig {
    let mut cfg = WorkloadConfig::demo();
    cfg.traffic = TrafficPattern::Constant { rps: 500.0 };
    if let Some(web) = cfg.process_types.iter_mut().find(|p| p.name == "web") {
        web.quantity = 12;
    }
    cfg
}

#[allow(clippy::disallowed_methods)] // benches measure wall time
fn main() {
    let start = Timestamp::from_secs(1_700_000_000);
    let mut model = match Model::new(config(), start) {
        Ok(m) => m,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(1);
        }
    };
    let mut sink = CountingSink::default();
    let began = std::time::Instant::now();
    // Hour-sized steps, as a backtest would drive it.
    for hour in 1..=24 {
        model.advance_to(
            Timestamp::from_secs(1_700_000_000 + hour * 3_600),
            &mut sink,
        );
    }
    let secs = began.elapsed().as_secs_f64();
    let totals = model.truth().totals();
    println!(
        "24h @ 500 rps: {} requests, {} router lines, {} other lines in {secs:.2} s ({:.0} requests/s); p50 {:.0} ms p99 {:.0} ms",
        totals.requests,
        sink.router,
        sink.other,
        totals.requests as f64 / secs,
        totals.latency.quantile(0.5).unwrap_or(0.0),
        totals.latency.quantile(0.99).unwrap_or(0.0),
    );
}
