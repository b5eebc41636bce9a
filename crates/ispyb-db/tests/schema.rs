//! The schema check against the real schemas of both flavours, and schema creation.

use ispyb_db::Flavour;
use ispyb_db::testing::TestDb;

#[tokio::test]
async fn both_real_schemas_pass_and_report_their_flavour() {
    for (flavour, version) in [(Flavour::Ispyb, "1.0.1"), (Flavour::Dls, "5.0.0")] {
        let t = TestDb::real(flavour).await;
        let report = ispyb_db::schema::check(&t.db).await.unwrap();
        assert_eq!(report.flavour, flavour);
        assert_eq!(report.schema_version.as_deref(), Some(version));
        assert!(report.is_ok(), "{flavour}: {:?}", report.gaps);
        t.drop().await;
    }
}

#[tokio::test]
async fn a_dropped_column_or_table_is_named() {
    let t = TestDb::real(Flavour::Ispyb).await;
    sqlx::query("ALTER TABLE BLSession DROP COLUMN visit_number").execute(t.db.pool()).await.unwrap();
    sqlx::query("UPDATE BLSession SET beamLineOperator = NULL").execute(t.db.pool()).await.unwrap();
    sqlx::query("ALTER TABLE BLSession MODIFY beamLineOperator INT(11)").execute(t.db.pool()).await.unwrap();
    sqlx::query("SET FOREIGN_KEY_CHECKS = 0").execute(t.db.pool()).await.unwrap();
    sqlx::query("DROP TABLE SW_onceToken").execute(t.db.pool()).await.unwrap();
    let report = ispyb_db::schema::check(&t.db).await.unwrap();
    let lines: Vec<String> = report.gaps.iter().map(ToString::to_string).collect();
    assert!(
        lines.contains(&"BLSession.visit_number: column is missing (expected int(10) unsigned)".to_string()),
        "{lines:?}"
    );
    assert!(
        lines.contains(&"BLSession.beamLineOperator: type is int(11), expected varchar(255)".to_string()),
        "{lines:?}"
    );
    assert!(lines.contains(&"SW_onceToken: table is missing".to_string()), "{lines:?}");
    assert_eq!(lines.len(), 3, "{lines:?}");
    t.drop().await;
}

#[tokio::test]
async fn created_schema_matches_the_real_one() {
    let t = TestDb::empty().await;
    ispyb_db::schema::create(&t.db).await.unwrap();
    let report = ispyb_db::schema::check(&t.db).await.unwrap();
    assert_eq!(report.flavour, Flavour::Ispyb);
    assert!(report.is_ok(), "{:?}", report.gaps);
    // Keys and indexes come along: compare with the real dump's.
    let real = TestDb::real(Flavour::Ispyb).await;
    let indexes = "SELECT CONCAT(TABLE_NAME, '.', INDEX_NAME, ':', GROUP_CONCAT(COLUMN_NAME ORDER BY SEQ_IN_INDEX), ':', NON_UNIQUE)
        FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME IN ('Proposal', 'BLSession', 'DataCollection')
        GROUP BY TABLE_NAME, INDEX_NAME, NON_UNIQUE ORDER BY 1";
    let created: Vec<String> = sqlx::query_scalar(indexes).fetch_all(t.db.pool()).await.unwrap();
    let expected: Vec<String> = sqlx::query_scalar(indexes).fetch_all(real.db.pool()).await.unwrap();
    assert_eq!(created, expected);
    let fks = "SELECT COUNT(*) FROM information_schema.REFERENTIAL_CONSTRAINTS WHERE CONSTRAINT_SCHEMA = DATABASE() AND TABLE_NAME = 'BLSession'";
    let n: i64 = sqlx::query_scalar(fks).fetch_one(t.db.pool()).await.unwrap();
    assert!(n >= 1, "BLSession keeps its foreign keys");
    // The real dump has the same row type for a sample of rows (zero dates decode as null).
    let row: ispyb_db::models::BlSession =
        sqlx::query_as("SELECT * FROM BLSession WHERE sessionId = 1").fetch_one(real.db.pool()).await.unwrap();
    assert_eq!(row.visit_number, Some(1));
    assert_eq!(row.beam_line_name.as_deref(), Some("bl"));
    t.drop().await;
    real.drop().await;
}

#[tokio::test]
async fn every_model_decodes_the_real_test_data_of_both_flavours() {
    for flavour in [Flavour::Ispyb, Flavour::Dls] {
        let t = TestDb::real(flavour).await;
        macro_rules! decode_all {
        ($($model:ident),*) => {$(
            let meta = <ispyb_db::models::$model as ispyb_db::meta::Table>::meta();
                let rows: Vec<ispyb_db::models::$model> = sqlx::query_as(sqlx::AssertSqlSafe(format!("SELECT {} FROM `{}` t", meta.select("t", flavour), meta.name)))
                .fetch_all(t.db.pool()).await.unwrap_or_else(|e| panic!("{flavour} {}: {e}", stringify!($model)));
            let _ = serde_json::to_value(&rows).unwrap();
        )*};
    }
        decode_all!(
            Proposal,
            BlSession,
            Person,
            DataCollection,
            DataCollectionGroup,
            BlSample,
            Container,
            Dewar,
            Shipping,
            Protein,
            Crystal,
            LabContact,
            Laboratory,
            AutoProcProgram,
            AutoProcIntegration,
            AutoProcScalingStatistics,
            Movie,
            MotionCorrection,
            Ctf,
            EnergyScan,
            RobotAction,
            XfeFluorescenceSpectrum,
            BlSubSample,
            AdminVar,
            SwOnceToken,
            UserGroup,
            Permission
        );
        t.drop().await;
    }
}
