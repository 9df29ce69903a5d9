//! Transcripts of the vertical scaler: climbing the ladder on sustained memory, the minimum
//! upscale duration, reverting to the original size judged against the original's quota, the
//! queue and window blocks, and the max-size regression (a max the ladder skips must stop it).

use dynopilot_core::DynoSize;
use dynopilot_core::Timestamp;
use dynopilot_core::scaling::vertical::recommend;
use dynopilot_core::scaling::{Sample, SizeRule, VerticalConfig, VerticalInput, VerticalState};
use jiff::SignedDuration;

use super::support::{at, clock};

fn size(name: &str) -> &'static DynoSize {
    DynoSize::lookup(name).expect("size in the table")
}

fn config() -> VerticalConfig {
    VerticalConfig {
        upscale_percent: 90.0,
        upscale_after: SignedDuration::from_mins(2),
        downscale_percent: 50.0,
        downscale_after: SignedDuration::from_mins(10),
        min_upscale_duration: SignedDuration::from_mins(20),
        max_size: None,
        ladder: None,
        windows: Vec::new(),
    }
}

/// A process type whose size changes as soon as the scaler asks.
struct TypeSim {
    config: VerticalConfig,
    current: &'static DynoSize,
    state: VerticalState,
    samples: Vec<Sample>,
    last_resize: Option<Timestamp>,
    window_open: bool,
    queue_depth: Option<u64>,
    lines: Vec<String>,
    last_kind: Option<String>,
}

impl TypeSim {
    fn new(config: VerticalConfig, current: &str) -> Self {
        TypeSim {
            config,
            current: size(current),
            state: VerticalState::default(),
            samples: Vec::new(),
            last_resize: None,
            window_open: true,
            queue_depth: None,
            lines: Vec::new(),
            last_kind: None,
        }
    }

    /// Feeds one memory sample every 20 s over [from, to) and evaluates after each; records
    /// every resize, and holds only when their reason changes.
    fn run(&mut self, from: i64, to: i64, memory_mb: f64) -> Option<SizeRule> {
        let mut last = None;
        for secs in (from..to).step_by(20) {
            let now = at(secs);
            self.samples.push(Sample::new(now, memory_mb));
            let input = VerticalInput {
                now,
                current: self.current,
                memory_mb: &self.samples,
                last_resize: self.last_resize,
                window_open: self.window_open,
                queue_depth: self.queue_depth,
            };
            let (rec, state) = recommend(&self.config, &input, &self.state);
            self.state = state;
            let line = format!("{}  {memory_mb:>6}MB  {rec}", clock(now));
            // Holds repeat every 20 s; print one when its wording (numbers aside) changes.
            let kind = wording(&rec.reason);
            if rec.rule != SizeRule::Hold || self.last_kind.as_ref() != Some(&kind) {
                self.lines.push(line);
            }
            self.last_kind = Some(kind);
            if rec.rule != SizeRule::Hold {
                self.current = rec.to;
                self.last_resize = Some(now);
            }
            last = Some(rec.rule);
        }
        last
    }

    fn transcript(&self) -> String {
        self.lines.join("\n")
    }
}

/// The reason with every run of number-bearing words (`1m 20s`, `19.53%`) replaced by `#`.
fn wording(reason: &str) -> String {
    let mut words: Vec<&str> = Vec::new();
    for w in reason.split_whitespace() {
        let w = if w.chars().any(|c| c.is_ascii_digit()) {
            "#"
        } else {
            w
        };
        if !(w == "#" && words.last() == Some(&"#")) {
            words.push(w);
        }
    }
    words.join(" ")
}

#[test]
fn climbs_on_sustained_memory_and_reverts_to_the_original_in_one_jump() {
    let mut t = TypeSim::new(config(), "Standard-1X");
    t.run(0, 120, 480.0);
    assert_eq!(
        t.current.name, "Standard-1X",
        "93.75% for 1m40s is not yet 2m"
    );
    t.run(120, 140, 480.0);
    assert_eq!(t.current.name, "Standard-2X");
    t.run(140, 600, 1000.0);
    assert_eq!(t.current.name, "Performance-M");
    t.run(600, 1200, 200.0);
    assert_eq!(
        t.current.name, "Performance-M",
        "low for 10m but upscaled under 20m ago"
    );
    t.run(1200, 1500, 200.0);
    assert_eq!(
        t.current.name, "Standard-1X",
        "back to the original, skipping 2X"
    );
    assert_eq!(t.state.original.as_deref(), Some("Standard-1X"));
    insta::assert_snapshot!(t.transcript());
}

#[test]
fn revert_is_judged_against_the_original_quota_not_the_next_size_down() {
    // 450 MB is 44% of Standard-2X (the next size down) but 88% of the original Standard-1X:
    // landing there would put the dynos straight back into R14.
    let mut t = TypeSim::new(config(), "Standard-1X");
    t.run(0, 140, 500.0);
    t.run(140, 300, 1000.0);
    assert_eq!(t.current.name, "Performance-M");
    t.run(300, 3600, 450.0);
    assert_eq!(t.current.name, "Performance-M");
    insta::assert_snapshot!(t.transcript());
}

#[test]
fn a_max_size_the_ladder_skips_still_stops_the_climb() {
    // heroku-manager's ladder skipped Performance-L and compared names, so a max of
    // Performance-L was never matched and the dyno climbed to 2XL.
    let ladder = [
        "Standard-1X",
        "Standard-2X",
        "Performance-M",
        "Performance-L-RAM",
        "Performance-XL",
    ];
    let c = VerticalConfig {
        max_size: Some("performance-l".to_owned()),
        ladder: Some(ladder.iter().map(|s| (*s).to_owned()).collect()),
        ..config()
    };
    let mut t = TypeSim::new(c, "Standard-2X");
    t.run(0, 600, 1000.0);
    assert_eq!(t.current.name, "Performance-M");
    t.run(600, 1200, 2500.0);
    assert_eq!(
        t.current.name, "Performance-M",
        "Performance-L-RAM is past Performance-L"
    );
    insta::assert_snapshot!(t.transcript());
}

#[test]
fn a_max_size_from_another_ladder_is_compared_by_position() {
    let c = VerticalConfig {
        max_size: Some("Private-S".to_owned()),
        ..config()
    };
    let mut t = TypeSim::new(c, "Standard-1X");
    t.run(0, 600, 500.0);
    assert_eq!(
        t.current.name, "Standard-2X",
        "1024 MB fits under Private-S's 1024 MB"
    );
    t.run(600, 1200, 1000.0);
    assert_eq!(
        t.current.name, "Standard-2X",
        "Performance-M is above Private-S"
    );
    insta::assert_snapshot!(t.transcript());
}

#[test]
fn queue_and_closed_window_block_the_revert() {
    let mut t = TypeSim::new(config(), "Standard-1X");
    t.run(0, 140, 500.0);
    assert_eq!(t.current.name, "Standard-2X");
    t.queue_depth = Some(12);
    t.run(140, 2400, 100.0);
    assert_eq!(t.current.name, "Standard-2X", "jobs queued");
    t.queue_depth = Some(0);
    t.window_open = false;
    t.run(2400, 2600, 100.0);
    assert_eq!(t.current.name, "Standard-2X", "window closed");
    t.window_open = true;
    assert_eq!(t.run(2600, 2620, 100.0), Some(SizeRule::RevertToOriginal));
    assert_eq!(t.current.name, "Standard-1X");
    insta::assert_snapshot!(t.transcript());
}

proptest::proptest! {
    /// Whatever memory does, the scaler never proposes a size above the max (by ladder
    /// position), never one below the original, and moves one rung up or straight back.
    #[test]
    fn never_above_max_or_below_original(
        memory in proptest::collection::vec(0.0..140_000.0f64, 1..120),
        start in 0usize..5,
        max in 0usize..7,
        window_open in proptest::bool::ANY,
    ) {
        let ladder = [
            "Standard-1X", "Standard-2X", "Performance-M", "Performance-L",
            "Performance-L-RAM", "Performance-XL", "Performance-2XL",
        ];
        let c = VerticalConfig {
            upscale_after: SignedDuration::ZERO,
            downscale_after: SignedDuration::from_mins(1),
            min_upscale_duration: SignedDuration::from_mins(2),
            max_size: Some(ladder[max].to_owned()),
            ..config()
        };
        let max = size(ladder[max]);
        let original = size(ladder[start]);
        let mut t = TypeSim::new(c, ladder[start]);
        t.window_open = window_open;
        for (i, mb) in memory.iter().enumerate() {
            let from = t.current;
            let secs = i as i64 * 20;
            t.run(secs, secs + 20, *mb);
            let to = t.current;
            proptest::prop_assert!(to.ladder_key() >= original.ladder_key());
            if to.ladder_key() > from.ladder_key() {
                proptest::prop_assert!(to.ladder_key() <= max.ladder_key(), "{} above max {}", to, max);
                proptest::prop_assert_eq!(from.next_up(), Some(to), "one rung at a time");
            }
            if to.ladder_key() < from.ladder_key() {
                proptest::prop_assert_eq!(to, original, "down means back to the original");
            }
            if from != to {
                proptest::prop_assert!(window_open);
            }
        }
    }
}

#[test]
fn state_survives_a_round_trip_through_json() {
    let state = VerticalState {
        original: Some("Standard-2X".to_owned()),
    };
    let json = serde_json::to_string(&state).unwrap();
    assert_eq!(serde_json::from_str::<VerticalState>(&json).unwrap(), state);
}
