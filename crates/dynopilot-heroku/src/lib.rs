//! Typed Heroku Platform API client: the only crate that knows Heroku URLs.
