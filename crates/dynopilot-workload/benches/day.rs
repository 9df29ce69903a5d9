//! Placeholder for the 24 h benchmark.
fn main() {}
