//! `/data/images*`: frames, headers and histograms from HDF5 files the tests write in a data
//! root (NeXus layout, as Dectris detectors write: frames under `/entry/data`).

use axum::http::{StatusCode, header};
use hdf5_pure::{AttrValue, FileBuilder};
use serde_json::json;

use crate::events::{DataRoot, app_with_root, exec};

/// Frame `k` (0-based) of a test stack: pixel value = 100 * k + row * 10 + column.
fn frame(k: u32, h: u32, w: u32) -> Vec<u32> {
    (0..h * w).map(|i| 100 * k + (i / w) * 10 + i % w).collect()
}

/// A NeXus file: `/entry/instrument` (geometry) when asked, and stacks of frames
/// `first..first+n` (1-based image numbers) as `/entry/data/<name>`.
fn nexus(b: &mut FileBuilder, with_instrument: bool, stacks: &[(&str, u32, u32)]) {
    let mut entry = b.create_group("entry");
    if with_instrument {
        let mut instr = entry.create_group("instrument");
        let mut beam = instr.create_group("beam");
        beam.create_dataset("incident_wavelength").with_f64_data(&[0.979]);
        instr.add_group(beam.finish());
        let mut det = instr.create_group("detector");
        det.create_dataset("detector_distance").with_f64_data(&[0.25]);
        det.create_dataset("x_pixel_size").with_f64_data(&[0.000075]);
        det.create_dataset("y_pixel_size").with_f64_data(&[0.000075]);
        det.create_dataset("beam_center_x").with_f64_data(&[2.0]);
        det.create_dataset("beam_center_y").with_f64_data(&[1.5]);
        let mut spec = det.create_group("detectorSpecific");
        spec.create_dataset("x_pixels_in_detector").with_f64_data(&[5.0]);
        spec.create_dataset("y_pixels_in_detector").with_f64_data(&[4.0]);
        det.add_group(spec.finish());
        instr.add_group(det.finish());
        entry.add_group(instr.finish());
    }
    if !stacks.is_empty() {
        let mut data = entry.create_group("data");
        for (name, first, n) in stacks {
            let flat: Vec<u32> = (0..*n).flat_map(|k| frame(first - 1 + k, 4, 5)).collect();
            data.create_dataset(name)
                .with_u32_data(&flat)
                .with_shape(&[u64::from(*n), 4, 5])
                .with_chunks(&[1, 4, 5])
                .with_deflate(4)
                .set_attr("image_nr_low", AttrValue::I64(i64::from(*first)))
                .set_attr("image_nr_high", AttrValue::I64(i64::from(first + n - 1)));
        }
        entry.add_group(data.finish());
    }
    b.add_group(entry.finish());
}

fn write(path: &std::path::Path, build: impl FnOnce(&mut FileBuilder)) {
    let mut b = FileBuilder::new();
    build(&mut b);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, b.finish().unwrap()).unwrap();
}

fn floats(bytes: &[u8]) -> Vec<f32> {
    bytes.chunks_exact(4).map(|c| f32::from_le_bytes(c.try_into().unwrap())).collect()
}

#[tokio::test]
async fn frames_headers_and_histograms() {
    let root = DataRoot::new("h5");
    let app = app_with_root(&root).await;
    let dir = root.0.join("bl/dc1");
    write(&dir.join("x_master.h5"), |b| nexus(b, true, &[("data_000001", 1, 2), ("data_000002", 3, 2)]));
    exec(&app, &format!(
        "UPDATE DataCollection SET imageDirectory = '{}', fileTemplate = 'x_master.h5', numberOfImages = 6 WHERE dataCollectionId = 1",
        dir.display()
    ))
    .await;
    let token = app.login("abcd").await;
    let get = |q: String| {
        let app = &app;
        let token = token.clone();
        async move { app.get(&q, Some(&token)).await }
    };

    let r = get("/data/images?dataCollectionId=1&imageNumber=1".into()).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.headers[header::CONTENT_TYPE], "application/octet-stream");
    let want: Vec<f32> = frame(0, 4, 5).iter().map(|v| *v as f32).collect();
    let bytes = {
        let req = axum::http::Request::builder()
            .uri("/ispyb/api/v1/data/images?dataCollectionId=1&imageNumber=4")
            .header(header::AUTHORIZATION, format!("Bearer {token}"))
            .body(axum::body::Body::empty())
            .unwrap();
        let res = tower::ServiceExt::oneshot(app.app.clone(), req).await.unwrap();
        http_body_util::BodyExt::collect(res.into_body()).await.unwrap().to_bytes()
    };
    assert_eq!(
        floats(&bytes),
        frame(3, 4, 5).iter().map(|v| *v as f32).collect::<Vec<_>>(),
        "image 4 = second frame of the second stack"
    );
    let r1 = {
        let req = axum::http::Request::builder()
            .uri("/ispyb/api/v1/data/images?dataCollectionId=1&imageNumber=1")
            .header(header::AUTHORIZATION, format!("Bearer {token}"))
            .body(axum::body::Body::empty())
            .unwrap();
        let res = tower::ServiceExt::oneshot(app.app.clone(), req).await.unwrap();
        http_body_util::BodyExt::collect(res.into_body()).await.unwrap().to_bytes()
    };
    assert_eq!(floats(&r1), want);
    // The latest visible data collection when none is named.
    assert_eq!(get("/data/images?imageNumber=2".into()).await.status, StatusCode::OK);

    let r = get("/data/images/header?dataCollectionId=1&imageNumber=2".into()).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let h = &r.json["braggy_hdr"];
    assert_eq!((h["wavelength"].clone(), h["detector_distance"].clone()), (json!(0.979), json!(0.25)));
    assert_eq!((h["img_width"].clone(), h["img_height"].clone()), (json!(5.0), json!(4.0)));
    assert_eq!((h["beam_ocx"].clone(), h["beam_ocy"].clone()), (json!(0.5), json!(0.5)));
    assert_eq!(h["max"], json!(133.0), "the saturated (maximum) pixel is left out of the statistics");
    assert_eq!(h["min"], json!(100.0));

    let r = get("/data/images/histogram?dataCollectionId=1&imageNumber=1".into()).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let total: f64 = r.json["values"].as_array().unwrap().iter().map(|v| v.as_f64().unwrap()).sum();
    assert!(total > 0.0 && total <= 20.0, "{}", r.json);
    assert_eq!(r.json["shape"][0].as_u64().unwrap() as usize, r.json["bins"].as_array().unwrap().len() - 1);

    for q in
        ["dataCollectionId=1&imageNumber=5", "dataCollectionId=1&imageNumber=7", "imageNumber=1&dataCollectionId=99"]
    {
        let r = get(format!("/data/images?{q}")).await;
        assert_eq!((r.status, r.json.clone()), (StatusCode::NOT_FOUND, json!({"detail": "Image not found"})), "{q}");
    }
    for q in ["imageNumber=0", "imageNumber=x", ""] {
        let r = get(format!("/data/images?dataCollectionId=1&{q}")).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{q}");
    }
    let other = app.login("pasteur").await;
    for route in ["/data/images", "/data/images/header", "/data/images/histogram"] {
        let r = app.get(&format!("{route}?dataCollectionId=1&imageNumber=1"), Some(&other)).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{route}");
    }
    app.finish().await;
}

#[tokio::test]
async fn frames_in_data_files_beside_the_master() {
    let root = DataRoot::new("h5ext");
    let outside = DataRoot::new("h5ext-out");
    let app = app_with_root(&root).await;
    let dir = root.0.join("dc");
    write(&dir.join("y_master.h5"), |b| nexus(b, true, &[]));
    write(&dir.join("y_data_000001.h5"), |b| nexus(b, false, &[("data", 1, 2)]));
    write(&dir.join("y_data_000002.h5"), |b| nexus(b, false, &[("data", 3, 2)]));
    exec(&app, &format!(
        "UPDATE DataCollection SET imageDirectory = '{}', fileTemplate = 'y_master.h5', numberOfImages = 4 WHERE dataCollectionId = 1",
        dir.display()
    ))
    .await;
    let token = app.login("abcd").await;
    let r = app.get("/data/images/header?dataCollectionId=1&imageNumber=3", Some(&token)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.json["braggy_hdr"]["min"], json!(200.0));

    // Paths the database names outside the root, through `..`, or a master that is a link out
    // of it: 404, nothing read.
    write(&outside.0.join("z_master.h5"), |b| nexus(b, true, &[("data_000001", 1, 2)]));
    std::os::unix::fs::symlink(outside.0.join("z_master.h5"), dir.join("z_master.h5")).unwrap();
    for (directory, template) in [
        (outside.path().to_string(), "z_master.h5"),
        (format!("{}/dc/../../{}", root.path(), outside.0.strip_prefix("/").unwrap().display()), "z_master.h5"),
        (dir.display().to_string(), "../dc/y_master.h5"),
        (dir.display().to_string(), "z_master.h5"),
        ("relative/dir".to_string(), "y_master.h5"),
    ] {
        exec(&app, &format!(
            "UPDATE DataCollection SET imageDirectory = '{directory}', fileTemplate = '{template}' WHERE dataCollectionId = 1"
        ))
        .await;
        for route in ["/data/images", "/data/images/header", "/data/images/histogram"] {
            let r = app.get(&format!("{route}?dataCollectionId=1&imageNumber=1"), Some(&token)).await;
            assert_eq!(r.status, StatusCode::NOT_FOUND, "{directory}/{template} via {route}: {}", r.text);
        }
    }
    app.finish().await;
}
