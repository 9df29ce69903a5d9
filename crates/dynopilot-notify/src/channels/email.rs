//! Email over SMTP with lettre: STARTTLS, implicit TLS or plain (local relays), optional AUTH,
//! several recipients, a plain-text and an HTML part, and the event id in a header.

use std::error::Error as _;
use std::time::Duration;

use lettre::message::header::{HeaderName, HeaderValue};
use lettre::message::{Mailbox, MultiPart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use super::{http, text};
use crate::config::{EmailConfig, SmtpTls, parse_mailbox};
use crate::event::{AlertEvent, DeliveryError, Receipt};

const EVENT_ID_HEADER: HeaderName = HeaderName::new_from_ascii_str("X-Dynopilot-Event-Id");

pub struct Email {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
    to: Vec<Mailbox>,
    timeout: Duration,
}

impl Email {
    /// Builds the transport (no connection yet); fails only on settings `validate` rejects.
    pub fn new(c: &EmailConfig) -> Result<Email, String> {
        let tls = match c.tls {
            SmtpTls::None => Tls::None,
            SmtpTls::Starttls => Tls::Required(tls_parameters(&c.host)?),
            SmtpTls::Implicit => Tls::Wrapper(tls_parameters(&c.host)?),
        };
        let timeout = c.timeout.get();
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(c.host.trim())
            .port(c.port.unwrap_or(c.tls.default_port()))
            .tls(tls)
            .timeout(Some(timeout));
        if let (Some(user), Some(password)) = (&c.username, &c.password) {
            builder =
                builder.credentials(Credentials::new(user.clone(), password.expose().to_owned()));
        }
        let to =
            c.to.iter()
                .map(|a| parse_mailbox(a))
                .collect::<Result<Vec<_>, _>>()?;
        Ok(Email {
            transport: builder.build(),
            from: parse_mailbox(&c.from)?,
            to,
            timeout,
        })
    }

    pub async fn send(&self, event: &AlertEvent) -> Result<Receipt, DeliveryError> {
        let message = self.message(event)?;
        // lettre's timeout covers each command; this bounds the whole conversation.
        let whole = self.timeout.saturating_mul(3);
        let sent = tokio::time::timeout(whole, self.transport.send(message)).await;
        match sent {
            Err(_) => Err(DeliveryError::transient(format!(
                "timed out after {}",
                http::secs(whole)
            ))),
            Ok(Err(e)) => Err(classify(&e)),
            Ok(Ok(response)) => {
                let words: Vec<&str> = response.message().collect();
                let detail = format!("{} {}", response.code(), words.join(" "));
                Ok(Receipt {
                    remote_id: queue_id(&words),
                    detail: detail.trim().to_owned(),
                })
            }
        }
    }

    fn message(&self, e: &AlertEvent) -> Result<Message, DeliveryError> {
        let mut builder = Message::builder()
            .from(self.from.clone())
            .subject(text::headline(e))
            .raw_header(HeaderValue::new(EVENT_ID_HEADER, e.id.clone()));
        for to in &self.to {
            builder = builder.to(to.clone());
        }
        let body = MultiPart::alternative_plain_html(text::plain_body(e), html_body(e));
        builder
            .multipart(body)
            .map_err(|err| DeliveryError::permanent(format!("cannot build the email: {err}")))
    }
}

fn tls_parameters(host: &str) -> Result<TlsParameters, String> {
    TlsParameters::new(host.trim().to_owned()).map_err(|e| format!("TLS setup: {e}"))
}

/// `250 2.0.0 OK queued as 4F2A` → `4F2A`.
fn queue_id(words: &[&str]) -> Option<String> {
    let line = words.join(" ");
    let (_, after) = line.split_once("queued as ")?;
    after.split_whitespace().next().map(str::to_owned)
}

/// SMTP 4xx and network trouble are retried; 5xx (bad credentials, unknown recipient) and
/// TLS failures are not: they need someone to fix the settings.
fn classify(e: &lettre::transport::smtp::Error) -> DeliveryError {
    if let Some(code) = e.status() {
        let server = e.source().map(|s| s.to_string()).unwrap_or_default();
        let mut reason = format!("SMTP {code}");
        if u16::from(code) == 535 || u16::from(code) == 534 {
            reason.push_str(" (bad credentials)");
        }
        let server = server.trim();
        if !server.is_empty() {
            reason.push_str(&format!(": {server}"));
        }
        return DeliveryError {
            transient: e.is_transient(),
            reason,
        };
    }
    // rustls failures arrive as lettre's TLS kind or, during STARTTLS, as a connection error.
    let cause = innermost(e);
    if e.is_tls() || http::is_tls_words(&cause) {
        return DeliveryError::permanent(format!("TLS error: {cause}"));
    }
    if e.is_timeout() {
        return DeliveryError::transient("timed out");
    }
    let mut source = e.source();
    while let Some(cause) = source {
        if let Some(words) = cause
            .downcast_ref::<std::io::Error>()
            .and_then(http::io_words)
        {
            return DeliveryError::transient(words);
        }
        source = cause.source();
    }
    DeliveryError::transient(format!("SMTP conversation failed: {e}"))
}

fn innermost(e: &(dyn std::error::Error + 'static)) -> String {
    let mut last = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        last = cause.to_string();
        source = cause.source();
    }
    last
}

/// The same content as the plain part, as a small HTML page.
fn html_body(e: &AlertEvent) -> String {
    let mut rows = vec![
        ("App", e.app.clone()),
        ("Target", text::target(e)),
        ("Severity", e.severity.to_string()),
        ("Topic", e.topic.clone()),
        ("At", e.at.to_string()),
    ];
    if let Some(id) = &e.decision_id {
        rows.push(("Decision", id.clone()));
    }
    let mut out = format!(
        "<html><body>\n<h2>{}</h2>\n<p>{}</p>\n<table>\n",
        escape(&e.title),
        escape(&e.message)
    );
    for (name, value) in rows {
        out.push_str(&format!(
            "<tr><th align=\"left\">{name}</th><td>{}</td></tr>\n",
            escape(&value)
        ));
    }
    out.push_str("</table>\n");
    if !e.reasons.is_empty() {
        out.push_str("<ul>\n");
        for r in &e.reasons {
            out.push_str(&format!("<li>{}</li>\n", escape(r)));
        }
        out.push_str("</ul>\n");
    }
    if let Some(d) = &e.digest {
        out.push_str(&format!("<p><em>{}</em></p>\n", escape(&d.text)));
    }
    if let Some(link) = &e.link {
        let href = escape(link);
        out.push_str(&format!(
            "<p><a href=\"{href}\">View the decision</a></p>\n"
        ));
    }
    out.push_str("</body></html>\n");
    out
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}
