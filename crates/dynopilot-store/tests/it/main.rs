//! Integration tests of the store: one binary, shared conformance suite.
