//! One-off dynos as `dynopilot exec` meets them: attached over TLS rendezvous (the client
//! trusting the simulator's CA), the interpreter's exit status through the marker, `find` over
//! the modelled files with ages (dotfiles, symbolic links, exclusions, deletion), and a stop
//! that ends an attached dyno mid-command.

use std::time::Duration;

use dynopilot_heroku::{OneOffEnd, OneOffRequest, RendezvousTls};
use reqwest::Method;
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

use crate::harness::{APP, Sim};

fn tls() -> RendezvousTls {
    RendezvousTls::with_extra_roots_pem(dynopilot_sim::rendezvous_tls::CERT_PEM).unwrap()
}

fn request(command: &str) -> OneOffRequest {
    OneOffRequest {
        command: command.to_owned(),
        size: None,
        timeout: Duration::from_secs(3600),
        env: Default::default(),
    }
}

async fn run(sim: &Sim, command: &str) -> (OneOffEnd, String, String) {
    let mut out = Vec::new();
    let report = sim
        .client()
        .run_one_off(
            APP,
            &request(command),
            &tls(),
            &mut out,
            &CancellationToken::new(),
        )
        .await
        .unwrap();
    (report.end, String::from_utf8(out).unwrap(), report.dyno)
}

#[tokio::test]
async fn the_exit_status_comes_back_through_tls_rendezvous() {
    let sim = Sim::start().await;
    assert_eq!(
        run(&sim, "echo hi; exit 4; echo never").await.0,
        OneOffEnd::Exited(4)
    );
    let (end, out, dyno) = run(&sim, "echo 'a  b'; false; true").await;
    assert_eq!((end, out.as_str()), (OneOffEnd::Exited(0), "a  b\n"));
    // Attached and finished: gone from the dyno list.
    let dynos = sim.client().dynos_list(APP).await.unwrap();
    assert!(dynos.iter().all(|d| d.name != dyno));
}

async fn seed(sim: &Sim) {
    let day = 86_400;
    let files = json!({"files": [
        {"path": "/tmp/a.log", "size": 10, "age_secs": 3 * day},
        {"path": "/tmp/b.log", "size": 20, "age_secs": 60},
        {"path": "/tmp/c.pid", "size": 30, "age_secs": 3 * day},
        {"path": "/tmp/.d", "size": 40, "age_secs": 3 * day},
        {"path": "/tmp/e", "size": 0, "age_secs": 3 * day, "symlink_to": "/app/secret"},
        {"path": "/tmp/e/x", "size": 0, "age_secs": 3 * day},
        {"path": "/app/secret", "size": 50, "age_secs": 3 * day},
    ]});
    let answer = sim
        .raw(Method::PUT, &format!("/_sim/apps/{APP}/files"))
        .json(&files)
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 200);
}

async fn files_of(sim: &Sim, dyno: &str) -> Vec<String> {
    let files: Value = sim
        .raw(Method::GET, &format!("/_sim/apps/{APP}/dynos/{dyno}/files"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    files
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["path"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn find_sees_file_ages_never_follows_links_and_deletes_in_its_own_dyno() {
    let sim = Sim::start().await;
    seed(&sim).await;
    let find = "find -P /tmp -xdev -type f -mmin +2880 ! -path '*/.*' ! -name '*.pid' \
                -printf 'X\\t%s\\t%p\\n'";
    let (end, out, dyno) = run(&sim, find).await;
    assert_eq!(
        (end, out.as_str()),
        (OneOffEnd::Exited(0), "X\t10\t/tmp/a.log\n")
    );
    assert_eq!(files_of(&sim, &dyno).await.len(), 7, "nothing deleted");

    let (end, out, dyno) = run(&sim, &find.replace("-printf", "-delete -printf")).await;
    assert_eq!(
        (end, out.as_str()),
        (OneOffEnd::Exited(0), "X\t10\t/tmp/a.log\n")
    );
    assert_eq!(
        files_of(&sim, &dyno).await,
        [
            "/app/secret",
            "/tmp/.d",
            "/tmp/b.log",
            "/tmp/c.pid",
            "/tmp/e",
            "/tmp/e/x"
        ]
    );
    // Each one-off dyno starts from the app's files again.
    let (_, out, _) = run(&sim, find).await;
    assert_eq!(out, "X\t10\t/tmp/a.log\n");

    let (end, out, _) = run(&sim, "find /nowhere -type f; find /tmp -frobnicate").await;
    assert_eq!(end, OneOffEnd::Exited(1));
    assert!(
        out.contains("'/nowhere': No such file or directory"),
        "{out}"
    );
    assert!(out.contains("unknown predicate `-frobnicate'"), "{out}");
}

#[tokio::test]
async fn cancelling_stops_an_attached_dyno_mid_command() {
    let sim = Sim::start().await;
    let cancel = CancellationToken::new();
    let stop = cancel.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(300)).await;
        stop.cancel();
    });
    let mut out = Vec::new();
    let report = sim
        .client()
        .run_one_off(
            APP,
            &request("echo up; sleep 3600"),
            &tls(),
            &mut out,
            &cancel,
        )
        .await
        .unwrap();
    assert_eq!(report.end, OneOffEnd::Cancelled);
    assert!(report.stop_error.is_none(), "{:?}", report.stop_error);
    assert_eq!(out, b"up\n");
    let stops: Vec<_> = sim
        .handle
        .applied_actions()
        .into_iter()
        .filter(|a| a.kind == dynopilot_sim::AppliedKind::StopDyno)
        .collect();
    assert_eq!(stops.len(), 1);
    assert_eq!(stops[0].target, report.dyno);
    let dynos = sim.client().dynos_list(APP).await.unwrap();
    assert!(dynos.iter().all(|d| d.name != report.dyno));
}
