//! Event hooks as real processes: the event on stdin and in `DYNOPILOT_*` variables, a failing
//! exit status recorded, and a hang killed (with its children) at the timeout.

use std::time::Duration;

use serde_json::json;

use crate::support::{channels, event};

fn scratch(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("dynopilot-notify-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[tokio::test]
async fn a_hook_gets_the_event_on_stdin_and_in_its_environment() {
    let dir = scratch("hook-ok");
    let script = format!("cat > {d}/stdin.json; env > {d}/env.txt", d = dir.display());
    let ch = channels(&[(
        "on-restart",
        json!({"type": "hook", "command": ["/bin/sh", "-c", script], "timeout": "10s"}),
    )]);
    // Set in the test process: must not reach the hook.
    let receipt = ch.send("on-restart", &event()).await.unwrap();
    assert_eq!(receipt.detail, "exit status 0");

    let stdin: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("stdin.json")).unwrap()).unwrap();
    assert_eq!(stdin["schema"], "dynopilot.alert.v1");
    assert_eq!(stdin["id"], "evt-0001");
    assert_eq!(stdin["dyno"], "web.3");
    let env = std::fs::read_to_string(dir.join("env.txt")).unwrap();
    for line in [
        "DYNOPILOT_EVENT_ID=evt-0001",
        "DYNOPILOT_TOPIC=restart",
        "DYNOPILOT_APP=shop",
        "DYNOPILOT_PROCESS_TYPE=web",
        "DYNOPILOT_DYNO=web.3",
        "DYNOPILOT_SEVERITY=critical",
        "DYNOPILOT_KIND=trigger",
        "DYNOPILOT_MESSAGE=restart web.3: memory 612 MB over 512 MB for 3 samples",
    ] {
        assert!(env.lines().any(|l| l == line), "{line} missing from\n{env}");
    }
    // Only an allow-list of the daemon's own variables is passed on.
    assert!(!env.contains("CARGO_"), "{env}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn a_failing_hook_reports_its_exit_status_and_last_stderr_line() {
    let ch = channels(&[(
        "on-restart",
        json!({"type": "hook", "command": ["/bin/sh", "-c", "echo 'pager unreachable' >&2; exit 3"]}),
    )]);
    let err = ch.send("on-restart", &event()).await.unwrap_err();
    assert!(!err.transient);
    assert_eq!(
        err.reason,
        "`/bin/sh` exited with status 3: pager unreachable"
    );
}

#[tokio::test]
async fn a_missing_program_is_permanent() {
    let ch = channels(&[(
        "on-restart",
        json!({"type": "hook", "command": ["/nonexistent/notify-me"]}),
    )]);
    let err = ch.send("on-restart", &event()).await.unwrap_err();
    assert!(!err.transient);
    assert!(
        err.reason
            .starts_with("cannot start `/nonexistent/notify-me`"),
        "{err:?}"
    );
}

#[tokio::test]
async fn a_hanging_hook_and_its_children_are_killed_at_the_timeout() {
    let dir = scratch("hook-hang");
    let pidfile = dir.join("child.pid");
    // The shell starts `sleep 30` as a child and waits: killing only the shell would leave it.
    let script = format!("sleep 30 & echo $! > {}; wait", pidfile.display());
    let ch = channels(&[(
        "on-restart",
        json!({"type": "hook", "command": ["/bin/sh", "-c", script], "timeout": "1s"}),
    )]);
    let started = tokio::time::Instant::now();
    let err = ch.send("on-restart", &event()).await.unwrap_err();
    let took = started.elapsed();
    assert!(!err.transient);
    assert_eq!(err.reason, "`/bin/sh` killed after its 1s timeout");
    assert!(
        took >= Duration::from_secs(1) && took < Duration::from_secs(5),
        "{took:?}"
    );

    let pid = std::fs::read_to_string(&pidfile).unwrap().trim().to_owned();
    let mut gone = false;
    for _ in 0..50 {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        // Gone, or a zombie waiting for init to reap it.
        if stat.is_empty() || stat.split_whitespace().nth(2) == Some("Z") {
            gone = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(gone, "sleep {pid} outlived the hook's timeout");
    let _ = std::fs::remove_dir_all(&dir);
}
