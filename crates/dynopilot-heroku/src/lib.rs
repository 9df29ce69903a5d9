//! Typed Heroku Platform API client: the only crate that knows Heroku URLs.
//!
//! # Public API
//!
//! * [`HerokuClient::new`]`(`[`ClientConfig`]`, Arc<dyn Clock>, Arc<`[`RequestBudget`]`>)` builds
//!   a client (base URL default [`DEFAULT_BASE_URL`], `Accept: application/vnd.heroku+json;
//!   version=3`, `Authorization: Bearer …`, `User-Agent: dynopilot/<version>`). Clones share
//!   the connection pool and the budget. [`HerokuClient::with_jitter`] swaps the retry jitter.
//! * Endpoints (see `endpoints.rs`): `account`, `rate_limits`, `apps_list` (all pages),
//!   `app_info`, `app_features`, `feature_info` (e.g. [`LOG_RUNTIME_METRICS`]), `feature_update`,
//!   `formation_list/info/update/batch_update`, `dynos_list`, `dyno_info`, `restart_dyno`,
//!   `restart_process_type`, `restart_all`, `stop_dyno`, `stop_process_type`, `dyno_create`,
//!   `log_session_create`, `log_drains_list`, `log_drain_add`, `log_drain_remove`,
//!   `dyno_sizes`, `app_dyno_sizes`, `releases_list` (all pages), `releases_recent` (newest N).
//! * [`HerokuClient::stream_logs`] follows a log session line by line, reconnecting tailing
//!   sessions; [`log_stream::LineSplitter`] is the pure NUL-dropping line splitter.
//! * [`rendezvous::attach_plain`] / [`rendezvous::handshake`] attach to a one-off dyno;
//!   [`RendezvousTls`] connects over TLS as Heroku's endpoint requires (WebPKI roots, plus
//!   extra authorities such as the simulator's).
//! * [`HerokuClient::run_one_off`] runs a command in an attached one-off dyno: output streamed,
//!   exit status from the marker suffix ([`exit_status`]), the dyno stopped on timeout or
//!   cancellation ([`OneOffEnd`]).
//! * [`HerokuError`] classifies failures (`is_retryable`, `is_preboot_conflict`, `heroku_id`).
//! * [`RequestBudget`] models the account's 4500-token bucket (75/min refill), follows
//!   `RateLimit-Remaining` and paces requests once inside a 10% reserve.
//! * [`RetryPolicy`] (500 ms × 2ⁿ, cap 30 s, 4 attempts, jitter via [`Jitter`]) honours
//!   `Retry-After`; calls that could act twice (restarts, `dyno_create`, `log_drain_add`) are
//!   only retried after a failure that proves nothing happened (4xx such as 429 or the
//!   preboot 409, a refused connection): [`HerokuError::write_outcome`].
//! * [`checked`]: `write_checked` / `dyno_create_checked` read Heroku's state after a lost
//!   answer and resend only a write that did not land; `write_landed` is that check alone.
//!   The per-endpoint rule is the table in `endpoints.rs`.
//! * [`AttemptStats`] counts every failed attempt by status class and every retry
//!   ([`HerokuClient::with_attempts`] shares one set of counters with `/metrics`).
//! * [`ApiKey`] hides the key from `Debug`; the key is sent only to the API base URL, never
//!   to log-session URLs, and never appears in errors.
//! * [`wire`] holds the JSON types, field names exactly as in Heroku's schema.

pub mod api_key;
pub mod attempts;
pub mod budget;
pub mod checked;
pub mod client;
mod endpoints;
pub mod error;
pub mod exit_status;
pub mod log_stream;
pub mod one_off;
pub mod rendezvous;
pub mod rendezvous_tls;
pub mod retry;
pub mod wire;

pub use api_key::ApiKey;
pub use attempts::AttemptStats;
pub use budget::{BudgetConfig, RequestBudget};
pub use checked::{Landed, WriteCheck};
pub use client::{ClientConfig, DEFAULT_BASE_URL, HerokuClient, default_user_agent};
pub use endpoints::LOG_RUNTIME_METRICS;
pub use error::{HerokuError, WriteOutcome};
pub use log_stream::{LogStreamOptions, StreamEnd};
pub use one_off::{OneOffEnd, OneOffReport, OneOffRequest};
pub use rendezvous_tls::RendezvousTls;
pub use retry::{Idempotency, Jitter, RandomJitter, RetryPolicy, ZeroJitter};
