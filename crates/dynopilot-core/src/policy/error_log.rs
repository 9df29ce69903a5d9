//! `ErrorLog`: the R and H errors of a dyno or process type. The newest occurrences are kept
//! exactly (for pages and the memory guard); every occurrence is also counted per code in time
//! buckets, so a rule fires at any threshold (`at_least = 10000`) with memory bounded by the
//! horizon and the number of codes, never by the threshold.

use std::collections::{BTreeMap, VecDeque};
use std::time::Duration;

use crate::time::Timestamp;

use super::state::ErrorOccurrence;

/// Exact occurrences kept (older ones still count in the buckets).
pub const RECENT_ERRORS_KEPT: usize = 500;
/// Counts are kept per second for this long after the newest occurrence…
const FINE_SPAN_MS: i64 = 15 * 60 * 1000;
const FINE_BUCKET_MS: i64 = 1000;
/// …then per minute, up to this horizon: the longest window a codes rule may count over.
pub const ERROR_COUNT_HORIZON: Duration = Duration::from_secs(24 * 60 * 60);
const COARSE_BUCKET_MS: i64 = 60 * 1000;

/// Occurrences of each code in one bucket; a handful of codes at most, so a list.
type Bucket = Vec<(String, u64)>;

#[derive(Clone, Debug, Default, PartialEq)]
pub struct ErrorLog {
    recent: VecDeque<ErrorOccurrence>,
    /// Per-second buckets by start (ms), for the last `FINE_SPAN_MS`.
    fine: BTreeMap<i64, Bucket>,
    /// Per-minute buckets by start (ms), older than the fine span, up to the horizon.
    coarse: BTreeMap<i64, Bucket>,
    newest_ms: Option<i64>,
    total: u64,
}

impl ErrorLog {
    pub fn new() -> Self {
        Self::default()
    }

    /// Records one occurrence (lines may arrive a little out of order).
    pub fn push(&mut self, occurrence: ErrorOccurrence) {
        let at = occurrence.at.as_millis();
        self.total += 1;
        let newest = self.newest_ms.map_or(at, |n| n.max(at));
        self.newest_ms = Some(newest);
        if at > newest - FINE_SPAN_MS {
            add(
                &mut self.fine,
                floor(at, FINE_BUCKET_MS),
                &occurrence.code,
                1,
            );
        } else if at > newest - horizon_ms() {
            add(
                &mut self.coarse,
                floor(at, COARSE_BUCKET_MS),
                &occurrence.code,
                1,
            );
        }
        self.compact(newest);
        if self.recent.len() == RECENT_ERRORS_KEPT {
            self.recent.pop_front();
        }
        self.recent.push_back(occurrence);
    }

    /// The newest occurrences, oldest first.
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = &ErrorOccurrence> {
        self.recent.iter()
    }

    /// How many exact occurrences are kept (at most `RECENT_ERRORS_KEPT`).
    pub fn len(&self) -> usize {
        self.recent.len()
    }

    pub fn is_empty(&self) -> bool {
        self.recent.is_empty()
    }

    /// Every occurrence ever recorded.
    pub fn total(&self) -> u64 {
        self.total
    }

    /// Occurrences in `(since, now]` of the codes `wanted` accepts, to the second within the
    /// last 15 minutes and to the minute before (a minute straddling `since` is left out, so
    /// a long window never counts more than happened).
    pub fn count(&self, since: Timestamp, now: Timestamp, wanted: impl Fn(&str) -> bool) -> u64 {
        let (since, now) = (since.as_millis(), now.as_millis());
        let in_range = |map: &BTreeMap<i64, Bucket>| -> u64 {
            map.range(since + 1..=now)
                .flat_map(|(_, bucket)| bucket.iter())
                .filter(|(code, _)| wanted(code))
                .map(|(_, n)| n)
                .sum()
        };
        in_range(&self.coarse) + in_range(&self.fine)
    }

    /// Moves per-second buckets past the fine span into minutes; drops what left the horizon.
    fn compact(&mut self, newest: i64) {
        while let Some(entry) = self.fine.first_entry() {
            if *entry.key() > newest - FINE_SPAN_MS {
                break;
            }
            let (start, bucket) = entry.remove_entry();
            for (code, n) in bucket {
                add(&mut self.coarse, floor(start, COARSE_BUCKET_MS), &code, n);
            }
        }
        while let Some(entry) = self.coarse.first_entry() {
            if *entry.key() > newest - horizon_ms() {
                break;
            }
            entry.remove();
        }
    }
}

impl std::ops::Index<usize> for ErrorLog {
    type Output = ErrorOccurrence;

    fn index(&self, i: usize) -> &ErrorOccurrence {
        &self.recent[i]
    }
}

impl FromIterator<ErrorOccurrence> for ErrorLog {
    fn from_iter<I: IntoIterator<Item = ErrorOccurrence>>(iter: I) -> Self {
        let mut log = ErrorLog::new();
        for e in iter {
            log.push(e);
        }
        log
    }
}

fn horizon_ms() -> i64 {
    i64::try_from(ERROR_COUNT_HORIZON.as_millis()).unwrap_or(i64::MAX)
}

fn floor(ms: i64, width: i64) -> i64 {
    ms.div_euclid(width) * width
}

fn add(map: &mut BTreeMap<i64, Bucket>, start: i64, code: &str, n: u64) {
    let bucket = map.entry(start).or_default();
    match bucket.iter_mut().find(|(c, _)| c == code) {
        Some((_, count)) => *count += n,
        None => bucket.push((code.to_owned(), n)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: i64) -> Timestamp {
        // Minute-aligned, so whole-minute buckets line up with whole-minute windows.
        Timestamp::from_millis(1_699_999_980_000 + secs * 1000)
    }

    fn h12(secs: i64) -> ErrorOccurrence {
        ErrorOccurrence {
            at: at(secs),
            code: "H12".to_owned(),
        }
    }

    #[test]
    fn counts_every_occurrence_not_just_the_recent_ones() {
        let log: ErrorLog = (0..10_000).map(|i| h12(i / 20)).collect();
        assert_eq!(log.len(), RECENT_ERRORS_KEPT);
        assert_eq!(log.total(), 10_000);
        assert_eq!(log.count(at(-1), at(500), |c| c == "H12"), 10_000);
        assert_eq!(log.count(at(-1), at(500), |c| c == "H13"), 0);
        // Window (since, now]: the second at `since` is out, the one at `now` in.
        assert_eq!(log.count(at(0), at(1), |_| true), 20);
    }

    #[test]
    fn memory_is_bounded_by_the_horizon_not_the_count() {
        let mut log = ErrorLog::new();
        for s in 0..(3 * 24 * 3600) {
            log.push(h12(s));
        }
        assert!(log.fine.len() <= 15 * 60, "{}", log.fine.len());
        assert!(log.coarse.len() <= 24 * 60, "{}", log.coarse.len());
        let end = 3 * 24 * 3600 - 1;
        // The last hour, exactly: per second in the fine span, whole minutes before it.
        assert_eq!(log.count(at(end - 3600), at(end), |_| true), 3600);
    }

    #[test]
    fn out_of_order_lines_count_in_their_own_second() {
        let mut log = ErrorLog::new();
        log.push(h12(100));
        log.push(h12(40));
        assert_eq!(log.count(at(39), at(40), |_| true), 1);
        assert_eq!(log[1].at, at(40));
    }
}
