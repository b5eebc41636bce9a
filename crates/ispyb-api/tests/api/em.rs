//! Cryo-EM on both schema flavours: a session fed through the ingestion routes (two grids of
//! two grid squares, a movie reprocessed twice, one without CTF, one without motion
//! correction, unparsable numbers on the ESRF-style schema, images under a temporary data
//! root), then every modern route (summary, movies with filters, `since` and CSV, one movie,
//! images, series, statistics and histograms checked against values computed here, the
//! classification), the legacy routes with Java's keys, and who may see and write what.

use std::collections::BTreeSet;

use axum::http::{Method, StatusCode, header};
use ispyb_db::Flavour;
use ispyb_db::testing::TestDb;
use serde_json::{Value, json};

use crate::events::{DataRoot, exec};
use crate::helpers::{Reply, TestApp, config};

/// The seeded session and what is in it.
struct Em {
    app: TestApp,
    root: DataRoot,
    flavour: Flavour,
    /// A member of the session's proposal.
    viewer: String,
    /// A person on nothing.
    stranger: String,
    /// The ingestion service (`em_ingest`).
    sync: String,
    session: u64,
    /// A session of another proposal.
    other_session: u64,
    proposal: &'static str,
    /// Grid squares A, B (grid 1), C, D (grid 2).
    dcs: [u64; 4],
    groups: [u64; 2],
    /// A1..A5, B1, B2, C1, D1.
    movies: Vec<u64>,
    /// The three motion corrections of A1, oldest first.
    a1_mcs: [u64; 3],
    /// Latest motion correction of A3 (no CTF).
    a3_mc: u64,
    classes: [u64; 3],
}

const A1: usize = 0;
const A2: usize = 1;
const A3: usize = 2;
const A4: usize = 3;
const A5: usize = 4;
const B1: usize = 5;

impl Em {
    fn movie(&self, i: usize) -> u64 {
        self.movies[i]
    }

    async fn get(&self, path: &str, token: &str) -> Reply {
        self.app.get(path, Some(token)).await
    }

    async fn post(&self, path: &str, body: Value) -> Reply {
        self.app.request(Method::POST, &format!("/ispyb/api/v1{path}"), Some(&self.sync), Some(body)).await
    }

    async fn posted(&self, path: &str, body: Value) -> u64 {
        let r = self.post(path, body).await;
        assert_eq!(r.status, StatusCode::CREATED, "{path}: {}", r.text);
        r.json["id"].as_u64().unwrap()
    }
}

async fn person(app: &TestApp, login: &str) {
    exec(app, &format!("INSERT INTO Person (login, familyName) VALUES ('{login}', '{login}')")).await;
}

/// Movies: (grid, square directory, number, minutes after 09:00).
const MOVIES: [(&str, &str, u32, i64); 9] = [
    ("grid1", "sq1", 1, 0),
    ("grid1", "sq1", 2, 10),
    ("grid1", "sq1", 3, 20),
    ("grid1", "sq1", 4, 30),
    ("grid1", "sq1", 5, 40),
    ("grid1", "sq2", 1, 65),
    ("grid1", "sq2", 2, 75),
    ("grid2", "sq1", 1, 120),
    ("grid2", "sq2", 1, 150),
];

fn time(minutes: i64) -> String {
    (chrono::NaiveDate::from_ymd_opt(2024, 5, 1).unwrap().and_hms_opt(9, 0, 0).unwrap()
        + chrono::Duration::minutes(minutes))
    .format("%Y-%m-%dT%H:%M:%S")
    .to_string()
}

/// A CTF result: resolution, defocus U, defocus V.
type Ctf = (f64, f64, f64);

/// Latest CTF (resolution, defocus U, defocus V) and total motion of each movie as ingested
/// (`None`: none).
const RESULTS: [(Option<f64>, Option<Ctf>); 9] = [
    (Some(10.0), Some((3.0, 10000.0, 11000.0))),
    (Some(20.0), Some((3.5, 15000.0, 15400.0))),
    (Some(8.0), None),
    (None, None),
    (Some(30.0), Some((5.5, 20000.0, 20800.0))),
    (Some(15.0), Some((2.8, 12000.0, 12100.0))),
    (Some(25.0), Some((6.0, 25000.0, 24000.0))),
    (Some(5.0), Some((3.9, 9000.0, 9500.0))),
    (Some(9.0), Some((4.0, 30000.0, 30100.0))),
];

async fn seed(flavour: Flavour) -> Em {
    let root = DataRoot::new("em");
    let db = match flavour {
        Flavour::Ispyb => TestDb::ispyb().await,
        Flavour::Dls => TestDb::real(Flavour::Dls).await,
    };
    let app = TestApp::with(db, config(&[("data_roots", root.path())])).await;
    person(&app, "emsync").await;
    person(&app, "nobody").await;
    app.grant("emsync", "em_ingest").await;
    let (viewer, session, other_session, proposal) = match flavour {
        Flavour::Ispyb => ("pasteur", 70565, 1, "MX1"),
        Flavour::Dls => ("boaty", 55167, 339525, "cm14451"),
    };
    let viewer = app.login(viewer).await;
    let stranger = app.login("nobody").await;
    let sync = app.login("emsync").await;
    let mut em = Em {
        app,
        root,
        flavour,
        viewer,
        stranger,
        sync,
        session,
        other_session,
        proposal,
        dcs: [0; 4],
        groups: [0; 2],
        movies: Vec::new(),
        a1_mcs: [0; 3],
        a3_mc: 0,
        classes: [0; 3],
    };
    let ext = if flavour == Flavour::Dls { "json" } else { "png" };
    let drift =
        em.root.file(&format!("proc/A1_drift.{ext}"), br#"{"data": [{"x": [0, 1.5, 2.0], "y": [0, -0.5, 1.0]}]}"#);
    if flavour == Flavour::Ispyb {
        std::fs::write(&drift, b"\x89PNG drift of A1").unwrap();
    }
    let thumb = em.root.file("raw/A1_thumb.jpg", b"JPEG movie thumbnail A1");
    let micrograph = em.root.file("proc/A1_v3.jpg", b"JPEG micrograph A1");
    let spectrum = em.root.file("proc/A1_ctf.jpg", b"JPEG power spectrum A1");
    for (i, (grid, square, number, minutes)) in MOVIES.iter().enumerate() {
        let name = format!("{}{}", ["A", "A", "A", "A", "A", "B", "B", "C", "D"][i], number);
        let mut body = json!({
            "sessionId": session,
            "sampleAcronym": grid,
            "proteinAcronym": "apoF",
            "movieDirectory": format!("/raw/{grid}/{square}/"),
            "movieFullPath": format!("/raw/{grid}/{square}/{name}.tif"),
            "movieNumber": number,
            "startTime": time(*minutes),
            "voltage": 300,
            "magnification": 105000,
            "scannedPixelSize": "0.83",
            "imagesCount": 40,
            "positionX": 1.5,
            "positionY": "-2.25",
        });
        if i == A1 {
            body["micrographSnapshotFullPath"] = json!(thumb);
            body["dosePerImage"] = json!(1.1);
        }
        let r = em.post("/webservices/em/movies", body).await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
        em.movies.push(r.json["movieId"].as_u64().unwrap());
        let (dc, group) =
            (r.json["dataCollectionId"].as_u64().unwrap(), r.json["dataCollectionGroupId"].as_u64().unwrap());
        let square_index = ["A", "A", "A", "A", "A", "B", "B", "C", "D"][i].as_bytes()[0] - b'A';
        em.dcs[square_index as usize] = dc;
        em.groups[usize::from(square_index >= 2)] = group;
        assert_eq!(r.json["sessionId"], session);
    }
    // Motion corrections and CTF estimations; A1 reprocessed twice.
    for v in 0..3 {
        let mc = em
            .posted(
                "/webservices/em/motion-corrections",
                json!({
                    "movieId": em.movie(A1), "firstFrame": 1, "lastFrame": 40, "dosePerFrame": 1.1,
                    "totalMotion": 12 - v, "averageMotionPerFrame": f64::from(12 - v) / 40.0,
                    "micrographFullPath": format!("/proc/A1_v{}.mrc", v + 1),
                    "micrographSnapshotFullPath": if v == 2 { micrograph.clone() } else { "/nowhere.jpg".into() },
                    "driftPlotFullPath": if v == 2 { drift.clone() } else { "/nowhere.png".into() },
                }),
            )
            .await;
        em.a1_mcs[v as usize] = mc;
    }
    em.posted(
        "/webservices/em/ctfs",
        json!({"motionCorrectionId": em.a1_mcs[0], "resolutionLimit": 4.2, "defocusU": 9000, "defocusV": 9100}),
    )
    .await;
    em.posted(
        "/webservices/em/ctfs",
        json!({"motionCorrectionId": em.a1_mcs[2], "resolutionLimit": "3.0", "defocusU": 10000, "defocusV": 11000, "angle": 30,
               "crossCorrelationCoefficient": 0.2, "estimatedBfactor": 80, "spectraImageThumbnailFullPath": spectrum}),
    )
    .await;
    for (i, (motion, ctf)) in RESULTS.iter().enumerate().skip(1) {
        let Some(motion) = motion else { continue };
        let path = format!("/proc/m{i}.mrc");
        let mut body = json!({"movieId": em.movie(i), "totalMotion": motion, "averageMotionPerFrame": motion / 40.0, "micrographFullPath": path});
        if i == A5 {
            body["micrographSnapshotFullPath"] = json!(format!("{}/proc/missing.jpg", em.root.path()));
        }
        if i == B1 {
            body["driftPlotFullPath"] = json!(format!("{}/../../../etc/passwd", em.root.path()));
            body["micrographSnapshotFullPath"] = json!("/etc/passwd");
        }
        let mc = em.posted("/webservices/em/motion-corrections", body).await;
        if i == A3 {
            em.a3_mc = mc;
        }
        if let Some((res, u, v)) = ctf {
            // By movie path: the latest motion correction of the movie.
            let path = format!(
                "/raw/{}/{}/{}{}.tif",
                MOVIES[i].0,
                MOVIES[i].1,
                ["A", "A", "A", "A", "A", "B", "B", "C", "D"][i],
                MOVIES[i].2
            );
            em.posted(
                "/webservices/em/ctfs",
                json!({"movieFullPath": path, "resolutionLimit": res, "defocusU": u, "defocusV": v}),
            )
            .await;
        }
    }
    if flavour == Flavour::Ispyb {
        // Numbers the ESRF-style schema keeps as text, unparsable.
        let db = em.app.test_db.db.pool();
        sqlx::query("UPDATE CTF c JOIN MotionCorrection mc ON mc.motionCorrectionId = c.motionCorrectionId SET c.resolutionLimit = 'n/a', c.defocusU = 'abc' WHERE mc.movieId = ?")
            .bind(em.movie(A2))
            .execute(db)
            .await
            .unwrap();
        sqlx::query("UPDATE MotionCorrection SET totalMotion = '', averageMotionPerFrame = 'NaN' WHERE movieId = ?")
            .bind(em.movie(A2))
            .execute(db)
            .await
            .unwrap();
    } else {
        let db = em.app.test_db.db.pool();
        for (mc, median) in [(em.a1_mcs[2], 1.25), (em.a1_mcs[0], 9.0)] {
            sqlx::query("INSERT INTO RelativeIceThickness (motionCorrectionId, minimum, q1, median, q3, maximum) VALUES (?, 0.5, 1.0, ?, 1.5, 2.0)")
                .bind(mc)
                .bind(median)
                .execute(db)
                .await
                .unwrap();
        }
    }
    // A 2D classification of A1's latest motion correction, with an initial model.
    let class_image = em.root.file("proc/class1.png", b"PNG class 1");
    let db = em.app.test_db.db.pool();
    let pp = sqlx::query("INSERT INTO ParticlePicker (firstMotionCorrectionId, particlePickingTemplate, particleDiameter, numberOfParticles) VALUES (?, 'cryolo', 16, 1000)")
        .bind(em.a1_mcs[2])
        .execute(db)
        .await
        .unwrap()
        .last_insert_id();
    let group = sqlx::query("INSERT INTO ParticleClassificationGroup (particlePickerId, type, batchNumber, numberOfParticlesPerBatch, numberOfClassesPerBatch, symmetry) VALUES (?, '2D', 1, 1000, 3, 'C1')")
        .bind(pp)
        .execute(db)
        .await
        .unwrap()
        .last_insert_id();
    for (k, (particles, res)) in [(300u32, 6.0f64), (500, 8.0), (200, 12.0)].iter().enumerate() {
        let image = if k == 0 { class_image.clone() } else { "/nowhere/class.png".into() };
        em.classes[k] = sqlx::query("INSERT INTO ParticleClassification (particleClassificationGroupId, classNumber, classImageFullPath, particlesPerClass, classDistribution, estimatedResolution) VALUES (?, ?, ?, ?, 0.3, ?)")
            .bind(group)
            .bind(k as u32 + 1)
            .bind(image)
            .bind(particles)
            .bind(res)
            .execute(db)
            .await
            .unwrap()
            .last_insert_id();
    }
    let model = sqlx::query("INSERT INTO CryoemInitialModel (resolution, numberOfParticles) VALUES (15, 500)")
        .execute(db)
        .await
        .unwrap()
        .last_insert_id();
    sqlx::query("INSERT INTO ParticleClassification_has_CryoemInitialModel (particleClassificationId, cryoemInitialModelId) VALUES (?, ?)")
        .bind(em.classes[0])
        .bind(model)
        .execute(db)
        .await
        .unwrap();
    em
}

fn ids(v: &Value, key: &str) -> Vec<u64> {
    v.as_array().unwrap().iter().map(|r| r.pointer(key).and_then(Value::as_u64).unwrap()).collect()
}

fn approx(v: &Value, want: f64) -> bool {
    v.as_f64().is_some_and(|f| (f - want).abs() < 1e-6)
}

/// Percentile by linear interpolation between closest ranks, written independently of the
/// server's.
fn pct(values: &[f64], p: f64) -> f64 {
    let mut v = values.to_vec();
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let h = (v.len() - 1) as f64 * p / 100.0;
    let (lo, hi) = (h.floor() as usize, h.ceil() as usize);
    v[lo] + (h - lo as f64) * (v[hi] - v[lo])
}

/// The latest resolution of each movie as the flavour serves it (A2's is unparsable text on
/// the ESRF-style schema).
fn resolutions(flavour: Flavour) -> Vec<f64> {
    RESULTS
        .iter()
        .enumerate()
        .filter(|(i, _)| !(flavour == Flavour::Ispyb && *i == A2))
        .filter_map(|(_, (_, c))| c.map(|c| c.0))
        .collect()
}

fn motions(flavour: Flavour) -> Vec<f64> {
    RESULTS
        .iter()
        .enumerate()
        .filter(|(i, _)| !(flavour == Flavour::Ispyb && *i == A2))
        .filter_map(|(_, (m, _))| *m)
        .collect()
}

async fn check_modern(em: &Em) {
    let v = &em.viewer;
    let ispyb = em.flavour == Flavour::Ispyb;

    // Summary: two grids of two squares, counts and progress.
    let r = em.get(&format!("/em/sessions/{}/summary", em.session), v).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let s = &r.json;
    assert_eq!(s["proposal"], em.proposal);
    assert_eq!(s["movies"], 9);
    assert_eq!(s["moviesMotionCorrected"], 8);
    assert_eq!(s["moviesCtfEstimated"], 7);
    assert_eq!(s["lastMovieTime"], time(150));
    let grids = s["grids"].as_array().unwrap();
    assert_eq!(grids.len(), 2, "{s}");
    assert_eq!(ids(&s["grids"], "/dataCollectionGroupId"), em.groups.to_vec());
    assert_eq!(grids[0]["sampleName"], "grid1");
    assert_eq!(grids[0]["movies"], 7);
    let sq = &grids[0]["gridSquares"][0];
    assert_eq!(sq["dataCollectionId"], em.dcs[0]);
    assert_eq!(sq["imageDirectory"], "/raw/grid1/sq1/");
    assert_eq!(
        (sq["movies"].as_u64(), sq["motionCorrections"].as_u64(), sq["ctfs"].as_u64()),
        (Some(5), Some(6), Some(4))
    );
    assert_eq!(sq["moviesMotionCorrected"], 4);
    assert_eq!(sq["moviesCtfEstimated"], 3, "A1 (latest), A2, A5; not A3");
    assert!(approx(&sq["motionCorrectionProgress"], 0.8));
    assert!(approx(&sq["ctfProgress"], 0.6));
    assert!(approx(&sq["voltage"], 300.0));
    assert!(approx(&sq["magnification"], 105000.0));
    assert!(approx(&sq["pixelSize"], 0.83), "{}", sq["pixelSize"]);
    assert_eq!(sq["numberOfImages"], 40);
    assert_eq!(sq["lastMovieTime"], time(40));

    // Counts of several data collections, each counted.
    let r = em.get(&format!("/em/datacollections/stats?dataCollectionIds={},{}", em.dcs[1], em.dcs[0]), v).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(ids(&r.json, "/dataCollectionId"), [em.dcs[1], em.dcs[0]]);
    assert_eq!(r.json[1]["motionCorrections"], 6);
    assert_eq!(
        em.get("/em/datacollections/stats?dataCollectionIds=1,x", v).await.status,
        StatusCode::UNPROCESSABLE_ENTITY
    );

    // Movies of grid square A with their latest results.
    let dc_a = em.dcs[0];
    let r = em.get(&format!("/em/movies?dataCollectionId={dc_a}"), v).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.json["total"], 5);
    let rows = &r.json["results"];
    assert_eq!(ids(rows, "/Movie/movieId"), em.movies[..5].to_vec());
    let a1 = &rows[0];
    assert_eq!(a1["MotionCorrection"]["motionCorrectionId"], em.a1_mcs[2], "the latest of three");
    assert!(approx(&a1["MotionCorrection"]["totalMotion"], 10.0));
    assert_eq!(a1["MotionCorrection"]["lastFrame"], 40);
    assert!(approx(&a1["CTF"]["resolution"], 3.0), "{}", a1["CTF"]);
    assert!(approx(&a1["CTF"]["estimatedDefocus"], 10500.0));
    assert!(approx(&a1["CTF"]["astigmatism"], 1000.0));
    assert!(approx(&a1["CTF"]["astigmatismAngle"], 30.0));
    assert!(approx(&a1["CTF"]["crossCorrelationCoefficient"], 0.2));
    assert!(approx(&a1["Movie"]["positionX"], 1.5));
    assert!(approx(&a1["Movie"]["positionY"], -2.25), "numeric strings are numbers");
    assert_eq!(a1["Movie"]["createdTimeStamp"], time(0));
    assert_eq!(a1["numberOfParticles"], 1000);
    if ispyb {
        assert!(approx(&a1["Movie"]["dosePerImage"], 1.1));
        assert!(approx(&a1["CTF"]["defocusU"], 10000.0));
        assert!(approx(&a1["CTF"]["estimatedBfactor"], 80.0));
        assert!(a1["RelativeIceThickness"].is_null());
        // Unparsable text is null.
        assert!(rows[1]["CTF"]["resolution"].is_null(), "{}", rows[1]["CTF"]);
        assert!(rows[1]["CTF"]["defocusU"].is_null());
        assert!(rows[1]["CTF"]["estimatedDefocus"].is_null());
        assert!(rows[1]["MotionCorrection"]["totalMotion"].is_null());
        assert!(rows[1]["MotionCorrection"]["averageMotionPerFrame"].is_null(), "NaN is no measurement");
    } else {
        assert!(approx(&a1["RelativeIceThickness"]["median"], 1.25));
        assert!(approx(&rows[1]["CTF"]["resolution"], 3.5));
        assert!(a1["CTF"]["defocusU"].is_null(), "Diamond's schema has no defocusU");
    }
    assert!(rows[2]["CTF"].is_null(), "A3 has no CTF");
    assert!(rows[2]["MotionCorrection"].is_object());
    assert!(rows[3]["MotionCorrection"].is_null(), "A4 is not processed");
    let cursor = r.json["cursor"].as_str().unwrap().to_string();

    // Paging and order.
    let r = em.get(&format!("/em/movies?dataCollectionId={dc_a}&limit=2&skip=1&sort=-movieNumber"), v).await;
    assert_eq!(ids(&r.json["results"], "/Movie/movieId"), [em.movie(A4), em.movie(A3)]);
    assert_eq!(r.json["total"], 5);
    // Session scope, filters.
    let r = em.get(&format!("/em/movies?sessionId={}&maxResolution=4&limit=100", em.session), v).await;
    let mut want: Vec<u64> = RESULTS
        .iter()
        .enumerate()
        .filter(|(i, (_, c))| c.is_some_and(|c| c.0 <= 4.0) && !(ispyb && *i == A2))
        .map(|(i, _)| em.movie(i))
        .collect();
    let mut got = ids(&r.json["results"], "/Movie/movieId");
    want.sort_unstable();
    got.sort_unstable();
    assert_eq!(got, want, "maxResolution");
    assert_eq!(r.json["total"], want.len());
    let r = em.get(&format!("/em/movies?dataCollectionGroupId={}&maxMotion=10&maxResolution=5", em.groups[0]), v).await;
    assert_eq!(ids(&r.json["results"], "/Movie/movieId"), [em.movie(A1)], "{}", r.text);
    for bad in [
        "?dataCollectionId=1&sessionId=1",
        "?sessionId=1&sort=x",
        "?sessionId=1&since=abc",
        "?sessionId=1&limit=0",
        "?since=1",
        "?format=csv",
    ] {
        assert_eq!(em.get(&format!("/em/movies{bad}"), v).await.status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}");
    }

    // Without a scope: every visible movie, newest first, no cursor.
    let r = em.get("/em/movies?limit=2", v).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(ids(&r.json["results"], "/Movie/movieId"), [em.movie(8), em.movie(7)]);
    assert!(r.json["cursor"].is_null());
    assert_eq!(em.get("/em/movies", &em.stranger).await.json["total"], 0);

    // CSV export of the per-movie table.
    let r = em.get(&format!("/em/movies?dataCollectionId={dc_a}&format=csv"), v).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.headers[header::CONTENT_TYPE].to_str().unwrap().starts_with("text/csv"));
    let lines: Vec<&str> = r.text.lines().collect();
    assert_eq!(lines.len(), 6);
    let head: Vec<&str> = lines[0].split(',').collect();
    let col = |name: &str| head.iter().position(|h| *h == name).unwrap();
    let a1_cells: Vec<&str> = lines[1].split(',').collect();
    assert_eq!(a1_cells[col("movieId")], em.movie(A1).to_string());
    assert_eq!(a1_cells[col("resolution")], "3");
    assert_eq!(a1_cells[col("createdTimeStamp")], time(0));
    assert_eq!(lines[4].split(',').nth(col("motionCorrectionId")), Some(""), "A4: empty cells");
    let req = axum::http::Request::builder()
        .uri(format!("/ispyb/api/v1/em/movies?dataCollectionId={dc_a}"))
        .header(header::AUTHORIZATION, format!("Bearer {v}"))
        .header(header::ACCEPT, "text/csv")
        .body(axum::body::Body::empty())
        .unwrap();
    assert_eq!(em.app.send(req).await.text.lines().count(), 6, "Accept: text/csv");

    // One movie with every derived row.
    let r = em.get(&format!("/em/movies/{}", em.movie(A1)), v).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(ids(&r.json["motionCorrections"], "/motionCorrectionId"), em.a1_mcs.to_vec());
    assert_eq!(r.json["ctfs"].as_array().unwrap().len(), 2);
    assert_eq!(r.json["latestMotionCorrectionId"], em.a1_mcs[2]);
    assert_eq!(r.json["sessionId"], em.session);
    assert_eq!(r.json["particlePickers"][0]["numberOfParticles"], 1000);
    assert_eq!(r.json["iceThickness"].as_array().unwrap().len(), if ispyb { 0 } else { 2 });
    assert_eq!(em.get(&format!("/em/movies/{}", em.movie(A1)), &em.stranger).await.status, StatusCode::NOT_FOUND);

    // Images through the data roots.
    let image = |path: String| async move { em.get(&path, v).await };
    let m = em.movie(A1);
    let r = image(format!("/em/movies/{m}/micrograph")).await;
    assert_eq!((r.status, r.text.as_str()), (StatusCode::OK, "JPEG micrograph A1"));
    assert_eq!(r.headers[header::CONTENT_TYPE], "image/jpeg");
    let r = image(format!("/em/movies/{m}/ctf")).await;
    assert_eq!((r.status, r.text.as_str()), (StatusCode::OK, "JPEG power spectrum A1"));
    let r = image(format!("/em/movies/{m}/thumbnail")).await;
    if ispyb {
        assert_eq!((r.status, r.text.as_str()), (StatusCode::OK, "JPEG movie thumbnail A1"));
    } else {
        assert_eq!(r.status, StatusCode::NOT_FOUND, "Diamond's Movie has no thumbnail");
    }
    let r = image(format!("/em/movies/{m}/drift")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.headers[header::CONTENT_TYPE], "image/png");
    let r = image(format!("/em/movies/{m}/drift?format=json")).await;
    if ispyb {
        assert_eq!(r.status, StatusCode::NOT_FOUND, "no points in a PNG");
    } else {
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
        assert_eq!(r.json, json!({"x": [0.0, 1.5, 2.0], "y": [0.0, -0.5, 1.0]}));
        let png = image(format!("/em/movies/{m}/drift?format=png")).await;
        assert!(png.text.get(3..6) == Some("PNG"), "drawn from the points");
    }
    assert_eq!(
        image(format!("/em/movies/{}/micrograph", em.movie(A5))).await.status,
        StatusCode::NOT_FOUND,
        "missing file"
    );
    assert_eq!(image(format!("/em/movies/{}/micrograph", em.movie(A4))).await.status, StatusCode::NOT_FOUND, "no path");
    let b1 = em.movie(B1);
    for path in [format!("/em/movies/{b1}/micrograph"), format!("/em/movies/{b1}/drift")] {
        let r = image(path.clone()).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{path}: outside the data roots");
        assert!(!r.text.contains("passwd") && !r.text.contains("root:"), "{}", r.text);
    }
    assert_eq!(image(format!("/em/movies/{m}/fft")).await.status, StatusCode::NOT_FOUND);
    assert_eq!(em.get(&format!("/em/movies/{m}/micrograph"), &em.stranger).await.status, StatusCode::NOT_FOUND);

    // Series of grid square A, by movie number.
    let r = em.get(&format!("/em/datacollections/{dc_a}/series?fields=totalMotion,resolution"), v).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.json["movieId"], json!(em.movies[..5]));
    assert_eq!(r.json["movieNumber"], json!([1, 2, 3, 4, 5]));
    let res = &r.json["series"]["resolution"];
    assert!(approx(&res[0], 3.0) && res[2].is_null() && res[3].is_null() && approx(&res[4], 5.5), "{res}");
    assert_eq!(res[1].is_null(), ispyb);
    assert!(r.json["series"].get("defocus").is_none(), "only the fields asked for");
    assert_eq!(
        em.get(&format!("/em/datacollections/{dc_a}/series?fields=nope"), v).await.status,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    let r = em.get(&format!("/em/sessions/{}/series?maxPoints=4", em.session), v).await;
    assert_eq!((r.json["count"].as_u64(), r.json["step"].as_u64()), (Some(9), Some(3)));
    assert_eq!(r.json["movieId"], json!([em.movie(0), em.movie(3), em.movie(6)]));

    // Statistics of the session, against values computed here.
    let r =
        em.get(&format!("/em/sessions/{}/statistics?resolutionThreshold=4&motionThreshold=12", em.session), v).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let st = &r.json;
    let session_cursor = st["cursor"].as_str().unwrap().to_string();
    let res = resolutions(em.flavour);
    assert_eq!(st["movies"], 9);
    assert_eq!(st["moviesMotionCorrected"], 8);
    assert_eq!(st["moviesCtfEstimated"], 7);
    assert_eq!(st["resolution"]["count"], res.len());
    for (key, p) in [("median", 50.0), ("p10", 10.0), ("p25", 25.0), ("p75", 75.0), ("p90", 90.0)] {
        assert!(approx(&st["resolution"][key], pct(&res, p)), "{key}: {} vs {}", st["resolution"][key], pct(&res, p));
    }
    assert!(approx(&st["resolution"]["mean"], res.iter().sum::<f64>() / res.len() as f64));
    assert!(approx(&st["resolution"]["min"], 2.8) && approx(&st["resolution"]["max"], 6.0));
    let under = res.iter().filter(|r| **r <= 4.0).count();
    assert_eq!(st["moviesUnderResolutionThreshold"], under);
    assert!(approx(&st["shareUnderResolutionThreshold"], under as f64 / res.len() as f64));
    let mot = motions(em.flavour);
    assert!(approx(&st["totalMotion"]["median"], pct(&mot, 50.0)));
    let under_motion = mot.iter().filter(|m| **m <= 12.0).count();
    assert_eq!(st["moviesUnderMotionThreshold"], under_motion);
    // Defocus and astigmatism from U and V (the mean and the difference).
    let defocus: Vec<f64> = RESULTS
        .iter()
        .enumerate()
        .filter(|(i, _)| !(ispyb && *i == A2))
        .filter_map(|(_, (_, c))| c.map(|c| (c.1 + c.2) / 2.0))
        .collect();
    assert!(approx(&st["defocus"]["median"], pct(&defocus, 50.0)), "{}", st["defocus"]);
    let astig: Vec<f64> = RESULTS
        .iter()
        .enumerate()
        .filter(|(i, _)| !(ispyb && *i == A2))
        .filter_map(|(_, (_, c))| c.map(|c| (c.1 - c.2).abs()))
        .collect();
    assert!(approx(&st["astigmatism"]["p90"], pct(&astig, 90.0)));
    // 9 movies from 09:00 to 11:30.
    assert!(approx(&st["moviesPerHour"], 9.0 / 2.5));
    assert_eq!(ids(&st["perHour"], "/movies"), [5, 2, 2]);
    assert_eq!(st["perHour"][0]["hour"], "2024-05-01T09:00:00");
    assert_eq!(st["iceThickness"]["count"], if ispyb { 0 } else { 1 }, "the latest motion correction's only");

    // Statistics of grid square A.
    let r = em.get(&format!("/em/datacollections/{dc_a}/statistics?resolutionThreshold=3.2"), v).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!((r.json["movies"].as_u64(), r.json["moviesCtfEstimated"].as_u64()), (Some(5), Some(3)));
    assert_eq!(r.json["moviesUnderResolutionThreshold"], 1, "A1 (3.0) only");
    assert!(approx(&r.json["resolution"]["median"], if ispyb { 4.25 } else { 3.5 }), "{}", r.json["resolution"]);

    // Histogram of the resolution with fixed bins.
    let r = em.get(&format!("/em/sessions/{}/histogram?field=resolution&min=2&max=6&bins=4", em.session), v).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let counts: Vec<u64> = (0..4)
        .map(|b| {
            let (lo, hi) = (2.0 + b as f64, 3.0 + b as f64);
            res.iter().filter(|x| **x >= lo && (**x < hi || (b == 3 && **x <= hi))).count() as u64
        })
        .collect();
    assert_eq!(ids(&r.json["bins"], "/count"), counts);
    assert_eq!(r.json["missing"], 9 - res.len());
    assert_eq!((r.json["below"].as_u64(), r.json["above"].as_u64()), (Some(0), Some(0)));
    let r =
        em.get(&format!("/em/datacollections/{dc_a}/histogram?field=totalMotion&binWidth=10&min=0&max=30"), v).await;
    let mot_a: Vec<f64> = motions(em.flavour).into_iter().filter(|m| [10.0, 20.0, 8.0, 30.0].contains(m)).collect();
    let want: Vec<u64> = (0..3)
        .map(|b| {
            mot_a
                .iter()
                .filter(|m| **m >= b as f64 * 10.0 && (**m < (b + 1) as f64 * 10.0 || (b == 2 && **m <= 30.0)))
                .count() as u64
        })
        .collect();
    assert_eq!(ids(&r.json["bins"], "/count"), want, "{}", r.text);
    for bad in [
        "",
        "?field=nope",
        "?field=resolution&bins=0",
        "?field=resolution&min=5&max=1",
        "?field=resolution&binWidth=-1",
    ] {
        assert_eq!(
            em.get(&format!("/em/sessions/{}/histogram{bad}", em.session), v).await.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{bad}"
        );
    }

    // Classification.
    let r = em.get(&format!("/em/classification?sessionId={}", em.session), v).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.json["total"], 3);
    assert_eq!(
        ids(&r.json["results"], "/ParticleClassification/particleClassificationId"),
        [em.classes[1], em.classes[0], em.classes[2]],
        "most particles first"
    );
    let c = &r.json["results"][1];
    assert_eq!(c["ParticleClassificationGroup"]["type"], "2D");
    assert_eq!(c["ParticlePicker"]["numberOfParticles"], 1000);
    assert_eq!(c["CryoemInitialModel"][0]["numberOfParticles"], 500);
    assert_eq!(c["dataCollectionId"], dc_a);
    let r = em.get(&format!("/em/classification?dataCollectionId={dc_a}&sortBy=resolution&type=2D"), v).await;
    assert_eq!(ids(&r.json["results"], "/ParticleClassification/particleClassificationId"), em.classes.to_vec());
    assert_eq!(em.get(&format!("/em/classification?sessionId={}&type=3D", em.session), v).await.json["total"], 0);
    assert_eq!(em.get(&format!("/em/classification?sessionId={}", em.session), &em.stranger).await.json["total"], 0);
    let r = em.get(&format!("/em/classification/{}/image", em.classes[0]), v).await;
    assert_eq!((r.status, r.text.as_str()), (StatusCode::OK, "PNG class 1"));
    assert_eq!(em.get(&format!("/em/classification/{}/image", em.classes[1]), v).await.status, StatusCode::NOT_FOUND);
    assert_eq!(
        em.get(&format!("/em/classification/{}/image", em.classes[0]), &em.stranger).await.status,
        StatusCode::NOT_FOUND
    );

    // Another proposal's session, and a stranger: 404 everywhere.
    for (who, session) in [(v, em.other_session), (&em.stranger, em.session)] {
        for path in ["summary", "statistics", "series", "histogram?field=resolution"] {
            let r = em.get(&format!("/em/sessions/{session}/{path}"), who).await;
            assert_eq!(r.status, StatusCode::NOT_FOUND, "{path}: {}", r.text);
        }
        assert_eq!(em.get(&format!("/em/movies?sessionId={session}"), who).await.status, StatusCode::NOT_FOUND);
    }
    assert_eq!(
        em.get(&format!("/em/datacollections/{dc_a}/statistics"), &em.stranger).await.status,
        StatusCode::NOT_FOUND
    );

    // The cursor: only what is new or changed afterwards.
    let new_movie = em
        .posted(
            "/webservices/em/movies",
            json!({"dataCollectionId": dc_a, "movieFullPath": "/raw/grid1/sq1/A6.tif", "movieNumber": 6, "startTime": time(45)}),
        )
        .await;
    em.posted("/webservices/em/ctfs", json!({"motionCorrectionId": em.a3_mc, "resolutionLimit": 3.3})).await;
    let r = em.get(&format!("/em/movies?dataCollectionId={dc_a}&since={cursor}"), v).await;
    assert_eq!(ids(&r.json["results"], "/Movie/movieId"), [em.movie(A3), new_movie], "{}", r.text);
    assert_eq!(r.json["total"], 2);
    let next = r.json["cursor"].as_str().unwrap().to_string();
    assert_ne!(next, cursor);
    let r = em.get(&format!("/em/movies?dataCollectionId={dc_a}&since={next}"), v).await;
    assert_eq!(r.json["total"], 0, "nothing new since the new cursor");
    let r = em.get(&format!("/em/datacollections/{dc_a}/series?since={cursor}&fields=resolution"), v).await;
    assert_eq!(r.json["movieId"], json!([em.movie(A3), new_movie]));
    assert!(approx(&r.json["series"]["resolution"][0], 3.3));
    let r = em.get(&format!("/em/sessions/{}/statistics?since={session_cursor}", em.session), v).await;
    assert_eq!(r.json["movies"], 2, "{}", r.text);
    let r = em.get(&format!("/em/sessions/{}/histogram?field=resolution&since={session_cursor}", em.session), v).await;
    assert_eq!((r.json["count"].as_u64(), r.json["missing"].as_u64()), (Some(1), Some(1)), "{}", r.text);
    let r = em.get(&format!("/em/movies?dataCollectionId={dc_a}&since={}", em.movie(A5)), v).await;
    assert_eq!(ids(&r.json["results"], "/Movie/movieId"), [new_movie], "a bare movie id: new movies only");
}

async fn check_ingestion(em: &Em) {
    let m = em.movie(A1);
    // A repeated movie is found, not recorded twice.
    let body = json!({"dataCollectionId": em.dcs[0], "movieFullPath": "/raw/grid1/sq1/A1.tif", "movieNumber": 1});
    let r = em.post("/webservices/em/movies", body.clone()).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!((r.json["id"].as_u64(), r.json["created"].as_bool()), (Some(m), Some(false)));
    let r = em
        .post("/webservices/em/motion-corrections", json!({"movieId": m, "micrographFullPath": "/proc/A1_v2.mrc"}))
        .await;
    assert_eq!((r.status, r.json["id"].as_u64()), (StatusCode::OK, Some(em.a1_mcs[1])), "{}", r.text);
    let movies = |em: &Em| {
        let pool = em.app.test_db.db.pool().clone();
        async move {
            let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM Movie").fetch_one(&pool).await.unwrap();
            n
        }
    };
    let before = movies(em).await;
    // Concurrent posts of a new movie: one row.
    let new = json!({"sessionId": em.session, "sampleAcronym": "grid3", "movieDirectory": "/raw/grid3/sq1/", "movieFullPath": "/raw/grid3/sq1/X.tif"});
    let (a, b) =
        tokio::join!(em.post("/webservices/em/movies", new.clone()), em.post("/webservices/em/movies", new.clone()));
    let mut statuses = [a.status, b.status];
    statuses.sort();
    assert_eq!(statuses, [StatusCode::OK, StatusCode::CREATED], "{} {}", a.text, b.text);
    assert_eq!(a.json["movieId"], b.json["movieId"]);
    assert_eq!(movies(em).await, before + 1);
    // Refusals: unknown targets (nothing written), missing permission, bad numbers.
    for (path, body, field) in [
        ("/webservices/em/movies", json!({"dataCollectionId": 999999, "movieFullPath": "/y.tif"}), "dataCollectionId"),
        ("/webservices/em/movies", json!({"sessionId": em.session, "movieFullPath": "/y.tif"}), "movieDirectory"),
        ("/webservices/em/movies", json!({"movieFullPath": "/y.tif"}), "dataCollectionId"),
        ("/webservices/em/motion-corrections", json!({"movieFullPath": "/none.tif"}), "movieFullPath"),
        ("/webservices/em/ctfs", json!({"motionCorrectionId": 999999}), "motionCorrectionId"),
        ("/webservices/em/ctfs", json!({"movieFullPath": "/raw/grid1/sq1/A4.tif"}), "movieFullPath"),
    ] {
        let r = em.post(path, body).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{path}: {}", r.text);
        assert_eq!(r.json["detail"][0]["loc"], json!(["body", field]), "{}", r.text);
    }
    assert_eq!(movies(em).await, before + 1);
    let r = em.post("/webservices/em/motion-corrections", json!({"movieId": m, "totalMotion": "lots"})).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
    let r = em
        .post("/webservices/em/movies", json!({"movieFullPath": "/z.tif", "dataCollectionId": em.dcs[0], "unknown": 1}))
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "unknown fields are refused");
    let r = em.app.request(Method::POST, "/ispyb/api/v1/webservices/em/movies", Some(&em.viewer), Some(body)).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "users may not ingest");
    // Numbers are stored in the flavour's type.
    let stored: String = match em.flavour {
        Flavour::Ispyb => sqlx::query_scalar("SELECT resolutionLimit FROM CTF ORDER BY CTFid LIMIT 1"),
        Flavour::Dls => sqlx::query_scalar("SELECT CAST(estimatedResolution AS CHAR) FROM CTF ORDER BY ctfId LIMIT 1"),
    }
    .fetch_one(em.app.test_db.db.pool())
    .await
    .unwrap();
    assert_eq!(stored, "4.2");
}

const JAVA: &str = "/ispyb/ispyb-ws/rest";

const MOVIE_KEYS: [&str; 39] = [
    "Movie_movieId",
    "Movie_dataCollectionId",
    "Movie_movieNumber",
    "Movie_movieFullPath",
    "Movie_positionX",
    "Movie_positionY",
    "Movie_micrographFullPath",
    "Movie_micrographSnapshotFullPath",
    "Movie_xmlMetaDataFullPath",
    "Movie_dosePerImage",
    "Movie_createdTimeStamp",
    "MotionCorrection_motionCorrectionId",
    "MotionCorrection_movieId",
    "MotionCorrection_firstFrame",
    "MotionCorrection_lastFrame",
    "MotionCorrection_dosePerFrame",
    "MotionCorrection_doseWeight",
    "MotionCorrection_totalMotion",
    "MotionCorrection_averageMotionPerFrame",
    "MotionCorrection_driftPlotFullPath",
    "MotionCorrection_micrographFullPath",
    "MotionCorrection_micrographSnapshotFullPath",
    "MotionCorrection_correctedDoseMicrographFullPath",
    "MotionCorrection_patchesUsed",
    "MotionCorrection_logFileFullPath",
    "CTF_CTFid",
    "CTF_motionCorrectionId",
    "CTF_spectraImageThumbnailFullPath",
    "CTF_spectraImageFullPath",
    "CTF_defocusU",
    "CTF_defocusV",
    "CTF_angle",
    "CTF_crossCorrelationCoefficient",
    "CTF_resolutionLimit",
    "CTF_estimatedBfactor",
    "CTF_logFilePath",
    "CTF_createdTimeStamp",
    "Proposal_proposalId",
    "BLSession_sessionId",
];

const STATS_KEYS: [&str; 17] = [
    "proposalId",
    "sessionId",
    "imageDirectory",
    "movieId",
    "movieNumber",
    "createdTimeStamp",
    "motionCorrectionId",
    "dataCollectionId",
    "totalMotion",
    "averageMotionPerFrame",
    "lastFrame",
    "dosePerFrame",
    "defocusU",
    "defocusV",
    "resolutionLimit",
    "estimatedBfactor",
    "angle",
];

const CLASS_KEYS: [&str; 15] = [
    "proposalId",
    "sessionId",
    "imageDirectory",
    "particlePickerId",
    "numberOfParticles",
    "particleClassificationGroupId",
    "particleClassificationId",
    "classNumber",
    "classImageFullPath",
    "particlesPerClass",
    "classDistribution",
    "rotationAccuracy",
    "translationAccuracy",
    "estimatedResolution",
    "overallFourierCompleteness",
];

fn keys(row: &Value) -> BTreeSet<String> {
    row.as_object().unwrap().keys().cloned().collect()
}

fn set(keys: &[&str]) -> BTreeSet<String> {
    keys.iter().map(|k| k.to_string()).collect()
}

async fn check_legacy(em: &Em) {
    let ispyb = em.flavour == Flavour::Ispyb;
    let raw = |uri: String| async move { em.app.request(Method::GET, &uri, None, None).await };
    // A bearer token of ours in the path, as py-ISPyB allowed.
    let java = format!("{JAVA}/{}/proposal/{}", em.viewer, em.proposal);
    let py = format!("/ispyb/api/v1/legacy/{}/proposal/{}", em.viewer, em.proposal);
    let dc_a = em.dcs[0];

    // E1: Java's keys, one row per movie with its latest results, nulls left out on Java's mount.
    let r = raw(format!("{py}/em/datacollection/{dc_a}/movie/all")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let rows = r.json.as_array().unwrap();
    assert_eq!(rows.len(), 5);
    assert!(rows.iter().all(|row| keys(row) == set(&MOVIE_KEYS)), "{}", rows[0]);
    assert_eq!(rows[0]["MotionCorrection_motionCorrectionId"], em.a1_mcs[2]);
    assert_eq!(rows[0]["Movie_createdTimeStamp"], time(0));
    if ispyb {
        assert_eq!(rows[0]["CTF_resolutionLimit"], "3", "text as Java returned it");
        assert_eq!(rows[1]["CTF_resolutionLimit"], "n/a");
        assert_eq!(rows[0]["Movie_positionY"], "-2.25");
    } else {
        assert_eq!(rows[0]["CTF_resolutionLimit"], 3.0, "Diamond's estimatedResolution under Java's key");
        assert!(approx(&rows[0]["CTF_defocusU"], 11000.0), "{}", rows[0]["CTF_defocusU"]);
    }
    let r = raw(format!("{java}/em/datacollection/{dc_a}/movie/all")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.json[0]["Movie_createdTimeStamp"], "May 1, 2024 9:00:00 AM");
    assert!(r.json[3].get("MotionCorrection_motionCorrectionId").is_none(), "null keys dropped");

    // E2-E5: files, the CTF thumbnail too.
    let m = em.movie(A1);
    let base = format!("{java}/em/datacollection/{dc_a}/movie/{m}");
    let r = raw(format!("{base}/ctf/thumbnail")).await;
    assert_eq!((r.status, r.text.as_str()), (StatusCode::OK, "JPEG power spectrum A1"));
    assert!(r.headers[header::CONTENT_DISPOSITION].to_str().unwrap().starts_with("attachment"));
    let r = raw(format!("{base}/motioncorrection/thumbnail")).await;
    assert_eq!((r.status, r.text.as_str()), (StatusCode::OK, "JPEG micrograph A1"));
    let r = raw(format!("{base}/motioncorrection/drift")).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.text.get(3..6) == Some("PNG"));
    let r = raw(format!("{base}/thumbnail")).await;
    assert_eq!(r.status, if ispyb { StatusCode::OK } else { StatusCode::NOT_FOUND });
    let r = raw(format!("{java}/em/datacollection/{}/movie/{m}/thumbnail", em.dcs[1])).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "the movie is not in that data collection");
    let r = raw(format!("{java}/em/datacollection/{}/movie/{}/motioncorrection/drift", em.dcs[1], em.movie(B1))).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "traversal refused");

    // E6: one row per movie with a motion correction and a CTF.
    let r = raw(format!("{java}/em/session/{}/stats", em.session)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let rows = r.json.as_array().unwrap();
    assert_eq!(rows.len(), 7);
    assert!(rows.iter().all(|row| keys(row) == set(&STATS_KEYS)), "{}", rows[0]);
    assert_eq!(rows[0]["movieId"], m);
    let r = raw(format!("{java}/em/session/{}/stats", em.other_session)).await;
    assert_eq!(r.json, json!([]), "another proposal's session");

    // E7: every id of the list counted (py-ISPyB counted the first only).
    let r = raw(format!("{java}/em/datacollection/{dc_a},{}/stats", em.dcs[1])).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(
        r.json,
        json!([
            {"dataCollectionId": dc_a, "movieCount": 5, "motionCorrectionCount": 6, "ctfCorrectionCount": 4},
            {"dataCollectionId": em.dcs[1], "movieCount": 2, "motionCorrectionCount": 2, "ctfCorrectionCount": 2},
        ])
    );

    // E9: the group list with each group's stats (py-ISPyB answered 500).
    let r = raw(format!("{java}/em/datacollection/session/{}/list", em.session)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let rows = r.json.as_array().unwrap();
    let groups = ids(&r.json, "/DataCollectionGroup_dataCollectionGroupId");
    assert!(em.groups.iter().all(|g| groups.contains(g)), "{groups:?}");
    let g1 = rows.iter().find(|g| g["DataCollectionGroup_dataCollectionGroupId"] == em.groups[0]).unwrap();
    assert_eq!(ids(&g1["stats"], "/dataCollectionId"), [dc_a, em.dcs[1]]);
    assert_eq!(g1["stats"][0]["movieCount"], 5);

    // E10, E11: classification (py-ISPyB's route was broken) and a class image.
    let r = raw(format!("{py}/em/session/{}/classification", em.session)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let rows = r.json.as_array().unwrap();
    assert_eq!(rows.len(), 3);
    assert!(rows.iter().all(|row| keys(row) == set(&CLASS_KEYS)), "{}", rows[0]);
    assert_eq!(rows[0]["numberOfParticles"], 1000);
    let r = raw(format!("{java}/em/classification/{}/thumbnail", em.classes[0])).await;
    assert_eq!((r.status, r.text.as_str()), (StatusCode::OK, "PNG class 1"));

    // Another proposal in the path: refused; its class image too (Java checked nothing).
    let other = match em.flavour {
        Flavour::Ispyb => "blc00001",
        Flavour::Dls => "cm14452",
    };
    let r = raw(format!("{JAVA}/{}/proposal/{other}/em/classification/{}/thumbnail", em.viewer, em.classes[0])).await;
    assert!(matches!(r.status, StatusCode::FORBIDDEN | StatusCode::NOT_FOUND), "{}", r.status);

    // py-ISPyB's header-token twins.
    let r = em.get(&format!("/legacy/em/session/{}/stats", em.session), &em.viewer).await;
    assert_eq!((r.status, r.json.as_array().map(Vec::len)), (StatusCode::OK, Some(7)), "{}", r.text);
    let r = em
        .get(&format!("/legacy/em/proposal/{}/data_collections/{dc_a},{}/stats", em.proposal, em.dcs[1]), &em.viewer)
        .await;
    assert_eq!(ids(&r.json, "/dataCollectionId"), [dc_a, em.dcs[1]], "{}", r.text);
    let r = em
        .get(&format!("/legacy/em/proposal/{}/data_collections_group/{}/stats", em.proposal, em.groups[1]), &em.viewer)
        .await;
    assert_eq!(ids(&r.json, "/dataCollectionId"), [em.dcs[2], em.dcs[3]], "{}", r.text);
    let r = em.get(&format!("/legacy/em/proposal/{}/movie/{m}/thumbnail/ctf", em.proposal), &em.viewer).await;
    assert_eq!((r.status, r.text.as_str()), (StatusCode::OK, "JPEG power spectrum A1"), "a file, not its path");
    let r = em.get(&format!("/legacy/em/proposal/{}/datacollection/{dc_a}/movies", em.proposal), &em.viewer).await;
    assert_eq!(r.json.as_array().map(Vec::len), Some(5));
    let r = em
        .get(&format!("/legacy/em/proposal/{}/session/{}/data_collections/groups", em.proposal, em.session), &em.viewer)
        .await;
    let groups = ids(&r.json, "/DataCollectionGroup_dataCollectionGroupId");
    assert!(em.groups.iter().all(|g| groups.contains(g)), "{}", r.text);
    let r = em.get(&format!("/legacy/em/session/{}/classification", em.session), &em.viewer).await;
    assert_eq!(r.json.as_array().map(Vec::len), Some(3));
    let r = em.get(&format!("/legacy/em/session/{}/stats", em.session), &em.stranger).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let r = raw(format!("{JAVA}/em/session/{}/stats", em.session)).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED, "the twins need a token");
}

#[tokio::test]
async fn em_on_the_esrf_flavour() {
    let em = seed(Flavour::Ispyb).await;
    check_legacy(&em).await;
    check_modern(&em).await;
    check_ingestion(&em).await;
    em.app.finish().await;
}

#[tokio::test]
async fn em_on_the_dls_flavour() {
    let em = seed(Flavour::Dls).await;
    check_legacy(&em).await;
    check_modern(&em).await;
    check_ingestion(&em).await;
    em.app.finish().await;
}

#[tokio::test]
async fn em_legacy_matches_py_ispyb_where_it_worked() {
    // The recorded answers for data collection 1 of blc00001 (no movies).
    let app = TestApp::ispyb().await;
    app.grant("efgh", "all_proposals").await;
    let token = app.login("efgh").await;
    let r = app.get("/legacy/em/proposal/blc00001/data_collections/1/stats", Some(&token)).await;
    assert_eq!(r.json, crate::helpers::py_ispyb_response("legacy_em_dcstats_efghall"));
    let r = app.get("/legacy/em/proposal/blc00001/data_collections_group/1/stats", Some(&token)).await;
    assert_eq!(r.json, crate::helpers::py_ispyb_response("legacy_em_dcgstats_efghall"));
    let r = app.get("/legacy/em/proposal/blc00001/datacollection/1/movies", Some(&token)).await;
    assert_eq!(r.json, crate::helpers::py_ispyb_response("legacy_em_movies_efghall"));
    let r = app.get("/legacy/em/session/1/stats", Some(&token)).await;
    assert_eq!(r.json, crate::helpers::py_ispyb_response("legacy_em_stats_session1_efghall"));
    let r = app
        .request(
            Method::GET,
            &format!("/ispyb/api/v1/legacy/{token}/proposal/blc00001/em/datacollection/1/movie/all"),
            None,
            None,
        )
        .await;
    assert_eq!(r.json, crate::helpers::py_ispyb_response("legacy_path_em_movies_efghall"));
    // Where py-ISPyB failed (500, 422), a list.
    let r = app.get("/legacy/em/proposal/blc00001/session/1/data_collections/groups", Some(&token)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.json[0]["stats"], crate::helpers::py_ispyb_response("legacy_em_dcstats_efghall"));
    let r = app.get("/legacy/em/session/1/classification", Some(&token)).await;
    assert_eq!((r.status, r.json.clone()), (StatusCode::OK, json!([])));
    app.finish().await;
}

/// A session of 10,000 movies (four grid squares, every movie with a motion correction and a
/// CTF): the summary, a page of movies, a histogram, the statistics and a series each cost a
/// fixed number of statements. Latencies are printed (`TIMING`), not asserted; `bench/` has
/// the benchmark proper.
#[tokio::test]
async fn em_reads_cost_a_fixed_number_of_statements_at_10000_movies() {
    use tracing_subscriber::layer::SubscriberExt as _;
    use tracing_subscriber::util::SubscriberInitExt as _;
    let _ = tracing_subscriber::registry().with(ispyb_api::metrics::layer()).try_init();
    assert!(ispyb_api::metrics::installed(), "another global subscriber was installed first");
    let app = TestApp::ispyb().await;
    let db = app.test_db.db.pool();
    exec(&app, "INSERT INTO DataCollectionGroup (sessionId, experimentType) VALUES (70565, 'EM')").await;
    let group: i32 =
        sqlx::query_scalar("SELECT MAX(dataCollectionGroupId) FROM DataCollectionGroup").fetch_one(db).await.unwrap();
    let mut dcs = Vec::new();
    for k in 0..4 {
        let id = sqlx::query(
            "INSERT INTO DataCollection (dataCollectionGroupId, imageDirectory, voltage) VALUES (?, ?, 300)",
        )
        .bind(group)
        .bind(format!("/raw/sq{k}/"))
        .execute(db)
        .await
        .unwrap()
        .last_insert_id();
        exec(
            &app,
            &format!(
                "INSERT INTO Movie (dataCollectionId, movieNumber, movieFullPath, createdTimeStamp)
                 SELECT {id}, seq, CONCAT('/raw/sq{k}/', seq, '.tif'), TIMESTAMP('2024-05-01 08:00:00') + INTERVAL ({k} * 2500 + seq) * 5 SECOND
                 FROM seq_1_to_2500"
            ),
        )
        .await;
        dcs.push(id);
    }
    exec(
        &app,
        "INSERT INTO MotionCorrection (movieId, firstFrame, lastFrame, totalMotion, averageMotionPerFrame)
         SELECT movieId, '1', '40', CAST(ROUND(5 + MOD(movieId * 7, 300) / 10, 1) AS CHAR), '0.3' FROM Movie",
    )
    .await;
    exec(
        &app,
        "INSERT INTO CTF (motionCorrectionId, defocusU, defocusV, angle, resolutionLimit)
         SELECT motionCorrectionId, '12000', '12500', '30', CAST(ROUND(2.5 + MOD(motionCorrectionId * 13, 50) / 10, 1) AS CHAR) FROM MotionCorrection",
    )
    .await;
    sqlx::query("ANALYZE TABLE Movie, MotionCorrection, CTF").execute(db).await.unwrap();
    let token = app.login("pasteur").await;
    let dc = dcs[0];
    for path in [
        "/em/sessions/70565/summary".to_string(),
        format!("/em/movies?dataCollectionId={dc}&limit=25"),
        "/em/movies?sessionId=70565&limit=25&skip=5000&maxResolution=4".to_string(),
        "/em/sessions/70565/histogram?field=resolution&bins=50".to_string(),
        "/em/sessions/70565/statistics".to_string(),
        format!("/em/datacollections/{dc}/series?maxPoints=500"),
        format!("/em/datacollections/{dc}/histogram?field=totalMotion"),
    ] {
        let t = std::time::Instant::now();
        let (r, sql) = ispyb_api::metrics::capture(app.get(&path, Some(&token))).await;
        let elapsed = t.elapsed();
        assert_eq!(r.status, StatusCode::OK, "{path}: {}", r.text);
        let statements: Vec<&String> =
            sql.iter().filter(|s| !s.contains("FROM AdminVar") && !s.trim_start().starts_with("SET ")).collect();
        eprintln!("TIMING {path}: {elapsed:?}, {} statements", statements.len());
        assert!(statements.len() <= 4, "{path}: {} statements: {statements:#?}", statements.len());
    }
    let r = app.get("/em/sessions/70565/summary", Some(&token)).await;
    assert_eq!(r.json["movies"], 10000);
    assert_eq!(r.json["moviesCtfEstimated"], 10000);

    // The legacy lists of every movie are streamed as they are read: whole, in order, valid
    // JSON, and their statement is counted for the request (the x-sql-statements header).
    let proposal: String = sqlx::query_scalar(
        "SELECT CONCAT(p.proposalCode, p.proposalNumber) FROM BLSession s JOIN Proposal p ON p.proposalId = s.proposalId
         WHERE s.sessionId = 70565",
    )
    .fetch_one(db)
    .await
    .unwrap();
    let path = format!("/legacy/em/proposal/{proposal}/datacollection/{dc}/movies");
    let (r, sql) = ispyb_api::metrics::capture(app.get(&path, Some(&token))).await;
    assert_eq!(r.status, StatusCode::OK, "{path}: {}", r.text);
    let movies = r.json.as_array().expect("a JSON array");
    assert_eq!(movies.len(), 2500);
    let numbers: Vec<u64> = movies.iter().map(|m| m["Movie_movieNumber"].as_u64().unwrap()).collect();
    assert_eq!(numbers, (1..=2500).collect::<Vec<u64>>());
    assert!(movies.iter().all(|m| m["CTF_resolutionLimit"].is_string() && m["Movie_dataCollectionId"] == dc));
    assert!(sql.iter().any(|s| s.contains("FROM Movie m")), "{sql:#?}");
    assert_eq!(r.headers["x-sql-statements"].to_str().unwrap(), sql.len().to_string());
    let r = app.get("/legacy/em/session/70565/stats", Some(&token)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.json.as_array().map(Vec::len), Some(10000));

    // Clients that go away after the first piece (more of them than the pool has connections)
    // leave no connection behind: the next list is whole.
    for _ in 0..app.state.config.database_pool + 2 {
        use http_body_util::BodyExt as _;
        use tower::ServiceExt as _;
        let req = axum::http::Request::builder()
            .uri("/ispyb/api/v1/legacy/em/session/70565/stats")
            .header(header::AUTHORIZATION, format!("Bearer {token}"))
            .body(axum::body::Body::empty())
            .unwrap();
        let res = app.app.clone().oneshot(req).await.unwrap();
        assert_eq!(res.status(), StatusCode::OK);
        let mut body = res.into_body();
        let first = body.frame().await.expect("a first piece").expect("no error").into_data().unwrap();
        assert!(first.starts_with(b"[{"), "{:?}", &first[..20]);
        drop(body);
    }
    let r = app.get(&path, Some(&token)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.json.as_array().map(Vec::len), Some(2500));
    app.finish().await;
}
