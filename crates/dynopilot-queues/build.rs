//! Sets `dynopilot_has_redis` / `dynopilot_has_postgres` when the test services are named, so
//! tests needing them are counted as ignored (with how to enable them) instead of passing
//! without running; with `DYNOPILOT_REQUIRE_SERVICES=1` a missing one fails the build.

fn main() {
    println!("cargo::rustc-check-cfg=cfg(dynopilot_has_redis)");
    println!("cargo::rustc-check-cfg=cfg(dynopilot_has_postgres)");
    let require = std::env::var("DYNOPILOT_REQUIRE_SERVICES").as_deref() == Ok("1");
    println!("cargo::rerun-if-env-changed=DYNOPILOT_REQUIRE_SERVICES");
    let services = [
        ("dynopilot_has_redis", &["DYNOPILOT_TEST_REDIS_URL"][..]),
        (
            "dynopilot_has_postgres",
            &["DYNOPILOT_TEST_DATABASE_URL", "DYNOPILOT_TEST_POSTGRES_URL"][..],
        ),
    ];
    for (cfg, vars) in services {
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
