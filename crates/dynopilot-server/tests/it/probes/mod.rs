//! Probes and status checks against real components: heartbeat endpoints on loopback, the
//! fake Pingdom, Redis and Postgres of this machine (`DYNOPILOT_TEST_REDIS_URL`,
//! `DYNOPILOT_TEST_DATABASE_URL`), and the scenario web scaling on a heartbeat's streak.

mod checks;
mod heartbeat;
mod page;
mod pingdom;
mod scenario;
mod support;
