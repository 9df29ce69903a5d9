//! A simulated Heroku: Platform API server, dyno lifecycle, workload model and log output.
