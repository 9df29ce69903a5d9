//! What a simulated one-off dyno runs: a small interpreter for the commands clients send
//! (`echo`, `exit N`, `true`, `false`, `sleep N`, `sh -c …`, `env`, `find …`), `;` lists and
//! `$?`, over the dyno's own modelled files ([`fs::SimFs`]). Output comes as segments so a
//! `sleep` holds the rest back in real time on the rendezvous connection.

pub mod find;
pub mod fs;
pub mod words;

use std::collections::BTreeMap;
use std::time::Duration;

use dynopilot_core::Timestamp;

use fs::SimFs;

/// Longest `sleep` honoured (a one-off dyno lives at most a day anyway).
const MAX_SLEEP: Duration = Duration::from_secs(86_400);

/// One piece of a dyno's output stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Segment {
    Output(Vec<u8>),
    Sleep(Duration),
}

/// The dyno a script runs in.
pub struct Dyno<'a> {
    pub name: &'a str,
    pub env: &'a BTreeMap<String, String>,
    pub fs: &'a mut SimFs,
    pub now: Timestamp,
    /// With a terminal, `\n` goes out as `\r\n`, as a pty's `onlcr` does.
    pub tty: bool,
}

/// What a script produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Run {
    pub segments: Vec<Segment>,
    pub status: i32,
}

impl Run {
    /// All output bytes, sleeps dropped (for detached dynos, whose output goes to the logs).
    pub fn output(&self) -> Vec<u8> {
        self.segments
            .iter()
            .filter_map(|s| match s {
                Segment::Output(bytes) => Some(bytes.as_slice()),
                Segment::Sleep(_) => None,
            })
            .flatten()
            .copied()
            .collect()
    }
}

/// Runs `script` as `sh -c` would.
pub fn run(script: &str, dyno: &mut Dyno<'_>) -> Run {
    let mut run = Run {
        segments: Vec::new(),
        status: 0,
    };
    let commands = match words::parse(script) {
        Ok(commands) => commands,
        Err(message) => {
            run.say(dyno, format!("sh: syntax error: {message}\n").into_bytes());
            run.status = 2;
            return run;
        }
    };
    for command in &commands {
        let args = words::expand(command, run.status);
        if let Some(status) = run.command(&args, dyno) {
            run.status = status;
            return run;
        }
    }
    run
}

impl Run {
    /// Runs one command; `Some(status)` when it ends the script (`exit`).
    fn command(&mut self, args: &[String], dyno: &mut Dyno<'_>) -> Option<i32> {
        let (name, rest) = args.split_first()?;
        match name.as_str() {
            "echo" => {
                self.say(dyno, format!("{}\n", rest.join(" ")).into_bytes());
                self.status = 0;
            }
            "exit" => {
                let status = rest.first().map_or(Ok(self.status), |s| s.parse::<i32>());
                return Some(status.map_or(2, |s| s & 0xff));
            }
            "true" | ":" => self.status = 0,
            "false" => self.status = 1,
            "sleep" => {
                let secs = rest.first().and_then(|s| s.parse::<f64>().ok());
                match secs.filter(|s| s.is_finite() && *s >= 0.0) {
                    Some(secs) => {
                        let d = Duration::from_secs_f64(secs).min(MAX_SLEEP);
                        self.segments.push(Segment::Sleep(d));
                        self.status = 0;
                    }
                    None => {
                        self.say(dyno, b"sleep: invalid time interval\n".to_vec());
                        self.status = 1;
                    }
                }
            }
            "sh" | "bash" | "/bin/sh" | "/bin/bash"
                if rest.first().map(String::as_str) == Some("-c") =>
            {
                let child = run(rest.get(1).map_or("", String::as_str), dyno);
                self.segments.extend(child.segments);
                self.status = child.status;
            }
            "env" | "printenv" => {
                let mut out = format!("DYNO={}\n", dyno.name);
                for (k, v) in dyno.env {
                    out.push_str(&format!("{k}={v}\n"));
                }
                self.say(dyno, out.into_bytes());
                self.status = 0;
            }
            "find" => {
                let found = find::run(rest, dyno.fs, dyno.now);
                self.say(dyno, found.output);
                self.say(dyno, found.errors);
                self.status = found.status;
            }
            _ => {
                // Anything else (`rails console`, `rake db:migrate`): a short plausible transcript.
                let out = format!(
                    "Running {} on {}\n(simulated) done\n",
                    args.join(" "),
                    dyno.name
                );
                self.say(dyno, out.into_bytes());
                self.status = 0;
            }
        }
        None
    }

    fn say(&mut self, dyno: &Dyno<'_>, bytes: Vec<u8>) {
        if bytes.is_empty() {
            return;
        }
        let bytes = if dyno.tty {
            String::from_utf8_lossy(&bytes)
                .replace('\n', "\r\n")
                .into_bytes()
        } else {
            bytes
        };
        match self.segments.last_mut() {
            Some(Segment::Output(last)) => last.extend(bytes),
            _ => self.segments.push(Segment::Output(bytes)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sh(script: &str, tty: bool) -> (String, i32) {
        let env = BTreeMap::new();
        let mut fs = SimFs::default();
        let mut dyno = Dyno {
            name: "run.1",
            env: &env,
            fs: &mut fs,
            now: Timestamp::from_secs(1_000_000),
            tty,
        };
        let run = run(script, &mut dyno);
        (String::from_utf8(run.output()).unwrap(), run.status)
    }

    #[test]
    fn status_of_a_child_shell_reaches_the_marker() {
        assert_eq!(
            sh("sh -c 'echo hi; exit 3'; echo \"status $?\"", false),
            ("hi\nstatus 3\n".to_owned(), 0)
        );
        assert_eq!(sh("exit 4; echo never", false), (String::new(), 4));
        assert_eq!(
            sh("echo hello from run", true),
            ("hello from run\r\n".to_owned(), 0)
        );
    }
}
