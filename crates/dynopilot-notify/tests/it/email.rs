//! Email against a real SMTP server (aiosmtpd) on loopback: headers, recipients, both parts,
//! AUTH with a wrong password, and a server that is down.

use serde_json::json;

use crate::support::{SmtpServer, channels, closed_port, event};

fn email_table(port: u16, auth: Option<(&str, &str)>) -> serde_json::Value {
    let mut t = json!({
        "type": "email",
        "host": "127.0.0.1",
        "port": port,
        "tls": "none",
        "from": "dynopilot <alerts@example.com>",
        "to": ["ops@example.com", "Oncall Person <oncall@example.com>"],
        "timeout": "5s",
    });
    if let Some((user, password)) = auth {
        t["username"] = json!(user);
        t["password"] = json!(password);
    }
    t
}

#[tokio::test]
async fn a_message_reaches_every_recipient_with_both_parts_and_the_event_id() {
    let Some(server) = SmtpServer::start("email_delivery", None) else {
        return;
    };
    let ch = channels(&[("ops-email", email_table(server.port, None))]);
    let receipt = ch.send("ops-email", &event()).await.unwrap();
    assert!(receipt.detail.starts_with("250"), "{receipt:?}");
    assert_eq!(receipt.remote_id.as_deref(), Some("Q1"));

    let messages = server.messages(1).await;
    assert_eq!(messages.len(), 1);
    let m = &messages[0];
    assert_eq!(m["mail_from"], "alerts@example.com");
    assert_eq!(
        m["rcpt_tos"],
        json!(["ops@example.com", "oncall@example.com"])
    );
    let h = &m["headers"];
    assert_eq!(h["x-dynopilot-event-id"], "evt-0001");
    assert_eq!(h["subject"], "[dynopilot] critical · shop: Restarted web.3");
    assert_eq!(h["from"], "dynopilot <alerts@example.com>");
    let to = h["to"].as_str().unwrap();
    assert!(to.contains("ops@example.com") && to.contains("Oncall Person <oncall@example.com>"));
    assert_eq!(m["content_type"], "multipart/alternative");
    let parts = m["parts"].as_array().unwrap();
    let types: Vec<&str> = parts
        .iter()
        .map(|p| p["content_type"].as_str().unwrap())
        .collect();
    assert_eq!(types, ["text/plain", "text/html"]);
    let plain = parts[0]["text"].as_str().unwrap();
    assert!(
        plain.contains("restart web.3: memory 612 MB over 512 MB"),
        "{plain}"
    );
    assert!(plain.contains("- R14 at 10:02"), "{plain}");
    assert!(
        plain.contains("and 12 more restarts of web since 10:02"),
        "{plain}"
    );
    assert!(plain.contains("https://dynopilot.example.com/apps/shop/decisions/dec-42"));
    let html = parts[1]["text"].as_str().unwrap();
    assert!(html.contains("<h2>Restarted web.3</h2>"), "{html}");
    assert!(html.contains("memory 612 MB &gt; 512 MB"), "{html}");
    assert!(html.contains("href=\"https://dynopilot.example.com/apps/shop/decisions/dec-42\""));
}

#[tokio::test]
async fn auth_with_the_right_password_is_delivered_and_a_wrong_one_is_permanent() {
    let Some(server) = SmtpServer::start("email_auth", Some(("alerts", "right-pass"))) else {
        return;
    };
    let ch = channels(&[
        (
            "good",
            email_table(server.port, Some(("alerts", "right-pass"))),
        ),
        (
            "bad",
            email_table(server.port, Some(("alerts", "wrong-pass-9"))),
        ),
    ]);
    ch.send("good", &event()).await.unwrap();
    let messages = server.messages(1).await;
    assert_eq!(messages[0]["auth"], true);

    let err = ch.send("bad", &event()).await.unwrap_err();
    assert!(!err.transient, "{err:?}");
    assert!(err.reason.contains("535"), "{err:?}");
    assert!(err.reason.contains("bad credentials"), "{err:?}");
    assert!(!err.reason.contains("wrong-pass-9"), "{err:?}");
    assert_eq!(
        server.messages(1).await.len(),
        1,
        "nothing more was accepted"
    );
}

#[tokio::test]
async fn a_server_that_is_down_is_a_transient_connection_refused() {
    let ch = channels(&[("ops-email", email_table(closed_port(), None))]);
    let err = ch.send("ops-email", &event()).await.unwrap_err();
    assert!(err.transient, "{err:?}");
    assert_eq!(err.reason, "connection refused");
}

#[tokio::test]
async fn a_certificate_nobody_vouches_for_is_a_tls_error_and_nothing_is_sent() {
    for mode in ["starttls", "implicit"] {
        let Some(server) = SmtpServer::start_tls(&format!("email_tls_{mode}"), None, mode) else {
            return;
        };
        let mut table = email_table(server.port, Some(("alerts", "pw-over-tls")));
        table["tls"] = json!(mode);
        let ch = channels(&[("ops-email", table)]);
        let err = ch.send("ops-email", &event()).await.unwrap_err();
        assert!(!err.transient, "{mode}: {err:?}");
        assert!(err.reason.starts_with("TLS error: "), "{mode}: {err:?}");
        assert!(
            err.reason.to_lowercase().contains("certificate"),
            "{mode}: {err:?}"
        );
        assert!(server.messages(0).await.is_empty());
    }
}
