//! Dyno-manager lines: state changes, exits, signals, boots, cycling, and R/L error lines.

/// A dyno lifecycle event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DynoEvent<'a> {
    StateChanged {
        from: &'a str,
        to: &'a str,
    },
    /// `Process exited with status N`; bare `Process exited` has no status.
    Exited {
        status: Option<i32>,
    },
    /// `Stopping all processes with SIGTERM` (`all`) or `Stopping process with SIGKILL`.
    Stopping {
        signal: &'a str,
        all: bool,
    },
    Starting {
        command: &'a str,
    },
    Cycling,
    Restarting,
    Idling,
    Unidling,
    Relocating,
    /// `Awaiting client`: a `heroku run` dyno waits for the CLI to attach.
    AwaitingClient,
    /// `Client connection closed. Sending SIGHUP to all processes`: the CLI left a one-off dyno.
    ClientClosed,
}

impl DynoEvent<'_> {
    /// The stable event name used in JSON output.
    pub fn name(&self) -> &'static str {
        match self {
            Self::StateChanged { .. } => "state_changed",
            Self::Exited { .. } => "exited",
            Self::Stopping { .. } => "stopping",
            Self::Starting { .. } => "starting",
            Self::Cycling => "cycling",
            Self::Restarting => "restarting",
            Self::Idling => "idling",
            Self::Unidling => "unidling",
            Self::Relocating => "relocating",
            Self::AwaitingClient => "awaiting_client",
            Self::ClientClosed => "client_closed",
        }
    }
}

/// The start of a boot line.
pub const STARTING: &str = "Starting process with command";

/// What the dyno manager writes when the `heroku run` client disconnects.
pub const CLIENT_CLOSED: &str = "Client connection closed. Sending SIGHUP to all processes";

/// Parses the exact forms Heroku's dyno manager writes.
pub fn parse_event(message: &str) -> Option<DynoEvent<'_>> {
    let message = message.trim_end();
    if let Some(rest) = message.strip_prefix("State changed from ") {
        let (from, to) = rest.split_once(" to ")?;
        return (!from.contains(' ') && !to.contains(' '))
            .then_some(DynoEvent::StateChanged { from, to });
    }
    if let Some(rest) = message.strip_prefix("Process exited") {
        let status = match rest.strip_prefix(" with status ") {
            Some(n) => Some(n.trim().parse().ok()?),
            None if rest.is_empty() => None,
            None => return None,
        };
        return Some(DynoEvent::Exited { status });
    }
    if let Some(signal) = message.strip_prefix("Stopping all processes with ") {
        return Some(DynoEvent::Stopping { signal, all: true });
    }
    if let Some(signal) = message.strip_prefix("Stopping process with ") {
        return Some(DynoEvent::Stopping { signal, all: false });
    }
    if let Some(rest) = message.strip_prefix(STARTING) {
        let rest = rest.strip_prefix(':').unwrap_or(rest).trim_start();
        let command = rest
            .strip_prefix('`')
            .and_then(|r| r.strip_suffix('`'))
            .unwrap_or(rest);
        return Some(DynoEvent::Starting { command });
    }
    Some(match message {
        "Cycling" => DynoEvent::Cycling,
        "Restarting" => DynoEvent::Restarting,
        "Idling" => DynoEvent::Idling,
        "Unidling" => DynoEvent::Unidling,
        "Relocating dyno to a new server" => DynoEvent::Relocating,
        "Awaiting client" => DynoEvent::AwaitingClient,
        CLIENT_CLOSED => DynoEvent::ClientClosed,
        _ => return None,
    })
}

/// An R, L or H error line: `Error R14 (Memory quota exceeded)`,
/// `Error R10 (Boot timeout) -> Web process failed …`, `Error L10 (output buffer overflow): …`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PlatformError<'a> {
    pub code: &'a str,
    pub desc: Option<&'a str>,
    pub detail: Option<&'a str>,
}

pub fn parse_error(message: &str) -> Option<PlatformError<'_>> {
    let message = message.trim_end();
    let rest = message.strip_prefix("Error ").unwrap_or(message);
    let code_len = error_code_len(rest)?;
    let (code, mut rest) = rest.split_at(code_len);
    let mut desc = None;
    if let Some(inner) = rest.strip_prefix(" (") {
        let close = inner.find(')')?;
        desc = Some(&inner[..close]);
        rest = &inner[close + 1..];
    }
    let detail = if let Some(d) = rest.strip_prefix(" -> ") {
        Some(d)
    } else if let Some(d) = rest.strip_prefix(": ") {
        Some(d)
    } else if rest.is_empty() {
        None
    } else {
        return None;
    };
    Some(PlatformError { code, desc, detail })
}

/// `R14`, `L10`, `H12`, `R151`: a letter and 2–3 digits.
fn error_code_len(s: &str) -> Option<usize> {
    let b = s.as_bytes();
    if !matches!(b.first(), Some(b'R' | b'L' | b'H')) {
        return None;
    }
    let digits = b[1..].iter().take_while(|c| c.is_ascii_digit()).count();
    (2..=3).contains(&digits).then_some(1 + digits)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events() {
        assert_eq!(
            parse_event("State changed from up to crashed"),
            Some(DynoEvent::StateChanged {
                from: "up",
                to: "crashed"
            })
        );
        assert_eq!(
            parse_event("Process exited with status 137"),
            Some(DynoEvent::Exited { status: Some(137) })
        );
        assert_eq!(
            parse_event("Process exited"),
            Some(DynoEvent::Exited { status: None })
        );
        assert_eq!(
            parse_event("Stopping all processes with SIGTERM"),
            Some(DynoEvent::Stopping {
                signal: "SIGTERM",
                all: true
            })
        );
        assert_eq!(
            parse_event("Starting process with command `bundle exec puma -C config/puma.rb`"),
            Some(DynoEvent::Starting {
                command: "bundle exec puma -C config/puma.rb"
            })
        );
        assert_eq!(
            parse_event("Starting process with command: `rails server -p 22020`"),
            Some(DynoEvent::Starting {
                command: "rails server -p 22020"
            })
        );
        assert_eq!(parse_event("Cycling"), Some(DynoEvent::Cycling));
        assert_eq!(parse_event("Process exited with status abc"), None);
        assert_eq!(parse_event("hello"), None);
    }

    #[test]
    fn errors() {
        assert_eq!(
            parse_error("Error R14 (Memory quota exceeded)"),
            Some(PlatformError {
                code: "R14",
                desc: Some("Memory quota exceeded"),
                detail: None
            })
        );
        let e = parse_error("Error R10 (Boot timeout) -> Web process failed to bind to $PORT within 60 seconds of launch").unwrap();
        assert_eq!(
            e.detail,
            Some("Web process failed to bind to $PORT within 60 seconds of launch")
        );
        let e = parse_error("Error L10 (output buffer overflow): 500 messages dropped since 2013-04-17T19:04:46+00:00.").unwrap();
        assert_eq!((e.code, e.desc), ("L10", Some("output buffer overflow")));
        let e = parse_error("Error L12: 222 messages dropped since 2013-04-17T19:04:46+00:00.")
            .unwrap();
        assert_eq!((e.code, e.desc), ("L12", None));
        let e =
            parse_error("L11 (Tail buffer overflow) -> This tail session dropped 1101 messages")
                .unwrap();
        assert_eq!(e.code, "L11");
        assert_eq!(parse_error("Error X (nope)"), None);
        assert_eq!(parse_error("Error R14 trailing junk"), None);
    }
}
