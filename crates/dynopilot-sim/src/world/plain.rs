//! `PlainPhysics`: dynos with a fixed boot delay and no traffic. Deterministic, so tests can
//! say "after 10 s the new dyno is up"; also the fallback when no workload model is wanted.

use std::time::Duration;

use dynopilot_core::{DynoSize, Timestamp};

use super::physics::{DynoView, FormationView, Physics, PhysicsError};
use crate::logs::LogRecord;

#[derive(Debug, Clone)]
struct Dyno {
    n: u32,
    process_type: String,
    id: String,
    state: &'static str,
    since: Timestamp,
    created_at: Timestamp,
    /// When a starting dyno comes up.
    ready_at: Option<Timestamp>,
    /// When the platform restarts a crashed dyno by itself.
    crash_restart_at: Option<Timestamp>,
}

/// Formation and dynos, nothing else.
#[derive(Debug)]
pub struct PlainPhysics {
    boot: Duration,
    formation: Vec<FormationView>,
    dynos: Vec<Dyno>,
    release: u64,
    pending: Vec<LogRecord>,
}

impl PlainPhysics {
    /// Starts `formation` booting at `now`; every dyno takes `boot` to come up.
    pub fn new(now: Timestamp, boot: Duration, formation: Vec<FormationView>) -> Self {
        let mut physics = PlainPhysics {
            boot,
            formation,
            dynos: Vec::new(),
            release: 1,
            pending: Vec::new(),
        };
        physics.reconcile(now);
        physics
    }

    fn reconcile(&mut self, now: Timestamp) {
        for f in self.formation.clone() {
            for n in 1..=f.quantity {
                let exists = self
                    .dynos
                    .iter()
                    .any(|d| d.process_type == f.process_type && d.n == n);
                if !exists {
                    let name = format!("{}.{n}", f.process_type);
                    self.log(
                        now,
                        &name,
                        format!("Starting process with command `{}`", f.command),
                    );
                    self.dynos.push(Dyno {
                        n,
                        process_type: f.process_type.clone(),
                        id: new_id(),
                        state: "starting",
                        since: now,
                        created_at: now,
                        ready_at: Some(now.plus(self.boot)),
                        crash_restart_at: None,
                    });
                }
            }
            let (keep, stop): (Vec<Dyno>, Vec<Dyno>) = std::mem::take(&mut self.dynos)
                .into_iter()
                .partition(|d| d.process_type != f.process_type || d.n <= f.quantity);
            self.dynos = keep;
            for d in stop {
                let name = format!("{}.{}", d.process_type, d.n);
                self.log(now, &name, "Stopping all processes with SIGTERM".into());
                self.log(
                    now,
                    &name,
                    format!("State changed from {} to down", d.state),
                );
            }
        }
        self.dynos
            .sort_by(|a, b| (&a.process_type, a.n).cmp(&(&b.process_type, b.n)));
    }

    fn restart(&mut self, now: Timestamp, pick: impl Fn(&Dyno) -> bool) {
        let boot = self.boot;
        let mut lines = Vec::new();
        for d in self.dynos.iter_mut().filter(|d| pick(d)) {
            let name = format!("{}.{}", d.process_type, d.n);
            lines.push((name.clone(), "Restarting".to_string()));
            lines.push((name, format!("State changed from {} to starting", d.state)));
            d.id = new_id();
            d.state = "starting";
            d.since = now;
            d.ready_at = Some(now.plus(boot));
            d.crash_restart_at = None;
        }
        for (name, message) in lines {
            self.log(now, &name, message);
        }
    }

    fn log(&mut self, at: Timestamp, process: &str, message: String) {
        self.pending
            .push(LogRecord::new(at, "heroku", process, message));
    }

    fn find(&self, name: &str) -> Result<usize, PhysicsError> {
        self.dynos
            .iter()
            .position(|d| format!("{}.{}", d.process_type, d.n) == name || d.id == name)
            .ok_or(PhysicsError::NoSuchDyno)
    }

    fn formation_of(&self, process_type: &str) -> Option<&FormationView> {
        self.formation
            .iter()
            .find(|f| f.process_type == process_type)
    }
}

fn new_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

impl Physics for PlainPhysics {
    fn formation(&self) -> Vec<FormationView> {
        self.formation.clone()
    }

    fn set_formation(
        &mut self,
        now: Timestamp,
        process_type: &str,
        quantity: Option<u32>,
        size: Option<&'static DynoSize>,
    ) -> Result<(), PhysicsError> {
        let f = self
            .formation
            .iter_mut()
            .find(|f| f.process_type == process_type)
            .ok_or_else(|| PhysicsError::NoSuchProcessType(process_type.to_string()))?;
        let resized = size.is_some_and(|s| s.name != f.size.name);
        if let Some(q) = quantity {
            f.quantity = q;
        }
        if let Some(s) = size {
            f.size = s;
        }
        f.updated_at = now;
        self.reconcile(now);
        if resized {
            self.restart(now, |d| d.process_type == process_type);
        }
        Ok(())
    }

    fn dynos(&self) -> Vec<DynoView> {
        self.dynos
            .iter()
            .map(|d| {
                let f = self.formation_of(&d.process_type);
                DynoView {
                    id: d.id.clone(),
                    name: format!("{}.{}", d.process_type, d.n),
                    process_type: d.process_type.clone(),
                    state: d.state.to_string(),
                    size: f.map_or("Standard-1X", |f| f.size.name).to_string(),
                    command: f.map(|f| f.command.clone()).unwrap_or_default(),
                    release_version: self.release,
                    created_at: d.created_at,
                    updated_at: d.since,
                }
            })
            .collect()
    }

    fn restart_dyno(&mut self, now: Timestamp, name: &str) -> Result<(), PhysicsError> {
        let i = self.find(name)?;
        let id = self.dynos[i].id.clone();
        self.restart(now, |d| d.id == id);
        Ok(())
    }

    fn restart_process_type(
        &mut self,
        now: Timestamp,
        process_type: &str,
    ) -> Result<(), PhysicsError> {
        if self.formation_of(process_type).is_none() {
            return Err(PhysicsError::NoSuchProcessType(process_type.to_string()));
        }
        self.restart(now, |d| d.process_type == process_type);
        Ok(())
    }

    fn restart_all(&mut self, now: Timestamp) {
        self.restart(now, |_| true);
    }

    fn stop_dyno(&mut self, now: Timestamp, name: &str) -> Result<(), PhysicsError> {
        // Cedar restarts a stopped formation dyno, so stop behaves like restart.
        self.restart_dyno(now, name)
    }

    fn release(&mut self, now: Timestamp, description: &str, user: &str) -> u64 {
        self.release += 1;
        let message = format!("Release v{} created by {user}: {description}", self.release);
        self.pending
            .push(LogRecord::new(now, "app", "api", message));
        self.restart_all(now);
        self.release
    }

    fn crash_dyno(
        &mut self,
        now: Timestamp,
        name: &str,
        restart_after: Duration,
    ) -> Result<(), PhysicsError> {
        let i = self.find(name)?;
        let d = &mut self.dynos[i];
        let (name, from) = (format!("{}.{}", d.process_type, d.n), d.state);
        d.state = "crashed";
        d.since = now;
        d.ready_at = None;
        d.crash_restart_at = Some(now.plus(restart_after));
        self.log(now, &name, "Process exited with status 1".to_owned());
        self.log(now, &name, format!("State changed from {from} to crashed"));
        Ok(())
    }

    fn advance_to(&mut self, t: Timestamp, sink: &mut dyn FnMut(LogRecord)) {
        let crashed: Vec<(String, Timestamp)> = self
            .dynos
            .iter()
            .filter_map(|d| {
                let at = d.crash_restart_at.filter(|at| *at <= t)?;
                Some((d.id.clone(), at))
            })
            .collect();
        for (id, at) in crashed {
            self.restart(at, |d| d.id == id);
        }
        let mut events = std::mem::take(&mut self.pending);
        for d in &mut self.dynos {
            if let Some(ready) = d.ready_at.filter(|r| *r <= t) {
                let name = format!("{}.{}", d.process_type, d.n);
                events.push(LogRecord::new(
                    ready,
                    "heroku",
                    name,
                    "State changed from starting to up",
                ));
                d.state = "up";
                d.since = ready;
                d.ready_at = None;
            }
        }
        events.sort_by_key(|r| r.at);
        for record in events {
            sink(record);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn web(quantity: u32) -> FormationView {
        FormationView {
            process_type: "web".into(),
            quantity,
            size: DynoSize::lookup("standard-1x").unwrap(),
            command: "puma".into(),
            updated_at: Timestamp::EPOCH,
        }
    }

    fn states(p: &PlainPhysics) -> Vec<(String, String)> {
        p.dynos().into_iter().map(|d| (d.name, d.state)).collect()
    }

    #[test]
    fn dynos_boot_after_the_delay_and_restart_gets_a_new_id() {
        let t0 = Timestamp::from_secs(1000);
        let mut p = PlainPhysics::new(t0, Duration::from_secs(10), vec![web(2)]);
        let mut lines = Vec::new();
        p.advance_to(t0.plus(Duration::from_secs(9)), &mut |r| lines.push(r));
        assert!(states(&p).iter().all(|(_, s)| s == "starting"));
        p.advance_to(t0.plus(Duration::from_secs(10)), &mut |r| lines.push(r));
        assert!(states(&p).iter().all(|(_, s)| s == "up"));
        assert!(
            lines
                .iter()
                .any(|l| l.message == "State changed from starting to up")
        );

        let before = p.dynos()[0].id.clone();
        let t1 = t0.plus(Duration::from_secs(60));
        p.restart_dyno(t1, "web.1").unwrap();
        let after = &p.dynos()[0];
        assert_ne!(after.id, before);
        assert_eq!(after.state, "starting");
        assert_eq!(p.restart_dyno(t1, "web.9"), Err(PhysicsError::NoSuchDyno));
    }

    #[test]
    fn a_crashed_dyno_waits_for_a_restart_or_the_platform_cool_off() {
        let t0 = Timestamp::from_secs(1000);
        let mut p = PlainPhysics::new(t0, Duration::from_secs(5), vec![web(2)]);
        p.advance_to(t0.plus(Duration::from_secs(5)), &mut |_| {});
        let t1 = t0.plus(Duration::from_secs(10));
        let cool_off = Duration::from_secs(60);
        p.crash_dyno(t1, "web.1", cool_off).unwrap();
        p.crash_dyno(t1, "web.2", cool_off).unwrap();
        let mut lines = Vec::new();
        p.advance_to(t1, &mut |r| lines.push((r.process, r.message)));
        assert!(lines.contains(&("web.1".into(), "Process exited with status 1".into())));
        assert!(lines.contains(&("web.1".into(), "State changed from up to crashed".into())));
        assert_eq!(states(&p)[0].1, "crashed");
        // An API restart brings web.1 back; the platform's own restart cancels with it.
        p.restart_dyno(t1.plus(Duration::from_secs(2)), "web.1")
            .unwrap();
        p.advance_to(t1.plus(cool_off), &mut |_| {});
        let web1 = p.dynos()[0].clone();
        assert_eq!(
            (web1.state.as_str(), web1.updated_at),
            ("up", t1.plus(Duration::from_secs(7)))
        );
        // web.2 is restarted by the platform when its cool-off ends.
        assert_eq!(states(&p)[1].1, "starting");
        assert_eq!(
            p.crash_dyno(t1, "web.9", cool_off),
            Err(PhysicsError::NoSuchDyno)
        );
    }

    #[test]
    fn scaling_adds_and_removes_numbered_dynos() {
        let t0 = Timestamp::from_secs(0);
        let mut p = PlainPhysics::new(t0, Duration::from_secs(5), vec![web(1)]);
        p.set_formation(t0, "web", Some(3), None).unwrap();
        let names: Vec<String> = p.dynos().into_iter().map(|d| d.name).collect();
        assert_eq!(names, ["web.1", "web.2", "web.3"]);
        p.set_formation(t0, "web", Some(1), None).unwrap();
        assert_eq!(p.dynos().len(), 1);
        assert!(matches!(
            p.set_formation(t0, "worker", Some(1), None),
            Err(PhysicsError::NoSuchProcessType(_))
        ));
    }
}
