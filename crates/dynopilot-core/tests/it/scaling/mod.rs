//! Scenario transcripts and properties of the scaling algorithms.
