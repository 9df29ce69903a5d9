//! Which Platform API client acts for an app: its own key (`[[apps]] api_key_env`) when it
//! has one, else the daemon's key. Polls, actions and log sessions all ask here.

use std::collections::BTreeMap;
use std::sync::Arc;

use dynopilot_core::Clock;
use dynopilot_heroku::{ApiKey, HerokuClient, HerokuError, RequestBudget};

#[derive(Clone, Debug)]
pub struct AppClients {
    default: HerokuClient,
    own: Arc<BTreeMap<String, HerokuClient>>,
}

impl AppClients {
    /// Every app uses `default`.
    pub fn single(default: HerokuClient) -> Self {
        AppClients {
            default,
            own: Arc::default(),
        }
    }

    /// `default`, and for each app in `keys` a client with that key and a budget of its own
    /// (another key is another account's request bucket; apps sharing a key share one).
    pub fn with_keys(
        default: HerokuClient,
        keys: &BTreeMap<String, ApiKey>,
        clock: &Arc<dyn Clock>,
    ) -> Result<Self, HerokuError> {
        let mut budgets: Vec<(ApiKey, Arc<RequestBudget>)> = Vec::new();
        let mut own = BTreeMap::new();
        for (app, key) in keys {
            let budget = match budgets.iter().find(|(k, _)| k == key) {
                Some((_, b)) => Arc::clone(b),
                None => {
                    let b = Arc::new(RequestBudget::new(Arc::clone(clock)));
                    budgets.push((key.clone(), Arc::clone(&b)));
                    b
                }
            };
            own.insert(app.clone(), default.with_api_key(key, budget)?);
        }
        Ok(AppClients {
            default,
            own: Arc::new(own),
        })
    }

    /// The client acting for `app`.
    pub fn for_app(&self, app: &str) -> &HerokuClient {
        self.own.get(app).unwrap_or(&self.default)
    }

    /// The daemon's own client (app discovery, account-wide calls).
    pub fn default_client(&self) -> &HerokuClient {
        &self.default
    }
}
