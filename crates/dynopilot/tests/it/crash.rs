//! SIGKILL at each point of an action's life, over real processes on loopback: `dynopilot sim`
//! as Heroku, `dynopilot run` on a SQLite store in a temporary directory. A manual restart of
//! `web.1` is asked for through the control API; the daemon is killed at a test pause point
//! (`DYNOPILOT_TEST_PAUSE_AT`), started again on the same store, and the simulator's own record
//! (`/_sim/actions`) must show exactly one restart, with the journal saying how it ended.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

const APP: &str = "demo-app-1";

/// One HTTP/1.1 exchange; returns (status, head, body).
pub(crate) fn http(addr: &str, request: &str) -> Option<(u16, String, String)> {
    let mut stream = TcpStream::connect(addr).ok()?;
    stream
        .set_read_timeout(Some(Duration::from_secs(20)))
        .ok()?;
    stream.write_all(request.as_bytes()).ok()?;
    let mut raw = String::new();
    stream.read_to_string(&mut raw).ok()?;
    let (head, body) = raw.split_once("\r\n\r\n")?;
    let status = head.split(' ').nth(1)?.parse().ok()?;
    Some((status, head.to_owned(), body.to_owned()))
}

pub(crate) fn get(addr: &str, path: &str, cookie: &str) -> Option<(u16, String, String)> {
    http(
        addr,
        &format!(
            "GET {path} HTTP/1.1\r\nHost: {addr}\r\nCookie: {cookie}\r\nConnection: close\r\n\r\n"
        ),
    )
}

pub(crate) fn header<'a>(head: &'a str, name: &str) -> Option<&'a str> {
    head.lines().find_map(|l| {
        let (k, v) = l.split_once(':')?;
        k.eq_ignore_ascii_case(name).then(|| v.trim())
    })
}

/// Chunked bodies (axum streams JSON that way sometimes): joins the chunks.
pub(crate) fn unchunk(head: &str, body: &str) -> String {
    if !header(head, "transfer-encoding").is_some_and(|v| v.contains("chunked")) {
        return body.to_owned();
    }
    let mut out = String::new();
    let mut rest = body;
    while let Some((size, tail)) = rest.split_once("\r\n") {
        let Ok(n) = usize::from_str_radix(size.trim(), 16) else {
            break;
        };
        if n == 0 || tail.len() < n {
            break;
        }
        out.push_str(&tail[..n]);
        rest = tail[n..].trim_start_matches("\r\n");
    }
    out
}

pub(crate) fn get_json(addr: &str, path: &str, cookie: &str) -> Option<serde_json::Value> {
    let (status, head, body) = get(addr, path, cookie)?;
    if status != 200 {
        return None;
    }
    serde_json::from_str(&unchunk(&head, &body)).ok()
}

/// Polls `check` every 200 ms, about `limit` long (counted in polls: the workspace bans
/// wall-clock reads outside the clock crate).
pub(crate) fn wait_for<T>(what: &str, limit: Duration, mut check: impl FnMut() -> Option<T>) -> T {
    let step = Duration::from_millis(200);
    for _ in 0..=limit.as_millis() / step.as_millis() {
        if let Some(v) = check() {
            return v;
        }
        std::thread::sleep(step);
    }
    panic!("not within about {limit:?}: {what}");
}

pub(crate) fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A child process killed (SIGKILL) when dropped, with its stderr lines on a channel.
pub(crate) struct Proc {
    child: Child,
    lines: mpsc::Receiver<String>,
}

impl Proc {
    pub(crate) fn spawn(mut command: Command) -> Proc {
        let mut child = command
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let (tx, lines) = mpsc::channel();
        for stream in [
            Box::new(child.stdout.take().unwrap()) as Box<dyn Read + Send>,
            Box::new(child.stderr.take().unwrap()),
        ] {
            let tx = tx.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(stream).lines() {
                    let Ok(line) = line else { return };
                    if tx.send(line).is_err() {
                        return;
                    }
                }
            });
        }
        Proc { child, lines }
    }

    /// Waits for a line containing `needle` (at most `limit` between two lines).
    pub(crate) fn line_with(&self, needle: &str, limit: Duration) -> String {
        loop {
            match self.lines.recv_timeout(limit) {
                Ok(line) if line.contains(needle) => return line,
                Ok(_) => {}
                Err(_) => panic!("no line with {needle:?} within {limit:?}"),
            }
        }
    }

    /// SIGKILL (what `Child::kill` sends on Unix) and reap.
    pub(crate) fn kill(mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub(crate) struct Sim {
    _proc: Proc,
    pub(crate) addr: String,
    pub(crate) token: String,
}

pub(crate) fn start_sim() -> Sim {
    let port = free_port();
    let mut command = Command::new(env!("CARGO_BIN_EXE_dynopilot"));
    command.args(["sim", "--port", &port.to_string()]);
    let proc = Proc::spawn(command);
    let line = proc.line_with("API key:", Duration::from_secs(30));
    let token = line.rsplit(' ').next().unwrap().trim().to_owned();
    Sim {
        _proc: proc,
        addr: format!("127.0.0.1:{port}"),
        token,
    }
}

fn config(dir: &Path, sim: &Sim, listen: &str, deadline: &str) -> PathBuf {
    let path = dir.join("dynopilot.toml");
    let text = format!(
        "[heroku]\nbase_url = \"http://{}\"\n\n[store]\nurl = \"sqlite://{}\"\n\n\
         [server]\nlisten = \"{listen}\"\nreconcile_deadline = \"{deadline}\"\n\n\
         [[apps]]\nname = \"{APP}\"\nlog_source = \"none\"\n",
        sim.addr,
        dir.join("dynopilot.sqlite").display()
    );
    std::fs::write(&path, text).unwrap();
    path
}

pub(crate) fn start_daemon(config: &Path, sim: &Sim, pause_at: Option<&str>) -> Proc {
    let mut command = Command::new(env!("CARGO_BIN_EXE_dynopilot"));
    command
        .args(["run", "--config", config.to_str().unwrap()])
        .env("HEROKU_API_KEY", &sim.token)
        .env("RUST_LOG", "info")
        .env_remove("DYNOPILOT_TEST_PAUSE_AT");
    if let Some(point) = pause_at {
        command.env("DYNOPILOT_TEST_PAUSE_AT", point);
    }
    Proc::spawn(command)
}

/// An anonymous loopback session: its cookie and CSRF token.
fn session(addr: &str) -> (String, String) {
    wait_for("the dashboard answers", Duration::from_secs(60), || {
        let (_, head, _) = get(addr, "/api/v1/apps", "")?;
        let cookie = header(&head, "set-cookie")?.split(';').next()?.to_owned();
        let (_, page, _) = get(addr, &format!("/apps/{APP}"), &cookie)?;
        let csrf = header(&page, "x-csrf-token")?.to_owned();
        Some((cookie, csrf))
    })
}

/// Asks for a manual restart of web.1 on a thread (the answer may never come when the daemon
/// pauses before replying); retries while the dyno is not yet known from the first poll.
fn ask_restart(addr: &str) {
    let (cookie, csrf) = session(addr);
    let body = r#"{"command":"restart_dyno","dyno":"web.1"}"#;
    let request = format!(
        "POST /api/v1/apps/{APP}/controls HTTP/1.1\r\nHost: {addr}\r\nCookie: {cookie}\r\n\
         X-CSRF-Token: {csrf}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\
         Connection: close\r\n\r\n{body}",
        body.len()
    );
    let addr = addr.to_owned();
    std::thread::spawn(move || {
        for _ in 0..100 {
            match http(&addr, &request) {
                Some((_, _, body)) if body.contains("no dyno named") => {
                    std::thread::sleep(Duration::from_millis(300));
                }
                _ => return,
            }
        }
    });
}

/// web.1 as the simulated Platform API shows it.
fn sim_dyno(sim: &Sim) -> Option<serde_json::Value> {
    let request = format!(
        "GET /apps/{APP}/dynos/web.1 HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer {}\r\n\
         Accept: application/vnd.heroku+json; version=3\r\nConnection: close\r\n\r\n",
        sim.addr, sim.token
    );
    let (_, head, body) = http(&sim.addr, &request)?;
    serde_json::from_str(&unchunk(&head, &body)).ok()
}

fn restarts_landed(sim: &Sim) -> usize {
    let path = format!("/_sim/actions?app={APP}&kind=restart_dyno&target=web.1");
    get_json(&sim.addr, &path, "")
        .and_then(|v| v.as_array().map(Vec::len))
        .unwrap_or(0)
}

/// The attempts of the daemon's manual decisions, as the control API reports them.
fn manual_attempts(addr: &str, cookie: &str) -> Vec<serde_json::Value> {
    get_json(addr, &format!("/api/v1/apps/{APP}/actions"), cookie)
        .and_then(|v| v.as_array().cloned())
        .unwrap_or_default()
        .into_iter()
        .filter(|a| {
            a["decision_id"]
                .as_str()
                .is_some_and(|id| id.starts_with("manual-"))
        })
        .collect()
}

/// Kills the daemon at `point` during a manual restart, starts it again on the same store and
/// returns the final attempt records once the journal is settled.
fn crash_at(point: &str) -> (usize, Vec<serde_json::Value>) {
    crash_and_come_back(point, "5m", Duration::ZERO)
}

/// `crash_at` with the reconcile deadline of the restarted daemon and how long it stays down.
fn crash_and_come_back(
    point: &str,
    deadline: &str,
    down: Duration,
) -> (usize, Vec<serde_json::Value>) {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("crash-{point}-{deadline}"));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let sim = start_sim();
    let listen = format!("127.0.0.1:{}", free_port());
    let config = config(&dir, &sim, &listen, deadline);

    // A dyno still booting would look like one just restarted; ask once web.1 is up.
    let up = wait_for("web.1 is up", Duration::from_secs(60), || {
        let dyno = sim_dyno(&sim)?;
        (dyno["state"] == "up").then_some(dyno)
    });
    std::thread::sleep(Duration::from_millis(1100));
    let daemon = start_daemon(&config, &sim, Some(point));
    ask_restart(&listen);
    daemon.line_with(
        &format!("dynopilot test pause at {point}"),
        Duration::from_secs(90),
    );
    daemon.kill();
    std::thread::sleep(down);
    if point == "answered" {
        // The simulated dyno stops gracefully and stays `up` for a while after a restart
        // landed; a dynopilot coming back within that window could not see the restart (see
        // the report). Come back once the dyno shows it, as a supervisor restarting
        // dynopilot after a few seconds would.
        wait_for("web.1 shows the restart", Duration::from_secs(60), || {
            let dyno = sim_dyno(&sim)?;
            (dyno["updated_at"] != up["updated_at"] || dyno["state"] != "up").then_some(())
        });
    }

    let daemon = start_daemon(&config, &sim, None);
    let (cookie, _) = session(&listen);
    let attempts = wait_for(
        "the manual restart is settled",
        Duration::from_secs(60),
        || {
            let attempts = manual_attempts(&listen, &cookie);
            let settled = !attempts.is_empty()
                && attempts
                    .iter()
                    .all(|a| !matches!(a["outcome"].as_str(), Some("started" | "unknown")));
            settled.then_some(attempts)
        },
    );
    // Give a wrongly repeated restart time to show up before counting.
    std::thread::sleep(Duration::from_secs(2));
    let landed = restarts_landed(&sim);
    drop(daemon);
    let _ = std::fs::remove_dir_all(&dir);
    (landed, attempts)
}

fn outcomes(attempts: &[serde_json::Value]) -> Vec<String> {
    let mut sorted = attempts.to_vec();
    sorted.sort_by_key(|a| a["attempt"].as_u64());
    sorted
        .iter()
        .map(|a| a["status"].as_str().unwrap_or("?").to_owned())
        .collect()
}

#[test]
fn killed_after_journaling_the_decision_the_restart_is_carried_out_once_after_restart() {
    let (landed, attempts) = crash_at("decision-journaled");
    assert_eq!(landed, 1, "{attempts:?}");
    assert_eq!(outcomes(&attempts), ["done"]);
}

#[test]
fn killed_before_the_request_left_the_restart_is_carried_out_once_as_the_next_attempt() {
    let (landed, attempts) = crash_at("attempt-journaled");
    assert_eq!(landed, 1, "{attempts:?}");
    assert_eq!(
        outcomes(&attempts),
        [
            "failed: dynopilot stopped before Heroku acted on it (checked after restart)",
            "done"
        ]
    );
}

#[test]
fn killed_after_heroku_answered_the_restart_is_reconciled_not_repeated() {
    let (landed, attempts) = crash_at("answered");
    assert_eq!(landed, 1, "{attempts:?}");
    assert_eq!(outcomes(&attempts), ["done (reconciled after restart)"]);
}

#[test]
fn down_longer_than_the_deadline_the_restart_is_abandoned_with_its_reason_never_done() {
    let (landed, attempts) = crash_and_come_back("attempt-journaled", "2s", Duration::from_secs(3));
    assert_eq!(landed, 0, "{attempts:?}");
    let said = outcomes(&attempts);
    assert_eq!(said.len(), 2, "{said:?}");
    assert!(
        said[0].starts_with("failed: dynopilot stopped before Heroku acted"),
        "{said:?}"
    );
    assert!(
        said[1].starts_with(
            "abandoned: dynopilot stopped before Heroku acted on it, and it was decided"
        ),
        "{said:?}"
    );
    assert!(said[1].ends_with("past the 2 s deadline"), "{said:?}");
}
