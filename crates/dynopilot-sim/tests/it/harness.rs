//! Starting a simulator on a manual clock and pointing clients at it.

use std::sync::Arc;
use std::time::Duration;

use dynopilot_core::{Clock, ManualClock, Timestamp};
use dynopilot_heroku::budget::BudgetConfig;
use dynopilot_heroku::{
    ApiKey, ClientConfig, HerokuClient, RequestBudget, RetryPolicy, ZeroJitter,
};
use dynopilot_sim::{AppSpec, SimConfig, SimHandle, Simulator};

pub const APP: &str = "shop";
pub const START: Timestamp = Timestamp::from_secs(1_700_000_000);

pub struct Sim {
    pub handle: SimHandle,
    pub clock: ManualClock,
}

impl Sim {
    /// One app `shop` with 2 web and 1 worker dyno (5 s boot), all already up.
    pub async fn start() -> Sim {
        Sim::with(SimConfig::empty().with_app(AppSpec::plain(
            APP,
            dynopilot_sim::config::DEMO_EMAIL,
            2,
            1,
        )))
        .await
    }

    pub async fn with(config: SimConfig) -> Sim {
        let clock = ManualClock::new(START);
        let handle = Simulator::start(config, Arc::new(clock.clone()))
            .await
            .unwrap();
        let sim = Sim { handle, clock };
        sim.advance(Duration::from_secs(10));
        sim
    }

    /// Moves the clock and the world forward.
    pub fn advance(&self, d: Duration) {
        self.clock.advance(d);
        self.handle.tick();
    }

    pub fn client(&self) -> HerokuClient {
        self.client_with_key(&self.handle.token)
    }

    /// A client that never retries and never paces (so a manual clock cannot stall it).
    pub fn client_with_key(&self, key: &str) -> HerokuClient {
        let clock: Arc<dyn Clock> = Arc::new(self.clock.clone());
        let budget = Arc::new(RequestBudget::with_config(
            Arc::clone(&clock),
            BudgetConfig {
                reserve_fraction: 0.0,
                ..BudgetConfig::default()
            },
        ));
        let config = ClientConfig {
            base_url: self.handle.base_url.clone(),
            retry: RetryPolicy {
                max_attempts: 1,
                ..RetryPolicy::default()
            },
            ..ClientConfig::new(ApiKey::new(key))
        };
        HerokuClient::new(config, clock, budget)
            .unwrap()
            .with_jitter(Arc::new(ZeroJitter))
    }

    /// A raw request with the right auth and Accept headers.
    pub fn raw(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        reqwest::Client::new()
            .request(method, format!("{}{path}", self.handle.base_url))
            .header("Accept", "application/vnd.heroku+json; version=3")
            .bearer_auth(&self.handle.token)
    }

    /// Advances the clock in `step`s until `done` holds (real time also passes, for I/O).
    pub async fn wait_until(&self, step: Duration, mut done: impl FnMut() -> bool) {
        for _ in 0..500 {
            if done() {
                return;
            }
            self.advance(step);
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("condition not reached");
    }
}
