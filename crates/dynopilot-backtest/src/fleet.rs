//! The executor's side of the simulated formation, with Heroku's timing: a new dyno boots for
//! `boot_s` before it gets traffic; a scale-down removes booting dynos first (they serve
//! nothing), then the newest up ones; every dyno in the formation is billed, booting included.

/// One web dyno: when it started and when it takes traffic.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Dyno {
    pub started_s: f64,
    pub up_at_s: f64,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Fleet {
    dynos: Vec<Dyno>,
    boot_s: f64,
    /// When the quantity last changed (the formation's `updated_at`).
    pub updated_s: f64,
}

impl Fleet {
    /// `initial` dynos already up at `now_s`.
    pub fn new(initial: u32, boot_s: f64, now_s: f64) -> Self {
        Fleet {
            dynos: (0..initial)
                .map(|_| Dyno {
                    started_s: now_s,
                    up_at_s: now_s,
                })
                .collect(),
            boot_s,
            updated_s: now_s,
        }
    }

    /// The formation quantity (billed dynos).
    pub fn quantity(&self) -> u32 {
        u32::try_from(self.dynos.len()).unwrap_or(u32::MAX)
    }

    pub fn up(&self, now_s: f64) -> u32 {
        count(self.dynos.iter().filter(|d| d.up_at_s <= now_s))
    }

    pub fn booting(&self, now_s: f64) -> u32 {
        self.quantity() - self.up(now_s)
    }

    pub fn dynos(&self) -> &[Dyno] {
        &self.dynos
    }

    /// Sets the quantity at `now_s`; returns whether anything changed.
    pub fn scale_to(&mut self, quantity: u32, now_s: f64) -> bool {
        let n = self.quantity();
        if quantity == n {
            return false;
        }
        if quantity > n {
            for _ in n..quantity {
                self.dynos.push(Dyno {
                    started_s: now_s,
                    up_at_s: now_s + self.boot_s,
                });
            }
        } else {
            // Booting dynos (latest up time) go first, then the newest up ones.
            self.dynos.sort_by(|a, b| a.up_at_s.total_cmp(&b.up_at_s));
            self.dynos.truncate(quantity as usize);
        }
        self.updated_s = now_s;
        true
    }
}

fn count<T>(it: impl Iterator<Item = T>) -> u32 {
    u32::try_from(it.count()).unwrap_or(u32::MAX)
}
