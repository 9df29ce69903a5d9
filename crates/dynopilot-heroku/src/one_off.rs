//! Running one command in an attached one-off dyno, as `heroku run` does: create the dyno with
//! `attach: true`, join it through TLS rendezvous, stream its output with the exit-status
//! marker stripped, and stop the dyno when the caller gives up (timeout or cancellation).

use std::collections::BTreeMap;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio_util::sync::CancellationToken;

use crate::client::HerokuClient;
use crate::error::HerokuError;
use crate::exit_status::{ExitStatusScanner, wrap_command};
use crate::rendezvous::AttachUrl;
use crate::rendezvous_tls::{Attached, RendezvousTls};
use crate::wire::DynoCreate;

/// End of input for a dyno whose stdin is not a terminal, as the official CLI sends it.
const END_OF_INPUT: u8 = 0x04;

/// Extra lifetime given to the dyno past the client's own timeout, so Heroku ends it even if
/// this client dies without stopping it.
const TTL_MARGIN: Duration = Duration::from_secs(60);

/// Heroku's longest `time_to_live`.
const MAX_TTL_SECS: u64 = 86_400;

/// What to run.
#[derive(Debug, Clone)]
pub struct OneOffRequest {
    /// A shell command line, run by `sh -c` in the dyno.
    pub command: String,
    /// e.g. `standard-1X`; Heroku's default size when `None`.
    pub size: Option<String>,
    /// How long the client waits before stopping the dyno.
    pub timeout: Duration,
    pub env: BTreeMap<String, String>,
}

/// How the run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OneOffEnd {
    /// The command finished with this status.
    Exited(i32),
    /// The dyno closed the connection without reporting a status (killed, out of memory…).
    NoStatus,
    /// The timeout passed; the dyno was asked to stop.
    TimedOut,
    /// The caller cancelled (Ctrl-C, shutdown); the dyno was asked to stop.
    Cancelled,
}

/// The dyno that ran and how it ended.
#[derive(Debug)]
pub struct OneOffReport {
    /// The dyno's name (`run.1234`).
    pub dyno: String,
    pub end: OneOffEnd,
    /// The stop request's failure, when stopping was needed and failed.
    pub stop_error: Option<HerokuError>,
}

impl HerokuClient {
    /// Runs `request` in a new attached one-off dyno of `app`, copying its output to `out`.
    pub async fn run_one_off<W: AsyncWrite + Unpin>(
        &self,
        app: &str,
        request: &OneOffRequest,
        tls: &RendezvousTls,
        out: &mut W,
        cancel: &CancellationToken,
    ) -> Result<OneOffReport, HerokuError> {
        let ttl = (request.timeout + TTL_MARGIN)
            .as_secs()
            .clamp(1, MAX_TTL_SECS);
        let create = DynoCreate {
            command: wrap_command(&request.command),
            attach: Some(true),
            force_no_tty: Some(true),
            size: request.size.clone(),
            time_to_live: u32::try_from(ttl).ok(),
            env: (!request.env.is_empty()).then(|| request.env.clone()),
            process_type: Some("run".to_owned()),
        };
        let dyno = self.dyno_create(app, &create).await?;
        let attached = async {
            let url = dyno
                .attach_url
                .as_deref()
                .ok_or_else(|| HerokuError::decode("the one-off dyno has no attach_url"))?;
            stream(tls.connect(&AttachUrl::parse(url)?).await?, out).await
        };
        let end = tokio::select! {
            result = attached => result,
            () = self.clock.sleep(request.timeout) => Ok(OneOffEnd::TimedOut),
            () = cancel.cancelled() => Ok(OneOffEnd::Cancelled),
        };
        let stop_needed = !matches!(end, Ok(OneOffEnd::Exited(_) | OneOffEnd::NoStatus));
        // A broken connection leaves the dyno running until Heroku notices: stop it too.
        let stop_error = if stop_needed {
            self.stop_dyno(app, &dyno.name).await.err()
        } else {
            None
        };
        Ok(OneOffReport {
            dyno: dyno.name,
            end: end?,
            stop_error,
        })
    }
}

/// Sends end-of-input, then copies output until the dyno hangs up.
async fn stream<W: AsyncWrite + Unpin>(
    mut attached: Attached,
    out: &mut W,
) -> Result<OneOffEnd, HerokuError> {
    attached
        .get_mut()
        .write_all(&[END_OF_INPUT])
        .await
        .map_err(io_error)?;
    attached.get_mut().flush().await.map_err(io_error)?;
    let mut scanner = ExitStatusScanner::default();
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        let n = match attached.read(&mut buf).await {
            Ok(0) => break,
            Ok(n) => n,
            // Heroku may end the TLS session without close_notify once the command exits.
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => break,
            Err(e) => return Err(io_error(e)),
        };
        out.write_all(&scanner.feed(&buf[..n]))
            .await
            .map_err(io_error)?;
        out.flush().await.map_err(io_error)?;
    }
    let (rest, status) = scanner.finish();
    out.write_all(&rest).await.map_err(io_error)?;
    out.flush().await.map_err(io_error)?;
    Ok(status.map_or(OneOffEnd::NoStatus, OneOffEnd::Exited))
}

fn io_error(err: std::io::Error) -> HerokuError {
    HerokuError::Transport {
        message: format!("rendezvous: {err}"),
    }
}
