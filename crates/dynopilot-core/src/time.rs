//! Time as plain data: `Timestamp` (epoch milliseconds, UTC) and the `Clock` seam through which
//! every other crate reads "now" and sleeps, so tests and backtests can drive time by hand.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

/// A point in time as integer milliseconds since the Unix epoch (UTC).
///
/// Integers keep SQLite and Postgres identical and make window arithmetic exact.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Timestamp(i64);

impl Timestamp {
    pub const EPOCH: Timestamp = Timestamp(0);

    pub const fn from_millis(ms: i64) -> Self {
        Timestamp(ms)
    }

    pub const fn from_secs(secs: i64) -> Self {
        Timestamp(secs.saturating_mul(1000))
    }

    pub const fn as_millis(self) -> i64 {
        self.0
    }

    /// This instant moved forward by `d`, saturating instead of overflowing.
    pub fn plus(self, d: Duration) -> Self {
        Timestamp(self.0.saturating_add(duration_millis(d)))
    }

    /// This instant moved back by `d`, saturating instead of overflowing.
    pub fn minus(self, d: Duration) -> Self {
        Timestamp(self.0.saturating_sub(duration_millis(d)))
    }

    /// Time elapsed from `earlier` to `self`; zero when `earlier` is later.
    pub fn since(self, earlier: Timestamp) -> Duration {
        Duration::from_millis(u64::try_from(self.0.saturating_sub(earlier.0)).unwrap_or(0))
    }

    /// Converts to a jiff timestamp for calendar and time-zone work.
    pub fn to_jiff(self) -> jiff::Timestamp {
        jiff::Timestamp::from_millisecond(self.0).unwrap_or(jiff::Timestamp::UNIX_EPOCH)
    }

    pub fn from_jiff(t: jiff::Timestamp) -> Self {
        Timestamp(t.as_millisecond())
    }
}

fn duration_millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

impl fmt::Debug for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Timestamp({})", self.to_jiff())
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.to_jiff(), f)
    }
}

/// A future returned by [`Clock::sleep_until`].
pub type Sleep = Pin<Box<dyn Future<Output = ()> + Send + 'static>>;

/// The only way dynopilot code learns the time or waits for it.
pub trait Clock: Send + Sync + 'static {
    fn now(&self) -> Timestamp;
    /// Completes once `now() >= deadline`.
    fn sleep_until(&self, deadline: Timestamp) -> Sleep;

    fn sleep(&self, d: Duration) -> Sleep {
        self.sleep_until(self.now().plus(d))
    }
}

/// A clock that moves only when told to; sleepers wake when it passes their deadline.
#[derive(Clone, Default)]
pub struct ManualClock {
    inner: Arc<Mutex<ManualState>>,
}

#[derive(Default)]
struct ManualState {
    now: Timestamp,
    sleepers: Vec<(Timestamp, Waker)>,
}

impl ManualClock {
    pub fn new(start: Timestamp) -> Self {
        let clock = ManualClock::default();
        clock.set(start);
        clock
    }

    /// Moves time to `t` (never backwards) and wakes every sleeper whose deadline has passed.
    pub fn set(&self, t: Timestamp) {
        let due: Vec<Waker> = {
            let mut state = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
            if t > state.now {
                state.now = t;
            }
            let now = state.now;
            let (due, waiting): (Vec<_>, Vec<_>) = state
                .sleepers
                .drain(..)
                .partition(|(deadline, _)| *deadline <= now);
            state.sleepers = waiting;
            due.into_iter().map(|(_, w)| w).collect()
        };
        for waker in due {
            waker.wake();
        }
    }

    pub fn advance(&self, d: Duration) {
        self.set(self.now().plus(d));
    }

    /// The earliest deadline anyone is sleeping until, if any.
    pub fn next_deadline(&self) -> Option<Timestamp> {
        let state = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        state.sleepers.iter().map(|(d, _)| *d).min()
    }
}

impl fmt::Debug for ManualClock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ManualClock({})", self.now())
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Timestamp {
        self.inner
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .now
    }

    fn sleep_until(&self, deadline: Timestamp) -> Sleep {
        Box::pin(ManualSleep {
            clock: self.clone(),
            deadline,
        })
    }
}

struct ManualSleep {
    clock: ManualClock,
    deadline: Timestamp,
}

impl Future for ManualSleep {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let mut state = self
            .clock
            .inner
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if state.now >= self.deadline {
            return Poll::Ready(());
        }
        state.sleepers.push((self.deadline, cx.waker().clone()));
        Poll::Pending
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arithmetic_saturates_and_since_is_never_negative() {
        let t = Timestamp::from_secs(10);
        assert_eq!(t.plus(Duration::from_millis(1500)).as_millis(), 11_500);
        assert_eq!(t.minus(Duration::from_secs(20)).as_millis(), -10_000);
        assert_eq!(Timestamp::from_secs(5).since(t), Duration::ZERO);
        assert_eq!(t.since(Timestamp::from_secs(4)), Duration::from_secs(6));
        assert_eq!(
            Timestamp::from_millis(i64::MAX)
                .plus(Duration::from_secs(1))
                .as_millis(),
            i64::MAX
        );
    }

    #[test]
    fn displays_as_rfc3339() {
        assert_eq!(
            Timestamp::from_secs(1_700_000_000).to_string(),
            "2023-11-14T22:13:20Z"
        );
    }

    #[test]
    fn manual_clock_wakes_sleepers_only_when_their_deadline_passes() {
        use std::task::Wake;
        struct Flag(std::sync::atomic::AtomicBool);
        impl Wake for Flag {
            fn wake(self: Arc<Self>) {
                self.0.store(true, std::sync::atomic::Ordering::SeqCst);
            }
        }
        let clock = ManualClock::new(Timestamp::from_secs(100));
        let flag = Arc::new(Flag(false.into()));
        let waker = Waker::from(flag.clone());
        let mut cx = Context::from_waker(&waker);
        let mut sleep = clock.sleep(Duration::from_secs(5));
        assert!(sleep.as_mut().poll(&mut cx).is_pending());
        assert_eq!(clock.next_deadline(), Some(Timestamp::from_secs(105)));
        clock.advance(Duration::from_secs(4));
        assert!(!flag.0.load(std::sync::atomic::Ordering::SeqCst));
        clock.advance(Duration::from_secs(1));
        assert!(flag.0.load(std::sync::atomic::Ordering::SeqCst));
        assert!(sleep.as_mut().poll(&mut cx).is_ready());
        clock.set(Timestamp::from_secs(1));
        assert_eq!(
            clock.now(),
            Timestamp::from_secs(105),
            "time never goes backwards"
        );
    }
}
