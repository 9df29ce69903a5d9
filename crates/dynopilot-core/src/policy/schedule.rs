//! Time-of-day / day-of-week bounds: which min/max apply at an instant, read in the app's
//! IANA time zone through jiff (so entries follow local wall time across DST changes), and
//! the schedule policy that brings a formation back inside its bounds when they change.

use jiff::tz::TimeZone;

use crate::size::DynoSize;
use crate::time::Timestamp;

use super::config::{ProcessTypeConfig, ScheduleEntry, Weekday};
use super::decision::{Action, Reason};
use super::engine::Proposal;
use super::state::ProcessTypeState;

/// An entry's days and its `[from, to)` span in minutes after local midnight.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LocalSpan {
    pub days: Vec<Weekday>,
    pub from_min: u32,
    pub to_min: u32,
}

impl LocalSpan {
    /// The first day on which both spans apply at a common minute.
    pub fn overlap_day(&self, other: &LocalSpan) -> Option<Weekday> {
        let overlaps = self.from_min < other.to_min && other.from_min < self.to_min;
        if !overlaps {
            return None;
        }
        self.days
            .iter()
            .copied()
            .filter(|d| other.days.contains(d))
            .min()
    }

    pub fn contains(&self, day: Weekday, minute: u32) -> bool {
        self.days.contains(&day) && self.from_min <= minute && minute < self.to_min
    }
}

fn parse_hhmm(s: &str) -> Option<u32> {
    let (h, m) = s.trim().split_once(':')?;
    let (h, m): (u32, u32) = (h.parse().ok()?, m.parse().ok()?);
    let valid = m < 60 && (h < 24 || (h == 24 && m == 0)) && s.trim().len() <= 5;
    valid.then_some(h * 60 + m)
}

/// Parses `from`/`to` (`HH:MM`, `to` may be `24:00`); `from` must come before `to`.
pub fn parse_entry_span(entry: &ScheduleEntry) -> Result<LocalSpan, String> {
    parse_span(&entry.days, &entry.from, &entry.to)
}

/// A weekly span from its days and `from`/`to` wall-clock times.
pub fn parse_span(days: &[Weekday], from: &str, to: &str) -> Result<LocalSpan, String> {
    let from_min = parse_hhmm(from)
        .filter(|m| *m < 24 * 60)
        .ok_or_else(|| format!("from `{from}` is not a time like `09:00`"))?;
    let to_min =
        parse_hhmm(to).ok_or_else(|| format!("to `{to}` is not a time like `17:30` or `24:00`"))?;
    if from_min >= to_min {
        return Err(format!(
            "from {from} is not before to {to} (split an overnight entry in two)"
        ));
    }
    Ok(LocalSpan {
        days: days.to_vec(),
        from_min,
        to_min,
    })
}

/// The weekday and minute after local midnight of `now` in `tz`.
pub fn local_day_minute(tz: &TimeZone, now: Timestamp) -> (Weekday, u32) {
    let zoned = now.to_jiff().to_zoned(tz.clone());
    // Hours and minutes of a civil time are never negative.
    let minute =
        u32::try_from(i32::from(zoned.hour()) * 60 + i32::from(zoned.minute())).unwrap_or(0);
    (weekday_of(zoned.weekday()), minute)
}

fn weekday_of(w: jiff::civil::Weekday) -> Weekday {
    match w {
        jiff::civil::Weekday::Monday => Weekday::Mon,
        jiff::civil::Weekday::Tuesday => Weekday::Tue,
        jiff::civil::Weekday::Wednesday => Weekday::Wed,
        jiff::civil::Weekday::Thursday => Weekday::Thu,
        jiff::civil::Weekday::Friday => Weekday::Fri,
        jiff::civil::Weekday::Saturday => Weekday::Sat,
        jiff::civil::Weekday::Sunday => Weekday::Sun,
    }
}

/// The bounds in force for a process type at one instant, and where they came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Bounds {
    pub min: u32,
    pub max: u32,
    /// `schedule[i] Mon 09:00-17:00` or `default`.
    pub source: String,
}

/// Bounds at `now`: the matching schedule entry, else the type's own min/max; `max` is also
/// capped by Heroku's per-type limit of the current size.
pub fn active_bounds(
    pt: &ProcessTypeConfig,
    tz: &TimeZone,
    size: Option<&DynoSize>,
    now: Timestamp,
) -> Bounds {
    let size_limit = size.map_or(u32::MAX, |s| s.max_per_type);
    let (day, minute) = local_day_minute(tz, now);
    for (i, entry) in pt.schedule.iter().enumerate() {
        if let Ok(span) = parse_entry_span(entry)
            && span.contains(day, minute)
        {
            return Bounds {
                min: entry.min,
                max: entry.max.min(size_limit),
                source: format!("schedule[{i}] {day:?} {}-{}", entry.from, entry.to),
            };
        }
    }
    Bounds {
        min: pt.min.unwrap_or(0),
        max: pt.max.unwrap_or(u32::MAX).min(size_limit),
        source: "default".to_owned(),
    }
}

/// Bounds at `now` for process type `name`: `active_bounds`, with the default `min` of an
/// autoscaled type that sets none: 1 for `web` (the app must keep serving), 0 for the others
/// (workers may scale to zero).
pub fn bounds_for(
    name: &str,
    pt: &ProcessTypeConfig,
    tz: &TimeZone,
    size: Option<&DynoSize>,
    now: Timestamp,
) -> Bounds {
    let mut b = active_bounds(pt, tz, size, now);
    if b.source == "default" && pt.min.is_none() && pt.autoscale.is_some() {
        b.min = default_min(name);
    }
    b
}

/// The `min` of an autoscaled process type that sets none.
pub fn default_min(process_type: &str) -> u32 {
    u32::from(process_type == "web")
}

/// Resolves the configured zone; an invalid one was reported by validation, so fall back to UTC
/// rather than refusing to protect the app.
pub fn time_zone(name: &str) -> TimeZone {
    TimeZone::get(name).unwrap_or(TimeZone::UTC)
}

/// Proposes bringing the formation inside its bounds (e.g. when a business-hours entry starts).
pub fn propose(
    process_type: &str,
    pt: &ProcessTypeConfig,
    observed: &ProcessTypeState,
    bounds: &Bounds,
) -> Option<Proposal> {
    // Only enforce bounds the user actually wrote.
    if pt.min.is_none() && pt.max.is_none() && pt.schedule.is_empty() {
        return None;
    }
    let formation = observed.formation.as_ref()?;
    let to = formation
        .quantity
        .clamp(bounds.min, bounds.max.max(bounds.min));
    (to != formation.quantity).then(|| {
        Proposal::new(
            Action::ScaleFormation {
                process_type: process_type.to_owned(),
                from: formation.quantity,
                to,
            },
            Reason::Schedule {
                process_type: process_type.to_owned(),
                quantity: formation.quantity,
                min: bounds.min,
                max: bounds.max,
                window: bounds.source.clone(),
            },
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(from: &str, to: &str) -> ScheduleEntry {
        ScheduleEntry {
            days: Weekday::ALL.to_vec(),
            from: from.into(),
            to: to.into(),
            min: 1,
            max: 2,
        }
    }

    #[test]
    fn spans_parse_and_reject_reversed_or_malformed_times() {
        assert_eq!(
            parse_entry_span(&entry("09:00", "24:00")).unwrap().to_min,
            1440
        );
        assert!(parse_entry_span(&entry("17:00", "09:00")).is_err());
        assert!(parse_entry_span(&entry("24:00", "24:00")).is_err());
        assert!(parse_entry_span(&entry("9", "10:00")).is_err());
        assert!(parse_entry_span(&entry("09:60", "10:00")).is_err());
    }

    #[test]
    fn overlap_needs_a_shared_day_and_minute() {
        let a = parse_entry_span(&entry("09:00", "12:00")).unwrap();
        let b = parse_entry_span(&entry("12:00", "13:00")).unwrap();
        let c = parse_entry_span(&entry("11:00", "13:00")).unwrap();
        assert_eq!(a.overlap_day(&b), None);
        assert_eq!(a.overlap_day(&c), Some(Weekday::Mon));
    }
}
