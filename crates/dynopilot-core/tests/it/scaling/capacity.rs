//! The `capacity` algorithm over hours of router windows: a batch that repeats every two hours
//! is met before it starts once the pattern has been seen twice (not before: nothing is known
//! of the future), a steep ramp is extrapolated over the boot time, a queue already built up
//! is served on top of new requests, and a noisy plateau neither learns a pattern nor flaps.

use dynopilot_core::Timestamp;
use dynopilot_core::scaling::{
    AlgoState, CapacityConfig, HorizontalConfig, HorizontalInput, RouterLoad, recommend,
};

use super::support::at;

const BOOT_S: i64 = 45;

/// A formation fed one router window every 10 s by `rate(t)` (and `queue(t)` ms of queue
/// time), executing each recommendation with a boot time.
struct Run {
    config: HorizontalConfig,
    state: AlgoState,
    windows: Vec<RouterLoad>,
    current: u32,
    /// Ready times of dynos still booting.
    booting: Vec<i64>,
    last_up: Option<Timestamp>,
    last_down: Option<Timestamp>,
    /// `(t, quantity, reason)` of every change.
    changes: Vec<(i64, u32, String)>,
    /// The last evaluation (s).
    t: i64,
}

impl Run {
    fn new(current: u32) -> Self {
        Run {
            config: HorizontalConfig::Capacity(CapacityConfig::default()),
            state: AlgoState::default(),
            windows: Vec::new(),
            current,
            booting: Vec::new(),
            last_up: None,
            last_down: None,
            changes: vec![(0, current, "initial".to_owned())],
            t: 0,
        }
    }

    fn until(&mut self, end_s: i64, rate: impl Fn(i64) -> f64, queue: impl Fn(i64) -> f64) {
        let start = self.t + 10;
        for t in (start..=end_s).step_by(10) {
            self.step(t, rate(t - 5), queue(t - 5));
        }
    }

    fn step(&mut self, t: i64, rps: f64, queue_ms: f64) -> u32 {
        self.t = t;
        let now = at(t);
        self.booting.retain(|ready| *ready > t);
        self.windows.push(RouterLoad {
            at: now,
            rps,
            service_mean_ms: 100.0 + queue_ms,
            queue_mean_ms: queue_ms,
            answered: (rps * 10.0) as u64,
        });
        let keep = self.windows.len().saturating_sub(30);
        self.windows.drain(..keep);
        let booting = self.booting.len() as u32;
        let input = HorizontalInput {
            now,
            current: self.current,
            booting,
            up: self.current - booting,
            samples: &[],
            queue: None,
            router: &self.windows,
            last_scale_up: self.last_up,
            last_scale_down: self.last_down,
        };
        let (rec, state) = recommend(&self.config, &input, &self.state);
        self.state = state;
        let desired = rec.desired.min(60);
        if desired > self.current {
            self.booting.extend(std::iter::repeat_n(
                t + BOOT_S,
                (desired - self.current) as usize,
            ));
            self.last_up = Some(now);
        } else if desired < self.current {
            let keep = self
                .booting
                .len()
                .saturating_sub((self.current - desired) as usize);
            self.booting.truncate(keep);
            self.last_down = Some(now);
        }
        if desired != self.current {
            self.changes.push((t, desired, rec.reason.to_string()));
        }
        self.current = desired;
        desired
    }

    /// Dynos serving at `t` (booted), from the change log.
    fn quantity_at(&self, t: i64) -> u32 {
        self.changes
            .iter()
            .rev()
            .find(|(c, _, _)| *c <= t)
            .map_or(0, |(_, q, _)| *q)
    }
}

fn none(_: i64) -> f64 {
    0.0
}

/// 30 minutes of batch traffic every two hours over a quiet base, changing at the minute.
fn batches(t: i64) -> f64 {
    if (t / 60) % 120 < 30 { 1000.0 } else { 200.0 }
}

#[test]
fn a_repeating_batch_is_met_before_it_starts_once_seen_twice() {
    let mut run = Run::new(20);
    run.until(2 * 3600 - 120, batches, none);
    // The second batch (2 h): one batch seen, no period proven yet: it is met after it starts.
    let before_second = run.quantity_at(2 * 3600 - BOOT_S);
    assert!(
        before_second < 8,
        "{before_second} dynos before the second batch"
    );
    run.until(4 * 3600 + 600, batches, none);
    let reacted = run
        .changes
        .iter()
        .find(|(t, q, _)| *t >= 2 * 3600 && *q >= 20);
    assert!(
        reacted.is_some_and(|(t, _, _)| *t > 2 * 3600),
        "{:?}",
        run.changes
    );
    // The third batch (4 h): the two-hour period held, so the dynos were started a boot time
    // ahead and are up when it begins.
    let (t, q, why) = run
        .changes
        .iter()
        .find(|(t, q, _)| *t > 4 * 3600 - 300 && *q >= 20)
        .expect("scaled up for the third batch");
    assert!(
        *t <= 4 * 3600 - BOOT_S,
        "started at {t}, after the boot time: {why}"
    );
    assert!(*q <= 26, "{q} dynos for 1000 rps");
    assert!(
        why.contains("the same minutes 2h ago had 1000 rps"),
        "{why}"
    );
}

#[test]
fn a_steep_ramp_is_extrapolated_over_the_boot_time() {
    // 200 rps, then +7.5 rps/s for two minutes (a flash crowd).
    let ramp = |t: i64| 200.0 + 7.5 * (t - 600).clamp(0, 120) as f64;
    let mut run = Run::new(5);
    run.until(630, ramp, none);
    // 30 s into the ramp, the rate is 425 rps; a boot time later it will be about 840.
    let (t, q, why) = run.changes.last().cloned().expect("scaled up on the ramp");
    assert!((610..=630).contains(&t), "{t}");
    assert!(q >= 14, "{q} dynos at {t}: {why}");
    assert!(why.contains("rising 7.5 rps/s"), "{why}");
}

#[test]
fn a_queue_already_built_is_served_on_top_of_new_requests() {
    let mut run = Run::new(10);
    run.step(10, 500.0, 0.0);
    let calm = run.current;
    let mut run = Run::new(10);
    // 500 rps waiting 6 s on average: 3000 requests queued, cleared within the minute's lead.
    let busy = run.step(10, 500.0, 6_000.0);
    assert!(busy > calm, "{busy} ≤ {calm}");
    let why = &run.changes[1].2;
    assert!(why.contains("+50 rps to clear 3000 queued"), "{why}");
    assert!(
        why.contains("service 100ms"),
        "the queue is not service time: {why}"
    );
}

#[test]
fn a_noisy_plateau_learns_no_pattern_and_scales_down_only_in_steps_worth_it() {
    // ±10 % minute-to-minute noise around 800 rps for 30 hours.
    let noisy = |t: i64| {
        let m = t / 60;
        800.0 * (1.0 + 0.1 * (((m * 7_919) % 21) as f64 / 10.0 - 1.0))
    };
    let mut run = Run::new(20);
    run.until(30 * 3600, noisy, none);
    assert!(
        run.changes
            .iter()
            .all(|(_, _, why)| !why.contains("same minutes")),
        "a pattern was learned from noise"
    );
    for pair in run.changes[1..].windows(2) {
        let ((t0, q0, _), (t1, q1, why)) = (&pair[0], &pair[1]);
        if q1 < q0 {
            // Down: after the 3-minute stabilization, and at least 10 % of the dynos.
            assert!(t1 - t0 >= 180, "down {} s after a change: {why}", t1 - t0);
            assert!(f64::from(*q1) <= f64::from(*q0) * 0.9, "{q0} → {q1}: {why}");
        }
    }
}
