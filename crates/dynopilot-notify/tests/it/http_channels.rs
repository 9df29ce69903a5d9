//! Slack, the signed webhook, Twilio and PagerDuty against loopback receivers that check the
//! exact request each service would get; 5xx/429 are transient, other 4xx permanent.

use base64::Engine as _;
use hmac::{KeyInit, Mac};
use serde_json::json;

use crate::support::{NOW, Receiver, channels, closed_port, event};
use dynopilot_notify::EventKind;

const SID: &str = "AC0123456789abcdef0123456789abcdef";

#[tokio::test]
async fn slack_gets_block_kit_with_fields_reasons_digest_and_a_button() {
    let rx = Receiver::start(vec![], (200, "ok")).await;
    let url = format!("{}/services/T000/B000/XXXXSECRET", rx.url);
    let ch = channels(&[("slack", json!({"type": "slack", "url": url}))]);
    let receipt = ch.send("slack", &event()).await.unwrap();
    assert_eq!(receipt.detail, "HTTP 200 ok");

    let req = &rx.requests()[0];
    assert_eq!(req.method, "POST");
    assert_eq!(req.path, "/services/T000/B000/XXXXSECRET");
    assert_eq!(req.header("content-type"), "application/json");
    let body = req.json();
    assert!(body["text"].as_str().unwrap().contains("Restarted web.3"));
    let blocks = body["blocks"].as_array().unwrap();
    let types: Vec<&str> = blocks.iter().map(|b| b["type"].as_str().unwrap()).collect();
    assert_eq!(
        types,
        [
            "header", "section", "section", "section", "context", "actions"
        ]
    );
    assert_eq!(
        blocks[0]["text"]["text"],
        "[dynopilot] critical · shop: Restarted web.3"
    );
    let fields: Vec<&str> = blocks[1]["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["text"].as_str().unwrap())
        .collect();
    assert_eq!(
        fields,
        [
            "*App*\nshop",
            "*Target*\nweb.3",
            "*Severity*\ncritical",
            "*Topic*\nrestart"
        ]
    );
    assert!(
        blocks[2]["text"]["text"]
            .as_str()
            .unwrap()
            .starts_with("*Action*\nrestart web.3")
    );
    assert!(
        blocks[3]["text"]["text"]
            .as_str()
            .unwrap()
            .contains("• memory 612 MB &gt; 512 MB")
    );
    assert_eq!(
        blocks[4]["elements"][0]["text"],
        "and 12 more restarts of web since 10:02"
    );
    let button = &blocks[5]["elements"][0];
    assert_eq!(button["type"], "button");
    assert_eq!(
        button["url"],
        "https://dynopilot.example.com/apps/shop/decisions/dec-42"
    );
}

#[tokio::test]
async fn without_a_link_or_digest_slack_gets_no_button_or_context() {
    let rx = Receiver::start(vec![], (200, "ok")).await;
    let ch = channels(&[("slack", json!({"type": "slack", "url": rx.url}))]);
    let mut e = event();
    e.link = None;
    e.digest = None;
    ch.send("slack", &e).await.unwrap();
    let types: Vec<String> = rx.requests()[0].json()["blocks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["type"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(types, ["header", "section", "section", "section"]);
}

#[tokio::test]
async fn statuses_are_classified_and_reasons_never_hold_the_url_token() {
    let rx = Receiver::start(
        vec![
            (500, "boom"),
            (429, "slow down"),
            (400, "invalid_payload for /services/T000/B000/XXXXSECRET"),
            (404, "no_service"),
        ],
        (200, "ok"),
    )
    .await;
    let url = format!("{}/services/T000/B000/XXXXSECRET", rx.url);
    let ch = channels(&[("slack", json!({"type": "slack", "url": url}))]);
    let e = event();
    let first = ch.send("slack", &e).await.unwrap_err();
    assert!(first.transient);
    assert_eq!(first.reason, "HTTP 500 Internal Server Error: boom");
    let second = ch.send("slack", &e).await.unwrap_err();
    assert!(second.transient);
    assert!(second.reason.starts_with("HTTP 429"), "{second:?}");
    let third = ch.send("slack", &e).await.unwrap_err();
    assert!(!third.transient);
    // The receiver echoed the URL's path: the part of it that is the token is masked.
    assert!(!third.reason.contains("XXXXSECRET"), "{third:?}");
    let fourth = ch.send("slack", &e).await.unwrap_err();
    assert!(!fourth.transient);
    assert_eq!(fourth.reason, "HTTP 404 Not Found: no_service");
    ch.send("slack", &e).await.unwrap();
}

#[tokio::test]
async fn a_receiver_that_is_down_is_transient_and_an_unknown_channel_permanent() {
    let url = format!("http://127.0.0.1:{}/hook", closed_port());
    let ch = channels(&[(
        "audit",
        json!({"type": "webhook", "url": url, "secret": "k3y-k3y"}),
    )]);
    let err = ch.send("audit", &event()).await.unwrap_err();
    assert!(err.transient, "{err:?}");
    assert_eq!(err.reason, "connection refused");
    let err = ch.send("nope", &event()).await.unwrap_err();
    assert!(!err.transient);
    assert_eq!(err.reason, "no channel named `nope` is configured");
}

#[tokio::test]
async fn the_webhook_is_versioned_json_signed_over_timestamp_and_body() {
    let rx = Receiver::start(vec![], (204, "")).await;
    let secret = "whsec-test-0123456789";
    let ch = channels(&[(
        "audit",
        json!({"type": "webhook", "url": format!("{}/in?token=abc", rx.url), "secret": secret}),
    )]);
    ch.send("audit", &event()).await.unwrap();

    let req = &rx.requests()[0];
    assert_eq!(req.path, "/in?token=abc");
    let timestamp = req.header("x-dynopilot-timestamp");
    assert_eq!(timestamp, (NOW.as_millis() / 1000).to_string());
    assert_eq!(req.header("x-dynopilot-event-id"), "evt-0001");
    // Verified here with the hmac crate directly, as a receiver would.
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(format!("{timestamp}.").as_bytes());
    mac.update(&req.body);
    let expected = format!("v1={}", hex::encode(mac.finalize().into_bytes()));
    assert_eq!(req.header("x-dynopilot-signature"), expected);

    let body = req.json();
    assert_eq!(body["schema"], "dynopilot.alert.v1");
    assert_eq!(body["id"], "evt-0001");
    assert_eq!(body["kind"], "trigger");
    assert_eq!(body["topic"], "restart");
    assert_eq!(body["severity"], "critical");
    assert_eq!(body["app"], "shop");
    assert_eq!(body["process_type"], "web");
    assert_eq!(body["dyno"], "web.3");
    assert_eq!(body["decision_id"], "dec-42");
    assert_eq!(body["reasons"].as_array().unwrap().len(), 2);
    assert_eq!(body["at"], "2026-05-28T20:26:35Z");
    assert_eq!(body["sent_at"], "2026-05-28T20:26:40Z");
    assert_eq!(body["digest"]["count"], 12);
    assert_eq!(body["dedup_key"], "shop/restart/web.3");

    let verified = dynopilot_notify::channels::webhook::verify(
        secret.as_bytes(),
        timestamp,
        req.header("x-dynopilot-signature"),
        &req.body,
        NOW,
        std::time::Duration::from_secs(300),
    );
    assert_eq!(verified, Ok(()));
}

#[tokio::test]
async fn twilio_gets_one_form_post_per_recipient_with_basic_auth() {
    let created = r#"{"sid": "SM0001", "status": "queued"}"#;
    let rx = Receiver::start(vec![], (201, created)).await;
    let ch = channels(&[(
        "sms",
        json!({
            "type": "twilio", "account_sid": SID, "auth_token": "tw-token-1",
            "from": "+15550001111", "to": ["+15550002222", "+15550003333"],
            "base_url": format!("{}/", rx.url),
        }),
    )]);
    let receipt = ch.send("sms", &event()).await.unwrap();
    assert_eq!(receipt.remote_id.as_deref(), Some("SM0001,SM0001"));

    let reqs = rx.requests();
    assert_eq!(reqs.len(), 2);
    let auth = base64::engine::general_purpose::STANDARD.encode(format!("{SID}:tw-token-1"));
    for (req, to) in reqs.iter().zip(["+15550002222", "+15550003333"]) {
        assert_eq!(req.method, "POST");
        assert_eq!(
            req.path,
            format!("/2010-04-01/Accounts/{SID}/Messages.json")
        );
        assert_eq!(req.header("authorization"), format!("Basic {auth}"));
        assert_eq!(
            req.header("content-type"),
            "application/x-www-form-urlencoded"
        );
        let form: Vec<(String, String)> = serde_urlencoded_pairs(&req.body);
        let names: Vec<&str> = form.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(names, ["To", "From", "Body"]);
        assert_eq!(form[0].1, to);
        assert_eq!(form[1].1, "+15550001111");
        assert!(
            form[2]
                .1
                .starts_with("[dynopilot] critical · shop: Restarted web.3\n")
        );
        assert!(
            form[2]
                .1
                .ends_with("\nhttps://dynopilot.example.com/apps/shop/decisions/dec-42")
        );
    }
}

#[tokio::test]
async fn a_long_sms_is_cut_to_1600_characters_keeping_the_link() {
    let rx = Receiver::start(vec![], (201, "{}")).await;
    let ch = channels(&[(
        "sms",
        json!({"type": "twilio", "account_sid": SID, "auth_token": "t0ken",
               "from": "+15550001111", "to": ["+15550002222"], "base_url": rx.url}),
    )]);
    let mut e = event();
    e.message = "é".repeat(3000);
    ch.send("sms", &e).await.unwrap();
    let form = serde_urlencoded_pairs(&rx.requests()[0].body);
    let body = &form[2].1;
    assert_eq!(body.chars().count(), 1600);
    assert!(
        body.contains("é…\nhttps://dynopilot.example.com/"),
        "{body}"
    );
}

#[tokio::test]
async fn twilio_bad_credentials_are_permanent_and_the_token_is_not_shown() {
    let rx = Receiver::start(
        vec![],
        (401, r#"{"code": 20003, "message": "Authenticate"}"#),
    )
    .await;
    let ch = channels(&[(
        "sms",
        json!({"type": "twilio", "account_sid": SID, "auth_token": "tw-token-1",
               "from": "+15550001111", "to": ["+15550002222"], "base_url": rx.url}),
    )]);
    let err = ch.send("sms", &event()).await.unwrap_err();
    assert!(!err.transient);
    assert!(
        err.reason
            .contains("HTTP 401 Unauthorized (bad credentials)"),
        "{err:?}"
    );
    assert!(!err.reason.contains("tw-token-1"));
}

#[tokio::test]
async fn pagerduty_triggers_then_resolves_with_the_same_dedup_key() {
    let accepted =
        r#"{"status":"success","message":"Event processed","dedup_key":"shop/restart/web.3"}"#;
    let rx = Receiver::start(vec![], (202, accepted)).await;
    let ch = channels(&[(
        "pager",
        json!({"type": "pagerduty", "routing_key": "R0UTINGKEY0123456789", "base_url": rx.url}),
    )]);
    let trigger = event();
    let receipt = ch.send("pager", &trigger).await.unwrap();
    assert_eq!(receipt.remote_id.as_deref(), Some("shop/restart/web.3"));
    let mut resolve = event();
    resolve.kind = EventKind::Resolve;
    ch.send("pager", &resolve).await.unwrap();

    let reqs = rx.requests();
    assert_eq!(reqs.len(), 2);
    assert!(reqs.iter().all(|r| r.path == "/v2/enqueue"));
    let t = reqs[0].json();
    assert_eq!(t["routing_key"], "R0UTINGKEY0123456789");
    assert_eq!(t["event_action"], "trigger");
    assert_eq!(t["dedup_key"], "shop/restart/web.3");
    let p = &t["payload"];
    assert_eq!(p["summary"], "shop: Restarted web.3");
    assert_eq!(p["source"], "shop/web.3");
    assert_eq!(p["severity"], "critical");
    assert_eq!(p["timestamp"], "2026-05-28T20:26:35Z");
    assert_eq!(p["component"], "web");
    assert_eq!(p["group"], "shop");
    assert_eq!(p["custom_details"]["decision_id"], "dec-42");
    assert_eq!(
        t["links"][0]["href"],
        "https://dynopilot.example.com/apps/shop/decisions/dec-42"
    );
    let r = reqs[1].json();
    assert_eq!(
        r,
        json!({"routing_key": "R0UTINGKEY0123456789", "event_action": "resolve",
               "dedup_key": "shop/restart/web.3"})
    );
}

#[tokio::test]
async fn pagerduty_refusals_are_classified() {
    let rx = Receiver::start(
        vec![(400, r#"{"status":"invalid event"}"#), (429, "")],
        (202, "{}"),
    )
    .await;
    let ch = channels(&[(
        "pager",
        json!({"type": "pagerduty", "routing_key": "R0UTINGKEY0123456789", "base_url": rx.url}),
    )]);
    let e = event();
    assert!(!ch.send("pager", &e).await.unwrap_err().transient);
    assert!(ch.send("pager", &e).await.unwrap_err().transient);
    assert!(ch.send("pager", &e).await.is_ok());
}

/// `a=1&b=%2B2` → pairs, decoded.
fn serde_urlencoded_pairs(body: &[u8]) -> Vec<(String, String)> {
    url_decode_form(std::str::from_utf8(body).unwrap())
}

fn url_decode_form(s: &str) -> Vec<(String, String)> {
    s.split('&')
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap();
            (decode(k), decode(v))
        })
        .collect()
}

fn decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => {
                out.push(u8::from_str_radix(&s[i + 1..i + 3], 16).unwrap());
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out).unwrap()
}

#[tokio::test]
async fn a_receiver_that_never_answers_times_out_transiently() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/in", listener.local_addr().unwrap());
    // Accepts and holds connections without ever answering.
    let hold = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    let ch = channels(&[(
        "audit",
        json!({"type": "webhook", "url": url, "secret": "k3y-k3y", "timeout": "1s"}),
    )]);
    let err = ch.send("audit", &event()).await.unwrap_err();
    assert!(err.transient, "{err:?}");
    assert_eq!(err.reason, "timed out after 1s");
    hold.abort();
}

#[tokio::test]
async fn sms_sent_to_some_numbers_only_is_permanent_and_names_who_missed_it() {
    let rx = Receiver::start(
        vec![(201, r#"{"sid": "SM0001"}"#), (400, r#"{"code": 21211}"#)],
        (201, "{}"),
    )
    .await;
    let ch = channels(&[(
        "sms",
        json!({"type": "twilio", "account_sid": SID, "auth_token": "t0ken",
               "from": "+15550001111", "to": ["+15550002222", "+15550003333"],
               "base_url": rx.url}),
    )]);
    let err = ch.send("sms", &event()).await.unwrap_err();
    assert!(
        !err.transient,
        "a retry would text +15550002222 twice: {err:?}"
    );
    assert_eq!(
        err.reason,
        r#"sent to 1, not to +15550003333: HTTP 400 Bad Request: {"code": 21211}"#
    );
}
