//! A small scenario runner: apply inputs at a time of day, evaluate, and render one transcript
//! line per decision (`12:00:20  web.2 memory 540MB  → restart web.2 (memory guard: …)`).

use dynopilot_core::Timestamp;
use dynopilot_core::policy::{
    Config, Decision, DynoLifecycle, DynoState, ErrorOccurrence, Formation, MemorySample,
    ObservedState, PolicyState, ProcessTypeState, evaluate,
};

/// Monday 2026-03-02 00:00:00 UTC: scenario clock times are offsets from here.
pub const DAY: i64 = 1_772_409_600_000;

pub fn at(hms: &str) -> Timestamp {
    let parts: Vec<i64> = hms.split(':').map(|p| p.parse().unwrap()).collect();
    Timestamp::from_millis(DAY + ((parts[0] * 60 + parts[1]) * 60 + parts[2]) * 1000)
}

/// An app with the given process types, each `(name, quantity, size)`, all dynos `up` since an
/// hour before the scenario starts, formation unchanged since the day before.
pub fn app(types: &[(&str, u32, &str)]) -> ObservedState {
    let mut obs = ObservedState::default();
    for (name, quantity, size) in types {
        let mut pt = ProcessTypeState {
            formation: Some(Formation {
                quantity: *quantity,
                size: (*size).to_owned(),
                updated_at: Timestamp::from_millis(DAY - 86_400_000),
            }),
            ..ProcessTypeState::default()
        };
        for i in 1..=*quantity {
            let dyno = format!("{name}.{i}");
            let state =
                DynoState::new(Some(format!("{dyno}-a")), DynoLifecycle::Up, at("00:00:00"));
            pt.dynos.insert(dyno, state);
        }
        obs.process_types.insert((*name).to_owned(), pt);
    }
    obs
}

pub fn dyno<'a>(obs: &'a mut ObservedState, name: &str) -> &'a mut DynoState {
    let ty = name.split('.').next().unwrap();
    obs.process_types
        .get_mut(ty)
        .unwrap()
        .dynos
        .get_mut(name)
        .unwrap()
}

/// A runtime-metrics memory sample of the dyno's current run (RSS only, no swap).
pub fn memory(obs: &mut ObservedState, name: &str, t: Timestamp, rss_mb: f64, quota_mb: f64) {
    let d = dyno(obs, name);
    let sample = MemorySample {
        at: t,
        instance_id: d.instance_id.clone(),
        total_mb: rss_mb,
        rss_mb,
        swap_mb: 0.0,
        quota_mb: Some(quota_mb),
    };
    d.record_memory(sample);
}

pub fn error(obs: &mut ObservedState, name: &str, t: Timestamp, code: &str) {
    dyno(obs, name).errors.push(ErrorOccurrence {
        at: t,
        code: code.to_owned(),
    });
}

/// What the executor and Heroku do after a restart: a new run of the dyno, `up` at `t`.
pub fn restarted(obs: &mut ObservedState, name: &str, t: Timestamp, run: &str) {
    let d = dyno(obs, name);
    d.instance_id = Some(format!("{name}-{run}"));
    d.lifecycle = DynoLifecycle::Up;
    d.since = t;
}

/// Runs steps through `evaluate`, carrying `PolicyState`, and collects a transcript.
pub struct Scenario {
    pub config: Config,
    pub observed: ObservedState,
    pub state: PolicyState,
    pub decisions: Vec<Decision>,
    lines: Vec<String>,
}

impl Scenario {
    pub fn new(config: Config, observed: ObservedState) -> Self {
        config.check().expect("scenario config is valid");
        Scenario {
            config,
            observed,
            state: PolicyState::default(),
            decisions: Vec::new(),
            lines: Vec::new(),
        }
    }

    /// Applies `inputs` at `hms`, evaluates, and records `what` plus every decision.
    pub fn step(
        &mut self,
        hms: &str,
        what: &str,
        inputs: impl FnOnce(&mut ObservedState, Timestamp),
    ) -> &mut Self {
        let now = at(hms);
        inputs(&mut self.observed, now);
        let (decisions, state) = evaluate(&self.config, &self.observed, &self.state, now);
        let (again, _) = evaluate(&self.config, &self.observed, &self.state, now);
        assert_eq!(decisions, again, "evaluation is deterministic");
        self.state = state;
        let head = format!("{hms}  {what:<34}");
        if decisions.is_empty() {
            self.lines.push(format!("{head}→ hold"));
        }
        for (i, d) in decisions.iter().enumerate() {
            let lead = if i == 0 {
                head.clone()
            } else {
                " ".repeat(head.chars().count())
            };
            self.lines.push(format!("{lead}→ {}", render(d)));
        }
        self.decisions.extend(decisions);
        self
    }

    pub fn transcript(&self) -> String {
        self.lines.join("\n")
    }
}

pub fn render(d: &Decision) -> String {
    // The line the daemon logs, and the policy that proposed it.
    format!("{d}  [{}]", d.reason.policy())
}
