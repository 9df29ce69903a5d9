//! The message grammar: what one Heroku log message means, as a typed, borrowed record.

pub mod api;
pub mod dyno;
pub mod l2met;
pub mod router;
pub mod runtime;
pub mod units;

pub use api::{ApiEvent, ScaleEntry, ScaleEvent};
pub use dyno::{DynoEvent, PlatformError};
pub use l2met::{Metric, MetricKind, MetricsLine};
pub use router::RouterLine;
pub use runtime::{LoadSample, MemorySample, RuntimeSample};

/// One log message, classified. Every variant borrows from the input.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Message<'a> {
    Router(RouterLine<'a>),
    Memory(MemorySample<'a>),
    Load(LoadSample<'a>),
    Error(PlatformError<'a>),
    State(DynoEvent<'a>),
    Release(ApiEvent<'a>),
    Scale(ScaleEvent<'a>),
    L2met(MetricsLine<'a>),
    /// Output of the app's own processes.
    App(&'a str),
    /// Anything else: unrecognised platform lines, and messages that are not valid UTF-8. Its
    /// kind name is `unknown`.
    Other(&'a str),
}

impl Message<'_> {
    /// The kind name used in `--json` output.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Router(_) => "router",
            Self::Memory(_) => "memory",
            Self::Load(_) => "load",
            Self::Error(_) => "error",
            Self::State(_) => "state",
            Self::Release(_) => "release",
            Self::Scale(_) => "scale",
            Self::L2met(_) => "l2met",
            Self::App(_) => "app",
            Self::Other(_) => "unknown",
        }
    }
}

/// Classifies a message by who wrote it (`source`, `process`) and what it says.
pub fn parse_message<'a>(source: &str, process: &str, message: &'a str) -> Message<'a> {
    match source {
        "heroku" => parse_platform(process, message),
        "app" => parse_app(process, message),
        _ => Message::Other(message),
    }
}

/// Classifies a message whose bytes may not be UTF-8 (those become `Other` with no text).
pub fn parse_message_bytes<'a>(source: &str, process: &str, message: &'a [u8]) -> Message<'a> {
    match std::str::from_utf8(message) {
        Ok(text) => parse_message(source, process, text),
        Err(_) => Message::Other(""),
    }
}

/// Classifies a message whose UTF-8 check may already have been done (`Frame::text`): uses
/// `text` when present, otherwise checks `bytes`.
pub fn parse_message_checked<'a>(
    source: &str,
    process: &str,
    text: Option<&'a str>,
    bytes: &'a [u8],
) -> Message<'a> {
    match text {
        Some(text) => parse_message(source, process, text),
        None => parse_message_bytes(source, process, bytes),
    }
}

fn parse_platform<'a>(process: &str, message: &'a str) -> Message<'a> {
    if process == "router" {
        return router::classify(message);
    }
    if process == "api" {
        // Before 2013 the audit stream was written as `heroku[api]`.
        return parse_api(message);
    }
    let first = message.as_bytes().first().copied();
    if matches!(first, Some(b's' | b'm')) {
        match runtime::parse(message) {
            Some(RuntimeSample::Memory(m)) => return Message::Memory(m),
            Some(RuntimeSample::Load(l)) => return Message::Load(l),
            None => {}
        }
    }
    if let Some(error) = dyno::parse_error(message) {
        return Message::Error(error);
    }
    if let Some(memory) = runtime::parse_process_running(message) {
        return Message::Memory(memory);
    }
    if let Some(event) = dyno::parse_event(message) {
        return Message::State(event);
    }
    Message::Other(message)
}

fn parse_app<'a>(process: &str, message: &'a str) -> Message<'a> {
    if process == "api" {
        return parse_api(message);
    }
    if message.starts_with(dyno::STARTING) {
        // Some stacks logged the boot line as `app[web.1]`.
        if let Some(event) = dyno::parse_event(message) {
            return Message::State(event);
        }
    }
    if let Some(metrics) = l2met::parse(message) {
        return Message::L2met(metrics);
    }
    Message::App(message)
}

fn parse_api(message: &str) -> Message<'_> {
    if let Some(scale) = api::parse_scale(message) {
        return Message::Scale(scale);
    }
    match api::parse_event(message) {
        Some(event) => Message::Release(event),
        None => Message::Other(message),
    }
}
