//! The daemon configuration: the TOML file, environment overrides, validation and display.
