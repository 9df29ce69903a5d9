//! Integration tests: the real Heroku client against the simulator over loopback.
