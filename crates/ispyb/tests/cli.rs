//! The `ispyb` command as an operator meets it: every failure is one clear line on stderr and a
//! non-zero exit, never a panic; the schema check passes on both real schemas.

use std::process::{Command, Output};

use ispyb_db::Flavour;
use ispyb_db::testing::TestDb;

fn ispyb(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_ispyb"));
    cmd.args(args);
    // A clean environment: only what the test sets (plus PATH).
    cmd.env_clear().env("PATH", std::env::var("PATH").unwrap_or_default());
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("run ispyb")
}

/// The last stderr line, asserting it is the only error line and nothing panicked.
#[track_caller]
fn one_error_line(out: &Output) -> String {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "expected a failure; stderr: {stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    let errors: Vec<&str> = stderr.lines().filter(|l| l.starts_with("error:")).collect();
    assert_eq!(errors.len(), 1, "exactly one error line: {stderr}");
    errors[0].to_string()
}

fn db_url(t: &TestDb) -> String {
    let server = ispyb_db::testing::server_url();
    let (base, query) = server.split_once('?').map_or((server.as_str(), String::new()), |(b, q)| (b, format!("?{q}")));
    format!("{}/{}{query}", base.trim_end_matches('/'), t.name)
}

#[test]
fn every_command_has_help() {
    for args in [
        &["--help"][..],
        &["serve", "--help"],
        &["demo", "--help"],
        &["db", "--help"],
        &["db", "init", "--help"],
        &["db", "seed", "--help"],
        &["db", "check", "--help"],
        &["openapi", "--help"],
    ] {
        let out = ispyb(args, &[]);
        assert!(out.status.success(), "{args:?}");
        assert!(String::from_utf8_lossy(&out.stdout).contains("Usage"), "{args:?}");
    }
}

#[test]
fn openapi_prints_the_document() {
    let out = ispyb(&["openapi"], &[]);
    assert!(out.status.success());
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"));
    assert!(doc["paths"]["/ispyb/api/v1/proposals"].is_object());
}

#[test]
fn bad_settings_name_themselves() {
    let cases: [(&[(&str, &str)], &str); 5] = [
        (&[("TOKEN_EXP_TIME", "soon")], "TOKEN_EXP_TIME"),
        (&[("JWT_CODING_ALGORITHM", "none")], "JWT_CODING_ALGORITHM"),
        (&[("API_ROOT", "nope")], "API_ROOT"),
        (&[("DATABASE_URL", "mysql://u@127.0.0.1:1/x")], "SECRET_KEY"),
        (&[("SECRET_KEY", "0123456789abcdef-long")], "AUTH_CONFIG"),
    ];
    for (env, name) in cases {
        let line = one_error_line(&ispyb(&["serve"], env));
        assert!(line.contains(name), "{env:?}: {line}");
    }
    let line =
        one_error_line(&ispyb(&["serve"], &[("SECRET_KEY", "a-secret-that-must-not-print"), ("TOKEN_EXP_TIME", "x")]));
    assert!(!line.contains("a-secret-that-must-not-print"));
    let line = one_error_line(&ispyb(&["db", "check"], &[]));
    assert!(line.contains("DATABASE_URL"), "{line}");
    let line = one_error_line(&ispyb(&["--config", "/nonexistent.yml", "openapi"], &[]));
    assert!(line.contains("/nonexistent.yml"), "{line}");
}

#[test]
fn an_unreachable_database_is_one_line() {
    let env = [("DATABASE_URL", "mysql://ispyb:hunter2@127.0.0.1:1/ispyb")];
    let line = one_error_line(&ispyb(&["db", "check"], &env));
    assert!(line.contains("cannot connect to the database"), "{line}");
    assert!(!line.contains("hunter2"), "the password never prints: {line}");
}

#[test]
fn the_dummy_plugin_needs_explicit_permission() {
    let dir = std::env::temp_dir().join(format!("ispyb-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let auth = dir.join("auth.yml");
    std::fs::write(&auth, "AUTH:\n  - dummy:\n      ENABLED: true\n").unwrap();
    let env = [
        ("DATABASE_URL", "mysql://u@127.0.0.1:1/x"),
        ("SECRET_KEY", "0123456789abcdef-long"),
        ("AUTH_CONFIG", auth.to_str().unwrap()),
    ];
    let line = one_error_line(&ispyb(&["serve"], &env));
    assert!(line.contains("ISPYB_ALLOW_DUMMY_AUTH"), "{line}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn db_check_passes_on_both_real_schemas_and_names_a_gap() {
    for flavour in [Flavour::Ispyb, Flavour::Dls] {
        let t = TestDb::real(flavour).await;
        let out = ispyb(&["db", "check"], &[("DATABASE_URL", &db_url(&t))]);
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "{flavour}: {stdout}{}", String::from_utf8_lossy(&out.stderr));
        assert!(stdout.contains(&format!("flavour {flavour}")), "{stdout}");
        assert!(stdout.contains("schema check passed"), "{stdout}");
        t.drop().await;
    }
    let t = TestDb::real(Flavour::Ispyb).await;
    sqlx::query("ALTER TABLE BLSession DROP COLUMN visit_number").execute(t.db.pool()).await.unwrap();
    let url = db_url(&t);
    let line = one_error_line(&ispyb(&["db", "check"], &[("DATABASE_URL", &url)]));
    assert!(line.contains("BLSession.visit_number"), "{line}");
    // serve refuses to start on it, naming the gap.
    let auth = std::env::temp_dir().join(format!("ispyb-cli-auth-{}.yml", std::process::id()));
    std::fs::write(&auth, "AUTH:\n  - dummy:\n      ENABLED: true\n").unwrap();
    let env = [
        ("DATABASE_URL", url.as_str()),
        ("SECRET_KEY", "0123456789abcdef-long"),
        ("AUTH_CONFIG", auth.to_str().unwrap()),
        ("ISPYB_ALLOW_DUMMY_AUTH", "true"),
    ];
    let line = one_error_line(&ispyb(&["serve", "--bind", "127.0.0.1:0"], &env));
    assert!(line.contains("schema check failed") && line.contains("BLSession.visit_number"), "{line}");
    std::fs::remove_file(&auth).unwrap();
    t.drop().await;
}

#[tokio::test]
async fn db_check_advises_the_indexes_lists_need_and_adds_none() {
    let t = TestDb::real(Flavour::Ispyb).await;
    let url = db_url(&t);
    let advice = |out: &Output| -> Vec<String> {
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).lines().filter(|l| l.starts_with("advice: ")).map(str::to_string).collect()
    };
    let out = ispyb(&["db", "check"], &[("DATABASE_URL", &url)]);
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(stdout.contains("prepared statements: up to 512 per connection x 10 connections per instance"), "{stdout}");
    let before = advice(&out);
    // The real schema has the start-date index and lacks the three others.
    assert_eq!(before.len(), 3, "{before:#?}");
    for index in
        ["Screening(dataCollectionId)", "BLSession(beamLineName, startDate)", "BLSession(proposalId, beamLineName)"]
    {
        assert!(before.iter().any(|l| l.starts_with(&format!("advice: {index}: no index; "))), "{index}: {before:#?}");
    }
    // Advice only: the check did not create them.
    let indexes: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'Screening'
           AND COLUMN_NAME = 'dataCollectionId'",
    )
    .fetch_one(t.db.pool())
    .await
    .unwrap();
    assert_eq!(indexes, 0);
    // An index whose leading columns are the advised ones silences its line; dropping the
    // start-date index, which the server relies on, brings its line.
    sqlx::query("CREATE INDEX Screening_dc_time ON Screening (dataCollectionId, bltimeStamp)")
        .execute(t.db.pool())
        .await
        .unwrap();
    sqlx::query("DROP INDEX Session_FKIndexStartDate ON BLSession").execute(t.db.pool()).await.unwrap();
    let after = advice(&ispyb(&["db", "check"], &[("DATABASE_URL", &url)]));
    assert!(!after.iter().any(|l| l.contains("Screening(")), "{after:#?}");
    assert!(after.iter().any(|l| l.starts_with("advice: BLSession(startDate): no index; ")), "{after:#?}");
    assert_eq!(after.len(), 3, "{after:#?}");
    // A pool whose caches would exceed MariaDB's limit on their own is named.
    let pool = ispyb(&["db", "check"], &[("DATABASE_URL", &url), ("ISPYB_DATABASE_POOL", "40")]);
    let limit: u64 =
        sqlx::query_scalar("SELECT CAST(@@max_prepared_stmt_count AS UNSIGNED)").fetch_one(t.db.pool()).await.unwrap();
    let lines = advice(&pool);
    assert_eq!(
        lines.iter().any(|l| l.starts_with("advice: max_prepared_stmt_count: ")),
        limit < 2 * 512 * 40,
        "{lines:#?}"
    );
    let with_url = format!("{url}{}statement-cache-capacity=1", if url.contains('?') { '&' } else { '?' });
    let small = advice(&ispyb(&["db", "check"], &[("DATABASE_URL", &with_url), ("ISPYB_DATABASE_POOL", "40")]));
    assert!(!small.iter().any(|l| l.contains("max_prepared_stmt_count")), "{small:#?}");
    t.drop().await;
}

#[tokio::test]
async fn db_init_and_seed_fill_an_empty_database() {
    let t = TestDb::empty().await;
    let url = db_url(&t);
    let out = ispyb(&["db", "init"], &[("DATABASE_URL", &url)]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let line = one_error_line(&ispyb(&["db", "init"], &[("DATABASE_URL", &url)]));
    assert!(line.contains("only fills an empty database"), "{line}");
    let out = ispyb(&["db", "seed", "--scale", "1"], &[("DATABASE_URL", &url)]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let summary: serde_json::Value =
        serde_json::from_str(String::from_utf8_lossy(&out.stdout).split("seeded in").next().unwrap()).unwrap();
    assert_eq!(summary["data_collections"], 1000);
    let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM DataCollection").fetch_one(t.db.pool()).await.unwrap();
    assert_eq!(n, 1000);
    t.drop().await;
}
