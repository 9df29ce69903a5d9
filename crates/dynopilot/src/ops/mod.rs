//! Operator commands that talk to a running daemon over its JSON API: `status`, `ps` and
//! `decisions` read (falling back to the store when the daemon is down), `scale`, `restart`,
//! `pause` and `resume` act through the control API, so a person's action takes the same
//! decision path (guardrails, journal, executor) as an automatic one.

mod act;
mod client;
mod decisions;
mod failure;
mod health;
mod render;
mod runtime;
mod status;
mod target;

pub use act::{PauseArgs, RestartArgs, ResumeArgs, ScaleArgs, pause, restart, resume, scale};
pub use decisions::{DecisionsArgs, run as decisions};
pub use failure::exit_code;
pub use health::{HealthArgs, healthcheck};
pub use status::{PsArgs, StatusArgs, ps, status};
