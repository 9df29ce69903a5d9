//! The Platform API endpoints dynopilot uses, one method each, paths as in Heroku's schema.
//!
//! `app` is an app name or id, `dyno` a dyno name or id, `process_type` e.g. `web`. Every path
//! segment is percent-encoded, so a hostile name cannot reach another path.
//!
//! # What a write's outcome means, and when it may be repeated
//!
//! Every write ends ok, failed (the answer proves nothing changed: any 4xx, or no connection
//! was ever opened) or unknown (a 5xx, a timeout or a reset after the request left; see
//! [`crate::error::WriteOutcome`]). The client retries failed writes that may succeed later
//! (429, preboot 409, refused connection) for every endpoint; unknown ones as the table says.
//!
//! | endpoint | repeatable? | after an unknown outcome |
//! |---|---|---|
//! | `PATCH /apps/{app}/formation/{type}` (absolute quantity/size) | yes | retried as is; `formation_update_checked` then compares the formation with the target |
//! | `PATCH /apps/{app}/formation` (batch, absolute) | yes | retried as is |
//! | `PATCH /apps/{app}/features/{name}` (absolute `enabled`) | yes | retried as is |
//! | `DELETE /apps/{app}/dynos/{dyno}` (restart one dyno) | **no** | never resent blindly: `restart_dyno_checked` reads the dyno; its `updated_at` (or `created_at`) at or after the attempt's start means it landed, else it is resent |
//! | `DELETE /apps/{app}/formations/{type}` (restart a type) | **no** | `restart_process_type_checked` reads the type's dynos: all of them changed since the attempt's start means it landed |
//! | `DELETE /apps/{app}/dynos` (restart all) | **no** | `restart_all_checked`: every dyno of the app changed since the attempt's start |
//! | `POST /apps/{app}/dynos` (one-off dyno) | **no** | `dyno_create_checked` looks for a dyno with the same command created since the attempt's start |
//! | `POST …/actions/stop` (stop) | yes | retried as is (a stopped dyno stays stopped) |
//! | `POST /apps/{app}/log-sessions` | yes | retried: an extra session expires unread |
//! | `POST /apps/{app}/log-drains` | **no** | not retried; the caller lists drains |
//! | `DELETE /apps/{app}/log-drains/{drain}` | yes | retried: removing twice removes once |

use http::Method;

use crate::client::{Call, HerokuClient, PAGE_SIZE};
use crate::error::HerokuError;
use crate::retry::Idempotency::{Idempotent, NotIdempotent};
use crate::wire::{
    Account, App, AppFeature, Dyno, DynoCreate, DynoSizeInfo, Formation, FormationBatchItem,
    FormationBatchUpdate, FormationUpdate, LogDrain, LogDrainCreate, LogSession, LogSessionCreate,
    RateLimits, Release,
};

/// The Labs feature that makes Heroku log per-dyno memory and load samples.
pub const LOG_RUNTIME_METRICS: &str = "log-runtime-metrics";

impl HerokuClient {
    /// `GET /account`: whose key this is (costs one token; a cheap credentials check).
    pub async fn account(&self) -> Result<Account, HerokuError> {
        self.json(Call::get(&["account"])).await
    }

    /// `GET /account/rate-limits`: tokens left (free). Also lowers the local budget.
    pub async fn rate_limits(&self) -> Result<RateLimits, HerokuError> {
        let call = Call {
            costs_token: false,
            ..Call::get(&["account", "rate-limits"])
        };
        let limits: RateLimits = self.json(call).await?;
        self.budget().observe_remaining(limits.remaining);
        Ok(limits)
    }

    /// `GET /apps`, every page: all apps the account can see (auto-discovery).
    pub async fn apps_list(&self) -> Result<Vec<App>, HerokuError> {
        let range = format!("id ..; max={PAGE_SIZE}");
        self.list(Call::get(&["apps"]), Some(range)).await
    }

    /// `GET /apps/{app}`.
    pub async fn app_info(&self, app: &str) -> Result<App, HerokuError> {
        self.json(Call::get(&["apps", app])).await
    }

    /// `GET /apps/{app}/features`.
    pub async fn app_features(&self, app: &str) -> Result<Vec<AppFeature>, HerokuError> {
        self.list(Call::get(&["apps", app, "features"]), None).await
    }

    /// `GET /apps/{app}/features/{name}`, e.g. [`LOG_RUNTIME_METRICS`].
    pub async fn feature_info(&self, app: &str, name: &str) -> Result<AppFeature, HerokuError> {
        self.json(Call::get(&["apps", app, "features", name])).await
    }

    /// `PATCH /apps/{app}/features/{name}` with `{"enabled": …}`. Dynos must restart before
    /// `log-runtime-metrics` takes effect.
    pub async fn feature_update(
        &self,
        app: &str,
        name: &str,
        enabled: bool,
    ) -> Result<AppFeature, HerokuError> {
        let segments = ["apps", app, "features", name];
        let body = serde_json::json!({ "enabled": enabled });
        self.json(Call::with(Method::PATCH, &segments, Idempotent).body(&body)?)
            .await
    }

    /// `GET /apps/{app}/formation`.
    pub async fn formation_list(&self, app: &str) -> Result<Vec<Formation>, HerokuError> {
        self.list(Call::get(&["apps", app, "formation"]), None)
            .await
    }

    /// `GET /apps/{app}/formation/{type}`.
    pub async fn formation_info(
        &self,
        app: &str,
        process_type: &str,
    ) -> Result<Formation, HerokuError> {
        self.json(Call::get(&["apps", app, "formation", process_type]))
            .await
    }

    /// `PATCH /apps/{app}/formation/{type}` with an absolute quantity and/or size.
    pub async fn formation_update(
        &self,
        app: &str,
        process_type: &str,
        update: &FormationUpdate,
    ) -> Result<Formation, HerokuError> {
        let segments = ["apps", app, "formation", process_type];
        self.json(Call::with(Method::PATCH, &segments, Idempotent).body(update)?)
            .await
    }

    /// `PATCH /apps/{app}/formation` with several process types at once.
    pub async fn formation_batch_update(
        &self,
        app: &str,
        updates: Vec<FormationBatchItem>,
    ) -> Result<Vec<Formation>, HerokuError> {
        let body = FormationBatchUpdate { updates };
        let segments = ["apps", app, "formation"];
        self.json(Call::with(Method::PATCH, &segments, Idempotent).body(&body)?)
            .await
    }

    /// `GET /apps/{app}/dynos`.
    pub async fn dynos_list(&self, app: &str) -> Result<Vec<Dyno>, HerokuError> {
        self.list(Call::get(&["apps", app, "dynos"]), None).await
    }

    /// `GET /apps/{app}/dynos/{dyno}`.
    pub async fn dyno_info(&self, app: &str, dyno: &str) -> Result<Dyno, HerokuError> {
        self.json(Call::get(&["apps", app, "dynos", dyno])).await
    }

    /// `DELETE /apps/{app}/dynos/{dyno}`: restart one dyno. Not repeatable: a lost answer is
    /// never resent here (use `restart_dyno_checked`).
    pub async fn restart_dyno(&self, app: &str, dyno: &str) -> Result<(), HerokuError> {
        let segments = ["apps", app, "dynos", dyno];
        self.empty(Call::with(Method::DELETE, &segments, NotIdempotent))
            .await
    }

    /// `DELETE /apps/{app}/formations/{type}` (plural): restart every dyno of a process type.
    pub async fn restart_process_type(
        &self,
        app: &str,
        process_type: &str,
    ) -> Result<(), HerokuError> {
        let segments = ["apps", app, "formations", process_type];
        self.empty(Call::with(Method::DELETE, &segments, NotIdempotent))
            .await
    }

    /// `DELETE /apps/{app}/dynos`: restart every dyno of the app.
    pub async fn restart_all(&self, app: &str) -> Result<(), HerokuError> {
        let segments = ["apps", app, "dynos"];
        self.empty(Call::with(Method::DELETE, &segments, NotIdempotent))
            .await
    }

    /// `POST /apps/{app}/dynos/{dyno}/actions/stop`.
    pub async fn stop_dyno(&self, app: &str, dyno: &str) -> Result<(), HerokuError> {
        let segments = ["apps", app, "dynos", dyno, "actions", "stop"];
        self.empty(Call::with(Method::POST, &segments, Idempotent))
            .await
    }

    /// `POST /apps/{app}/formations/{type}/actions/stop`.
    pub async fn stop_process_type(
        &self,
        app: &str,
        process_type: &str,
    ) -> Result<(), HerokuError> {
        let segments = ["apps", app, "formations", process_type, "actions", "stop"];
        self.empty(Call::with(Method::POST, &segments, Idempotent))
            .await
    }

    /// `POST /apps/{app}/dynos`: start a one-off dyno. Not retried after ambiguous failures,
    /// since a retry could start a second one.
    pub async fn dyno_create(&self, app: &str, create: &DynoCreate) -> Result<Dyno, HerokuError> {
        let segments = ["apps", app, "dynos"];
        self.json(Call::with(Method::POST, &segments, NotIdempotent).body(create)?)
            .await
    }

    /// `POST /apps/{app}/log-sessions`.
    pub async fn log_session_create(
        &self,
        app: &str,
        create: &LogSessionCreate,
    ) -> Result<LogSession, HerokuError> {
        // An extra session is harmless (it expires unread), so retries are allowed.
        let segments = ["apps", app, "log-sessions"];
        self.json(Call::with(Method::POST, &segments, Idempotent).body(create)?)
            .await
    }

    /// `GET /apps/{app}/log-drains`.
    pub async fn log_drains_list(&self, app: &str) -> Result<Vec<LogDrain>, HerokuError> {
        self.list(Call::get(&["apps", app, "log-drains"]), None)
            .await
    }

    /// `POST /apps/{app}/log-drains`.
    pub async fn log_drain_add(&self, app: &str, url: &str) -> Result<LogDrain, HerokuError> {
        let body = LogDrainCreate {
            url: url.to_string(),
        };
        let segments = ["apps", app, "log-drains"];
        self.json(Call::with(Method::POST, &segments, NotIdempotent).body(&body)?)
            .await
    }

    /// `DELETE /apps/{app}/log-drains/{id, url or token}`.
    pub async fn log_drain_remove(&self, app: &str, drain: &str) -> Result<LogDrain, HerokuError> {
        let segments = ["apps", app, "log-drains", drain];
        self.json(Call::with(Method::DELETE, &segments, Idempotent))
            .await
    }

    /// `GET /dyno-sizes`.
    pub async fn dyno_sizes(&self) -> Result<Vec<DynoSizeInfo>, HerokuError> {
        self.list(Call::get(&["dyno-sizes"]), None).await
    }

    /// `GET /apps/{app}/available-dyno-sizes`.
    pub async fn app_dyno_sizes(&self, app: &str) -> Result<Vec<DynoSizeInfo>, HerokuError> {
        self.list(Call::get(&["apps", app, "available-dyno-sizes"]), None)
            .await
    }

    /// `GET /apps/{app}/releases`, every page, oldest first.
    pub async fn releases_list(&self, app: &str) -> Result<Vec<Release>, HerokuError> {
        let range = format!("version ..; max={PAGE_SIZE}");
        self.list(Call::get(&["apps", app, "releases"]), Some(range))
            .await
    }

    /// The newest `max` releases, newest first (`Range: version ..; max=N, order=desc`).
    pub async fn releases_recent(&self, app: &str, max: u32) -> Result<Vec<Release>, HerokuError> {
        let max = max.clamp(1, 1000);
        let segments = ["apps", app, "releases"];
        let call = Call::get(&segments);
        let range = format!("version ..; max={max}, order=desc");
        let mut page: Vec<Release> = self.list_pages(call, Some(range), 1).await?;
        page.truncate(max as usize);
        Ok(page)
    }
}
