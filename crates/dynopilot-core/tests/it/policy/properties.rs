//! Properties over random timelines: no let-through decision violates a guardrail, no dyno is
//! restarted twice within its cooldown, restarts per rolling hour stay within the budget, and
//! the same inputs always give the same decisions. Policy state is persisted (serialized and
//! read back) between evaluations, as the store does, so no cooldown is forgotten.

use std::collections::BTreeMap;

use dynopilot_core::policy::schedule::{active_bounds, time_zone};
use dynopilot_core::policy::{
    Action, Condition, Config, ConfigDuration, DynoLifecycle, EscalationConfig, MemoryGuardConfig,
    PolicyState, ProcessTypeConfig, Release, RestartCounterConfig, RuleAction, RuleConfig,
    ScheduleEntry, Selector, Weekday, ZombieConfig, evaluate,
};
use dynopilot_core::{DynoSize, Timestamp};
use proptest::prelude::*;

use super::harness::{DAY, app, dyno, error, memory};

#[derive(Clone, Debug)]
enum Event {
    Memory { dyno: usize, mb: f64 },
    Error { dyno: usize, code: &'static str },
    Failure { dyno: usize },
    Crash { dyno: usize },
    Release,
    ManualScale { quantity: u32 },
    Quiet,
}

const DYNOS: [&str; 4] = ["web.1", "web.2", "web.3", "worker.1"];

fn event() -> impl Strategy<Value = Event> {
    prop_oneof![
        4 => (0..4usize, 300.0..700.0f64).prop_map(|(dyno, mb)| Event::Memory { dyno, mb }),
        2 => (0..4usize, prop::sample::select(vec!["R14", "R15", "H12", "H10", "H20"]))
            .prop_map(|(dyno, code)| Event::Error { dyno, code }),
        2 => (0..4usize).prop_map(|dyno| Event::Failure { dyno }),
        1 => (0..4usize).prop_map(|dyno| Event::Crash { dyno }),
        1 => Just(Event::Release),
        1 => (0..12u32).prop_map(|quantity| Event::ManualScale { quantity }),
        3 => Just(Event::Quiet),
    ]
}

fn config(dry_run: bool, scale_by: i32) -> Config {
    let mut c = Config::new("shop");
    c.time_zone = "America/New_York".into();
    c.guardrails.restart_budget_per_hour = 4;
    c.guardrails.cost_budget_per_hour = Some(0.25);
    c.guardrails.dry_run = dry_run;
    let restarts = ProcessTypeConfig {
        min: Some(1),
        max: Some(6),
        max_size: Some("Standard-2X".into()),
        schedule: vec![ScheduleEntry {
            days: Weekday::ALL.to_vec(),
            from: "07:00".into(),
            to: "08:00".into(),
            min: 2,
            max: 3,
        }],
        memory_guard: Some(MemoryGuardConfig {
            samples: 2,
            ..MemoryGuardConfig::default()
        }),
        zombie: Some(ZombieConfig::default()),
        restart_counter: Some(RestartCounterConfig {
            threshold: 2,
            ..RestartCounterConfig::default()
        }),
        escalation: Some(EscalationConfig {
            restarts: 2,
            ..EscalationConfig::default()
        }),
        autoscale: None,
        vertical: Some(dynopilot_core::scaling::VerticalConfig {
            upscale_after: jiff::SignedDuration::from_secs(40),
            ..Default::default()
        }),
    };
    c.process_types.insert("web".into(), restarts.clone());
    c.process_types.insert("worker".into(), restarts);
    c.rules.push(RuleConfig {
        name: "timeouts".into(),
        selector: Selector {
            process_type: Some("web".into()),
            dyno: None,
        },
        condition: Condition::Codes {
            codes: vec!["H1*".into()],
            at_least: 1,
            window: ConfigDuration::from_secs(60),
        },
        actions: vec![RuleAction::Scale { by: scale_by }, RuleAction::RestartDyno],
        cooldown: ConfigDuration::from_secs(30),
    });
    c
}

fn apply(obs: &mut dynopilot_core::policy::ObservedState, e: &Event, t: Timestamp) {
    match e {
        Event::Memory { dyno: i, mb } => memory(obs, DYNOS[*i], t, *mb, 512.0),
        Event::Error { dyno: i, code } => error(obs, DYNOS[*i], t, code),
        Event::Failure { dyno: i } => dyno(obs, DYNOS[*i]).counter_events.push(t),
        Event::Crash { dyno: i } => {
            let d = dyno(obs, DYNOS[*i]);
            d.lifecycle = DynoLifecycle::Crashed;
            d.since = t;
        }
        Event::Release => obs.releases.push(Release {
            at: t,
            version: t.as_millis() as u64,
        }),
        Event::ManualScale { quantity } => {
            let f = obs
                .process_types
                .get_mut("web")
                .unwrap()
                .formation
                .as_mut()
                .unwrap();
            f.quantity = *quantity;
            f.updated_at = t;
        }
        Event::Quiet => {}
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn decisions_never_violate_guardrails(
        events in prop::collection::vec(event(), 1..120),
        dry_run in any::<bool>(),
        scale_by in prop::sample::select(vec![-3, -1, 1, 2, 5]),
        start_hour in 0i64..24,
    ) {
        let c = config(dry_run, scale_by);
        let tz = time_zone(&c.time_zone);
        let mut obs = app(&[("web", 3, "Standard-1X"), ("worker", 1, "Standard-1X")]);
        let mut state = PolicyState::default();
        let mut last_restart: BTreeMap<String, Timestamp> = BTreeMap::new();
        let mut restart_times: Vec<Timestamp> = Vec::new();
        let budget = c.guardrails.restart_budget_per_hour as usize;
        let cooldown = c.guardrails.dyno_restart_cooldown.get();
        let max_size = DynoSize::lookup("Standard-2X").unwrap();
        let mut now = Timestamp::from_millis(DAY + start_hour * 3_600_000);
        for (i, e) in events.iter().enumerate() {
            // Steps of 20 s with an occasional long gap, so hour budgets roll over.
            let gap = if i % 37 == 36 { 1_800_000 } else { 20_000 };
            now = Timestamp::from_millis(now.as_millis() + gap);
            apply(&mut obs, e, now);
            let (decisions, next) = evaluate(&c, &obs, &state, now);
            let (again, again_state) = evaluate(&c, &obs, &state, now);
            prop_assert_eq!(&decisions, &again);
            prop_assert_eq!(&next, &again_state);
            for d in decisions.iter().filter(|d| d.blocked.is_empty()) {
                prop_assert_eq!(d.executed, !dry_run);
                match &d.action {
                    Action::ScaleFormation { process_type, to, .. } => {
                        let b = active_bounds(&c.process_types[process_type], &tz, None, now);
                        prop_assert!(b.min <= *to && *to <= b.max, "{:?} outside {:?}", d.action, b);
                        let cost = f64::from(*to) * DynoSize::lookup("Standard-1X").unwrap().dollars_per_hour()
                            + DynoSize::lookup("Standard-1X").unwrap().dollars_per_hour();
                        prop_assert!(cost <= 0.25 + 1e-9, "{:?} costs {cost}", d.action);
                    }
                    Action::Resize { to, .. } => {
                        prop_assert!(DynoSize::lookup(to).unwrap().ladder_key() <= max_size.ladder_key());
                    }
                    Action::RestartDyno { dyno, .. } => {
                        if let Some(prev) = last_restart.get(dyno) {
                            prop_assert!(now >= prev.plus(cooldown), "{dyno} restarted at {prev} and {now}");
                        }
                        last_restart.insert(dyno.clone(), now);
                    }
                    _ => {}
                }
                if d.action.is_restart() {
                    restart_times.push(now);
                    let hour_ago = Timestamp::from_millis(now.as_millis() - 3_600_000);
                    let in_hour = restart_times.iter().filter(|t| **t > hour_ago).count();
                    prop_assert!(in_hour <= budget, "{in_hour} restarts within an hour");
                }
            }
            // Persist and reload, as the store does between ticks.
            let json = serde_json::to_string(&next).unwrap();
            state = serde_json::from_str(&json).unwrap();
            prop_assert_eq!(&state, &next);
            // The executor "applies" scale decisions so later ticks see them.
            for d in decisions.iter().filter(|d| d.executed) {
                if let Action::ScaleFormation { process_type, to, .. } = &d.action {
                    let f = obs.process_types.get_mut(process_type).unwrap().formation.as_mut().unwrap();
                    f.quantity = *to;
                    f.updated_at = now;
                }
            }
        }
    }
}
