//! `ChannelConfig`: one `[alerts.channels.NAME]` table as written (tagged by `type`, unknown
//! keys rejected), and `validate()`, which names every problem by its key inside the table.

use std::str::FromStr;

use dynopilot_core::Secret;
use dynopilot_core::policy::ConfigDuration;
use serde::{Deserialize, Serialize};

pub const DEFAULT_TIMEOUT: ConfigDuration = ConfigDuration::from_secs(10);
pub const DEFAULT_HOOK_TIMEOUT: ConfigDuration = ConfigDuration::from_secs(30);
pub const DEFAULT_TWILIO_BASE_URL: &str = "https://api.twilio.com";
pub const DEFAULT_PAGERDUTY_BASE_URL: &str = "https://events.pagerduty.com";

/// One configured channel.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ChannelConfig {
    Email(EmailConfig),
    Slack(SlackConfig),
    Webhook(WebhookConfig),
    Twilio(TwilioConfig),
    Pagerduty(PagerDutyConfig),
    Hook(HookConfig),
}

/// How the SMTP connection is encrypted.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SmtpTls {
    /// Plain connection upgraded with STARTTLS (port 587); refuses to go on unencrypted.
    #[default]
    Starttls,
    /// TLS from the first byte (port 465, "SMTPS").
    Implicit,
    /// No encryption at all: only for a relay on the same host or private network.
    None,
}

impl SmtpTls {
    pub fn default_port(self) -> u16 {
        match self {
            SmtpTls::Starttls => 587,
            SmtpTls::Implicit => 465,
            SmtpTls::None => 25,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EmailConfig {
    pub host: String,
    /// Unset: 587 for `starttls`, 465 for `implicit`, 25 for `none`.
    #[serde(default)]
    pub port: Option<u16>,
    #[serde(default)]
    pub tls: SmtpTls,
    /// SMTP AUTH; both or neither of `username` and `password`.
    #[serde(default)]
    pub username: Option<String>,
    #[serde(default)]
    pub password: Option<Secret>,
    /// A mailbox: `alerts@example.com` or `dynopilot <alerts@example.com>`.
    pub from: String,
    pub to: Vec<String>,
    #[serde(default = "default_timeout")]
    pub timeout: ConfigDuration,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SlackConfig {
    /// The incoming-webhook URL; its path is the token, so it is a secret.
    pub url: Secret,
    #[serde(default = "default_timeout")]
    pub timeout: ConfigDuration,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookConfig {
    /// May carry a token in its path or query, so it is a secret.
    pub url: Secret,
    /// Key of the `X-Dynopilot-Signature` HMAC; the receiver holds the same value.
    pub secret: Secret,
    #[serde(default = "default_timeout")]
    pub timeout: ConfigDuration,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TwilioConfig {
    pub account_sid: String,
    pub auth_token: Secret,
    /// The Twilio number (E.164, `+15550001111`) or messaging service the SMS comes from.
    pub from: String,
    /// One SMS per number.
    pub to: Vec<String>,
    #[serde(default = "default_twilio_base_url")]
    pub base_url: String,
    #[serde(default = "default_timeout")]
    pub timeout: ConfigDuration,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PagerDutyConfig {
    /// The integration key of an Events API v2 service.
    pub routing_key: Secret,
    #[serde(default = "default_pagerduty_base_url")]
    pub base_url: String,
    #[serde(default = "default_timeout")]
    pub timeout: ConfigDuration,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HookConfig {
    /// Program and arguments, run without a shell.
    pub command: Vec<String>,
    /// After this the hook's whole process group is killed.
    #[serde(default = "default_hook_timeout")]
    pub timeout: ConfigDuration,
}

fn default_timeout() -> ConfigDuration {
    DEFAULT_TIMEOUT
}

fn default_hook_timeout() -> ConfigDuration {
    DEFAULT_HOOK_TIMEOUT
}

fn default_twilio_base_url() -> String {
    DEFAULT_TWILIO_BASE_URL.to_owned()
}

fn default_pagerduty_base_url() -> String {
    DEFAULT_PAGERDUTY_BASE_URL.to_owned()
}

/// One problem of a channel table; `key` is relative to the table (`to[1]`, `url`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChannelIssue {
    pub key: String,
    pub message: String,
}

struct Issues(Vec<ChannelIssue>);

impl Issues {
    fn push(&mut self, key: impl Into<String>, message: impl Into<String>) {
        self.0.push(ChannelIssue {
            key: key.into(),
            message: message.into(),
        });
    }

    fn positive(&mut self, key: &str, d: ConfigDuration) {
        if let Some(problem) = d.positive_problem() {
            self.push(key, problem);
        }
    }

    /// An http(s) URL with a host; the value itself is never quoted (it may hold a token).
    fn http_url(&mut self, key: &str, url: &str, secret: bool) {
        let shown = if secret {
            String::new()
        } else {
            format!("`{url}` ")
        };
        if url.trim().is_empty() {
            self.push(key, "must not be empty");
        } else if !is_http_url(url) {
            self.push(key, format!("{shown}is not an http(s) URL with a host"));
        }
    }

    fn not_empty(&mut self, key: &str, value: &str) {
        if value.trim().is_empty() {
            self.push(key, "must not be empty");
        }
    }
}

/// `http://host…` or `https://host…`, with a non-empty host.
pub fn is_http_url(url: &str) -> bool {
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"));
    rest.and_then(|r| r.split(['/', '?', '#']).next())
        .is_some_and(|host| !host.is_empty() && !host.contains(char::is_whitespace))
}

impl ChannelConfig {
    /// The `type` word as written in the file.
    pub fn type_name(&self) -> &'static str {
        match self {
            ChannelConfig::Email(_) => "email",
            ChannelConfig::Slack(_) => "slack",
            ChannelConfig::Webhook(_) => "webhook",
            ChannelConfig::Twilio(_) => "twilio",
            ChannelConfig::Pagerduty(_) => "pagerduty",
            ChannelConfig::Hook(_) => "hook",
        }
    }

    /// Every problem of this table; empty when the channel can be built.
    pub fn validate(&self) -> Vec<ChannelIssue> {
        let mut v = Issues(Vec::new());
        match self {
            ChannelConfig::Email(c) => validate_email(c, &mut v),
            ChannelConfig::Slack(c) => {
                v.http_url("url", c.url.expose(), true);
                v.positive("timeout", c.timeout);
            }
            ChannelConfig::Webhook(c) => {
                v.http_url("url", c.url.expose(), true);
                v.not_empty("secret", c.secret.expose());
                v.positive("timeout", c.timeout);
            }
            ChannelConfig::Twilio(c) => validate_twilio(c, &mut v),
            ChannelConfig::Pagerduty(c) => {
                v.not_empty("routing_key", c.routing_key.expose());
                v.http_url("base_url", &c.base_url, false);
                v.positive("timeout", c.timeout);
            }
            ChannelConfig::Hook(c) => {
                match c.command.first() {
                    None => v.push(
                        "command",
                        "must name a program (a list: program, then arguments)",
                    ),
                    Some(program) => v.not_empty("command[0]", program),
                }
                v.positive("timeout", c.timeout);
            }
        }
        v.0
    }
}

fn validate_email(c: &EmailConfig, v: &mut Issues) {
    v.not_empty("host", &c.host);
    if c.port == Some(0) {
        v.push("port", "must be between 1 and 65535");
    }
    match (&c.username, &c.password) {
        (Some(_), None) => v.push("password", "required when `username` is set"),
        (None, Some(_)) => v.push("username", "required when `password` is set"),
        _ => {}
    }
    if let Err(why) = parse_mailbox(&c.from) {
        v.push("from", why);
    }
    if c.to.is_empty() {
        v.push("to", "must list at least one address");
    }
    for (i, to) in c.to.iter().enumerate() {
        if let Err(why) = parse_mailbox(to) {
            v.push(format!("to[{i}]"), why);
        }
    }
    v.positive("timeout", c.timeout);
}

/// A mailbox as lettre reads it, or why not, in words.
pub fn parse_mailbox(s: &str) -> Result<lettre::message::Mailbox, String> {
    lettre::message::Mailbox::from_str(s.trim())
        .map_err(|_| format!("`{s}` is not an email address (like ops@example.com)"))
}

fn validate_twilio(c: &TwilioConfig, v: &mut Issues) {
    let sid = &c.account_sid;
    if !(sid.len() == 34 && sid.starts_with("AC") && sid.chars().all(|c| c.is_ascii_alphanumeric()))
    {
        v.push(
            "account_sid",
            format!("`{sid}` is not a Twilio account SID (AC followed by 32 hex digits)"),
        );
    }
    v.not_empty("auth_token", c.auth_token.expose());
    v.not_empty("from", &c.from);
    if c.to.is_empty() {
        v.push("to", "must list at least one phone number");
    }
    for (i, to) in c.to.iter().enumerate() {
        if !is_e164(to) {
            v.push(
                format!("to[{i}]"),
                format!("`{to}` is not a phone number in E.164 form (like +15550001111)"),
            );
        }
    }
    v.http_url("base_url", &c.base_url, false);
    v.positive("timeout", c.timeout);
}

/// `+` and 8 to 15 digits.
fn is_e164(s: &str) -> bool {
    s.strip_prefix('+').is_some_and(|digits| {
        (8..=15).contains(&digits.len()) && digits.chars().all(|c| c.is_ascii_digit())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(toml_text: &str) -> ChannelConfig {
        serde_json::from_value(toml_like(toml_text)).unwrap()
    }

    /// The tests write tables as JSON to avoid a toml dev-dependency.
    fn toml_like(json: &str) -> serde_json::Value {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn email_problems_are_named_by_key() {
        let c = parse(
            r#"{"type":"email","host":"smtp.example.com","from":"not an address",
                "to":["ops@example.com","bad@"],"username":"u","timeout":"0s"}"#,
        );
        let keys: Vec<String> = c.validate().into_iter().map(|i| i.key).collect();
        assert_eq!(keys, ["password", "from", "to[1]", "timeout"]);
    }

    #[test]
    fn secret_urls_are_never_quoted() {
        let c = parse(r#"{"type":"slack","url":"ftp://hooks.example.com/T0K3N"}"#);
        let issues = c.validate();
        assert_eq!(issues.len(), 1);
        assert!(!issues[0].message.contains("T0K3N"), "{issues:?}");
        assert!(!format!("{c:?}").contains("T0K3N"));
    }

    #[test]
    fn unknown_keys_and_types_are_rejected() {
        let bad_key = serde_json::from_value::<ChannelConfig>(toml_like(
            r#"{"type":"hook","command":["true"],"shell":true}"#,
        ));
        assert!(bad_key.unwrap_err().to_string().contains("shell"));
        let bad_type =
            serde_json::from_value::<ChannelConfig>(toml_like(r#"{"type":"carrier-pigeon"}"#));
        assert!(bad_type.unwrap_err().to_string().contains("carrier-pigeon"));
    }

    #[test]
    fn twilio_and_urls() {
        assert!(is_e164("+15550001111"));
        assert!(!is_e164("5550001111"));
        assert!(is_http_url("http://127.0.0.1:9/x"));
        assert!(!is_http_url("https:///x"));
        let c = parse(
            r#"{"type":"twilio","account_sid":"AC0123456789abcdef0123456789abcdef",
                "auth_token":"t","from":"+15550001111","to":["+15550002222"]}"#,
        );
        assert_eq!(c.validate(), []);
    }
}
