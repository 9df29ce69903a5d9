//! Integration tests for the Heroku client against an in-process fake Platform API.
