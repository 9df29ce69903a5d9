//! `Secret` and URL redaction now live in `dynopilot-core` (the notify crate's channels use them
//! too); re-exported here so config code keeps its paths.

pub use dynopilot_core::secret::{MASK, Secret, redact_url, redact_urls_in};
