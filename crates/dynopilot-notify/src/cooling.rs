//! Cooling per (topic, app, target): the first event is sent, later ones within the window are
//! held back and counted, and the next event sent after the window carries a digest of them
//! ("and 12 more restarts of worker since 10:02"). Resolves are never cooled. Pure: time is
//! the event's own.

use std::collections::BTreeMap;
use std::time::Duration;

use dynopilot_core::Timestamp;

use crate::event::{AlertEvent, DigestSummary, EventKind};
use crate::topic::{condition_of, short_clock, target_of};

/// What cooling says about one event.
#[derive(Clone, Debug, PartialEq)]
pub enum Verdict {
    /// Send it, with what was held back since the last message, if anything.
    Send(Option<DigestSummary>),
    /// Within the window of the last message: journal it as dropped, count it.
    Dropped,
}

#[derive(Clone, Debug, PartialEq)]
struct Cell {
    /// When the last sent message's window ends.
    until: Timestamp,
    held: u32,
    first_held: Option<Timestamp>,
}

/// The cooling state of every (topic, app, target).
#[derive(Clone, Debug, Default)]
pub struct Cooling {
    cells: BTreeMap<(String, String, String), Cell>,
    dropped_total: u64,
}

impl Cooling {
    pub fn new() -> Self {
        Cooling::default()
    }

    /// Decides whether `event` is sent, given the cooling `window` of its route.
    pub fn offer(&mut self, event: &AlertEvent, window: Duration) -> Verdict {
        if event.kind == EventKind::Resolve {
            return Verdict::Send(None);
        }
        let key = (
            condition_of(event).to_owned(),
            event.app.clone(),
            target_of(event).to_owned(),
        );
        let at = event.at;
        match self.cells.get_mut(&key) {
            Some(cell) if at < cell.until => {
                cell.held += 1;
                cell.first_held.get_or_insert(at);
                self.dropped_total += 1;
                Verdict::Dropped
            }
            Some(cell) => {
                let digest = cell
                    .first_held
                    .map(|since| digest(cell.held, since, &key.0, &key.2));
                *cell = Cell {
                    until: at.plus(window),
                    held: 0,
                    first_held: None,
                };
                Verdict::Send(digest)
            }
            None => {
                self.cells.insert(
                    key,
                    Cell {
                        until: at.plus(window),
                        held: 0,
                        first_held: None,
                    },
                );
                Verdict::Send(None)
            }
        }
    }

    /// Events held back since this `Cooling` was made.
    pub fn dropped_total(&self) -> u64 {
        self.dropped_total
    }

    /// Forgets cells whose window ended before `now` and that hold nothing back, so the map
    /// stays as small as the set of recently active conditions.
    pub fn forget_idle(&mut self, now: Timestamp) {
        self.cells
            .retain(|_, cell| cell.until > now || cell.first_held.is_some());
    }

    /// Cells currently kept (for tests and metrics).
    pub fn len(&self) -> usize {
        self.cells.len()
    }

    pub fn is_empty(&self) -> bool {
        self.cells.is_empty()
    }
}

fn digest(count: u32, since: Timestamp, topic: &str, target: &str) -> DigestSummary {
    DigestSummary {
        count,
        since,
        text: format!(
            "and {count} more {} of {target} since {}",
            plural(topic, count),
            short_clock(since)
        ),
    }
}

/// The topic as a countable noun: `restarts`, `scale-ups`, `rule:H12 alerts`.
fn plural(topic: &str, count: u32) -> String {
    let noun = match topic {
        "restart" | "resize" | "escalation" | "scale-up" | "scale-down" | "big-swing" => {
            topic.to_owned()
        }
        other => format!("{other} alert"),
    };
    if count == 1 { noun } else { format!("{noun}s") }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::topic::lifecycle_event;

    #[test]
    fn plural_words() {
        assert_eq!(plural("restart", 12), "restarts");
        assert_eq!(plural("restart", 1), "restart");
        assert_eq!(plural("rule:H12", 2), "rule:H12 alerts");
    }

    #[test]
    fn idle_cells_are_forgotten() {
        let mut c = Cooling::new();
        let e = lifecycle_event(true, Timestamp::from_secs(0), "");
        assert_eq!(c.offer(&e, Duration::from_secs(60)), Verdict::Send(None));
        c.forget_idle(Timestamp::from_secs(30));
        assert_eq!(c.len(), 1);
        c.forget_idle(Timestamp::from_secs(61));
        assert!(c.is_empty());
    }
}
