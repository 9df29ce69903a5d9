//! Re-implementations of the autoscalers people use today, with their documented default
//! parameters, each in its own module citing the behaviour it reproduces (facts from
//! `prior-art.md`). They see what their product would see, through the backtest's `View`.

mod heartbeat;
mod heroku_native;
mod hirefire;
mod judoscale;
mod static_peak;
mod swop;

pub use heartbeat::Heartbeat;
pub use heroku_native::HerokuNative;
pub use hirefire::HireFire;
pub use judoscale::Judoscale;
pub use static_peak::StaticPeak;
pub use swop::Swop;

use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};

use crate::engine::{Controller, Observed, View};

pub const NAMES: [&str; 6] = [
    "heartbeat-streak",
    "swop-trend",
    "heroku-native",
    "judoscale",
    "hirefire",
    "static-peak",
];

/// A peer by name; `peak` is the fleet a static formation keeps (the oracle's largest).
pub fn by_name(name: &str, seed: u64, peak: u32) -> Option<Box<dyn Controller>> {
    Some(match name {
        "heartbeat-streak" => Box::new(Heartbeat::new(seed)),
        "swop-trend" => Box::new(Swop::new(seed)),
        "heroku-native" => Box::new(HerokuNative::default()),
        "judoscale" => Box::new(Judoscale::default()),
        "hirefire" => Box::new(HireFire::default()),
        "static-peak" => Box::new(StaticPeak::new(peak)),
        _ => return None,
    })
}

/// One synthetic request's response time, as a ping at `view.now_s` would measure it: a
/// random point of the latest step's distribution.
pub(crate) fn ping(view: &View<'_>, rng: &mut SmallRng) -> Option<f64> {
    let last: &Observed = view.recent.back()?;
    let i = rng.random_range(0..last.response_ms.len());
    Some(last.response_ms[i])
}

pub(crate) fn rng(seed: u64, salt: u64) -> SmallRng {
    SmallRng::seed_from_u64(seed ^ salt)
}

/// The p95 of queue wait over the steps of `[since_s, now]`, request-weighted.
pub(crate) fn wait_p95(view: &View<'_>, since_s: f64) -> Option<f64> {
    let steps: Vec<&Observed> = view.since(since_s).filter(|o| o.requests > 0.0).collect();
    if steps.is_empty() {
        return None;
    }
    let mut h = crate::histogram::Histogram::default();
    for o in steps {
        for w in o.wait_ms {
            h.add(w, o.requests);
        }
    }
    h.quantile(0.95)
}

/// The p95 of response time over `[since_s, now]`, request-weighted.
pub(crate) fn response_p95(view: &View<'_>, since_s: f64) -> Option<f64> {
    let mut h = crate::histogram::Histogram::default();
    for o in view.since(since_s).filter(|o| o.requests > 0.0) {
        for r in o.response_ms {
            h.add(r, o.requests);
        }
    }
    h.quantile(0.95)
}
