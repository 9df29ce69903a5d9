//! The text layouts one log entry arrives in when people paste what they have: `heroku logs`
//! output (plain, with Windows line ends, or coloured by the CLI), the syslog-drain rendering,
//! and syslog lines without octet framing. Written the way their writers write them, so that
//! tests and generated samples can check that [`crate::read_line`] reads every one back.

use std::fmt::Write as _;

use crate::encode::Record;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    /// `TIME SOURCE[PROC]: MSG`.
    HerokuLogs,
    /// The same with `\r\n` line ends.
    HerokuLogsCrlf,
    /// The same as the CLI colours it (ANSI codes around the head and router values).
    HerokuLogsColoured,
    /// `TIME d.TOKEN SOURCE[PROC] MSG`, as Dev Center shows syslog-drain output.
    DrainTokenRendering,
    /// `<PRI>1 TIME host SOURCE PROC - MSG` without an octet count.
    Syslog,
    /// `TIME host SOURCE PROC - MSG`: syslog without the `<PRI>VERSION` prefix.
    SyslogNoPriority,
    /// `<PRI>1 TIME - SOURCE PROC - - MSG`: nil HOSTNAME and a nil STRUCTURED-DATA.
    SyslogNil,
}

pub const LAYOUTS: [Layout; 7] = [
    Layout::HerokuLogs,
    Layout::HerokuLogsCrlf,
    Layout::HerokuLogsColoured,
    Layout::DrainTokenRendering,
    Layout::Syslog,
    Layout::SyslogNoPriority,
    Layout::SyslogNil,
];

impl Layout {
    pub fn name(self) -> &'static str {
        match self {
            Self::HerokuLogs => "heroku-logs",
            Self::HerokuLogsCrlf => "heroku-logs-crlf",
            Self::HerokuLogsColoured => "heroku-logs-coloured",
            Self::DrainTokenRendering => "drain-token-rendering",
            Self::Syslog => "syslog",
            Self::SyslogNoPriority => "syslog-no-priority",
            Self::SyslogNil => "syslog-nil",
        }
    }
}

/// The drain token the samples use.
pub const SAMPLE_TOKEN: &str = "d.9173ea1f-6f14-4976-9cf0-7cd0dafdcdbc";

/// Appends `record` as one line in `layout`, with its line end.
pub fn push(out: &mut String, layout: Layout, r: &Record<'_>) {
    let (time, source, process, message) = (r.timestamp, r.source, r.process, r.message);
    let _ = match layout {
        Layout::HerokuLogs => writeln!(out, "{time} {source}[{process}]: {message}"),
        Layout::HerokuLogsCrlf => write!(out, "{time} {source}[{process}]: {message}\r\n"),
        Layout::HerokuLogsColoured => {
            let _ = write!(out, "\x1b[36m{time} {source}[{process}]:\x1b[39m ");
            colour_body(out, process, message);
            writeln!(out)
        }
        Layout::DrainTokenRendering => {
            writeln!(out, "{time} {SAMPLE_TOKEN} {source}[{process}] {message}")
        }
        Layout::Syslog => writeln!(
            out,
            "<{}>1 {time} host {source} {process} - {message}",
            r.priority
        ),
        Layout::SyslogNoPriority => writeln!(out, "{time} host {source} {process} - {message}"),
        Layout::SyslogNil => writeln!(
            out,
            "<{}>1 {time} - {source} {process} - - {message}",
            r.priority
        ),
    };
}

/// Router lines get a colour per value and dim keys, other messages are dimmed whole, as the
/// CLI does it.
fn colour_body(out: &mut String, process: &str, message: &str) {
    if process != "router" {
        let _ = write!(out, "\x1b[2m{message}\x1b[22m");
        return;
    }
    for (i, token) in message.split(' ').enumerate() {
        if i > 0 {
            out.push(' ');
        }
        match token.split_once('=') {
            Some((key, value)) => {
                let colour = match key {
                    "at" | "code" => "31",
                    "method" => "35",
                    "path" | "status" => "32",
                    _ => "33",
                };
                let _ = write!(out, "\x1b[2m{key}=\x1b[22m\x1b[{colour}m{value}\x1b[39m");
            }
            None => {
                let _ = write!(out, "\x1b[2m{token}\x1b[22m");
            }
        }
    }
}
