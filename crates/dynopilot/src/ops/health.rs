//! `dynopilot healthcheck`: asks the daemon's `/healthz` and exits 0 only on its `200`, so a
//! container's `HEALTHCHECK` needs no curl in the image.

use std::io::Write;
use std::time::Duration;

use super::failure::Failure;
use super::runtime::block_on;
use super::target::{Connect, Target};

#[derive(Debug, clap::Args)]
pub struct HealthArgs {
    #[command(flatten)]
    pub connect: Connect,
}

pub fn healthcheck(args: &HealthArgs) -> anyhow::Result<()> {
    let target = Target::resolve(&args.connect)?;
    let (status, body) = block_on(async {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(5))
            .build()?;
        let response = http
            .get(format!("{}/healthz", target.url))
            .send()
            .await
            .map_err(|e| Failure::Unreachable {
                url: target.url.clone(),
                cause: e.without_url().to_string(),
            })?;
        let status = response.status();
        Ok((status, response.text().await.unwrap_or_default()))
    })?;
    writeln!(std::io::stdout().lock(), "{body}")?;
    if !status.is_success() {
        anyhow::bail!("{}/healthz answered {status}", target.url);
    }
    Ok(())
}
