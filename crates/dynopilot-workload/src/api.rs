//! What the Platform API asks of the world: formation changes, restarts and releases. Each is
//! checked at once (so the API can answer), writes its `app[api]` line, and takes effect as a
//! timer at the request time so it interleaves correctly with traffic.

use dynopilot_core::{DynoSize, Timestamp};
use dynopilot_logplex::encode;
use dynopilot_logplex::message::ApiEvent;

use crate::model::WorldError;
use crate::world::{Event, World};

impl World {
    pub(crate) fn set_formation(
        &mut self,
        process_type: &str,
        quantity: Option<u32>,
        size: Option<&'static DynoSize>,
        now: Timestamp,
    ) -> Result<(), WorldError> {
        let kind = self
            .kind_index(process_type)
            .ok_or_else(|| WorldError::UnknownProcessType(process_type.to_owned()))?;
        let k = &self.kinds[kind];
        let new_size = size.unwrap_or(k.size);
        let new_quantity = quantity.unwrap_or(k.quantity);
        if new_quantity > new_size.max_per_type {
            return Err(WorldError::TooManyDynos {
                size: new_size.name,
                max: new_size.max_per_type,
            });
        }
        let at = self.clamp_us(now);
        let k = &mut self.kinds[kind];
        k.size = new_size;
        k.quantity = new_quantity;
        let entries: Vec<(String, u32, &'static str)> = self
            .kinds
            .iter()
            .map(|k| (k.name.clone(), k.quantity, k.size.name))
            .collect();
        let line = encode::scaled(
            entries.iter().map(|(n, q, s)| (n.as_str(), *q, *s)),
            Some(&self.cfg.api_user),
        );
        self.say(at, "app", "api".to_owned(), line);
        self.schedule(at, Event::Reconcile { kind: kind as u32 });
        Ok(())
    }

    fn slot_named(&self, name: &str) -> Result<u32, WorldError> {
        self.dynos
            .iter()
            .position(|d| !d.removed && !d.retiring && d.name == name)
            .map(|s| s as u32)
            .ok_or_else(|| WorldError::UnknownDyno(name.to_owned()))
    }

    pub(crate) fn restart_dyno(&mut self, name: &str, now: Timestamp) -> Result<(), WorldError> {
        let slot = self.slot_named(name)?;
        self.schedule(self.clamp_us(now), Event::Restart { slot });
        Ok(())
    }

    pub(crate) fn restart_process_type(
        &mut self,
        process_type: &str,
        now: Timestamp,
    ) -> Result<(), WorldError> {
        let kind = self
            .kind_index(process_type)
            .ok_or_else(|| WorldError::UnknownProcessType(process_type.to_owned()))?;
        let at = self.clamp_us(now);
        for slot in self.live_slots(kind) {
            self.schedule(at, Event::Restart { slot });
        }
        Ok(())
    }

    pub(crate) fn restart_all(&mut self, now: Timestamp) {
        self.schedule(self.clamp_us(now), Event::RestartAll);
    }

    /// Restarts every dyno of the formation (at the timer's time, so dynos created since the
    /// request was made are included as Heroku would).
    pub(crate) fn restart_everything(&mut self) {
        for kind in 0..self.kinds.len() {
            for slot in self.live_slots(kind) {
                self.terminate(slot, crate::lifecycle::Stop::Restart);
            }
        }
    }

    pub(crate) fn release(&mut self, description: &str, user: &str, now: Timestamp) -> u32 {
        let at = self.clamp_us(now);
        self.release += 1;
        let commit = description.trim();
        if !commit.is_empty() && !commit.contains(' ') {
            let deploy = encode::api_event(&ApiEvent::Deploy {
                commit,
                user: Some(user),
            });
            self.say(at, "app", "api".to_owned(), deploy);
        }
        let release = encode::api_event(&ApiEvent::Release {
            version: self.release,
            user: Some(user),
        });
        self.say(at, "app", "api".to_owned(), release);
        // A new release resets crash back-off.
        for d in &mut self.dynos {
            d.crashes = 0;
        }
        self.schedule(at, Event::RestartAll);
        self.release
    }
}
