//! Event hooks: run a program (argv, no shell) in its own process group with the event as JSON
//! on stdin and as `DYNOPILOT_*` variables; at the timeout the whole group is killed.

use std::process::{ExitStatus, Stdio};
use std::time::Duration;

use dynopilot_core::Timestamp;
use tokio::io::AsyncWriteExt;
use tokio::process::Command;

use super::{http, text, webhook};
use crate::event::{AlertEvent, DeliveryError, EventKind, Receipt};

/// Only these variables of the daemon's own environment reach a hook: the rest may hold the
/// Heroku API key or database passwords.
const PASSED_ENV: &[&str] = &["PATH", "HOME", "LANG", "LC_ALL", "TZ", "TMPDIR"];
const STDERR_TAIL_CHARS: usize = 200;

pub struct Hook {
    pub command: Vec<String>,
    pub timeout: Duration,
}

impl Hook {
    pub async fn send(&self, event: &AlertEvent, now: Timestamp) -> Result<Receipt, DeliveryError> {
        let Some((program, args)) = self.command.split_first() else {
            return Err(DeliveryError::permanent("the hook has no command"));
        };
        let stdin_json = serde_json::to_vec(&webhook::payload_v1(event, now))
            .map_err(|e| DeliveryError::permanent(format!("cannot encode the event: {e}")))?;
        let mut child = self
            .command(program, args, event)
            .spawn()
            .map_err(|e| DeliveryError::permanent(format!("cannot start `{program}`: {e}")))?;
        let pid = child.id();
        if let Some(mut stdin) = child.stdin.take() {
            // A hook that never reads stdin must not block us: write aside, ignore a closed pipe.
            tokio::spawn(async move {
                let _ = stdin.write_all(&stdin_json).await;
            });
        }
        match tokio::time::timeout(self.timeout, child.wait_with_output()).await {
            Err(_) => {
                kill_group(pid);
                Err(DeliveryError::permanent(format!(
                    "`{program}` killed after its {} timeout",
                    http::secs(self.timeout)
                )))
            }
            Ok(Err(e)) => Err(DeliveryError::transient(format!(
                "waiting for `{program}` failed: {e}"
            ))),
            Ok(Ok(output)) => outcome(program, output.status, &output.stderr),
        }
    }

    fn command(&self, program: &str, args: &[String], e: &AlertEvent) -> Command {
        let mut cmd = Command::new(program);
        cmd.args(args)
            .env_clear()
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .process_group(0)
            .kill_on_drop(true);
        for name in PASSED_ENV {
            if let Some(value) = std::env::var_os(name) {
                cmd.env(name, value);
            }
        }
        let kind = match e.kind {
            EventKind::Trigger => "trigger",
            EventKind::Resolve => "resolve",
        };
        let vars = [
            ("DYNOPILOT_EVENT_ID", e.id.clone()),
            ("DYNOPILOT_KIND", kind.to_owned()),
            ("DYNOPILOT_TOPIC", e.topic.clone()),
            ("DYNOPILOT_SEVERITY", e.severity.to_string()),
            ("DYNOPILOT_APP", e.app.clone()),
            (
                "DYNOPILOT_PROCESS_TYPE",
                e.process_type.clone().unwrap_or_default(),
            ),
            ("DYNOPILOT_DYNO", e.dyno.clone().unwrap_or_default()),
            ("DYNOPILOT_MESSAGE", e.message.clone()),
            ("DYNOPILOT_TITLE", e.title.clone()),
        ];
        cmd.envs(vars);
        cmd
    }
}

/// Exit 0 is delivered; any other status (or a signal) is a permanent failure with its status:
/// running a hook twice may act twice.
fn outcome(program: &str, status: ExitStatus, stderr: &[u8]) -> Result<Receipt, DeliveryError> {
    if status.success() {
        return Ok(Receipt {
            remote_id: None,
            detail: "exit status 0".to_owned(),
        });
    }
    let mut reason = match status.code() {
        Some(code) => format!("`{program}` exited with status {code}"),
        None => format!("`{program}` was ended by a signal ({status})"),
    };
    let tail = String::from_utf8_lossy(stderr);
    let tail = tail.trim();
    if let Some(last) = tail.lines().last() {
        reason.push_str(&format!(
            ": {}",
            text::truncate(last.trim(), STDERR_TAIL_CHARS)
        ));
    }
    Err(DeliveryError::permanent(reason))
}

/// The hook runs in a group of its own (`process_group(0)`), whose id is its pid, so children
/// it started (a shell's `sleep`) go too.
fn kill_group(pid: Option<u32>) {
    let group = pid
        .and_then(|p| i32::try_from(p).ok())
        .and_then(rustix::process::Pid::from_raw);
    if let Some(group) = group {
        let _ = rustix::process::kill_process_group(group, rustix::process::Signal::KILL);
    }
}
