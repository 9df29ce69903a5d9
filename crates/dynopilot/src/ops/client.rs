//! The daemon's JSON API from the terminal: `DYNOPILOT_TOKEN` sent as a bearer token (an
//! `[[api.tokens]]` entry; a token the daemon does not know is tried once as the dashboard
//! password, for setups from before API tokens), else the anonymous session an open loopback
//! dashboard hands out with its CSRF token for controls; errors turned into `Failure`s.

use std::time::Duration;

use dynopilot_server::web::Command;
use dynopilot_server::web::api::OPERATOR_HEADER;
use reqwest::StatusCode;
use reqwest::header::{COOKIE, SET_COOKIE};
use serde_json::Value;

use super::failure::Failure;
use super::target::{Target, operator};

const SESSION_COOKIE: &str = "dynopilot_session";

pub struct Daemon {
    http: reqwest::Client,
    url: String,
    cookie: Option<String>,
    csrf: Option<String>,
    bearer: Option<String>,
}

impl Daemon {
    /// Reaches the daemon and signs in when there is a token.
    pub async fn connect(target: &Target) -> Result<Daemon, Failure> {
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(40))
            .connect_timeout(Duration::from_secs(5))
            .build()
            .map_err(|e| Failure::Refused(format!("cannot build an HTTP client: {e}")))?;
        let mut daemon = Daemon {
            http,
            url: target.url.clone(),
            cookie: None,
            csrf: None,
            bearer: None,
        };
        if let Some(token) = &target.token {
            daemon.bearer = Some(token.clone());
            let probe = daemon
                .authorize(daemon.http.get(format!("{}/api/v1/apps", daemon.url)))
                .send()
                .await
                .map_err(|e| daemon.unreachable(&e))?;
            if probe.status() == StatusCode::UNAUTHORIZED {
                daemon.bearer = None;
                daemon.sign_in(&target.username, token).await?;
            }
        }
        Ok(daemon)
    }

    fn unreachable(&self, e: &reqwest::Error) -> Failure {
        // The innermost cause says what happened (`Connection refused`); the outer ones do not.
        let mut cause: &dyn std::error::Error = e;
        while let Some(inner) = cause.source() {
            cause = inner;
        }
        let cause = cause.to_string();
        Failure::Unreachable {
            url: self.url.clone(),
            cause,
        }
    }

    async fn sign_in(&mut self, username: &str, token: &str) -> Result<(), Failure> {
        let response = self
            .http
            .post(format!("{}/login", self.url))
            .header(
                reqwest::header::CONTENT_TYPE,
                "application/x-www-form-urlencoded",
            )
            .body(format!(
                "username={}&password={}&next=%2F",
                form_encode(username),
                form_encode(token)
            ))
            .send()
            .await
            .map_err(|e| self.unreachable(&e))?;
        self.keep_session(&response);
        if response.status() == StatusCode::UNAUTHORIZED || self.cookie.is_none() {
            return Err(Failure::NotSignedIn(format!(
                "the daemon at {} knows no API token like DYNOPILOT_TOKEN and refused it as \
                 the password of `{username}`: check DYNOPILOT_TOKEN",
                self.url
            )));
        }
        Ok(())
    }

    fn keep_session(&mut self, response: &reqwest::Response) {
        let cookie = response
            .headers()
            .get_all(SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .filter_map(|v| v.split(';').next())
            .filter_map(|pair| pair.trim().split_once('='))
            .find(|(name, value)| *name == SESSION_COOKIE && !value.is_empty());
        if let Some((_, value)) = cookie {
            self.cookie = Some(format!("{SESSION_COOKIE}={value}"));
        }
        if let Some(csrf) = response
            .headers()
            .get("x-csrf-token")
            .and_then(|v| v.to_str().ok())
        {
            self.csrf = Some(csrf.to_owned());
        }
    }

    /// The request with the bearer token or the session cookie.
    fn authorize(&self, mut request: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        if let Some(token) = &self.bearer {
            request = request.bearer_auth(token);
        } else if let Some(cookie) = &self.cookie {
            request = request.header(COOKIE, cookie);
        }
        request
    }

    /// `GET` an API path (`/api/v1/…`) as JSON.
    pub async fn get(&mut self, path: &str) -> Result<Value, Failure> {
        let request = self.authorize(self.http.get(format!("{}{path}", self.url)));
        let response = request.send().await.map_err(|e| self.unreachable(&e))?;
        self.keep_session(&response);
        self.json(response).await
    }

    /// Sends a control for `app` and returns the daemon's answer (`result`, `message`,
    /// `decision`).
    pub async fn control(&mut self, app: &str, command: &Command) -> Result<Value, Failure> {
        // The session's CSRF token comes back on a read made with the session.
        // (A bearer token needs none.)
        for _ in 0..2 {
            if self.csrf.is_some() || self.bearer.is_some() {
                break;
            }
            self.get(&format!("/api/v1/apps/{app}")).await?;
        }
        let mut request = self.authorize(
            self.http
                .post(format!("{}/api/v1/apps/{app}/controls", self.url))
                .header(OPERATOR_HEADER, operator())
                .json(command),
        );
        if let Some(csrf) = &self.csrf {
            request = request.header("x-csrf-token", csrf);
        }
        let response = request.send().await.map_err(|e| self.unreachable(&e))?;
        self.json(response).await
    }

    async fn json(&self, response: reqwest::Response) -> Result<Value, Failure> {
        let status = response.status();
        let body: Value = response.json().await.unwrap_or(Value::Null);
        if status.is_success() {
            return Ok(body);
        }
        // Problem details: `detail`; `message` is the same text.
        let message = body
            .get("detail")
            .or_else(|| body.get("message"))
            .and_then(Value::as_str)
            .map_or_else(|| format!("the daemon answered {status}"), str::to_owned);
        Err(match status {
            StatusCode::UNAUTHORIZED => Failure::NotSignedIn(format!(
                "the daemon at {} wants a token: set DYNOPILOT_TOKEN to an API token \
                 ([[api.tokens]]) or the dashboard password",
                self.url
            )),
            _ => Failure::Refused(message),
        })
    }
}

/// `application/x-www-form-urlencoded` value encoding: unreserved bytes as they are, every
/// other byte as `%XX`.
fn form_encode(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                char::from(b).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}
