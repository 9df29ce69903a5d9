//! The encoder: writes drain bodies and `heroku logs` lines byte for byte as Heroku does, and
//! renders typed messages in Heroku's exact wording. The simulator speaks through this module.

use std::fmt::Write as _;

use crate::message::{ApiEvent, DynoEvent, LoadSample, MemorySample, PlatformError, RouterLine};

/// One log message to write: who wrote it, when, and what.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Record<'a> {
    pub priority: u16,
    /// RFC 3339, as [`crate::timestamp::format`] writes it.
    pub timestamp: &'a str,
    /// `app` or `heroku`.
    pub source: &'a str,
    pub process: &'a str,
    pub message: &'a str,
}

/// The priority Heroku typically uses for a source and process (observed; not contractual).
pub fn default_priority(source: &str, process: &str) -> u16 {
    match (source, process) {
        ("heroku", "router") => 158,
        ("heroku", "logplex") => 172,
        ("heroku", _) => 45,
        _ => 190,
    }
}

/// Appends one octet-counted frame: `<len> <PRI>1 TIME host SOURCE PROC - MSG\n`.
pub fn push_frame(out: &mut Vec<u8>, record: &Record<'_>) {
    let mut head = String::with_capacity(96);
    let _ = write!(
        head,
        "<{}>1 {} host {} {} - ",
        record.priority, record.timestamp, record.source, record.process
    );
    let len = head.len() + record.message.len() + 1;
    let _ = write!(ByteWriter(out), "{len} ");
    out.extend_from_slice(head.as_bytes());
    out.extend_from_slice(record.message.as_bytes());
    out.push(b'\n');
}

/// A whole drain body and the `Logplex-Msg-Count` that goes with it.
pub fn encode_body<'a>(records: impl IntoIterator<Item = &'a Record<'a>>) -> (Vec<u8>, usize) {
    let mut body = Vec::new();
    let mut count = 0;
    for record in records {
        push_frame(&mut body, record);
        count += 1;
    }
    (body, count)
}

/// Appends one `heroku logs` line: `TIME SOURCE[PROC]: MSG\n`.
pub fn push_line(out: &mut String, record: &Record<'_>) {
    let _ = writeln!(
        out,
        "{} {}[{}]: {}",
        record.timestamp, record.source, record.process, record.message
    );
}

/// A `Logplex-Frame-Id`: 32 uppercase hex digits.
pub fn frame_id(value: u128) -> String {
    format!("{value:032X}")
}

struct ByteWriter<'a>(&'a mut Vec<u8>);

impl std::fmt::Write for ByteWriter<'_> {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        self.0.extend_from_slice(s.as_bytes());
        Ok(())
    }
}

/// A router line in Heroku's key order (`sock` first when present, `code`/`desc` after `at`).
pub fn router(line: &RouterLine<'_>) -> String {
    let mut s = String::with_capacity(256);
    if let Some(sock) = line.sock {
        let _ = write!(s, "sock={sock} ");
    }
    let _ = write!(s, "at={}", line.at.unwrap_or("info"));
    if let Some(code) = line.code {
        let _ = write!(s, " code={code}");
    }
    if let Some(desc) = line.desc {
        let _ = write!(s, " desc=\"{desc}\"");
    }
    let text = |v: Option<&str>| v.unwrap_or("").to_owned();
    let _ = write!(
        s,
        " method={} path=\"{}\" host={} request_id={} fwd=\"{}\" dyno={} connect={} service={} status={} bytes={}",
        text(line.method),
        text(line.path),
        text(line.host),
        text(line.request_id),
        text(line.fwd),
        text(line.dyno),
        millis(line.connect_ms),
        millis(line.service_ms),
        line.status.map(|v| v.to_string()).unwrap_or_default(),
        line.bytes.map(|v| v.to_string()).unwrap_or_default(),
    );
    if let Some(protocol) = line.protocol {
        let _ = write!(s, " protocol={protocol}");
    }
    if let Some(tls) = line.tls_version {
        let _ = write!(s, " tls_version={tls}");
    }
    for (key, value) in [("cause", line.cause), ("agent", line.agent)] {
        if let Some(v) = value {
            let _ = write!(s, " {key}=\"{v}\"");
        }
    }
    s
}

/// A router line as written before 2012: `GET host/path dyno=… queue=… wait=…ms service=…ms
/// status=… bytes=…`, prefixed with `Error H12 (desc) -> ` for errors.
pub fn router_legacy(line: &RouterLine<'_>) -> String {
    let mut s = String::with_capacity(192);
    if let Some(code) = line.code {
        let _ = write!(s, "Error {code} ");
        if let Some(desc) = line.desc {
            let _ = write!(s, "({desc}) ");
        }
        s.push_str("-> ");
    }
    let _ = write!(
        s,
        "{} {}{} dyno={}",
        line.method.unwrap_or("GET"),
        line.host.unwrap_or(""),
        line.path.unwrap_or(""),
        line.dyno.unwrap_or("")
    );
    if let Some(queue) = line.queue {
        let _ = write!(s, " queue={queue}");
    }
    if line.wait_ms.is_some() {
        let _ = write!(s, " wait={}", millis(line.wait_ms));
    }
    let _ = write!(s, " service={}", millis(line.service_ms));
    if let Some(status) = line.status {
        let _ = write!(s, " status={status}");
    }
    if let Some(bytes) = line.bytes {
        let _ = write!(s, " bytes={bytes}");
    }
    s
}

fn millis(v: Option<f64>) -> String {
    v.map(|ms| format!("{}ms", ms.round() as i64))
        .unwrap_or_default()
}

/// A runtime-metrics memory line (all values in MB with two decimals, as Heroku writes them).
pub fn memory(m: &MemorySample<'_>) -> String {
    let mut s = String::with_capacity(320);
    push_identity(&mut s, m.source, m.dyno_id);
    for (name, value) in [
        ("memory_total", m.total_mb),
        ("memory_rss", m.rss_mb),
        ("memory_cache", m.cache_mb),
        ("memory_swap", m.swap_mb),
    ] {
        if let Some(v) = value {
            let _ = write!(s, " sample#{name}={v:.2}MB");
        }
    }
    for (name, value) in [
        ("memory_pgpgin", m.pgpgin_pages),
        ("memory_pgpgout", m.pgpgout_pages),
    ] {
        if let Some(v) = value {
            let _ = write!(s, " sample#{name}={v}pages");
        }
    }
    if let Some(q) = m.quota_mb {
        let _ = write!(s, " sample#memory_quota={q:.2}MB");
    }
    s
}

/// A runtime-metrics load line.
pub fn load(l: &LoadSample<'_>) -> String {
    let mut s = String::with_capacity(160);
    push_identity(&mut s, l.source, l.dyno_id);
    for (name, value) in [
        ("load_avg_1m", l.avg_1m),
        ("load_avg_5m", l.avg_5m),
        ("load_avg_15m", l.avg_15m),
    ] {
        if let Some(v) = value {
            let _ = write!(s, " sample#{name}={v:.2}");
        }
    }
    s
}

fn push_identity(s: &mut String, source: Option<&str>, dyno_id: Option<&str>) {
    let _ = write!(
        s,
        "source={} dyno={}",
        source.unwrap_or(""),
        dyno_id.unwrap_or("")
    );
}

/// `Process running mem=594M(109.6%)`.
pub fn process_running(total_mb: f64, quota_pct: f64) -> String {
    format!(
        "Process running mem={}M({quota_pct:.1}%)",
        total_mb.round() as i64
    )
}

/// A dyno-manager line in Heroku's wording.
pub fn dyno_event(event: &DynoEvent<'_>) -> String {
    match *event {
        DynoEvent::StateChanged { from, to } => format!("State changed from {from} to {to}"),
        DynoEvent::Exited { status: Some(n) } => format!("Process exited with status {n}"),
        DynoEvent::Exited { status: None } => "Process exited".to_owned(),
        DynoEvent::Stopping { signal, all: true } => {
            format!("Stopping all processes with {signal}")
        }
        DynoEvent::Stopping { signal, all: false } => format!("Stopping process with {signal}"),
        DynoEvent::Starting { command } => format!("Starting process with command `{command}`"),
        DynoEvent::Cycling => "Cycling".to_owned(),
        DynoEvent::Restarting => "Restarting".to_owned(),
        DynoEvent::Idling => "Idling".to_owned(),
        DynoEvent::Unidling => "Unidling".to_owned(),
        DynoEvent::Relocating => "Relocating dyno to a new server".to_owned(),
        DynoEvent::AwaitingClient => "Awaiting client".to_owned(),
        DynoEvent::ClientClosed => crate::message::dyno::CLIENT_CLOSED.to_owned(),
    }
}

/// `Error R14 (Memory quota exceeded)`, with ` -> detail` when there is one (`: detail` for L
/// codes, as logplex writes them).
pub fn platform_error(e: &PlatformError<'_>) -> String {
    let mut s = format!("Error {}", e.code);
    if let Some(desc) = e.desc {
        let _ = write!(s, " ({desc})");
    }
    if let Some(detail) = e.detail {
        let sep = if e.code.starts_with('L') {
            ": "
        } else {
            " -> "
        };
        let _ = write!(s, "{sep}{detail}");
    }
    s
}

/// An `app[api]` audit line.
pub fn api_event(e: &ApiEvent<'_>) -> String {
    let mut s = api_action(e);
    push_user(&mut s, e.user());
    s
}

/// A `heroku[api]` audit line in the pre-2013 wording: `… by x@y` without `user`.
pub fn api_event_legacy(e: &ApiEvent<'_>) -> String {
    let mut s = api_action(e);
    if let Some(user) = e.user() {
        let _ = write!(s, " by {user}");
    }
    s
}

fn api_action(e: &ApiEvent<'_>) -> String {
    match *e {
        ApiEvent::Release { version, .. } => format!("Release v{version} created"),
        ApiEvent::Deploy { commit, .. } => format!("Deploy {commit}"),
        ApiEvent::Rollback { version, .. } => format!("Rollback to v{version}"),
        ApiEvent::ConfigVars { set, names, .. } => {
            format!("{} {names} config vars", if set { "Set" } else { "Remove" })
        }
        ApiEvent::ScaleTo { quantities, .. } => format!("Scale to {quantities}"),
        ApiEvent::Audit { action, .. } => action.to_owned(),
    }
}

/// `Scaled to web@2:Standard-1X worker@1:Basic by user x`.
pub fn scaled<'a>(
    entries: impl IntoIterator<Item = (&'a str, u32, &'a str)>,
    user: Option<&str>,
) -> String {
    let mut s = "Scaled to".to_owned();
    for (process_type, quantity, size) in entries {
        let _ = write!(s, " {process_type}@{quantity}:{size}");
    }
    push_user(&mut s, user);
    s
}

fn push_user(s: &mut String, user: Option<&str>) {
    if let Some(user) = user {
        let _ = write!(s, " by user {user}");
    }
}
