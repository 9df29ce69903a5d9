//! Typed Heroku Platform API client: the only crate that knows Heroku URLs.

pub mod api_key;
pub mod budget;
pub mod error;
pub mod retry;
pub mod wire;

pub use api_key::ApiKey;
pub use budget::{BudgetConfig, RequestBudget};
pub use error::HerokuError;
pub use retry::{Idempotency, Jitter, RandomJitter, RetryPolicy, ZeroJitter};
