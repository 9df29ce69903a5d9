//! Fuzzes the drain endpoint's request handling without the network: a header block (`Name:
//! value` lines, up to a blank line) then the body, through authentication, app lookup by path
//! or `Logplex-Drain-Token`, frame-id dedupe, `Logplex-Msg-Count` and the frame parser into the
//! fleet state. Any request must end in one of the endpoint's statuses, never a panic, and a
//! batch with a frame id seen before must change nothing.
#![no_main]

use std::sync::{Arc, OnceLock, RwLock};

use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use dynopilot_core::{Clock, ManualClock, Timestamp};
use dynopilot_server::ingest::Ingest;
use dynopilot_server::ingest::drain::{AppDirectory, DrainSettings, DrainState};
use libfuzzer_sys::fuzz_target;

const SECRET: &str = "fuzz-drain-secret";

/// One endpoint for the whole run, as in the daemon (state accumulates across inputs).
fn endpoint() -> &'static DrainState {
    static STATE: OnceLock<DrainState> = OnceLock::new();
    STATE.get_or_init(|| {
        let clock: Arc<dyn Clock> = Arc::new(ManualClock::new(Timestamp::from_millis(
            1_767_571_200_000,
        )));
        let mut directory = AppDirectory::default();
        directory.apps.insert("shop".to_owned());
        directory
            .tokens
            .insert("d.01234567-89ab-cdef-0123-456789abcdef".to_owned(), "shop".to_owned());
        let settings = DrainSettings {
            secret: SECRET.to_owned(),
            max_body_bytes: 1 << 20,
            max_in_flight: 4,
        };
        DrainState::new(Ingest::new(clock), &settings, Arc::new(RwLock::new(directory)))
    })
}

/// Splits `Name: value` lines up to the first empty line; lines that are not a valid header
/// are skipped, as a server would refuse them before the handler.
fn split(data: &[u8]) -> (HeaderMap, &[u8]) {
    let mut headers = HeaderMap::new();
    let mut rest = data;
    while let Some(end) = rest.iter().position(|&b| b == b'\n') {
        let line = &rest[..end];
        rest = &rest[end + 1..];
        if line.is_empty() {
            break;
        }
        let Some(colon) = line.iter().position(|&b| b == b':') else {
            continue;
        };
        let value = line[colon + 1..].trim_ascii();
        if let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(&line[..colon]),
            HeaderValue::from_bytes(value),
        ) {
            headers.append(name, value);
        }
    }
    (headers, rest)
}

fuzz_target!(|data: &[u8]| {
    let Some((&route, data)) = data.split_first() else {
        return;
    };
    let (headers, body) = split(data);
    let state = endpoint();
    // The low bits pick the route and the segment: path secret or basic auth, app name or a
    // drain token, the right secret or a wrong one.
    let segment = match route & 3 {
        0 => "shop",
        1 => "d.01234567-89ab-cdef-0123-456789abcdef",
        2 => "other",
        _ => "",
    };
    let secret = match (route >> 2) & 3 {
        0 => None,
        1 => Some(SECRET),
        2 => Some("wrong"),
        _ => Some(""),
    };
    let status = state.receive(segment, secret, &headers, body);
    assert!(
        matches!(
            status,
            StatusCode::NO_CONTENT
                | StatusCode::UNAUTHORIZED
                | StatusCode::NOT_FOUND
                | StatusCode::SERVICE_UNAVAILABLE
        ),
        "unexpected status {status}"
    );
    // The same batch again (Logplex retries): with a frame id it is a duplicate, applies
    // nothing and is still answered 204 when the first one was.
    if status == StatusCode::NO_CONTENT && headers.contains_key("logplex-frame-id") {
        let applied = state_lines(state);
        let again = state.receive(segment, secret, &headers, body);
        assert_eq!(again, StatusCode::NO_CONTENT);
        assert_eq!(state_lines(state), applied, "a retried batch was applied twice");
    }
});

fn state_lines(state: &DrainState) -> u64 {
    state.ingest().metrics.lines()
}
