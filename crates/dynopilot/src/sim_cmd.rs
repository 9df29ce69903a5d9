//! `dynopilot sim`: runs the simulated Heroku in real time with the demo workload until
//! Ctrl-C, and prints where it listens and the API key to use.

use std::io::Write;
use std::net::SocketAddr;
use std::sync::Arc;

use dynopilot_clock::SystemClock;
use dynopilot_core::Clock;
use dynopilot_sim::{SimConfig, Simulator};

/// Starts the simulator on `127.0.0.1:port` with `apps` demo apps and serves until Ctrl-C.
pub fn run(port: u16, apps: u32) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let mut config = SimConfig::demo(apps.max(1));
        config.addr = SocketAddr::from(([127, 0, 0, 1], port));
        let names: Vec<String> = config.apps.iter().map(|a| a.name.clone()).collect();
        let clock: Arc<dyn Clock> = Arc::new(SystemClock);
        let handle = Simulator::start(config, clock).await?;
        let mut out = std::io::stdout().lock();
        writeln!(out, "Simulated Heroku Platform API at {}", handle.base_url)?;
        writeln!(out, "API key: {}", handle.token)?;
        writeln!(out, "Apps: {}", names.join(", "))?;
        writeln!(
            out,
            "Try: curl -H 'Authorization: Bearer {}' -H 'Accept: application/vnd.heroku+json; version=3' {}/apps/{}/dynos",
            handle.token,
            handle.base_url,
            names.first().map_or("demo-app-1", String::as_str)
        )?;
        writeln!(out, "Press Ctrl-C to stop.")?;
        drop(out);
        tokio::signal::ctrl_c().await?;
        handle.shutdown();
        Ok(())
    })
}
