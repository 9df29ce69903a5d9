//! Log-session tails, one per app whose log source is `log_session`: started at start and by
//! discovery, stopped alone when discovery retires the app, all stopped with the daemon.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use dynopilot_core::Clock;
use dynopilot_heroku::wire::LogSessionCreate;
use dynopilot_heroku::{HerokuClient, LogStreamOptions};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::clients::AppClients;
use crate::ingest::Ingest;

/// Longest pause before a log-session tail that gave up is started again.
const TAIL_RETRY_CAP: Duration = Duration::from_secs(300);

/// The running tails by app; cheap to clone.
#[derive(Clone)]
pub struct Tails {
    clients: AppClients,
    ingest: Ingest,
    clock: Arc<dyn Clock>,
    tasks: TaskTracker,
    /// Cancelled with the daemon; each tail has a child token of it.
    cancel: CancellationToken,
    running: Arc<Mutex<BTreeMap<String, CancellationToken>>>,
}

impl Tails {
    pub fn new(
        clients: AppClients,
        ingest: Ingest,
        clock: Arc<dyn Clock>,
        tasks: TaskTracker,
        cancel: CancellationToken,
    ) -> Self {
        Tails {
            clients,
            ingest,
            clock,
            tasks,
            cancel,
            running: Arc::default(),
        }
    }

    /// Starts tailing `app` with its own client, unless a tail already runs.
    pub fn start(&self, app: &str) {
        let Ok(mut running) = self.running.lock() else {
            return;
        };
        if running.contains_key(app) {
            return;
        }
        let token = self.cancel.child_token();
        running.insert(app.to_owned(), token.clone());
        self.tasks.spawn(tail(
            self.clients.for_app(app).clone(),
            self.ingest.clone(),
            Arc::clone(&self.clock),
            app.to_owned(),
            token,
        ));
    }

    /// Stops the tail of `app`, if one runs.
    pub fn stop(&self, app: &str) {
        if let Some(token) = self.running.lock().ok().and_then(|mut r| r.remove(app)) {
            token.cancel();
        }
    }
}

/// Tails one app's log session until cancelled, reconnecting as Heroku ends sessions. When the
/// client gives up (the API unreachable, the app gone), the tail starts again after a growing
/// pause: a log source that stopped for good would leave the app unobserved for good.
pub async fn tail(
    client: HerokuClient,
    ingest: Ingest,
    clock: Arc<dyn Clock>,
    app: String,
    cancel: CancellationToken,
) {
    let create = LogSessionCreate {
        tail: Some(true),
        lines: Some(0),
        ..LogSessionCreate::default()
    };
    let mut on_line = |line: &str| {
        if !ingest.apply_log_line(&app, line.as_bytes()) && !line.trim().is_empty() {
            ingest.metrics.count_dropped("unparseable_session_line", 1);
        }
    };
    let mut pause = Duration::from_secs(30);
    loop {
        let ended = client
            .stream_logs(
                &app,
                create.clone(),
                &LogStreamOptions::default(),
                &cancel,
                &mut on_line,
            )
            .await;
        match ended {
            Ok(dynopilot_heroku::StreamEnd::Cancelled) => return,
            Ok(_) => tracing::warn!(app, "log session ended; starting a new one"),
            Err(e) => {
                tracing::error!(app, error = %e, retry_in = ?pause, "log session tail gave up; starting it again after a pause")
            }
        }
        tokio::select! {
            () = cancel.cancelled() => return,
            () = clock.sleep(pause) => {}
        }
        ingest.source_reconnected(&app);
        pause = (pause * 2).min(TAIL_RETRY_CAP);
    }
}
