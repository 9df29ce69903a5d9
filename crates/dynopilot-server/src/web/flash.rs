//! Notices shown once after a form post ("autoscaling paused", "restart web.1 queued"): kept
//! on the server, keyed by the visitor's session (its CSRF token, a secret only that session
//! knows), so a page never prints text that came from a URL or another visitor.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use dynopilot_core::Timestamp;

/// A notice nobody came back for is dropped after this long.
const KEEP: Duration = Duration::from_secs(300);

/// At most this many sessions with a pending notice; the oldest go first.
const MAX_PENDING: usize = 10_000;

#[derive(Debug, Default)]
pub struct Flashes {
    pending: Mutex<HashMap<String, Flash>>,
}

#[derive(Clone, Debug)]
struct Flash {
    app: String,
    message: String,
    at: Timestamp,
}

impl Flashes {
    /// Leaves `message` for the session's next view of `app`'s page (replacing an older one).
    pub fn put(&self, session_key: &str, app: &str, message: String, now: Timestamp) {
        let Ok(mut pending) = self.pending.lock() else {
            return;
        };
        pending.retain(|_, f| now.since(f.at) < KEEP);
        if pending.len() >= MAX_PENDING
            && let Some(oldest) = pending
                .iter()
                .min_by_key(|(_, f)| f.at)
                .map(|(k, _)| k.clone())
        {
            pending.remove(&oldest);
        }
        let flash = Flash {
            app: app.to_owned(),
            message,
            at: now,
        };
        pending.insert(session_key.to_owned(), flash);
    }

    /// The session's notice for `app`, once: taking it removes it.
    pub fn take(&self, session_key: &str, app: &str, now: Timestamp) -> Option<String> {
        let mut pending = self.pending.lock().ok()?;
        let fresh = pending
            .get(session_key)
            .is_some_and(|f| f.app == app && now.since(f.at) < KEEP);
        if !fresh {
            return None;
        }
        pending.remove(session_key).map(|f| f.message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_notice_is_shown_once_to_its_session_on_its_app_only() {
        let flashes = Flashes::default();
        let now = Timestamp::from_secs(1_000);
        flashes.put("session-a", "shop", "autoscaling paused".to_owned(), now);
        assert_eq!(flashes.take("session-b", "shop", now), None);
        assert_eq!(flashes.take("session-a", "blog", now), None);
        assert_eq!(
            flashes.take("session-a", "shop", now).as_deref(),
            Some("autoscaling paused")
        );
        assert_eq!(flashes.take("session-a", "shop", now), None);
    }

    #[test]
    fn an_old_notice_is_not_shown() {
        let flashes = Flashes::default();
        let now = Timestamp::from_secs(1_000);
        flashes.put("s", "shop", "done".to_owned(), now);
        assert_eq!(flashes.take("s", "shop", now.plus(KEEP)), None);
    }
}
