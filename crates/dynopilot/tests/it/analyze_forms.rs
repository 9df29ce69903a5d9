//! `dynopilot analyze` on every form of issue 17 in every text layout (nothing unknown), on
//! lines it cannot name (counted by shape), and with one thread against two (same summary).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use dynopilot_core::Timestamp;
use dynopilot_logplex::corpus::{self, Corpus, CorpusConfig};
use dynopilot_logplex::forms::every_form;
use dynopilot_logplex::layout::{self, LAYOUTS};

fn analyze(args: &[&str], threads: Option<&str>) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_dynopilot"));
    command.arg("analyze").args(args);
    if let Some(threads) = threads {
        command.env("DYNOPILOT_ANALYZE_THREADS", threads);
    }
    command.output().unwrap()
}

fn text(out: &Output) -> String {
    assert!(
        out.status.success(),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout.clone()).unwrap()
}

fn tmp(name: &str, bytes: &[u8]) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("analyze-forms");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

/// Every form, seeds 0..40, each written in every layout in turn.
fn mixed_file() -> (String, usize) {
    let mut out = String::new();
    let mut lines = 0;
    let start = Timestamp::from_millis(1_262_304_000_000);
    for seed in 0..40u64 {
        for (i, (_, entry)) in every_form(start, seed).iter().enumerate() {
            let layout = LAYOUTS[(i + seed as usize) % LAYOUTS.len()];
            layout::push(&mut out, layout, &entry.record());
            lines += 1;
        }
    }
    (out, lines)
}

#[test]
fn every_form_in_every_layout_is_named() {
    let (mixed, lines) = mixed_file();
    let path = tmp("every-form.log", mixed.as_bytes());
    let out = text(&analyze(&[path.to_str().unwrap()], None));
    assert!(out.contains(&format!("{lines} log entries")), "{out}");
    assert!(!out.contains("unknown "), "{out}");
    assert!(
        out.contains("Not understood (kind unknown)\n  none: every line was read and named"),
        "{out}"
    );
    assert!(out.contains("Input problems\n  none"), "{out}");
    for code in [
        "H12", "H27", "R10", "R12", "R13", "R14", "R15", "R16", "R17",
    ] {
        assert!(
            out.contains(&format!("\n  {code} ")),
            "{code} missing: {out}"
        );
    }
    for code in ["L10", "L11", "L12", "L13", "L14", "L15"] {
        assert!(
            out.contains(&format!("\n  {code} ")),
            "{code} missing: {out}"
        );
    }
    assert!(out.contains("release 280, scale 40"), "{out}");

    let json = text(&analyze(&["--json", path.to_str().unwrap()], None));
    let rows: Vec<serde_json::Value> = json
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(rows.len(), lines);
    assert!(rows.iter().all(|r| r["kind"] != "unknown"), "{json}");
    let legacy = rows
        .iter()
        .find(|r| r["kind"] == "router" && r["fields"]["queue"].is_number())
        .expect("a 2010 router line");
    assert_eq!(legacy["fields"]["host"], "growing-dusk-20.heroku.com");
    assert!(legacy["fields"]["wait_ms"].is_number());
    let scale_to = rows
        .iter()
        .find(|r| r["fields"]["event"] == "scale_to")
        .expect("a Scale to line");
    assert_eq!(scale_to["fields"]["formation"]["web"]["quantity"], 2);
    assert_eq!(scale_to["source"], "heroku");
    assert!(rows.iter().any(|r| r["fields"]["event"] == "client_closed"));
    assert!(
        rows.iter()
            .any(|r| r["fields"]["event"] == "awaiting_client")
    );
    let postgres = rows
        .iter()
        .find(|r| r["process"] == "heroku-postgres")
        .unwrap();
    assert_eq!(postgres["kind"], "l2met");
    assert_eq!(postgres["fields"]["source"], "DATABASE");
    assert_eq!(
        postgres["fields"]["metrics"]["tables"]["value"],
        serde_json::json!(31.0)
    );
    let scheduler = rows.iter().find(|r| {
        r["process"].as_str().unwrap().starts_with("scheduler.") && r["fields"]["to"] == "complete"
    });
    assert!(scheduler.is_some());
}

#[test]
fn lines_it_cannot_name_are_counted_by_shape() {
    let mut input = String::new();
    for n in 0..7 {
        input.push_str(&format!(
            "Jun {n} 12:00:0{n} myhost kernel: eth{n} link up\n"
        ));
    }
    input.push_str("2024-01-01T00:00:00+00:00 heroku[web.1]: Something new from Heroku 12\n");
    input.push_str("2024-01-01T00:00:01+00:00 heroku[web.2]: Something new from Heroku 345\n");
    input.push_str("\x1b[31mcoloured garbage\x1b[0m\r\n");
    let path = tmp("unknown.log", input.as_bytes());
    let out = text(&analyze(&[path.to_str().unwrap()], None));
    assert!(out.contains("10 log entries"), "{out}");
    assert!(out.contains("unknown 10"), "{out}");
    assert!(out.contains("10 line(s) in 3 shape(s)"), "{out}");
    assert!(
        out.contains("         7  Jun # # myhost kernel: eth# link up"),
        "{out}"
    );
    assert!(
        out.contains("         2  [web.#] Something new from Heroku #"),
        "{out}"
    );
    assert!(out.contains("e.g. coloured garbage"), "{out}");
    assert!(out.contains("8 line(s) that are not log lines"), "{out}");

    let json = text(&analyze(&["--json", path.to_str().unwrap()], None));
    let rows: Vec<serde_json::Value> = json
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(rows.len(), 10, "one record per line");
    assert!(rows.iter().all(|r| r["kind"] == "unknown"));
    assert_eq!(
        rows[0]["fields"]["shape"],
        "Jun # # myhost kernel: eth# link up"
    );
    assert_eq!(rows[9]["message"], "coloured garbage");
}

#[test]
fn two_threads_give_the_one_thread_answer() {
    // About 3 MB (several chunk halves), with incidents every 60 s so that boots, crashes and
    // releases fall on both sides of every split.
    let mut corpus = Corpus::new(CorpusConfig {
        period_seconds: 60,
        requests_per_second: 40,
        ..CorpusConfig::default()
    });
    let mut text_log = String::new();
    while text_log.len() < 3_000_000 {
        corpus::write_lines(&corpus.next_second(), &mut text_log);
    }
    let path = tmp("threads.log", text_log.as_bytes());
    let path = path.to_str().unwrap();
    let one = text(&analyze(&[path], Some("1")));
    let two = text(&analyze(&[path], Some("2")));
    assert!(
        one.contains("boots") && one.contains("crashed (was up)"),
        "{one}"
    );
    assert_eq!(one, two);
    let one = text(&analyze(&["--json", path], Some("1")));
    let two = text(&analyze(&["--json", path], Some("2")));
    assert_eq!(one.lines().count(), text_log.lines().count());
    assert!(one == two, "JSON differs between one and two threads");
}
