//! Old-file cleaning through a one-off dyno: the safe command and its output ([`command`]),
//! one run through the Platform API ([`run_clean`]), and the daemon's periodic runs from
//! `[[apps.clean]]`, journaled like any action ([`schedule`]).
//!
//! On Heroku every dyno has its own ephemeral filesystem: a one-off dyno starts from the slug
//! with an empty `/tmp` and cannot reach a web or worker dyno's files. What a run here cleans
//! is the one-off dyno's own view (the slug's `tmp/` and `log/` directories as deployed);
//! `docs/exec-and-clean.md` says what that is good for and offers `--print-command` for the
//! app's own dynos.

pub mod command;
pub mod schedule;

use std::time::Duration;

use dynopilot_heroku::{HerokuClient, HerokuError, OneOffEnd, OneOffRequest, RendezvousTls};
use tokio_util::sync::CancellationToken;

pub use command::{CleanError, CleanOutput, CleanSpec, CleanedFile, parse_output};

/// One clean that ran.
#[derive(Debug)]
pub struct CleanRun {
    /// The one-off dyno it ran in.
    pub dyno: String,
    pub end: OneOffEnd,
    pub output: CleanOutput,
    /// Why the dyno could not be stopped after a timeout, if it could not.
    pub stop_error: Option<HerokuError>,
}

/// What to clean and how to run it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CleanJob {
    pub spec: CleanSpec,
    /// List what would be removed, remove nothing.
    pub dry_run: bool,
    /// The one-off dyno's size (see [`formation_size`]).
    pub size: Option<String>,
    /// How long before the dyno is stopped and the run counted as failed.
    pub timeout: Duration,
}

/// Runs `job` in a new one-off dyno of `app`.
pub async fn run_clean(
    client: &HerokuClient,
    app: &str,
    job: &CleanJob,
    tls: &RendezvousTls,
    cancel: &CancellationToken,
) -> Result<CleanRun, HerokuError> {
    let request = OneOffRequest {
        command: job.spec.command(job.dry_run),
        size: job.size.clone(),
        timeout: job.timeout,
        env: Default::default(),
    };
    let mut out = Vec::new();
    let report = client
        .run_one_off(app, &request, tls, &mut out, cancel)
        .await?;
    Ok(CleanRun {
        dyno: report.dyno,
        end: report.end,
        output: parse_output(&out),
        stop_error: report.stop_error,
    })
}

/// The size a one-off dyno of `app` gets: the `web` process type's, else the first type's
/// (by name); `None` (Heroku's default) for an app with no formation.
pub async fn formation_size(
    client: &HerokuClient,
    app: &str,
) -> Result<Option<String>, HerokuError> {
    let mut formation = client.formation_list(app).await?;
    formation.sort_by(|a, b| a.process_type.cmp(&b.process_type));
    let chosen = formation
        .iter()
        .find(|f| f.process_type == "web")
        .or_else(|| formation.first());
    Ok(chosen.and_then(|f| {
        f.dyno_size
            .as_ref()
            .and_then(|s| s.name.clone())
            .or_else(|| f.size.clone())
    }))
}
