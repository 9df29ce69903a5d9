//! Test fixtures: a sample event, an HTTP receiver on loopback that records every request and
//! answers from a script, and the aiosmtpd server started from `smtp_server.py`.

use std::collections::{BTreeMap, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use dynopilot_core::policy::Severity;
use dynopilot_core::{ManualClock, Timestamp};
use dynopilot_notify::{AlertEvent, ChannelConfig, Channels, DigestSummary, EventKind};

pub const NOW: Timestamp = Timestamp::from_secs(1_780_000_000);

pub fn event() -> AlertEvent {
    AlertEvent {
        id: "evt-0001".to_owned(),
        kind: EventKind::Trigger,
        topic: "restart".to_owned(),
        severity: Severity::Critical,
        app: "shop".to_owned(),
        process_type: Some("web".to_owned()),
        dyno: Some("web.3".to_owned()),
        decision_id: Some("dec-42".to_owned()),
        title: "Restarted web.3".to_owned(),
        message: "restart web.3: memory 612 MB over 512 MB for 3 samples".to_owned(),
        reasons: vec![
            "memory 612 MB > 512 MB (quota 512 MB)".to_owned(),
            "R14 at 10:02".to_owned(),
        ],
        at: NOW.minus(Duration::from_secs(5)),
        dedup_key: "shop/restart/web.3".to_owned(),
        digest: Some(DigestSummary {
            count: 12,
            since: NOW.minus(Duration::from_secs(600)),
            text: "and 12 more restarts of web since 10:02".to_owned(),
        }),
        link: Some("https://dynopilot.example.com/apps/shop/decisions/dec-42".to_owned()),
    }
}

/// Channels from TOML-like JSON tables, on a manual clock at `NOW`.
pub fn channels(tables: &[(&str, serde_json::Value)]) -> Channels {
    let configs: BTreeMap<String, ChannelConfig> = tables
        .iter()
        .map(|(name, v)| {
            (
                (*name).to_owned(),
                serde_json::from_value(v.clone()).unwrap(),
            )
        })
        .collect();
    Channels::with_clock(&configs, Arc::new(ManualClock::new(NOW))).unwrap()
}

/// One request as the receiver saw it.
#[derive(Clone, Debug)]
pub struct Received {
    pub method: Method,
    pub path: String,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Received {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap()
    }

    pub fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .map(|v| v.to_str().unwrap())
            .unwrap_or_default()
    }
}

/// An HTTP server on 127.0.0.1 that records requests and answers with the scripted statuses
/// in order, then with `default` forever.
pub struct Receiver {
    pub url: String,
    pub received: Arc<Mutex<Vec<Received>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Receiver {
    pub async fn start(script: Vec<(u16, &str)>, default: (u16, &str)) -> Receiver {
        let received = Arc::new(Mutex::new(Vec::new()));
        let script: VecDeque<(u16, String)> =
            script.into_iter().map(|(s, b)| (s, b.to_owned())).collect();
        let script = Arc::new(Mutex::new(script));
        let default = (default.0, default.1.to_owned());
        let log = received.clone();
        let handler = move |method: Method, uri: Uri, headers: HeaderMap, body: Bytes| {
            let log = log.clone();
            let script = script.clone();
            let default = default.clone();
            async move {
                log.lock().unwrap().push(Received {
                    method,
                    path: uri.to_string(),
                    headers,
                    body,
                });
                let (status, body) = script.lock().unwrap().pop_front().unwrap_or(default);
                (StatusCode::from_u16(status).unwrap(), body)
            }
        };
        let app = axum::Router::new().fallback(handler);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let task = tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        Receiver {
            url,
            received,
            task,
        }
    }

    pub fn requests(&self) -> Vec<Received> {
        self.received.lock().unwrap().clone()
    }
}

/// A port on loopback where nothing listens (bound, then released).
pub fn closed_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

/// The aiosmtpd server of `smtp_server.py`; killed on drop.
pub struct SmtpServer {
    pub port: u16,
    pub dir: PathBuf,
    child: std::process::Child,
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn python() -> Option<PathBuf> {
    let candidate = match std::env::var_os("DYNOPILOT_TEST_PYTHON") {
        Some(p) => PathBuf::from(p),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.tmp/pyenv/bin/python"),
    };
    let works = std::process::Command::new(&candidate)
        .args(["-c", "import aiosmtpd"])
        .output()
        .is_ok_and(|o| o.status.success());
    works.then_some(candidate)
}

impl SmtpServer {
    /// `None` (after one visible line) when Python with aiosmtpd is missing, unless
    /// `DYNOPILOT_REQUIRE_SERVICES=1`, where that fails the test.
    pub fn start(test: &str, auth: Option<(&str, &str)>) -> Option<SmtpServer> {
        SmtpServer::start_tls(test, auth, "none")
    }

    /// `tls`: `none`, `starttls` or `implicit` (a self-signed certificate).
    pub fn start_tls(test: &str, auth: Option<(&str, &str)>, tls: &str) -> Option<SmtpServer> {
        let Some(python) = python() else {
            let how = "run `python3 -m venv .tmp/pyenv && .tmp/pyenv/bin/pip install aiosmtpd==1.4.6` \
                       or set DYNOPILOT_TEST_PYTHON";
            if std::env::var("DYNOPILOT_REQUIRE_SERVICES").as_deref() == Ok("1") {
                panic!("DYNOPILOT_REQUIRE_SERVICES=1 but Python with aiosmtpd is missing: {how}");
            }
            println!("SKIPPED {test}: Python with aiosmtpd is missing; {how}");
            return None;
        };
        let dir = std::env::temp_dir().join(format!(
            "dynopilot-notify-smtp-{}-{test}",
            std::process::id()
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/it/smtp_server.py");
        let mut cmd = std::process::Command::new(python);
        cmd.arg(script).arg(&dir).arg("0").env("SMTP_TLS", tls);
        if let Some((user, password)) = auth {
            cmd.args([user, password]);
        }
        let mut child = cmd.stdout(std::process::Stdio::piped()).spawn().unwrap();
        let mut line = String::new();
        let stdout = child.stdout.take().unwrap();
        std::io::BufRead::read_line(&mut std::io::BufReader::new(stdout), &mut line).unwrap();
        let port = line.trim().parse().expect("smtp_server.py prints its port");
        Some(SmtpServer { port, dir, child })
    }

    /// The messages received so far, waiting up to 10 s for at least `n`.
    pub async fn messages(&self, n: usize) -> Vec<serde_json::Value> {
        for _ in 0..200 {
            let found = self.read();
            if found.len() >= n {
                return found;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        self.read()
    }

    fn read(&self) -> Vec<serde_json::Value> {
        let mut files: Vec<PathBuf> = std::fs::read_dir(&self.dir)
            .unwrap()
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| {
                p.file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| n.starts_with("msg-"))
            })
            .collect();
        files.sort();
        files
            .iter()
            .map(|p| serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap())
            .collect()
    }
}
