//! Log-session tails, one per app whose log source is `log_session`: started at start and by
//! discovery, stopped alone when discovery retires the app, all stopped with the daemon. Each
//! tail reconnects forever (`crate::ingest::tail`).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use dynopilot_core::Clock;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::clients::AppClients;
use crate::ingest::Ingest;

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
        self.tasks.spawn(crate::ingest::tail::tail(
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
