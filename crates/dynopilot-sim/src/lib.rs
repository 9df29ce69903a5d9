//! A simulated Heroku: Platform API server, dyno lifecycle, log sessions, drains and rendezvous.

pub mod drain;
pub mod logs;
pub mod ratelimit;
pub mod rendezvous;
