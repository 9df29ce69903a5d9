//! Scaling algorithms: pure functions from signals to a desired quantity or size, with reasons.
