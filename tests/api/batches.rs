//! Batch runs through the API: started from files, a zip or an allow-listed
//! server folder, followed as events to a gallery, compared, resumed, guarded
//! against unsafe names and double starts, and answering a request as the
//! synthesis endpoint does.

use std::time::Duration;

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use http_body_util::BodyExt;
use tower::ServiceExt;

use easel::http::{app, state_with};

use crate::support::app::{
    batch_server, config, error_of, follow, gated_batch_server, get, post, post_batch, post_form,
    send, server_with,
};
use crate::support::png::{png_gray, png_rgb};
use crate::support::{encode_png, session, sources, spade_fixture, write_file};

/// A batch run named `name` over three 64×64 maps, a.png, b.png and c.png.
fn three_maps(name: &str) -> Request<Body> {
    let maps: Vec<(String, Vec<u8>)> = ["a", "b", "c"]
        .iter()
        .enumerate()
        .map(|(i, stem)| {
            let png = png_gray(64, 64, move |x, _| ((x as usize / 22 + i) % 3) as u8);
            (format!("{stem}.png"), png)
        })
        .collect();
    let mut fields = vec![("name", None, name.as_bytes().to_vec())];
    fields.extend(
        maps.iter()
            .map(|(file, png)| ("label", Some(file.as_str()), png.clone())),
    );
    post_batch(&fields)
}

#[tokio::test]
async fn a_batch_run_streams_its_progress_to_100_percent_and_serves_its_gallery() {
    let (s, _results) = batch_server(Duration::from_millis(10));
    let (status, _, body) = send(&s.app, three_maps("api_run")).await;
    assert_eq!(
        status,
        StatusCode::ACCEPTED,
        "{}",
        String::from_utf8_lossy(&body)
    );
    let started: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(started["id"], "api_run@latest");
    assert_eq!(started["progress"]["total"], 3);

    let end = follow(&s.app, "api_run@latest").await;
    assert_eq!(
        end,
        serde_json::json!({"done": 3, "failed": 0, "total": 3, "state": "complete"})
    );
    let (_, _, body) = get(&s.app, "/api/v1/batches/api_run@latest").await;
    let status: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(status["progress"]["done"], 3);
    assert_eq!(status["model"], "fake");

    let (code, headers, body) = get(&s.app, "/results/").await;
    assert_eq!(code, StatusCode::OK);
    assert!(headers[header::CONTENT_SECURITY_POLICY]
        .to_str()
        .unwrap()
        .contains("default-src 'self'"));
    assert!(String::from_utf8(body).unwrap().contains("api_run"));
    let gallery = status["gallery"].as_str().unwrap();
    let (code, _, body) = get(&s.app, gallery).await;
    assert_eq!(code, StatusCode::OK);
    let html = String::from_utf8(body).unwrap();
    let base = gallery.trim_end_matches("index.html");
    let srcs = sources(&html);
    assert_eq!(srcs.len(), 6, "label and image for three maps");
    for src in srcs {
        let (code, headers, _) = get(&s.app, &format!("{base}{src}")).await;
        assert_eq!(code, StatusCode::OK, "{src}");
        assert_eq!(headers[header::CONTENT_TYPE], "image/png");
    }

    // Posting the name again with no files resumes it: nothing left to do.
    let (status, _, body) = send(&s.app, post_batch(&[("name", None, b"api_run".to_vec())])).await;
    assert_eq!(
        status,
        StatusCode::ACCEPTED,
        "{}",
        String::from_utf8_lossy(&body)
    );
    assert_eq!(follow(&s.app, "api_run@latest").await["done"], 3);
}

#[tokio::test]
async fn a_zip_with_label_and_image_folders_is_a_batch_and_two_runs_compare() {
    let (s, _results) = batch_server(Duration::ZERO);
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default();
    for stem in ["p", "q"] {
        zip.start_file(format!("val_label/{stem}.png"), options)
            .unwrap();
        std::io::Write::write_all(&mut zip, &png_gray(64, 64, |x, _| (x / 22) as u8)).unwrap();
        zip.start_file(format!("val_img/{stem}.png"), options)
            .unwrap();
        std::io::Write::write_all(
            &mut zip,
            &png_rgb(32, 32, |x, y| [x as u8 * 8, y as u8 * 8, 0]),
        )
        .unwrap();
    }
    let bytes = zip.finish().unwrap().into_inner();
    for name in ["zip_a", "zip_b"] {
        let (status, _, body) = send(
            &s.app,
            post_batch(&[
                ("name", None, name.as_bytes().to_vec()),
                ("zip", Some("maps.zip"), bytes.clone()),
            ]),
        )
        .await;
        assert_eq!(
            status,
            StatusCode::ACCEPTED,
            "{}",
            String::from_utf8_lossy(&body)
        );
        let run = follow(&s.app, &format!("{name}@latest")).await;
        assert_eq!(run["done"], 2, "{run}");
    }
    let (_, _, body) = get(&s.app, "/results/zip_a/test_latest/index.html").await;
    assert!(
        String::from_utf8(body)
            .unwrap()
            .contains("images/real_image/p.png"),
        "photos from the zip's img folder"
    );
    let (code, _, body) = get(
        &s.app,
        "/results/compare?a=zip_a/test_latest&b=zip_b/test_latest",
    )
    .await;
    assert_eq!(code, StatusCode::OK);
    let html = String::from_utf8(body).unwrap();
    assert!(html.contains("2 maps in both runs"), "{html}");
    assert!(html.contains("/results/zip_b/test_latest/images/synthesized_image/q.png"));
    let (code, _, _) = get(
        &s.app,
        "/results/compare?a=zip_a/test_latest&b=nope/test_latest",
    )
    .await;
    assert_eq!(code, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn batch_names_paths_and_pairs_are_checked() {
    let (s, results) = batch_server(Duration::ZERO);
    for name in ["../escape", "a/b", "..", "/abs"] {
        let (status, _, body) = send(&s.app, three_maps(name)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{name}");
        assert!(error_of(&body).0.contains("not allowed"), "{name}");
    }
    assert!(!results.path().join("../escape").exists());
    let (status, _, body) = send(
        &s.app,
        post_batch(&[
            ("name", None, b"bad_file".to_vec()),
            ("label", Some(".."), png_gray(64, 64, |_, _| 0)),
        ]),
    )
    .await;
    assert_eq!(
        status,
        StatusCode::BAD_REQUEST,
        "{}",
        String::from_utf8_lossy(&body)
    );
    let (status, _, body) = send(
        &s.app,
        post_batch(&[
            ("name", None, b"unpaired".to_vec()),
            ("label", Some("a.png"), png_gray(64, 64, |_, _| 0)),
            ("image", Some("b.png"), png_rgb(8, 8, |_, _| [0, 0, 0])),
        ]),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        error_of(&body).0.contains("no partner among the photos"),
        "{}",
        error_of(&body).0
    );
    let (status, _, _) = send(&s.app, post_batch(&[("name", None, b"empty".to_vec())])).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    for uri in [
        "/results/../Cargo.toml",
        "/results/%2e%2e/%2e%2e/etc/passwd",
        "/api/v1/batches/..@latest",
        "/api/v1/batches/nothing@latest",
    ] {
        let (status, _, _) = get(&s.app, uri).await;
        assert!(
            status == StatusCode::NOT_FOUND || status == StatusCode::BAD_REQUEST,
            "{uri}: {status}"
        );
    }
}

#[tokio::test]
async fn a_second_start_of_a_running_batch_is_409() {
    let (s, mut gate, _results) = gated_batch_server();
    let (status, _, _) = send(&s.app, three_maps("slow")).await;
    assert_eq!(status, StatusCode::ACCEPTED);
    // The model holds the run's first batch: the run is running.
    gate.running().await;
    let (status, _, body) = send(&s.app, three_maps("slow")).await;
    assert_eq!(
        status,
        StatusCode::CONFLICT,
        "{}",
        String::from_utf8_lossy(&body)
    );
    assert!(error_of(&body).0.contains("already running"));
    gate.open();
    assert_eq!(follow(&s.app, "slow@latest").await["state"], "complete");
}

#[tokio::test]
async fn batches_read_server_folders_only_under_the_allow_listed_root() {
    let (s, _results) = batch_server(Duration::ZERO);
    let folder = |name: &str, folder: &str| {
        post_batch(&[
            ("name", None, name.as_bytes().to_vec()),
            ("folder", None, folder.as_bytes().to_vec()),
        ])
    };
    let (status, _, body) = send(&s.app, folder("off", "set1")).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(
        error_of(&body).0.contains("--batch-root"),
        "{}",
        error_of(&body).0
    );

    let root = tempfile::tempdir().unwrap();
    let labels = root.path().join("set1/val_label");
    std::fs::create_dir_all(&labels).unwrap();
    for stem in ["x", "y"] {
        std::fs::write(
            labels.join(format!("{stem}.png")),
            png_gray(64, 64, |x, _| (x / 22) as u8),
        )
        .unwrap();
    }
    let outside = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(outside.path().join("label")).unwrap();
    let results = tempfile::tempdir().unwrap();
    let mut c = config(8, 64);
    c.results_dir = results.path().to_path_buf();
    c.batch_root = Some(root.path().to_path_buf());
    let s = server_with(Duration::ZERO, c);
    let escape = format!(
        "../{}",
        outside.path().file_name().unwrap().to_string_lossy()
    );
    for (bad, status) in [
        (escape.as_str(), StatusCode::NOT_FOUND),
        ("/etc", StatusCode::FORBIDDEN),
        ("..", StatusCode::FORBIDDEN),
        ("nothing", StatusCode::NOT_FOUND),
    ] {
        let (code, _, body) = send(&s.app, folder("bad", bad)).await;
        assert!(
            code == status || code == StatusCode::FORBIDDEN,
            "{bad}: {code} {}",
            String::from_utf8_lossy(&body)
        );
    }
    let (status, _, body) = send(&s.app, folder("served", "set1")).await;
    assert_eq!(
        status,
        StatusCode::ACCEPTED,
        "{}",
        String::from_utf8_lossy(&body)
    );
    assert_eq!(follow(&s.app, "served@latest").await["done"], 2);
}

/// One request, two ways in: the API and a batch run answer a map and its
/// instance map that must be resized for the model with the same image.
#[tokio::test]
async fn batch_runs_and_the_api_answer_the_same_request_the_same_way() {
    let tmp = tempfile::tempdir().unwrap();
    let state = state_with(
        vec![Box::new(session("coco182_tiny", tmp.path()))],
        config(4, 8),
    )
    .unwrap();
    let worker = state.models["coco182_tiny"].clone();
    let card = worker.card().clone();
    let app = app(state);
    // 80×48 is not a multiple of 32: both ways make it at the native 64×64,
    // the instance map resized with the label map.
    let inputs = spade_fixture("coco182_tiny/inputs");
    let stretch = |name: &str| {
        let img = image::open(inputs.join(name)).unwrap();
        encode_png(img.resize_exact(80, 48, image::imageops::FilterType::Nearest))
    };
    let (label, inst) = (
        stretch("label_000000000139.png"),
        stretch("inst_000000000139.png"),
    );
    let uri = "/api/v1/models/coco182_tiny/synthesize";
    let form = post_form(
        uri,
        &[
            ("label", Some("label.png"), label.clone()),
            ("instance", Some("instance.png"), inst.clone()),
            ("size", None, b"fit".to_vec()),
        ],
    );
    let (status, _, from_api) = send(&app, form).await;
    assert_eq!(
        status,
        StatusCode::OK,
        "{}",
        String::from_utf8_lossy(&from_api)
    );

    let dirs = tmp.path().join("set");
    for (dir, bytes) in [("label", &label), ("inst", &inst)] {
        write_file(&dirs.join(dir).join("scene.png"), bytes);
    }
    let results = tmp.path().join("results");
    let runtime = tokio::runtime::Handle::current();
    let gallery = tokio::task::spawn_blocking(move || {
        let spec = easel::runs::RunSpec {
            results: &results,
            name: "same",
            epoch: "latest",
            label_dir: &dirs.join("label"),
            image_dir: None,
            instance_dir: Some(&dirs.join("inst")),
            how_many: None,
            max_pixels: 1 << 24,
            shard: easel::runs::shard::Shard::WHOLE,
            execution: &easel::inference::compute::Execution::default(),
        };
        let mut run = easel::runs::Run::open(&spec, &card).unwrap();
        run.execute(&worker, &runtime, 2, &mut |_| {}).unwrap();
        run.dir.image(easel::runs::SYNTHESIZED, "scene")
    })
    .await
    .unwrap();
    let from_run = image::open(gallery).unwrap().to_rgb8();
    let from_api = image::load_from_memory(&from_api).unwrap().to_rgb8();
    assert_eq!(from_run.dimensions(), (64, 64));
    assert!(from_run == from_api, "the same pixels both ways");
    // And the instance map mattered: without it the image differs.
    let (status, _, no_instances) =
        send(&app, post(&format!("{uri}?size=fit"), "image/png", label)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(image::load_from_memory(&no_instances).unwrap().to_rgb8() != from_api);
}

/// A run made by other processes (shards under Kubernetes, another replica):
/// its events follow the run.json they keep writing until it completes.
#[tokio::test]
async fn the_events_of_a_run_made_elsewhere_follow_its_run_json_to_the_end() {
    let (s, results) = batch_server(Duration::ZERO);
    let root = results.path().join("elsewhere/test_latest");
    std::fs::create_dir_all(&root).unwrap();
    let manifest = |done: &[&str], state: &str| {
        let records: serde_json::Map<String, serde_json::Value> = done
            .iter()
            .map(|s| (s.to_string(), serde_json::json!({"source": [8, 8], "size": [8, 8], "classes": [0], "has_real": false})))
            .collect();
        serde_json::json!({
            "format": 1, "name": "elsewhere", "epoch": "latest", "model": "fake",
            "label_dir": "x", "image_dir": null, "instance_dir": null,
            "stems": ["a", "b", "c"], "done": records, "failed": {},
            "state": state, "error": null, "created": 1, "updated": 2
        })
        .to_string()
    };
    std::fs::write(root.join("run.json"), manifest(&["a"], "running")).unwrap();
    let request = Request::get("/api/v1/batches/elsewhere@latest/events")
        .body(Body::empty())
        .unwrap();
    let response = s.app.clone().oneshot(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    // The other processes write each change once the server has sent the
    // one before, so that every change is an event. They write run.json
    // whole (renamed over), as runs do.
    let next = results.path().join("run.json.next");
    let write = |done: &[&str], state: &str| {
        std::fs::write(&next, manifest(done, state)).unwrap();
        std::fs::rename(&next, root.join("run.json")).unwrap();
    };
    let mut changes = vec![
        (&["a", "b", "c"][..], "complete"),
        (&["a", "b"][..], "running"),
    ];
    let mut body = response.into_body();
    let mut text = String::new();
    let events = async {
        while let Some(frame) = body.frame().await {
            let Ok(data) = frame.unwrap().into_data() else {
                continue;
            };
            let event = std::str::from_utf8(&data).unwrap();
            text.push_str(event);
            if event.contains("data: ") {
                if let Some((done, state)) = changes.pop() {
                    write(done, state);
                }
            }
        }
    };
    let ended = tokio::time::timeout(Duration::from_secs(60), events).await;
    assert!(ended.is_ok(), "the events did not end: {text}");
    let done: Vec<u64> = text
        .lines()
        .filter_map(|l| l.strip_prefix("data: "))
        .map(|d| {
            serde_json::from_str::<serde_json::Value>(d).unwrap()["done"]
                .as_u64()
                .unwrap()
        })
        .collect();
    assert_eq!(done.first(), Some(&1), "{text}");
    assert_eq!(done.last(), Some(&3), "{text}");
    assert!(done.contains(&2), "each change is an event: {text}");
    assert!(
        text.trim_end()
            .ends_with(r#"data: {"done":3,"failed":0,"total":3,"state":"complete"}"#),
        "{text}"
    );
}

/// Two scored runs side by side: each run's scores in the header, each
/// image's agreement under it and the difference between the runs.
#[tokio::test]
async fn the_compare_page_shows_both_runs_scores_and_each_images_difference() {
    let (s, results) = batch_server(Duration::ZERO);
    let run = |name: &str, miou: [f64; 2]| {
        let root = results.path().join(name).join("test_latest");
        std::fs::create_dir_all(&root).unwrap();
        let record = |m: f64| {
            serde_json::json!({"source": [8, 8], "size": [8, 8], "classes": [0], "has_real": false,
            "agreement": {"pixel_accuracy": 0.5, "mean_iou": m, "cells": [[0, 0, 32], [0, 1, 32]]}})
        };
        let manifest = serde_json::json!({
            "format": 1, "name": name, "epoch": "latest", "model": "fake", "label_dir": "x",
            "image_dir": null, "instance_dir": null, "stems": ["a", "b"],
            "done": {"a": record(miou[0]), "b": record(miou[1])}, "failed": {},
            "state": "complete", "error": null, "created": 1, "updated": 2, "segmenter": "fake",
            "scores": {"segmenter": "fake", "images": 2, "generated": {"pixels": 128, "pixel_accuracy": 0.5,
                "mean_iou": (miou[0] + miou[1]) / 2.0, "class_iou": [0.5, null]}, "real_images": 0, "real": null}
        });
        std::fs::write(root.join("run.json"), manifest.to_string()).unwrap();
    };
    run("before", [0.25, 0.5]);
    run("after", [0.375, 0.5]);
    let (code, _, body) = get(
        &s.app,
        "/results/compare?a=before/test_latest&b=after/test_latest",
    )
    .await;
    assert_eq!(code, StatusCode::OK);
    let html = String::from_utf8(body).unwrap();
    assert!(
        html.contains(
            "before/test_latest: pixel accuracy 0.500 · mIoU 0.375 (segmenter of fake, 2 images)"
        ),
        "{html}"
    );
    assert!(
        html.contains("after/test_latest: pixel accuracy 0.500 · mIoU 0.438"),
        "{html}"
    );
    assert!(html.contains("mIoU +0.125 in after/test_latest"), "{html}");
    assert!(html.contains("mIoU +0.000 in after/test_latest"), "{html}");
    assert_eq!(html.matches("class=\"agreement\"").count(), 4);
}

/// `evaluate=true` scores a batch run with the model's segmenter, as `easel
/// test --evaluate` does; a model without one is refused before anything
/// is written.
#[tokio::test]
async fn a_batch_run_posted_with_evaluate_is_scored_by_the_models_segmenter() {
    let (s, results) = batch_server(Duration::ZERO);
    let scored = |name: &str, evaluate: &str| {
        let png = png_gray(64, 64, |x, _| (x / 22) as u8);
        post_batch(&[
            ("name", None, name.as_bytes().to_vec()),
            ("evaluate", None, evaluate.as_bytes().to_vec()),
            ("label", Some("a.png"), png.clone()),
            ("label", Some("b.png"), png),
        ])
    };
    let (status, _, body) = send(&s.app, scored("judged", "true")).await;
    assert_eq!(
        status,
        StatusCode::ACCEPTED,
        "{}",
        String::from_utf8_lossy(&body)
    );
    assert_eq!(follow(&s.app, "judged@latest").await["state"], "complete");
    let manifest: serde_json::Value = serde_json::from_slice(
        &std::fs::read(results.path().join("judged/test_latest/run.json")).unwrap(),
    )
    .unwrap();
    // The fake paints each class as a red level its segmenter reads back exactly.
    assert_eq!(manifest["scores"]["images"], 2);
    assert_eq!(manifest["scores"]["generated"]["pixel_accuracy"], 1.0);
    assert_eq!(manifest["scores"]["generated"]["mean_iou"], 1.0);
    let (_, _, page) = get(&s.app, "/results/judged/test_latest/index.html").await;
    assert!(String::from_utf8(page)
        .unwrap()
        .contains("agreement 1.000 · mIoU 1.000"));

    let (status, _, body) = send(&s.app, scored("bad", "maybe")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(error_of(&body).0.contains("neither true nor false"));
    let mut c = config(8, 64);
    let empty = tempfile::tempdir().unwrap();
    c.results_dir = empty.path().to_path_buf();
    let without = crate::support::app::server_without_segmenter_with(c);
    let (status, _, body) = send(&without.app, scored("unjudged", "true")).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        error_of(&body)
            .0
            .contains("has no segmenter to score the run with"),
        "{}",
        error_of(&body).0
    );
    assert_eq!(
        std::fs::read_dir(empty.path()).unwrap().count(),
        0,
        "nothing written"
    );
}
