//! Configuration loading, overrides and validation.
