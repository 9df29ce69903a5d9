//! The build script of every crate whose tests need a service (Postgres, Redis, the browser,
//! the schema fuzzer):
//! sets `dynopilot_has_<service>` when the service's variable is set, so tests needing it are
//! counted as ignored (with how to enable them) instead of passing without running; with
//! `DYNOPILOT_REQUIRE_SERVICES=1` a missing one fails the build. Which services a crate's tests
//! use is chosen by the crate's name below.

const REDIS: (&str, &[&str]) = ("dynopilot_has_redis", &["DYNOPILOT_TEST_REDIS_URL"]);
const POSTGRES: (&str, &[&str]) = (
    "dynopilot_has_postgres",
    &["DYNOPILOT_TEST_DATABASE_URL", "DYNOPILOT_TEST_POSTGRES_URL"],
);
const BROWSER: (&str, &[&str]) = ("dynopilot_has_browser", &["DYNOPILOT_TEST_BROWSER"]);
/// The schema fuzzer of the daemon's API (path of its `schemathesis` executable).
const SCHEMATHESIS: (&str, &[&str]) = (
    "dynopilot_has_schemathesis",
    &["DYNOPILOT_TEST_SCHEMATHESIS"],
);

fn main() {
    let services: &[(&str, &[&str])] = match std::env::var("CARGO_PKG_NAME").as_deref() {
        Ok("dynopilot-store") => &[POSTGRES],
        Ok("dynopilot-queues") => &[REDIS, POSTGRES],
        Ok("dynopilot-server") => &[REDIS, POSTGRES, BROWSER, SCHEMATHESIS],
        other => panic!("build/test_services.rs: no services listed for crate {other:?}"),
    };
    let require = std::env::var("DYNOPILOT_REQUIRE_SERVICES").as_deref() == Ok("1");
    println!("cargo::rerun-if-env-changed=DYNOPILOT_REQUIRE_SERVICES");
    for &(cfg, vars) in services {
        println!("cargo::rustc-check-cfg=cfg({cfg})");
        for var in vars {
            println!("cargo::rerun-if-env-changed={var}");
        }
        if vars
            .iter()
            .any(|v| std::env::var(v).is_ok_and(|s| !s.is_empty()))
        {
            println!("cargo::rustc-cfg={cfg}");
        } else if require {
            panic!(
                "DYNOPILOT_REQUIRE_SERVICES=1 but {} is not set",
                vars.join(" / ")
            );
        }
    }
}
