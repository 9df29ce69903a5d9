//! Sets `dynopilot_has_postgres` when a test database is named, so the Postgres conformance
//! tests are counted as ignored (with how to enable them) instead of passing without running;
//! with `DYNOPILOT_REQUIRE_SERVICES=1` a missing one fails the build.

fn main() {
    println!("cargo::rustc-check-cfg=cfg(dynopilot_has_postgres)");
    println!("cargo::rerun-if-env-changed=DYNOPILOT_REQUIRE_SERVICES");
    let vars = ["DYNOPILOT_TEST_DATABASE_URL", "DYNOPILOT_TEST_POSTGRES_URL"];
    for var in vars {
        println!("cargo::rerun-if-env-changed={var}");
    }
    if vars
        .iter()
        .any(|v| std::env::var(v).is_ok_and(|s| !s.is_empty()))
    {
        println!("cargo::rustc-cfg=dynopilot_has_postgres");
    } else if std::env::var("DYNOPILOT_REQUIRE_SERVICES").as_deref() == Ok("1") {
        panic!(
            "DYNOPILOT_REQUIRE_SERVICES=1 but {} is not set",
            vars.join(" / ")
        );
    }
}
