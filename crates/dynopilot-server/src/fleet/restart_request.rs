//! Restart requests of the application itself: the log-line convention
//! `dynopilot#restart_request=1` (optionally with `reason=…`), and recording a request from
//! either that line or the HTTP endpoint as one restart-counter event of the dyno.

use dynopilot_core::Timestamp;
use dynopilot_core::policy::DynoState;

/// The key an app logs to ask for a restart of the dyno that logs it.
pub const LOG_KEY: &str = "dynopilot#restart_request";

/// Events kept per dyno: far above any sensible threshold, so a chatty app cannot grow memory.
const EVENTS_KEPT: usize = 1_000;

/// True when a log message carries `dynopilot#restart_request=1` (or `=true`, or no value) as
/// a whole logfmt key; `=0` and other values are not a request.
pub fn requested_in(message: &str) -> bool {
    if !message.contains(LOG_KEY) {
        return false;
    }
    message.split_ascii_whitespace().any(|pair| {
        let (key, value) = pair.split_once('=').unwrap_or((pair, "1"));
        key == LOG_KEY && matches!(value.trim_matches('"'), "1" | "true")
    })
}

/// Counts one request for `dyno` at `at`.
pub fn record(dyno: &mut DynoState, at: Timestamp) {
    dyno.counter_events.push(at);
    let excess = dyno.counter_events.len().saturating_sub(EVENTS_KEPT);
    dyno.counter_events.drain(..excess);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_whole_key_with_a_true_value_is_a_request() {
        assert!(requested_in("dynopilot#restart_request=1 reason=pool"));
        assert!(requested_in("at=warn dynopilot#restart_request=true"));
        assert!(requested_in("dynopilot#restart_request"));
        assert!(!requested_in("dynopilot#restart_request=0"));
        assert!(!requested_in("xdynopilot#restart_request=1"));
        assert!(!requested_in("dynopilot#restart_requests=1"));
        assert!(!requested_in("GET /restart dynopilot"));
    }
}
