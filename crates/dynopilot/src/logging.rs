//! Terminal logging for long-running commands: compact lines, our crates at `info`, noisy
//! dependencies at `warn`; `RUST_LOG` overrides. Colours only on a terminal, so a piped or
//! redirected log (`dynopilot demo > demo.log`, a Heroku log drain) stays plain text. Every
//! line passes through [`RedactingStdout`], so a URL's password never reaches the log.

use std::io::{IsTerminal, Write};

use dynopilot_server::config::redact_urls_in;

pub fn init() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| {
        tracing_subscriber::EnvFilter::new(
            "info,sqlx=warn,hyper=warn,reqwest=warn,dynopilot_sim=warn,dynopilot_heroku=warn",
        )
    });
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false)
        .with_ansi(std::io::stdout().is_terminal())
        .with_writer(|| RedactingStdout)
        .compact()
        .try_init();
}

/// Standard output with the credentials of URLs masked. The formatter hands over each event
/// as one buffer, so a URL is never split across two writes.
struct RedactingStdout;

impl Write for RedactingStdout {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let text = String::from_utf8_lossy(buf);
        let mut out = std::io::stdout().lock();
        if text.contains("://") {
            out.write_all(redact_urls_in(&text).as_bytes())?;
        } else {
            out.write_all(buf)?;
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        std::io::stdout().flush()
    }
}
