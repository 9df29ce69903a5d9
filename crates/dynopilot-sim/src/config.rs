//! What a simulator starts with: accounts and tokens, apps and their formations, and the
//! knobs of the rate limiter, drains, log sessions and the ticker.

use std::net::SocketAddr;
use std::time::Duration;

use dynopilot_workload::WorkloadConfig;

use crate::drain::DrainConfig;
use crate::faults::FaultPlan;
use crate::log_session::SessionConfig;
use crate::ratelimit::RateLimitConfig;

/// An account and the API tokens that act as it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountSpec {
    pub email: String,
    pub tokens: Vec<String>,
}

/// One process type of an app's initial formation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProcessSpec {
    pub process_type: String,
    pub quantity: u32,
    /// Any spelling `DynoSize::lookup` accepts.
    pub size: String,
    pub command: String,
}

impl ProcessSpec {
    pub fn new(process_type: &str, quantity: u32, size: &str, command: &str) -> Self {
        ProcessSpec {
            process_type: process_type.to_string(),
            quantity,
            size: size.to_string(),
            command: command.to_string(),
        }
    }
}

/// How an app's dynos behave.
#[derive(Debug, Clone, PartialEq)]
pub enum Workload {
    /// No traffic; every dyno boots in exactly `boot`. Deterministic, for tests.
    Plain { boot: Duration },
    /// `dynopilot-workload`'s model: traffic, routing, memory, crashes and their log lines.
    /// The formation comes from the model's config (`AppSpec::formation` is ignored).
    Model(Box<WorkloadConfig>),
}

/// An app to create at start.
#[derive(Debug, Clone, PartialEq)]
pub struct AppSpec {
    pub name: String,
    /// Owner's email; must be one of the configured accounts.
    pub owner: String,
    pub formation: Vec<ProcessSpec>,
    pub workload: Workload,
}

impl AppSpec {
    /// An app with `web` (and optionally `worker`) on Standard-1X, booting in 5 s.
    pub fn plain(name: &str, owner: &str, web: u32, worker: u32) -> Self {
        let mut formation = vec![ProcessSpec::new(
            "web",
            web,
            "Standard-1X",
            "bundle exec puma -C config/puma.rb",
        )];
        if worker > 0 {
            formation.push(ProcessSpec::new(
                "worker",
                worker,
                "Standard-1X",
                "bundle exec sidekiq",
            ));
        }
        AppSpec {
            name: name.to_string(),
            owner: owner.to_string(),
            formation,
            workload: Workload::Plain {
                boot: Duration::from_secs(5),
            },
        }
    }
}

/// Everything [`crate::Simulator::start`] needs.
#[derive(Debug, Clone)]
pub struct SimConfig {
    /// Where the API listens; port 0 picks a free one.
    pub addr: SocketAddr,
    pub accounts: Vec<AccountSpec>,
    pub apps: Vec<AppSpec>,
    pub rate_limit: RateLimitConfig,
    pub drain: DrainConfig,
    pub session: SessionConfig,
    /// How often the world is advanced to the clock's time.
    pub tick: Duration,
    /// Faults injected into API requests from the start (none by default).
    pub faults: FaultPlan,
}

/// The demo account's email and API key.
pub const DEMO_EMAIL: &str = "demo@example.com";
pub const DEMO_TOKEN: &str = "sim-0123456789abcdef";

impl SimConfig {
    /// One account (`DEMO_EMAIL`, `DEMO_TOKEN`) and no apps, on `127.0.0.1:0`.
    pub fn empty() -> Self {
        SimConfig {
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            accounts: vec![AccountSpec {
                email: DEMO_EMAIL.to_string(),
                tokens: vec![DEMO_TOKEN.to_string()],
            }],
            apps: Vec::new(),
            rate_limit: RateLimitConfig::default(),
            drain: DrainConfig::default(),
            session: SessionConfig::default(),
            tick: Duration::from_millis(100),
            faults: FaultPlan::default(),
        }
    }

    /// The demo account with `apps` apps named `demo-app-N`, each running the workload
    /// crate's demo model (web and worker under diurnal traffic), seeded differently.
    pub fn demo(apps: u32) -> Self {
        let mut config = SimConfig::empty();
        config.apps = (1..=apps)
            .map(|n| {
                let mut model = WorkloadConfig::demo();
                model.seed = model.seed.wrapping_add(u64::from(n));
                model.app_host = format!("demo-app-{n}.herokuapp.com");
                AppSpec {
                    name: format!("demo-app-{n}"),
                    owner: DEMO_EMAIL.to_string(),
                    formation: Vec::new(),
                    workload: Workload::Model(Box::new(model)),
                }
            })
            .collect();
        config
    }

    pub fn with_app(mut self, app: AppSpec) -> Self {
        self.apps.push(app);
        self
    }

    pub fn with_account(mut self, email: &str, token: &str) -> Self {
        self.accounts.push(AccountSpec {
            email: email.to_string(),
            tokens: vec![token.to_string()],
        });
        self
    }
}
