//! Terminal logging for long-running commands: compact lines, our crates at `info`, noisy
//! dependencies at `warn`; `RUST_LOG` overrides. Colours only on a terminal, so a piped or
//! redirected log (`dynopilot demo > demo.log`, a Heroku log drain) stays plain text.

use std::io::IsTerminal;

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
        .compact()
        .try_init();
}
