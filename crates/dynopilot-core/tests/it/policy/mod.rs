//! Scenario transcripts and properties of the policies.
