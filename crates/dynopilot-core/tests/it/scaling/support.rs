//! A tiny simulated formation that executes every recommendation at once (new dynos boot for a
//! fixed time), and renders each evaluation as one transcript line.

use dynopilot_core::Timestamp;
use dynopilot_core::scaling::{
    AlgoState, HorizontalConfig, HorizontalInput, QueueObservation, Sample, recommend,
};

/// Transcripts start at a round time so lines read as clock times.
pub const T0: i64 = 1_767_261_600; // 2026-01-01T10:00:00Z

pub fn at(secs: i64) -> Timestamp {
    Timestamp::from_secs(T0 + secs)
}

/// `hh:mm:ss` of a transcript time.
pub fn clock(t: Timestamp) -> String {
    let s = t.as_millis() / 1000 - T0 + 10 * 3600;
    format!("{:02}:{:02}:{:02}", s / 3600, (s / 60) % 60, s % 60)
}

/// What the world shows at one evaluation.
#[derive(Clone, Copy, Debug)]
pub enum Obs {
    /// A new signal sample taken now.
    Value(f64),
    /// No new sample (the signal went quiet).
    Nothing,
    Queue {
        depth: u64,
        busy: u64,
        latency_ms: f64,
    },
}

pub struct Fleet {
    pub config: HorizontalConfig,
    pub current: u32,
    /// Ready times of dynos still booting.
    pub booting: Vec<Timestamp>,
    pub boot_secs: i64,
    /// The engine's max guardrail, applied to every recommendation (the sim boots real dynos).
    pub max: u32,
    pub samples: Vec<Sample>,
    pub queue: Option<QueueObservation>,
    pub state: AlgoState,
    pub last_up: Option<Timestamp>,
    pub last_down: Option<Timestamp>,
    pub lines: Vec<String>,
}

impl Fleet {
    pub fn new(config: HorizontalConfig, current: u32) -> Self {
        Fleet {
            config,
            current,
            booting: Vec::new(),
            boot_secs: 40,
            max: 100,
            samples: Vec::new(),
            queue: None,
            state: AlgoState::default(),
            last_up: None,
            last_down: None,
            lines: Vec::new(),
        }
    }

    /// Evaluates at `secs` after T0 with `obs`, executes the recommendation, records a line.
    pub fn step(&mut self, secs: i64, obs: Obs) -> u32 {
        let now = at(secs);
        self.booting.retain(|ready| *ready > now);
        let seen = match obs {
            Obs::Value(v) => {
                self.samples.push(Sample::new(now, v));
                show(v, "ms")
            }
            Obs::Nothing => "—".to_owned(),
            Obs::Queue {
                depth,
                busy,
                latency_ms,
            } => {
                self.queue = Some(QueueObservation {
                    at: now,
                    depth,
                    busy,
                    latency_ms,
                });
                format!(
                    "queued {depth} running {busy} oldest {}",
                    show(latency_ms, "ms")
                )
            }
        };
        let booting = self.booting.len() as u32;
        let up = self.current - booting;
        let input = HorizontalInput {
            now,
            current: self.current,
            booting,
            up,
            samples: &self.samples,
            queue: self.queue,
            router: &[],
            last_scale_up: self.last_up,
            last_scale_down: self.last_down,
        };
        let (rec, state) = recommend(&self.config, &input, &self.state);
        self.state = state;
        let from = self.current;
        let desired = rec.desired.min(self.max);
        self.execute(now, desired);
        let arrow = if desired == from {
            "=".to_owned()
        } else {
            format!("→ {desired}")
        };
        self.lines.push(format!(
            "{}  {seen:<32} up {up} booting {booting}  {from} {arrow:<5} {}",
            clock(now),
            rec.reason
        ));
        desired
    }

    fn execute(&mut self, now: Timestamp, desired: u32) {
        if desired > self.current {
            let ready = Timestamp::from_millis(now.as_millis() + self.boot_secs * 1000);
            for _ in self.current..desired {
                self.booting.push(ready);
            }
            self.last_up = Some(now);
        } else if desired < self.current {
            // Heroku stops the highest-numbered dynos; booting ones are the newest.
            let remove = (self.current - desired) as usize;
            let keep = self.booting.len().saturating_sub(remove);
            self.booting.truncate(keep);
            self.last_down = Some(now);
        }
        self.current = desired;
    }

    pub fn transcript(&self) -> String {
        self.lines.join("\n")
    }
}

pub fn show(v: f64, unit: &str) -> String {
    if v.is_infinite() {
        "timeout".to_owned()
    } else if v.fract() == 0.0 {
        format!("{v:.0}{unit}")
    } else {
        format!("{v:.1}{unit}")
    }
}
