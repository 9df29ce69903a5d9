//! Heroku log parsing: Logplex drain framing, `heroku logs` lines and the message grammar.
