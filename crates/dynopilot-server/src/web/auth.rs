//! Sign-in for the dashboard and API: a login form checked against the configured username and
//! password (argon2 hash), limited per client address and user (`login_limit`), random session
//! ids kept in memory behind an `HttpOnly; SameSite=Strict` cookie (`Secure` over https), and a
//! per-session CSRF token that every control must carry. API callers may instead present a
//! bearer token (`credentials::ApiToken`): `read` for the JSON API, `operate` for controls,
//! no CSRF token since no browser sends it by itself; `/metrics` takes a token too. Login is
//! required on a non-loopback listen address; on loopback without credentials every visitor
//! gets an anonymous session (still with a CSRF token, since other sites can post to localhost).
//! Against DNS rebinding, an open (loopback, no password) dashboard only answers to loopback
//! names and the configured `allowed_hosts` (421 otherwise), and every state-changing request
//! from a browser must come from the same origin (`Origin` / `Referer`), besides its CSRF token.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Mutex;
use std::time::Duration;

use askama::Template;
use axum::extract::{ConnectInfo, Form, Request, State};
use axum::http::{Extensions, HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Redirect, Response};
use dynopilot_core::Timestamp;
use serde::Deserialize;
use subtle::ConstantTimeEq;

use super::credentials::{self, ApiToken, MetricsAccess, Password};
use super::login_limit::LoginLimiter;
use super::{WebError, WebState};
use crate::http_server::HttpLimits;

pub const COOKIE: &str = "dynopilot_session";
const SESSION_TTL: Duration = Duration::from_secs(12 * 3600);

/// The dashboard's user name and password.
#[derive(Clone, Debug)]
pub struct Credentials {
    pub username: String,
    pub password: Password,
}

impl Credentials {
    /// A password given in plain text (loopback, or from the environment).
    pub fn plain(username: &str, password: &str) -> Self {
        Credentials {
            username: username.to_owned(),
            password: Password::Plain(password.to_owned()),
        }
    }

    /// A password given as an argon2 PHC hash.
    pub fn hashed(username: &str, phc: &str) -> Self {
        Credentials {
            username: username.to_owned(),
            password: Password::Argon2(phc.to_owned()),
        }
    }
}

/// How the daemon faces HTTP clients: sign-in, the host names it answers to, and the server's
/// connection limits.
#[derive(Clone, Debug, Default)]
pub struct WebSettings {
    pub credentials: Option<Credentials>,
    /// When false, visitors get an anonymous session without signing in.
    pub require_login: bool,
    /// Bearer token of each app's restart requests (apps without one refuse them).
    pub restart_request_tokens: std::collections::BTreeMap<String, String>,
    /// Host names (lowercase, no port) served besides `localhost`, `127.0.0.1` and `[::1]`.
    pub allowed_hosts: Vec<String>,
    pub http: HttpLimits,
    /// API bearer tokens by name, with their scopes.
    pub tokens: Vec<ApiToken>,
    /// Which token scopes open `/metrics`.
    pub metrics_access: MetricsAccess,
    /// Served over https (behind a TLS-terminating proxy): `Secure` cookies and HSTS always,
    /// not only when `X-Forwarded-Proto: https` says so.
    pub https: bool,
}

impl WebSettings {
    /// Login is required whenever credentials are set, and always off loopback (with no
    /// credentials nobody can sign in then: the dashboard stays closed).
    pub fn for_listen(listen: SocketAddr, credentials: Option<Credentials>) -> Self {
        WebSettings {
            require_login: credentials.is_some() || !listen.ip().is_loopback(),
            credentials,
            ..WebSettings::default()
        }
    }

    /// The `Host` check applies to an open dashboard (where DNS rebinding is the way in) and
    /// whenever host names are listed. Behind sign-in with no list the public name is unknown.
    pub fn checks_host(&self) -> bool {
        !self.require_login || !self.allowed_hosts.is_empty()
    }

    /// True when something proves who the caller is: a password or at least one API token.
    pub fn has_credentials(&self) -> bool {
        self.credentials.is_some() || !self.tokens.is_empty()
    }

    /// True for loopback names and addresses (any port) and the listed host names.
    pub fn host_allowed(&self, authority: &str) -> bool {
        let name = host_name(authority);
        is_loopback_name(&name) || self.allowed_hosts.contains(&name)
    }
}

/// The host part of a `Host` value or URL authority, lowercase, without port or final dot;
/// IPv6 literals keep their brackets.
pub fn host_name(authority: &str) -> String {
    let a = authority.trim().to_ascii_lowercase();
    if let Some(rest) = a.strip_prefix('[') {
        return match rest.split_once(']') {
            Some((ip, _)) => format!("[{ip}]"),
            None => a,
        };
    }
    let name = match a.rsplit_once(':') {
        Some((name, port)) if port.bytes().all(|b| b.is_ascii_digit()) => name,
        _ => a.as_str(),
    };
    name.trim_end_matches('.').to_owned()
}

fn is_loopback_name(name: &str) -> bool {
    let literal = name.trim_start_matches('[').trim_end_matches(']');
    name == "localhost" || literal.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// The `scheme://authority` part's authority of an `Origin` or `Referer` value.
fn origin_authority(value: &str) -> Option<&str> {
    let (scheme, rest) = value.split_once("://")?;
    if !matches!(scheme, "http" | "https") {
        return None;
    }
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    Some(&rest[..end]).filter(|a| !a.is_empty())
}

/// A browser's write must come from this very origin: its `Origin` (or, without one, its
/// `Referer`) names the request's own `Host`, or a listed host. Requests with neither header
/// are not from a browser page, so there is no other site to guard against.
fn same_origin(headers: &HeaderMap, settings: &WebSettings) -> Result<(), String> {
    let source = headers
        .get(header::ORIGIN)
        .or_else(|| headers.get(header::REFERER));
    let Some(source) = source else {
        return Ok(());
    };
    let text = source.to_str().unwrap_or_default();
    let Some(authority) = origin_authority(text) else {
        return Err(format!("the request comes from `{text}`"));
    };
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok());
    let own = host.is_some_and(|h| h.eq_ignore_ascii_case(authority));
    let listed = settings.allowed_hosts.contains(&host_name(authority));
    if own || listed {
        Ok(())
    } else {
        Err(format!("the request comes from another site (`{text}`)"))
    }
}

/// Refuses, before any session is made, requests for a host name this dashboard does not
/// answer to (421) and cross-site writes (403). `/healthz` is exempt (load balancers probe it
/// by any name); the drain has its own router and secret.
pub async fn check_host_and_origin(
    State(state): State<WebState>,
    request: Request,
    next: Next,
) -> Response {
    if request.uri().path() == "/healthz" {
        return next.run(request).await;
    }
    let settings = &state.auth.settings;
    // Browsers always send `Host`; a request without one is not a rebound page.
    let host = request.headers().get(header::HOST);
    if settings.checks_host()
        && let Some(host) = host
    {
        let name = host.to_str().unwrap_or_default();
        if !settings.host_allowed(name) {
            return misdirected(name);
        }
    }
    let writes = !matches!(
        *request.method(),
        Method::GET | Method::HEAD | Method::OPTIONS
    );
    if writes && let Err(why) = same_origin(request.headers(), settings) {
        return WebError {
            status: StatusCode::FORBIDDEN,
            kind: "cross_origin",
            message: format!("{why}; changes are only accepted from dynopilot's own pages"),
        }
        .into_response();
    }
    next.run(request).await
}

fn misdirected(host: &str) -> Response {
    let message = format!(
        "dynopilot does not answer to host `{}`: open it as localhost or 127.0.0.1, or add the \
         name to [server] allowed_hosts",
        host_name(host)
    );
    WebError {
        status: StatusCode::MISDIRECTED_REQUEST,
        kind: "misdirected_host",
        message,
    }
    .into_response()
}

/// A signed-in (or anonymous) visitor, or an API caller with a bearer token.
#[derive(Clone, Debug)]
pub struct Session {
    /// Journaled as who asked: the dashboard user, `anonymous`, or `token <name>`.
    pub user: String,
    pub csrf: String,
    expires: Timestamp,
    /// Came with a bearer token: no CSRF token needed (a browser never sends one by itself).
    pub via_token: bool,
    /// May send controls (the dashboard user and anonymous loopback visitors may; a token
    /// needs the `operate` scope).
    pub can_operate: bool,
}

impl Session {
    /// True when `token` is this session's CSRF token (constant time).
    pub fn csrf_ok(&self, token: &str) -> bool {
        bool::from(self.csrf.as_bytes().ct_eq(token.as_bytes()))
    }
}

pub struct Auth {
    pub settings: WebSettings,
    sessions: Mutex<HashMap<String, Session>>,
    limiter: Mutex<LoginLimiter>,
}

impl Auth {
    pub fn new(settings: WebSettings) -> Self {
        Auth {
            settings,
            sessions: Mutex::new(HashMap::new()),
            limiter: Mutex::default(),
        }
    }

    fn lookup(&self, id: &str, now: Timestamp) -> Option<Session> {
        let mut sessions = self.sessions.lock().ok()?;
        sessions.retain(|_, s| s.expires > now);
        sessions.get(id).cloned()
    }

    /// Creates a session; returns its id (the cookie value).
    fn create(&self, user: &str, now: Timestamp) -> (String, Session) {
        let session = Session {
            user: user.to_owned(),
            csrf: random_token(),
            expires: now.plus(SESSION_TTL),
            via_token: false,
            can_operate: true,
        };
        let id = random_token();
        if let Ok(mut sessions) = self.sessions.lock() {
            sessions.insert(id.clone(), session.clone());
        }
        (id, session)
    }

    fn remove(&self, id: &str) {
        if let Ok(mut sessions) = self.sessions.lock() {
            sessions.remove(id);
        }
    }

    /// Checks user name and password; argon2 runs on a blocking thread, and always runs (also
    /// for a wrong user name) so the time taken does not tell which part was wrong.
    async fn check_password(&self, username: &str, password: &str) -> bool {
        let Some(c) = self.settings.credentials.clone() else {
            return false;
        };
        let user_ok = bool::from(c.username.as_bytes().ct_eq(username.as_bytes()));
        let given = password.to_owned();
        let pass_ok = tokio::task::spawn_blocking(move || c.password.matches(&given))
            .await
            .unwrap_or(false);
        user_ok & pass_ok
    }

    /// The session of a bearer-token caller (not stored: the token comes with every request).
    fn token_session(token: &ApiToken, now: Timestamp) -> Session {
        Session {
            user: format!("token {}", token.name),
            csrf: String::new(),
            expires: now.plus(SESSION_TTL),
            via_token: true,
            can_operate: token.can_operate(),
        }
    }
}

/// The token of an `Authorization: Bearer <token>` header, if there is one.
pub fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.trim().split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then_some(token.trim())
        .filter(|t| !t.is_empty())
}

/// 401 with the challenge a bearer client expects.
fn bad_token(message: &str) -> Response {
    let mut response = WebError::unauthorized(message).into_response();
    response.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        HeaderValue::from_static("Bearer realm=\"dynopilot\""),
    );
    response
}

fn forbidden(kind: &'static str, message: String) -> Response {
    WebError {
        status: StatusCode::FORBIDDEN,
        kind,
        message,
    }
    .into_response()
}

/// Who may read `/metrics`: anyone on an open loopback dashboard without a token; otherwise a
/// token with the `metrics` scope, or (unless `[api] metrics_scope = "metrics"`) `read` or
/// `operate`. A token that is presented is always checked, open dashboard or not. Returns
/// the refusal, if any.
pub fn metrics_refusal(settings: &WebSettings, headers: &HeaderMap) -> Option<Response> {
    let Some(presented) = bearer(headers) else {
        return settings.require_login.then(|| {
            bad_token(
                "/metrics needs `Authorization: Bearer <token>` with a token of the metrics or read scope",
            )
        });
    };
    match credentials::find_token(&settings.tokens, presented) {
        None => Some(bad_token("unknown API token")),
        Some(t) if t.can_scrape(settings.metrics_access) => None,
        Some(t) => Some(forbidden(
            "insufficient_scope",
            format!("token `{}` may not read /metrics", t.name),
        )),
    }
}

/// 256 random bits from the OS generator (two v4 UUIDs), hex encoded.
fn random_token() -> String {
    format!(
        "{}{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    )
}

fn session_cookie(id: &str, secure: bool) -> HeaderValue {
    let secure = if secure { "; Secure" } else { "" };
    let cookie = format!("{COOKIE}={id}; Path=/; HttpOnly; SameSite=Strict{secure}");
    HeaderValue::from_str(&cookie).unwrap_or_else(|_| HeaderValue::from_static(""))
}

fn https(settings: &WebSettings, headers: &HeaderMap) -> bool {
    super::security_headers::is_https(settings.https, headers)
}

/// The session id from the `Cookie` header, if any.
pub fn cookie_value(headers: &HeaderMap) -> Option<&str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE)
        .map(|(_, value)| value)
}

/// Lets requests with a live session through (the `Session` goes into the extensions);
/// otherwise opens an anonymous session where allowed, or sends the visitor to `/login`
/// (API callers get 401).
pub async fn require_session(
    State(state): State<WebState>,
    mut request: Request,
    next: Next,
) -> Response {
    let now = state.clock.now();
    let api = request.uri().path().starts_with("/api/");
    if api && let Some(presented) = bearer(request.headers()) {
        let session = match credentials::find_token(&state.auth.settings.tokens, presented) {
            None => return bad_token("unknown API token"),
            Some(t) if !t.can_read() => {
                let message = format!("token `{}` has no read or operate scope", t.name);
                return forbidden("insufficient_scope", message);
            }
            Some(t) => Auth::token_session(t, now),
        };
        request.extensions_mut().insert(session);
        return next.run(request).await;
    }
    let existing = cookie_value(request.headers()).and_then(|id| state.auth.lookup(id, now));
    if let Some(session) = existing {
        let token = HeaderValue::from_str(&session.csrf).ok();
        request.extensions_mut().insert(session);
        let mut response = next.run(request).await;
        // API clients read the token from here for their writes.
        if let Some(token) = token {
            response.headers_mut().insert("x-csrf-token", token);
        }
        return response;
    }
    if state.auth.settings.require_login {
        let path = request.uri().path();
        if api {
            return bad_token("sign in first, or send `Authorization: Bearer <token>`");
        }
        return Redirect::to(&format!("/login?next={}", encode_path(path))).into_response();
    }
    let secure = https(&state.auth.settings, request.headers());
    let (id, session) = state.auth.create("anonymous", now);
    request.extensions_mut().insert(session);
    let mut response = next.run(request).await;
    response
        .headers_mut()
        .append(header::SET_COOKIE, session_cookie(&id, secure));
    response
}

/// Keeps only characters that are safe in a query value (paths here are `/apps/<name>`).
fn encode_path(path: &str) -> String {
    path.chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '/' | '-' | '_' | '.'))
        .collect()
}

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage {
    next: String,
    error: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct LoginQuery {
    next: Option<String>,
}

pub async fn login_page(axum::extract::Query(q): axum::extract::Query<LoginQuery>) -> Response {
    render_login(safe_next(q.next.as_deref()), None, StatusCode::OK)
}

fn render_login(next: String, error: Option<String>, status: StatusCode) -> Response {
    match (LoginPage { next, error }).render() {
        Ok(html) => (status, Html(html)).into_response(),
        Err(e) => super::WebError::internal("template", e).into_response(),
    }
}

/// Only local absolute paths, so the login form cannot redirect elsewhere.
fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n) if n.starts_with('/') && !n.starts_with("//") => encode_path(n),
        _ => "/".to_owned(),
    }
}

#[derive(Debug, Deserialize)]
pub struct LoginForm {
    username: String,
    password: String,
    next: Option<String>,
}

/// The keys login attempts are limited by: the client address (the peer, and the last
/// `X-Forwarded-For` hop a proxy appended) and the user name.
fn limit_keys(extensions: &Extensions, headers: &HeaderMap, username: &str) -> Vec<String> {
    let peer = extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip().to_string())
        .unwrap_or_default();
    let forwarded = headers
        .get("x-forwarded-for")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.rsplit(',').next())
        .map(str::trim)
        .unwrap_or_default();
    vec![
        format!("ip {peer} {forwarded}"),
        format!("user {}", username.trim().to_lowercase()),
    ]
}

pub async fn login(
    State(state): State<WebState>,
    extensions: Extensions,
    headers: HeaderMap,
    Form(form): Form<LoginForm>,
) -> Response {
    let next = safe_next(form.next.as_deref());
    let keys = limit_keys(&extensions, &headers, &form.username);
    let now = state.clock.now();
    let wait = state
        .auth
        .limiter
        .lock()
        .ok()
        .and_then(|mut l| l.wait(&keys, now));
    if let Some(wait) = wait {
        return too_many_attempts(next, wait);
    }
    if !state
        .auth
        .check_password(&form.username, &form.password)
        .await
    {
        state.metrics.count_login_failure();
        if let Ok(mut limiter) = state.auth.limiter.lock() {
            limiter.failed(&keys, now);
        }
        let error = "wrong username or password".to_owned();
        return render_login(next, Some(error), StatusCode::UNAUTHORIZED);
    }
    if let Ok(mut limiter) = state.auth.limiter.lock() {
        limiter.succeeded(&keys);
    }
    let (id, _) = state.auth.create(&form.username, now);
    let mut response = Redirect::to(&next).into_response();
    let secure = https(&state.auth.settings, &headers);
    response
        .headers_mut()
        .append(header::SET_COOKIE, session_cookie(&id, secure));
    response
}

/// 429 with `Retry-After` in whole seconds (rounded up).
fn too_many_attempts(next: String, wait: Duration) -> Response {
    let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
    let error = format!("too many failed sign-ins: try again in {secs} s");
    let mut response = render_login(next, Some(error), StatusCode::TOO_MANY_REQUESTS);
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(secs.max(1)));
    response
}

#[derive(Debug, Deserialize)]
pub struct LogoutForm {
    csrf: String,
}

pub async fn logout(
    State(state): State<WebState>,
    headers: HeaderMap,
    Form(form): Form<LogoutForm>,
) -> Response {
    if let Some(id) = cookie_value(&headers)
        && let Some(session) = state.auth.lookup(id, state.clock.now())
        && session.csrf_ok(&form.csrf)
    {
        state.auth.remove(id);
    }
    let mut response = Redirect::to("/login").into_response();
    let expired = format!("{COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0");
    if let Ok(v) = HeaderValue::from_str(&expired) {
        response.headers_mut().append(header::SET_COOKIE, v);
    }
    response
}
