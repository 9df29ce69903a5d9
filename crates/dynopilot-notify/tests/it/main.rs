//! Integration tests of the notify crate: every channel against a real receiver on loopback.
