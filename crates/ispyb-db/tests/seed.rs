//! The seeder on a real MariaDB: into the real `ispyb` schema with its test data (twice, so
//! it also adds to a seeded database) and into a schema created from the models, with every
//! foreign key checked afterwards. `ISPYB_TEST_DATABASE_URL` names the server (default
//! `mysql://root@127.0.0.1:3306`), `ISPYB_SCHEMA_DIR` the schemas (default
//! `../shared/ispyb-database` beside the workspace).
//!
//! `cargo test -p ispyb-db --release --test seed -- --ignored --nocapture` times a benchmark
//! run (scale `ISPYB_SEED_BENCH_SCALE`, default 1000: one million data collections) and drops
//! the database unless `ISPYB_SEED_KEEP` is set.

use std::path::PathBuf;
use std::sync::Mutex;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use ispyb_db::seed::{self, SeedOptions, SeedSummary};
use ispyb_db::{Db, Flavour};
use sqlx::AssertSqlSafe;

fn server_url() -> String {
    std::env::var("ISPYB_TEST_DATABASE_URL").unwrap_or_else(|_| "mysql://root@127.0.0.1:3306".into())
}

fn schema_dir() -> PathBuf {
    std::env::var_os("ISPYB_SCHEMA_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/ispyb-database"))
}

/// A database of its own for one test.
struct Scratch {
    server: sqlx::MySqlPool,
    db: Db,
    name: String,
}

impl Scratch {
    async fn new() -> Self {
        let url = server_url();
        let server = ispyb_db::connect_pool(&url, &Default::default()).await.expect("connect to the test server");
        let nanos = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_nanos();
        let name = format!("t_seed_{}_{nanos}", std::process::id());
        sqlx::query(AssertSqlSafe(format!("CREATE DATABASE `{name}` CHARACTER SET utf8mb4")))
            .execute(&server)
            .await
            .expect("create the test database");
        let (base, query) = url.split_once('?').map_or((url.as_str(), String::new()), |(b, q)| (b, format!("?{q}")));
        let db = ispyb_db::connect(&format!("{}/{name}{query}", base.trim_end_matches('/')), &Default::default())
            .await
            .expect("connect to the test database");
        Self { server, db, name }
    }

    async fn drop(self) {
        self.db.close().await;
        sqlx::query(AssertSqlSafe(format!("DROP DATABASE IF EXISTS `{}`", self.name)))
            .execute(&self.server)
            .await
            .expect("drop the test database");
        self.server.close().await;
    }
}

async fn scalar(db: &Db, sql: &str) -> i64 {
    sqlx::query_scalar::<_, i64>(AssertSqlSafe(sql.to_string()))
        .fetch_one(db.pool())
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
}

async fn count(db: &Db, table: &str) -> i64 {
    scalar(db, &format!("SELECT COUNT(*) FROM `{table}`")).await
}

/// Rows breaking each single-column foreign key of the database, by constraint.
async fn orphans(db: &Db) -> Vec<(String, i64)> {
    let keys: Vec<(String, String, String, String, String)> = sqlx::query_as(
        "SELECT CONSTRAINT_NAME, TABLE_NAME, COLUMN_NAME, REFERENCED_TABLE_NAME, REFERENCED_COLUMN_NAME
         FROM information_schema.KEY_COLUMN_USAGE
         WHERE TABLE_SCHEMA = DATABASE() AND REFERENCED_TABLE_NAME IS NOT NULL
         AND (TABLE_NAME, CONSTRAINT_NAME) IN (
             SELECT TABLE_NAME, CONSTRAINT_NAME FROM information_schema.KEY_COLUMN_USAGE
             WHERE TABLE_SCHEMA = DATABASE() AND REFERENCED_TABLE_NAME IS NOT NULL
             GROUP BY TABLE_NAME, CONSTRAINT_NAME HAVING COUNT(*) = 1)
         ORDER BY TABLE_NAME, CONSTRAINT_NAME",
    )
    .fetch_all(db.pool())
    .await
    .unwrap();
    assert!(!keys.is_empty(), "the schema has foreign keys");
    let mut out = Vec::new();
    for (name, table, column, ref_table, ref_column) in keys {
        let n = scalar(
            db,
            &format!(
                "SELECT COUNT(*) FROM `{table}` c WHERE c.`{column}` IS NOT NULL AND NOT EXISTS \
                 (SELECT 1 FROM `{ref_table}` p WHERE p.`{ref_column}` = c.`{column}`)"
            ),
        )
        .await;
        out.push((format!("{table}.{name}"), n));
    }
    out
}

async fn person(db: &Db, login: &str) -> u32 {
    ispyb_db::auth::find_person(db, login).await.unwrap().unwrap_or_else(|| panic!("no person {login}")).person_id
}

async fn seed_with_progress(db: &Db, scale: u32, seed_value: u64) -> (SeedSummary, Vec<String>) {
    let stages = Mutex::new(Vec::<String>::new());
    let progress = |stage: &str, done: u64, total: u64| {
        assert!(done <= total, "{stage}: {done} > {total}");
        let mut s = stages.lock().unwrap();
        if s.last().map(String::as_str) != Some(stage) {
            s.push(stage.to_string());
        }
    };
    let summary = seed::run(db, &SeedOptions { scale, seed: seed_value }, &progress).await.expect("seed");
    (summary, stages.into_inner().unwrap())
}

/// What any seeded database shows, whatever else it holds.
async fn check_facility(db: &Db) {
    // Demo persons and their permissions.
    let perms =
        |login: &'static str| async move { ispyb_db::auth::permissions(db, person(db, login).await).await.unwrap() };
    let admin = perms("admin").await;
    for p in ["all_proposals", "manage_options", "manage_persons", "view_activity", "all_sessions"] {
        assert!(admin.iter().any(|x| x == p), "admin lacks {p}: {admin:?}");
    }
    let staff = perms("staff").await;
    assert!(staff.iter().any(|x| x == "bl_admin") && !staff.iter().any(|x| x == "all_proposals"), "{staff:?}");
    assert!(perms("emstaff").await.iter().any(|x| x == "em_admin"));
    assert_eq!(perms("user1").await, vec!["own_proposals".to_string(), "own_sessions".to_string()]);
    for login in ["admin", "staff", "emstaff", "user1", "user2", "user3"] {
        assert_eq!(scalar(db, &format!("SELECT COUNT(*) FROM Person WHERE login = '{login}'")).await, 1, "{login}");
    }

    // Who is on what.
    let user1 = person(db, "user1").await;
    let user2 = person(db, "user2").await;
    let user3 = person(db, "user3").await;
    let on_proposals =
        |id: u32| format!("SELECT COUNT(DISTINCT proposalId) FROM ProposalHasPerson WHERE personId = {id}");
    let on_sessions = |id: u32| format!("SELECT COUNT(*) FROM Session_has_Person WHERE personId = {id}");
    assert!(scalar(db, &on_proposals(user1)).await >= 2);
    assert!(scalar(db, &on_sessions(user1)).await >= 3);
    assert_eq!(scalar(db, &on_proposals(user2)).await, 0);
    assert_eq!(scalar(db, &on_sessions(user2)).await, 1, "user2 is on one session, whatever the number of runs");
    assert_eq!(scalar(db, &on_proposals(user3)).await, 0);
    assert_eq!(scalar(db, &on_sessions(user3)).await, 0);
    // user1 sees a current session of theirs.
    let current = format!(
        "SELECT COUNT(*) FROM BLSession s JOIN Session_has_Person shp ON shp.sessionId = s.sessionId
         WHERE shp.personId = {user1} AND s.startDate <= NOW() AND s.endDate >= NOW()"
    );
    assert!(scalar(db, &current).await >= 1);
    assert!(scalar(db, "SELECT COUNT(*) FROM BLSession WHERE startDate > NOW()").await >= 1, "an upcoming session");

    // Parents exist, names are set.
    let missing_group = "SELECT COUNT(*) FROM DataCollection dc LEFT JOIN DataCollectionGroup g
        ON g.dataCollectionGroupId = dc.dataCollectionGroupId WHERE g.dataCollectionGroupId IS NULL";
    assert_eq!(scalar(db, missing_group).await, 0);
    let missing_proposal = "SELECT COUNT(*) FROM BLSession s LEFT JOIN Proposal p ON p.proposalId = s.proposalId
        WHERE p.proposalId IS NULL";
    assert_eq!(scalar(db, missing_proposal).await, 0);
    let unnamed = "SELECT COUNT(*) FROM Person p JOIN ProposalHasPerson php ON php.personId = p.personId
        WHERE p.login IS NULL OR p.givenName IS NULL OR p.familyName IS NULL";
    assert_eq!(scalar(db, unnamed).await, 0, "persons on proposals have names");
    let bad_beamline = "SELECT COUNT(*) FROM BLSession s JOIN Proposal p ON p.proposalId = s.proposalId
        WHERE (p.proposalCode = 'em' AND s.beamLineName NOT IN ('M01', 'M02'))
           OR (p.proposalCode = 'mx' AND s.beamLineName NOT IN ('BL01', 'BL02', 'BL03', 'BL04'))
           OR (p.proposalCode = 'ssx' AND s.beamLineName <> 'BL05')";
    assert_eq!(scalar(db, bad_beamline).await, 0);
    let duplicate_numbers = "SELECT COUNT(*) FROM (SELECT proposalNumber FROM Proposal
        GROUP BY proposalNumber HAVING COUNT(*) > 1) d";
    assert_eq!(scalar(db, duplicate_numbers).await, 0);

    // The options the server reads.
    let options = ispyb_db::options::load(db).await.unwrap();
    assert_eq!(options.beamlines_for(&["em_admin".into()]), vec!["M01", "M02"]);
    assert!(options.beamlines_for(&["bl_admin".into()]).contains(&"BL01".to_string()));
}

#[tokio::test]
async fn seeds_the_real_schema_twice() {
    let t = Scratch::new().await;
    let files = ispyb_db::dump::schema_files(&schema_dir(), Flavour::Ispyb, true, false);
    ispyb_db::dump::load_files(&t.db, &files).await.expect("load the real schema");
    let before = orphans(&t.db).await;
    let dcs_before = count(&t.db, "DataCollection").await;
    let proposals_before = count(&t.db, "Proposal").await;

    let (first, stages) = seed_with_progress(&t.db, 2, 7).await;
    assert_eq!(stages, ["setup", "proposals", "mx data collections", "em movies", "ssx data collections"]);
    assert!((1900..=2100).contains(&first.data_collections), "{first:?}");
    assert_eq!(count(&t.db, "DataCollection").await - dcs_before, first.data_collections as i64);
    assert_eq!(first.proposals, 4);
    assert_eq!(count(&t.db, "Proposal").await - proposals_before, 4);
    assert!((24..=56).contains(&first.sessions), "{first:?}");
    assert_eq!(first.movies, 200);
    assert_eq!(first.motion_corrections, 200);
    assert_eq!(first.ctfs, 200);
    assert!(first.ssx_data_collections > 0);
    assert_eq!(first.permissions, 8, "em_admin exists in the test data: {first:?}");
    assert_eq!(first.user_groups, 4);
    assert_eq!(first.persons, 10 + 6);
    let processed = first.auto_proc_integrations as f64 / first.data_collections as f64;
    assert!((0.15..0.45).contains(&processed), "{processed}");
    assert_eq!(first.auto_proc_scaling_statistics, 3 * first.auto_proc_scalings);
    check_facility(&t.db).await;
    assert_eq!(orphans(&t.db).await, before, "seeding breaks no foreign key");

    // Again, on the now seeded database: new ids, nothing duplicated.
    let (second, _) = seed_with_progress(&t.db, 2, 8).await;
    assert!((1900..=2100).contains(&second.data_collections), "{second:?}");
    assert_eq!(second.permissions, 0);
    assert_eq!(second.user_groups, 0);
    assert_eq!(second.persons, 10, "demo persons are reused");
    assert_eq!(
        count(&t.db, "DataCollection").await - dcs_before,
        (first.data_collections + second.data_collections) as i64
    );
    assert_eq!(scalar(&t.db, "SELECT COUNT(*) FROM AdminVar WHERE name = 'beamLineGroups'").await, 1);
    check_facility(&t.db).await;
    assert_eq!(orphans(&t.db).await, before);
    // The connection settings of the seeder did not leak into the pool.
    assert_eq!(scalar(&t.db, "SELECT @@SESSION.foreign_key_checks").await, 1);
    t.drop().await;
}

#[tokio::test]
async fn seeds_a_schema_created_from_the_models() {
    let t = Scratch::new().await;
    ispyb_db::schema::create(&t.db).await.expect("create the schema");
    let (summary, _) = seed_with_progress(&t.db, 1, 42).await;
    assert_eq!(summary.proposals, 3);
    assert_eq!(summary.data_collections, 1000);
    assert_eq!(count(&t.db, "DataCollection").await, 1000);
    assert_eq!(count(&t.db, "Movie").await, 100);
    assert_eq!(count(&t.db, "Person").await, 5 + 6);
    assert!(summary.auto_proc_programs > 0 && summary.screenings > 0 && summary.robot_actions > 0);
    check_facility(&t.db).await;
    let unnamed = "SELECT COUNT(*) FROM Person WHERE login IS NULL OR givenName IS NULL OR familyName IS NULL";
    assert_eq!(scalar(&t.db, unnamed).await, 0);
    let broken: Vec<_> = orphans(&t.db).await.into_iter().filter(|(_, n)| *n > 0).collect();
    assert!(broken.is_empty(), "{broken:?}");
    t.drop().await;
}

/// The benchmark database: scale 1000 is one million data collections.
#[tokio::test]
#[ignore = "benchmark: minutes of work; run in release with --ignored --nocapture"]
async fn benchmark_scale() {
    let scale: u32 = std::env::var("ISPYB_SEED_BENCH_SCALE").ok().and_then(|s| s.parse().ok()).unwrap_or(1000);
    let t = Scratch::new().await;
    ispyb_db::schema::create(&t.db).await.expect("create the schema");
    let started = Instant::now();
    let last = Mutex::new((String::new(), Instant::now()));
    let progress = |stage: &str, done: u64, total: u64| {
        let mut l = last.lock().unwrap();
        if l.0 != stage || l.1.elapsed().as_secs() >= 10 || done == total {
            eprintln!("[{:>6.1}s] {stage}: {done}/{total}", started.elapsed().as_secs_f64());
            *l = (stage.to_string(), Instant::now());
        }
    };
    let summary = seed::run(&t.db, &SeedOptions { scale, seed: 42 }, &progress).await.expect("seed");
    let elapsed = started.elapsed();
    eprintln!("scale {scale}: {:.1} s", elapsed.as_secs_f64());
    eprintln!("{}", serde_json::to_string_pretty(&summary).unwrap());
    assert_eq!(count(&t.db, "DataCollection").await, summary.data_collections as i64);
    assert_eq!(summary.data_collections, 1000 * u64::from(scale));
    if std::env::var_os("ISPYB_SEED_KEEP").is_some() {
        eprintln!("kept database {}", t.name);
    } else {
        t.drop().await;
    }
}
