//! The simulated world: accounts and their API tokens, apps, the rate limiter, pending log
//! sessions, the history of API calls and the record of writes that landed. Shared as
//! `Arc<Mutex<World>>`; nothing awaits while holding the lock.

pub mod addon;
pub mod app;
pub mod applied;
pub mod physics;
pub mod plain;
pub mod workload;

use std::collections::HashMap;

use dynopilot_core::Timestamp;

pub use app::{Drain, Feature, OneOff, ReleaseRecord, SimApp};
pub use applied::{AppliedAction, AppliedKind, FromTo};
pub use physics::{DynoView, FormationView, Physics, PhysicsError};

use crate::logs::LogFilter;
use crate::ratelimit::RateLimiter;

/// A Heroku account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    pub id: String,
    pub email: String,
    pub tokens: Vec<String>,
    pub created_at: Timestamp,
}

/// A log session created by `POST /apps/{app}/log-sessions`, waiting to be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionSpec {
    pub app_id: String,
    pub filter: LogFilter,
    pub lines: usize,
    pub tail: bool,
    pub created_at: Timestamp,
}

/// One API call that changed something, for tests and the demo to read back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Action {
    pub at: Timestamp,
    pub account_email: String,
    pub method: String,
    pub path: String,
    /// The status the client saw; a dropped connection is recorded as `444` (nginx's
    /// "closed without a response"), so it never passes for a success.
    pub status: u16,
    /// `None` for a real answer; else the injected fault (`"503"`, `"429"`, `"reset"`,
    /// `"503 after applying"`, `"reset after applying"`, or `"503 instead of 404"` when an
    /// apply-then-fail rule hit a write that was refused anyway).
    pub faulted: Option<String>,
}

/// Everything the simulator knows.
#[derive(Debug)]
pub struct World {
    pub accounts: Vec<Account>,
    pub apps: Vec<SimApp>,
    pub limiter: RateLimiter,
    pub sessions: HashMap<String, SessionSpec>,
    pub actions: Vec<Action>,
    /// Writes that landed, for `GET /_sim/actions`.
    pub applied: Vec<AppliedAction>,
    next_run: u32,
}

impl World {
    pub fn new(limiter: RateLimiter) -> World {
        World {
            accounts: Vec::new(),
            apps: Vec::new(),
            limiter,
            sessions: HashMap::new(),
            actions: Vec::new(),
            applied: Vec::new(),
            next_run: 1000,
        }
    }

    pub fn account_by_token(&self, token: &str) -> Option<&Account> {
        self.accounts
            .iter()
            .find(|a| a.tokens.iter().any(|t| t == token))
    }

    pub fn account_by_email(&self, email: &str) -> Option<&Account> {
        self.accounts.iter().find(|a| a.email == email)
    }

    /// An app by id or name (case-sensitive, as Heroku names are lower case).
    pub fn app_index(&self, key: &str) -> Option<usize> {
        self.apps.iter().position(|a| a.id == key || a.name == key)
    }

    /// The next `run.N` number for a one-off dyno.
    pub fn next_run_number(&mut self) -> u32 {
        self.next_run += 1;
        self.next_run
    }

    /// Appends a landed write, numbering it.
    pub fn record_applied(&mut self, mut action: AppliedAction) {
        action.seq = self.applied.len() as u64 + 1;
        self.applied.push(action);
    }

    /// Advances every app to `now`.
    pub fn advance(&mut self, now: Timestamp) {
        for app in &mut self.apps {
            app.advance(now);
        }
    }
}

/// A uuid-shaped id derived from a name, so sizes, formations and not-yet-booted dynos keep
/// their ids across calls and runs.
pub fn stable_id(name: &str) -> String {
    // FNV-1a, twice with different offsets, is plenty for ids that only need to differ.
    let hash = |offset: u64| {
        name.bytes().fold(offset, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
        })
    };
    let v =
        (u128::from(hash(0xcbf2_9ce4_8422_2325)) << 64) | u128::from(hash(0x8422_2325_cbf2_9ce4));
    uuid::Uuid::from_u128(v).to_string()
}
