//! Terminal logging for long-running commands: compact lines, our crates at `info`, noisy
//! dependencies at `warn`; `RUST_LOG` overrides.

pub fn init() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| {
        tracing_subscriber::EnvFilter::new(
            "info,sqlx=warn,hyper=warn,reqwest=warn,dynopilot_sim=warn,dynopilot_heroku=warn",
        )
    });
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false)
        .compact()
        .try_init();
}
