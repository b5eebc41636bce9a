//! Files named by the database (through `/samples/images/{id}`): only regular files inside the
//! data roots are served, streamed, with single ranges; everything else is the route's 404.

use std::path::{Path, PathBuf};

use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use serde_json::json;

use crate::helpers::{Reply, TestApp, config};

/// A private folder under the system temporary folder, removed at the end.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("ispyb-files-{name}-{}-{}", std::process::id(), rand_suffix()));
        std::fs::create_dir_all(&dir).unwrap();
        Self(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn rand_suffix() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos() as u64
}

/// A small but real PNG (1×1 pixel).
const PNG: &[u8] = &[
    0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44, 0x52, 0x00, 0x00, 0x00,
    0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00, 0x00, 0x00, 0x1f, 0x15, 0xc4, 0x89, 0x00, 0x00, 0x00, 0x0d, 0x49,
    0x44, 0x41, 0x54, 0x78, 0x9c, 0x63, 0xf8, 0xcf, 0xc0, 0xf0, 0x1f, 0x00, 0x05, 0x00, 0x01, 0xff, 0x89, 0x99, 0x3d,
    0x1d, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45, 0x4e, 0x44, 0xae, 0x42, 0x60, 0x82,
];

/// An app whose data root is `root`, with sample 1's images at the given paths (ids from 900001).
async fn app_with_images(root: &Path, path_map: Option<&str>, paths: &[String]) -> TestApp {
    let root = root.to_str().unwrap().to_string();
    let mut settings = vec![("data_roots", root.as_str())];
    if let Some(map) = path_map {
        settings.push(("path_map", map));
    }
    let app = TestApp::with(ispyb_db::testing::TestDb::ispyb().await, config(&settings)).await;
    for (i, p) in paths.iter().enumerate() {
        sqlx::query("INSERT INTO BLSampleImage (blSampleImageId, blSampleId, imageFullPath) VALUES (?, 1, ?)")
            .bind(900001 + i as u32)
            .bind(p)
            .execute(app.test_db.db.pool())
            .await
            .unwrap();
    }
    app
}

async fn get_image(app: &TestApp, id: u32, token: &str) -> Reply {
    let req = Request::get(format!("/ispyb/api/v1/samples/images/{id}"))
        .header(header::AUTHORIZATION, format!("Bearer {token}"));
    app.send(req.body(Body::empty()).unwrap()).await
}

/// Raw body bytes (the helper's `text` is lossy for binary data).
async fn get_bytes(app: &TestApp, uri: &str, headers: &[(&str, &str)]) -> (StatusCode, axum::http::HeaderMap, Vec<u8>) {
    use http_body_util::BodyExt;
    use tower::ServiceExt;
    let mut req = Request::get(uri);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let res = app.app.clone().oneshot(req.body(Body::empty()).unwrap()).await.unwrap();
    let (parts, body) = res.into_parts();
    (parts.status, parts.headers, body.collect().await.unwrap().to_bytes().to_vec())
}

#[tokio::test]
async fn serves_an_image_inside_the_root_with_ranges() {
    let root = TempDir::new("root");
    std::fs::create_dir_all(root.0.join("visit/snapshots")).unwrap();
    let image = root.0.join("visit/snapshots/xtal.png");
    std::fs::write(&image, PNG).unwrap();
    let app = app_with_images(&root.0, None, &[image.to_str().unwrap().to_string()]).await;
    let token = app.login("abcd").await;
    let uri = "/ispyb/api/v1/samples/images/900001";
    let auth = format!("Bearer {token}");

    let (status, headers, body) = get_bytes(&app, uri, &[("authorization", &auth)]).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, PNG);
    assert_eq!(headers[header::CONTENT_TYPE], "image/png");
    assert_eq!(headers[header::CONTENT_LENGTH], PNG.len().to_string().as_str());
    assert_eq!(headers[header::ACCEPT_RANGES], "bytes");
    assert_eq!(headers[header::X_CONTENT_TYPE_OPTIONS], "nosniff");

    let len = PNG.len();
    for (range, start, end) in [
        ("bytes=0-7", 0, 7),
        ("bytes=60-", 60, len - 1),
        ("bytes=-4", len - 4, len - 1),
        ("bytes=10-100000", 10, len - 1),
    ] {
        let (status, headers, body) = get_bytes(&app, uri, &[("authorization", &auth), ("range", range)]).await;
        assert_eq!(status, StatusCode::PARTIAL_CONTENT, "{range}");
        assert_eq!(body, &PNG[start..=end], "{range}");
        assert_eq!(headers[header::CONTENT_RANGE], format!("bytes {start}-{end}/{len}").as_str(), "{range}");
        assert_eq!(headers[header::CONTENT_LENGTH], (end - start + 1).to_string().as_str(), "{range}");
    }
    let (status, headers, _) = get_bytes(&app, uri, &[("authorization", &auth), ("range", "bytes=1000-")]).await;
    assert_eq!(status, StatusCode::RANGE_NOT_SATISFIABLE);
    assert_eq!(headers[header::CONTENT_RANGE], format!("bytes */{len}").as_str());
    let (status, _, body) = get_bytes(&app, uri, &[("authorization", &auth), ("range", "bytes=0-1,4-5")]).await;
    assert_eq!((status, body.len()), (StatusCode::OK, len), "several ranges: the whole file");
    let (status, _, body) =
        get_bytes(&app, uri, &[("authorization", &auth), ("range", "bytes=0-3"), ("if-range", "\"old\"")]).await;
    assert_eq!((status, body.len()), (StatusCode::OK, len), "a stale If-Range: the whole file");

    // Another proposal: the route's 404; no token: 401.
    let pasteur = app.login("pasteur").await;
    let r = get_image(&app, 900001, &pasteur).await;
    assert_eq!((r.status, r.json.clone()), (StatusCode::NOT_FOUND, json!({"detail": "Sample image not found"})));
    assert_eq!(get_bytes(&app, uri, &[]).await.0, StatusCode::UNAUTHORIZED);

    // A one-time token (the UI's downloads) works once, for this path only.
    let r = app
        .request(
            Method::POST,
            "/ispyb/api/v1/user/sign",
            Some(&token),
            Some(json!({"validity": format!("http://ui{uri}")})),
        )
        .await;
    let once = r.json["token"].as_str().unwrap().to_string();
    let (status, _, body) = get_bytes(&app, &format!("{uri}?onetime={once}"), &[]).await;
    assert_eq!((status, body.as_slice()), (StatusCode::OK, PNG));
    assert_eq!(get_bytes(&app, &format!("{uri}?onetime={once}"), &[]).await.0, StatusCode::UNAUTHORIZED);
    app.finish().await;
}

#[tokio::test]
async fn large_files_are_streamed_whole() {
    let root = TempDir::new("large");
    let big = root.0.join("big.dat");
    // 5 MiB and a bit: many chunks, not a multiple of the chunk size.
    let data: Vec<u8> = (0..(5 * 1024 * 1024 + 12345)).map(|i: u32| (i % 251) as u8).collect();
    std::fs::write(&big, &data).unwrap();
    let app = app_with_images(&root.0, None, &[big.to_str().unwrap().to_string()]).await;
    let auth = format!("Bearer {}", app.login("abcd").await);
    let uri = "/ispyb/api/v1/samples/images/900001";
    let (status, headers, body) = get_bytes(&app, uri, &[("authorization", &auth)]).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers[header::CONTENT_TYPE], "application/octet-stream");
    assert_eq!(headers[header::CONTENT_LENGTH], data.len().to_string().as_str());
    assert!(body == data, "same bytes");
    let (status, _, body) = get_bytes(&app, uri, &[("authorization", &auth), ("range", "bytes=3000000-3000009")]).await;
    assert_eq!((status, body.as_slice()), (StatusCode::PARTIAL_CONTENT, &data[3000000..3000010]));
    app.finish().await;
}

#[tokio::test]
async fn nothing_outside_the_roots_is_served() {
    let root = TempDir::new("roots");
    let outside = TempDir::new("outside");
    let secret = outside.0.join("secret.png");
    std::fs::write(&secret, b"secret bytes").unwrap();
    std::fs::write(root.0.join("ok.png"), PNG).unwrap();
    std::fs::create_dir_all(root.0.join("sub/dir.png")).unwrap();
    std::os::unix::fs::symlink(&secret, root.0.join("link.png")).unwrap();
    std::os::unix::fs::symlink(&outside.0, root.0.join("linkdir")).unwrap();
    std::os::unix::fs::symlink(root.0.join("ok.png"), root.0.join("inner-link.png")).unwrap();
    let r = root.0.to_str().unwrap();
    let o = outside.0.to_str().unwrap();
    let paths = vec![
        format!("{r}/sub/../../{}/secret.png", outside.0.file_name().unwrap().to_str().unwrap()), // `..` out of the root
        format!("{r}/sub/../ok.png"),      // `..`, even staying inside
        format!("{o}/secret.png"),         // absolute, outside
        "/etc/passwd".to_string(),         // absolute, outside
        format!("{r}/link.png"),           // link to a file outside
        format!("{r}/linkdir/secret.png"), // through a linked folder
        format!("{r}/sub/dir.png"),        // a directory
        format!("{r}/missing.png"),        // missing
        "ok.png".to_string(),              // relative
        String::new(),                     // empty
        format!("{r}/inner-link.png"),     // a link inside the root: served
        format!("{r}//./ok.png"),          // odd but inside: served
    ];
    let app = app_with_images(&root.0, None, &paths).await;
    let token = app.login("abcd").await;
    for (i, p) in paths.iter().enumerate() {
        let id = 900001 + i as u32;
        let reply = get_image(&app, id, &token).await;
        if i >= 10 {
            assert_eq!(reply.status, StatusCode::OK, "{p}");
            continue;
        }
        assert_eq!(reply.status, StatusCode::NOT_FOUND, "{p}: {}", reply.text);
        assert_eq!(reply.json, json!({"detail": "Sample image not found"}), "{p}: the detail names no path");
        assert!(!reply.text.contains("secret"), "{p}");
    }
    app.finish().await;
}

#[tokio::test]
async fn path_map_prefixes_database_paths() {
    let root = TempDir::new("mapped");
    std::fs::create_dir_all(root.0.join("data/visit")).unwrap();
    std::fs::write(root.0.join("data/visit/a.jpg"), b"jpeg bytes").unwrap();
    let map = root.0.to_str().unwrap().to_string();
    // The database says /data/visit/a.jpg; this server sees it under <root>/data/visit/a.jpg.
    let app =
        app_with_images(&root.0, Some(&map), &["/data/visit/a.jpg".to_string(), "/../etc/passwd".to_string()]).await;
    let token = app.login("abcd").await;
    let reply = get_image(&app, 900001, &token).await;
    assert_eq!((reply.status, reply.text.as_str()), (StatusCode::OK, "jpeg bytes"));
    assert_eq!(reply.headers[header::CONTENT_TYPE], "image/jpeg");
    let reply = get_image(&app, 900002, &token).await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND);
    app.finish().await;
}

#[tokio::test]
async fn no_data_roots_means_no_files() {
    let root = TempDir::new("noroots");
    let image = root.0.join("a.png");
    std::fs::write(&image, PNG).unwrap();
    let app = TestApp::ispyb().await;
    sqlx::query("INSERT INTO BLSampleImage (blSampleImageId, blSampleId, imageFullPath) VALUES (900001, 1, ?)")
        .bind(image.to_str().unwrap())
        .execute(app.test_db.db.pool())
        .await
        .unwrap();
    let token = app.login("abcd").await;
    let reply = get_image(&app, 900001, &token).await;
    assert_eq!(
        (reply.status, reply.json.clone()),
        (StatusCode::NOT_FOUND, json!({"detail": "Sample image not found"}))
    );
    app.finish().await;
}
