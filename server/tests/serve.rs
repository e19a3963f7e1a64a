//! The REST API against a fake generator (microseconds per image), and one
//! real model: statuses, messages, headers, batching, the queue and metrics.

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use axum::Router;
use http_body_util::BodyExt;
use tower::ServiceExt;

use easel::http::{app, state_with, ServeConfig};
use easel::inference::pipeline::{SynthesisError, Work};
use easel::inference::queue::{Generator, WorkerConfig};
use easel::inference::runtime::{Output, SessionOptions};
use easel::package::{Example, ModelCard};

fn card(name: &str) -> ModelCard {
    let mut card: ModelCard =
        serde_json::from_str(include_str!("fixtures/fake_card.json")).unwrap();
    card.name = name.into();
    card
}

/// Paints each pixel's class as its red channel: -1, 0, 1 for classes 0, 1, 2.
struct Fake {
    card: ModelCard,
    delay: Duration,
    batches: Arc<Mutex<Vec<usize>>>,
}

impl Generator for Fake {
    fn card(&self) -> &ModelCard {
        &self.card
    }
    fn examples(&self) -> Vec<Example> {
        vec![Example {
            name: "stripes".into(),
            png: png_gray(64, 64, |x, _| (x / 22) as u8),
        }]
    }
    fn generate(&mut self, jobs: &[Work]) -> Result<Vec<Output>, SynthesisError> {
        std::thread::sleep(self.delay);
        self.batches.lock().unwrap().push(jobs.len());
        Ok(jobs
            .iter()
            .map(|j| {
                let (h, w) = (j.label.height(), j.label.width());
                let mut data = vec![-1.0; 3 * h * w];
                for (i, &c) in j.label.labels().iter().enumerate() {
                    data[i] = c as f32 - 1.0;
                }
                Output {
                    shape: vec![1, 3, h, w],
                    data,
                }
            })
            .collect())
    }
}

struct Server {
    app: Router,
    batches: Arc<Mutex<Vec<usize>>>,
}

fn config(max_batch: usize, max_queue: usize) -> ServeConfig {
    ServeConfig {
        models_dir: "models".into(),
        default_model: None,
        bind: "127.0.0.1:0".parse().unwrap(),
        worker: WorkerConfig {
            max_batch,
            max_queue,
            pad_batches: false,
            shed_after: None,
        },
        max_body_bytes: 1 << 20,
        max_batch_bytes: 8 << 20,
        results_dir: std::env::temp_dir().join(format!("easel-serve-test-{}", std::process::id())),
        max_pixels: 1 << 20,
        request_timeout: Duration::from_secs(10),
        session: SessionOptions::default(),
        ort_lib: None,
        cors_origins: Vec::new(),
        api_token: None,
        batch_root: None,
    }
}

fn server(delay: Duration, max_batch: usize, max_queue: usize) -> Server {
    server_with(delay, config(max_batch, max_queue))
}

fn server_with(delay: Duration, config: ServeConfig) -> Server {
    server_with_card(delay, config, card("fake"))
}

fn server_with_card(delay: Duration, config: ServeConfig, card: ModelCard) -> Server {
    let batches = Arc::new(Mutex::new(Vec::new()));
    let fake = Fake {
        card,
        delay,
        batches: batches.clone(),
    };
    let state = state_with(vec![Box::new(fake)], config).unwrap();
    Server {
        app: app(state),
        batches,
    }
}

fn png_gray(width: u32, height: u32, value: impl Fn(u32, u32) -> u8) -> Vec<u8> {
    let img = image::GrayImage::from_fn(width, height, |x, y| image::Luma([value(x, y)]));
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Png).unwrap();
    out.into_inner()
}

fn png_rgb(width: u32, height: u32, value: impl Fn(u32, u32) -> [u8; 3]) -> Vec<u8> {
    let img = image::RgbImage::from_fn(width, height, |x, y| image::Rgb(value(x, y)));
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Png).unwrap();
    out.into_inner()
}

fn post(uri: &str, content_type: &str, body: Vec<u8>) -> Request<Body> {
    Request::post(uri)
        .header(header::CONTENT_TYPE, content_type)
        .body(Body::from(body))
        .unwrap()
}

async fn send(
    app: &Router,
    request: Request<Body>,
) -> (StatusCode, axum::http::HeaderMap, Vec<u8>) {
    let response = app.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let body = response
        .into_body()
        .collect()
        .await
        .unwrap()
        .to_bytes()
        .to_vec();
    (status, headers, body)
}

fn error_of(body: &[u8]) -> (String, String) {
    let v: serde_json::Value = serde_json::from_slice(body).expect("errors are JSON");
    (
        v["error"].as_str().unwrap().to_string(),
        v["error_type"].as_str().unwrap().to_string(),
    )
}

const SYNTH: &str = "/api/v1/models/fake/synthesize";

#[tokio::test]
async fn synthesizes_an_index_png_with_timing_headers() {
    let s = server(Duration::ZERO, 8, 8);
    let (status, headers, body) = send(
        &s.app,
        post(SYNTH, "image/png", png_gray(64, 32, |x, _| (x / 22) as u8)),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{}", String::from_utf8_lossy(&body));
    assert_eq!(headers[header::CONTENT_TYPE], "image/png");
    for h in ["x-queue-time", "x-inference-time", "x-total-time"] {
        assert!(
            headers[h].to_str().unwrap().parse::<f64>().unwrap() >= 0.0,
            "{h}"
        );
    }
    let img = image::load_from_memory(&body).unwrap().to_rgb8();
    assert_eq!((img.width(), img.height()), (64, 32));
    assert_eq!(img.get_pixel(0, 0)[0], 0, "class 0 is painted red -1");
    assert_eq!(img.get_pixel(63, 0)[0], 255, "class 2 is painted red 1");
}

#[tokio::test]
async fn rejects_label_values_above_the_class_count_with_422() {
    let s = server(Duration::ZERO, 8, 8);
    let (status, _, body) = send(
        &s.app,
        post(
            SYNTH,
            "image/png",
            png_gray(64, 64, |x, y| if x + y == 0 { 7 } else { 1 }),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let (msg, kind) = error_of(&body);
    assert_eq!(kind, "invalid_map");
    assert!(
        msg.contains("7 (1 pixel)") && msg.contains("3 classes"),
        "{msg}"
    );
}

#[tokio::test]
async fn wrong_content_type_is_415_and_missing_is_415() {
    let s = server(Duration::ZERO, 8, 8);
    let (status, _, body) = send(&s.app, post(SYNTH, "text/plain", b"hello".to_vec())).await;
    assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert!(error_of(&body).0.contains("image/png"));
    let request = Request::post(SYNTH).body(Body::from("x")).unwrap();
    let (status, _, _) = send(&s.app, request).await;
    assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
}

#[tokio::test]
async fn truncated_png_is_400() {
    let s = server(Duration::ZERO, 8, 8);
    let mut png = png_gray(64, 64, |_, _| 0);
    png.truncate(png.len() / 2);
    let (status, _, body) = send(&s.app, post(SYNTH, "image/png", png)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(error_of(&body).1, "malformed");
}

#[tokio::test]
async fn oversized_body_is_413_with_the_flag_to_change() {
    let s = server(Duration::ZERO, 8, 8);
    let (status, _, body) = send(&s.app, post(SYNTH, "image/png", vec![0u8; 2 << 20])).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    let (msg, kind) = error_of(&body);
    assert_eq!(kind, "too_large");
    assert!(msg.contains("--max-body-bytes"), "{msg}");
}

#[tokio::test]
async fn decompression_bomb_is_refused_before_decoding() {
    let s = server(Duration::ZERO, 8, 8);
    // 2048×2048 of zeros compresses to a few kB but is 4 M pixels, over the 1 M limit.
    let (status, _, body) = send(
        &s.app,
        post(SYNTH, "image/png", png_gray(2048, 2048, |_, _| 0)),
    )
    .await;
    assert_eq!(
        status,
        StatusCode::PAYLOAD_TOO_LARGE,
        "{}",
        String::from_utf8_lossy(&body)
    );
    assert!(error_of(&body).0.contains("over the limit"));
}

#[tokio::test]
async fn unknown_model_is_404_listing_the_loaded_ones() {
    let s = server(Duration::ZERO, 8, 8);
    let (status, _, body) = send(
        &s.app,
        post(
            "/api/v1/models/nope/synthesize",
            "image/png",
            png_gray(64, 64, |_, _| 0),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(error_of(&body).0.contains("loaded: fake"));
}

#[tokio::test]
async fn colour_maps_match_the_palette_exactly_unless_nearest() {
    let s = server(Duration::ZERO, 8, 8);
    let off = png_rgb(64, 64, |x, y| {
        if (x, y) == (5, 3) {
            [250, 0, 0]
        } else {
            [0, 0, 255]
        }
    });
    let (status, _, body) = send(&s.app, post(SYNTH, "image/png", off.clone())).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let (msg, _) = error_of(&body);
    assert!(
        msg.contains("1 pixels") && msg.contains("x 5, y 3") && msg.contains("nearest=true"),
        "{msg}"
    );
    let (status, _, body) = send(
        &s.app,
        post(&format!("{SYNTH}?nearest=true"), "image/png", off),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let img = image::load_from_memory(&body).unwrap().to_rgb8();
    assert_eq!(img.get_pixel(5, 3)[0], 0, "off-palette red maps to class 0");
    assert_eq!(img.get_pixel(0, 0)[0], 255, "blue is class 2");
}

#[tokio::test]
async fn red_channel_encoding_reads_the_class_from_red() {
    let s = server(Duration::ZERO, 8, 8);
    let png = png_rgb(64, 64, |x, _| [if x < 32 { 1 } else { 2 }, 77, 99]);
    let (status, _, body) = send(
        &s.app,
        post(&format!("{SYNTH}?encoding=red"), "image/png", png),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{}", String::from_utf8_lossy(&body));
    let img = image::load_from_memory(&body).unwrap().to_rgb8();
    assert_eq!(img.get_pixel(0, 0)[0], 128);
    assert_eq!(img.get_pixel(63, 0)[0], 255);
}

fn multipart(fields: &[(&str, &str, Vec<u8>)]) -> (String, Vec<u8>) {
    let boundary = "easel-test-boundary";
    let mut body = Vec::new();
    for (name, content_type, data) in fields {
        body.extend(format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"; filename=\"{name}\"\r\nContent-Type: {content_type}\r\n\r\n").bytes());
        body.extend(data);
        body.extend(b"\r\n");
    }
    body.extend(format!("--{boundary}--\r\n").bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

#[tokio::test]
async fn multipart_takes_label_and_format() {
    let s = server(Duration::ZERO, 8, 8);
    let (ct, body) = multipart(&[
        ("label", "image/png", png_gray(64, 64, |_, _| 1)),
        ("format", "text/plain", b"jpeg".to_vec()),
    ]);
    let (status, headers, body) = send(&s.app, post(SYNTH, &ct, body)).await;
    assert_eq!(status, StatusCode::OK, "{}", String::from_utf8_lossy(&body));
    assert_eq!(headers[header::CONTENT_TYPE], "image/jpeg");
    assert_eq!(
        image::guess_format(&body).unwrap(),
        image::ImageFormat::Jpeg
    );
    let (ct, body) = multipart(&[("lable", "image/png", png_gray(64, 64, |_, _| 1))]);
    let (status, _, body) = send(&s.app, post(SYNTH, &ct, body)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(error_of(&body)
        .0
        .contains("unknown multipart field `lable`"));
}

#[tokio::test]
async fn maps_of_other_sizes_are_resized_and_the_image_resized_back() {
    let s = server(Duration::ZERO, 8, 8);
    let (status, _, body) =
        send(&s.app, post(SYNTH, "image/png", png_gray(50, 40, |_, _| 2))).await;
    assert_eq!(status, StatusCode::OK);
    let img = image::load_from_memory(&body).unwrap();
    assert_eq!((img.width(), img.height()), (50, 40));
    let (status, _, body) = send(
        &s.app,
        post(
            &format!("{SYNTH}?size=native"),
            "image/png",
            png_gray(50, 40, |_, _| 2),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let img = image::load_from_memory(&body).unwrap();
    assert_eq!((img.width(), img.height()), (64, 64));
}

#[tokio::test]
async fn waiting_requests_of_one_size_are_batched() {
    let s = server(Duration::from_millis(150), 8, 32);
    let png = png_gray(64, 64, |_, _| 0);
    let tasks: Vec<_> = (0..6)
        .map(|_| {
            let app = s.app.clone();
            let png = png.clone();
            tokio::spawn(async move { send(&app, post(SYNTH, "image/png", png)).await.0 })
        })
        .collect();
    for t in tasks {
        assert_eq!(t.await.unwrap(), StatusCode::OK);
    }
    let batches = s.batches.lock().unwrap().clone();
    assert_eq!(batches.iter().sum::<usize>(), 6);
    assert!(
        batches.iter().any(|&b| b > 1),
        "some requests shared a batch: {batches:?}"
    );
}

#[tokio::test]
async fn a_full_queue_answers_503_with_retry_after_at_once() {
    let s = server(Duration::from_millis(400), 1, 1);
    let png = png_gray(64, 64, |_, _| 0);
    let tasks: Vec<_> = (0..4)
        .map(|_| {
            let app = s.app.clone();
            let png = png.clone();
            tokio::spawn(async move { send(&app, post(SYNTH, "image/png", png)).await })
        })
        .collect();
    let mut overloaded = 0;
    for t in tasks {
        let (status, headers, body) = t.await.unwrap();
        if status == StatusCode::SERVICE_UNAVAILABLE {
            overloaded += 1;
            assert_eq!(headers[header::RETRY_AFTER], "1");
            assert_eq!(error_of(&body).1, "overloaded");
        } else {
            assert_eq!(status, StatusCode::OK);
        }
    }
    assert!(
        overloaded >= 1,
        "with one slot and a slow model some requests are turned away"
    );
}

#[tokio::test]
async fn models_health_and_metrics_are_served() {
    let s = server(Duration::ZERO, 8, 8);
    let (status, _, body) = send(
        &s.app,
        Request::get("/api/v1/models").body(Body::empty()).unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(v["default"], "fake");
    let (status, _, body) = send(
        &s.app,
        Request::get("/api/v1/models/fake")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let card: ModelCard = serde_json::from_slice(&body).unwrap();
    assert_eq!(card.classes[2].color, "#0000ff");
    for path in ["/healthz", "/readyz"] {
        assert_eq!(
            send(&s.app, Request::get(path).body(Body::empty()).unwrap())
                .await
                .0,
            StatusCode::OK
        );
    }
    send(&s.app, post(SYNTH, "image/png", png_gray(64, 64, |_, _| 0))).await;
    send(&s.app, post(SYNTH, "image/png", png_gray(64, 64, |_, _| 9))).await;
    let (_, _, body) = send(
        &s.app,
        Request::get("/metrics").body(Body::empty()).unwrap(),
    )
    .await;
    let text = String::from_utf8(body).unwrap();
    assert!(
        text.contains(
            "easel_requests_total{route=\"/api/v1/models/{name}/synthesize\",status=\"200\"} 1"
        ),
        "{text}"
    );
    assert!(
        text.contains("easel_failures_total{error_type=\"invalid_map\"} 1"),
        "{text}"
    );
    assert!(
        text.contains("easel_batch_size_count{model=\"fake\"} 1"),
        "{text}"
    );
    assert!(
        text.contains("easel_queue_size{model=\"fake\"} 0"),
        "{text}"
    );
}

#[tokio::test]
async fn serves_a_real_imported_model() {
    let tmp = tempfile::tempdir().unwrap();
    let session = common::session("city35_tiny", tmp.path());
    let state = state_with(vec![Box::new(session)], config(4, 8)).unwrap();
    let app = app(state);
    let label = common::read(&common::spade_fixture("city35_tiny/inputs/label_0.png"));
    let (status, headers, body) = send(
        &app,
        post("/api/v1/models/city35_tiny/synthesize", "image/png", label),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{}", String::from_utf8_lossy(&body));
    assert_eq!(headers["x-batch-size"], "1");
    let img = image::load_from_memory(&body).unwrap();
    assert_eq!((img.width(), img.height()), (256, 128));
}

#[tokio::test]
async fn a_request_that_waits_too_long_is_504_with_the_flag_to_change() {
    let mut c = config(1, 8);
    c.request_timeout = Duration::from_millis(50);
    let s = server_with(Duration::from_millis(400), c);
    let (status, _, body) =
        send(&s.app, post(SYNTH, "image/png", png_gray(64, 64, |_, _| 0))).await;
    assert_eq!(status, StatusCode::GATEWAY_TIMEOUT);
    assert!(error_of(&body).0.contains("--request-timeout"));
}

#[tokio::test]
async fn style_images_and_seeds_drive_a_vae_model() {
    let tmp = tempfile::tempdir().unwrap();
    let session = common::session("vae_tiny", tmp.path());
    let app = app(state_with(vec![Box::new(session)], config(4, 8)).unwrap());
    let uri = "/api/v1/models/vae_tiny/synthesize";
    let label = common::read(&common::spade_fixture("vae_tiny/inputs/label_0.png"));
    let style = common::read(&common::spade_fixture("vae_tiny/inputs/style.png"));
    let (ct, body) = multipart(&[
        ("label", "image/png", label.clone()),
        ("style", "image/png", style),
    ]);
    let (status, _, styled) = send(&app, post(uri, &ct, body)).await;
    assert_eq!(
        status,
        StatusCode::OK,
        "{}",
        String::from_utf8_lossy(&styled)
    );
    let (ct, body) = multipart(&[
        ("label", "image/png", label.clone()),
        ("seed", "text/plain", b"5".to_vec()),
    ]);
    let (status, _, seeded) = send(&app, post(uri, &ct, body)).await;
    assert_eq!(status, StatusCode::OK);
    let (_, _, again) = send(
        &app,
        post(&format!("{uri}?seed=5"), "image/png", label.clone()),
    )
    .await;
    assert_eq!(seeded, again, "a seed gives the same image");
    assert_ne!(styled, seeded, "the style image changes the image");
    let small = png_gray(128, 64, |_, _| 0);
    let (status, _, body) = send(
        &app,
        post(&format!("{uri}?size=native"), "image/png", small),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{}", String::from_utf8_lossy(&body));
}

#[tokio::test]
async fn instance_maps_change_the_image_of_an_instance_model() {
    let tmp = tempfile::tempdir().unwrap();
    let session = common::session("coco182_tiny", tmp.path());
    let app = app(state_with(vec![Box::new(session)], config(4, 8)).unwrap());
    let uri = "/api/v1/models/coco182_tiny/synthesize";
    let inputs = common::spade_fixture("coco182_tiny/inputs");
    let label = common::read(&inputs.join("label_000000000139.png"));
    let inst = common::read(&inputs.join("inst_000000000139.png"));
    let (ct, body) = multipart(&[
        ("label", "image/png", label.clone()),
        ("instance", "image/png", inst),
    ]);
    let (status, _, with_instances) = send(&app, post(uri, &ct, body)).await;
    assert_eq!(
        status,
        StatusCode::OK,
        "{}",
        String::from_utf8_lossy(&with_instances)
    );
    let (status, _, class_edges) = send(&app, post(uri, "image/png", label.clone())).await;
    assert_eq!(status, StatusCode::OK);
    let (_, _, no_edges) = send(&app, post(&format!("{uri}?edges=none"), "image/png", label)).await;
    assert_ne!(with_instances, no_edges);
    assert_ne!(class_edges, no_edges);
}

#[test]
fn committed_openapi_document_is_current() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/openapi.json");
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    let current = easel::http::openapi_json();
    assert!(
        committed.trim() == current.trim(),
        "docs/openapi.json is out of date: run `easel openapi > docs/openapi.json`"
    );
    for path in [
        "/api/v1/models/{name}/synthesize",
        "/api/v1/models",
        "/metrics",
    ] {
        assert!(current.contains(path), "{path} is documented");
    }
}

#[tokio::test]
async fn the_openapi_document_is_served() {
    let s = server(Duration::ZERO, 8, 8);
    let (status, _, body) = send(
        &s.app,
        Request::get("/api/v1/openapi.json")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert!(v["paths"]["/api/v1/models/{name}/synthesize"]["post"].is_object());
}

struct Broken(ModelCard);

impl Generator for Broken {
    fn card(&self) -> &ModelCard {
        &self.0
    }
    fn generate(&mut self, _: &[Work]) -> Result<Vec<Output>, SynthesisError> {
        Err(SynthesisError::BadOutput(
            "onnxruntime: secret internal detail".into(),
        ))
    }
}

#[tokio::test]
async fn inference_failures_are_500_without_internal_details() {
    let state = state_with(vec![Box::new(Broken(card("fake")))], config(8, 8)).unwrap();
    let app = app(state);
    let (status, _, body) = send(&app, post(SYNTH, "image/png", png_gray(64, 64, |_, _| 0))).await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    let (msg, kind) = error_of(&body);
    assert_eq!(kind, "internal");
    assert!(!msg.contains("secret"), "{msg}");
    let (status, _, _) = send(&app, Request::get("/healthz").body(Body::empty()).unwrap()).await;
    assert_eq!(status, StatusCode::OK, "the server stays up");
}

// ---- the painting page and what it uses -----------------------------------

async fn get(app: &Router, uri: &str) -> (StatusCode, axum::http::HeaderMap, Vec<u8>) {
    send(app, Request::get(uri).body(Body::empty()).unwrap()).await
}

#[tokio::test]
async fn serves_the_painting_page_with_security_headers() {
    let s = server(Duration::ZERO, 8, 8);
    let (status, headers, body) = get(&s.app, "/").await;
    assert_eq!(status, StatusCode::OK);
    assert!(headers[header::CONTENT_TYPE]
        .to_str()
        .unwrap()
        .starts_with("text/html"));
    let html = String::from_utf8(body).unwrap();
    assert!(
        html.contains(r#"<script type="module" src="/ui/main.js">"#),
        "{html}"
    );
    let csp = headers[header::CONTENT_SECURITY_POLICY].to_str().unwrap();
    assert!(
        csp.contains("default-src 'self'") && csp.contains("frame-ancestors 'none'"),
        "{csp}"
    );
    assert_eq!(headers[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
    assert_eq!(headers[header::X_FRAME_OPTIONS], "DENY");

    let (status, headers, _) = get(&s.app, "/favicon.ico").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers[header::CONTENT_TYPE], "image/svg+xml");

    let (_, headers, _) = get(&s.app, "/").await;
    let etag = headers[header::ETAG].clone();
    let request = Request::get("/")
        .header(header::IF_NONE_MATCH, etag)
        .body(Body::empty())
        .unwrap();
    let (status, _, body) = send(&s.app, request).await;
    assert_eq!(status, StatusCode::NOT_MODIFIED);
    assert!(body.is_empty());
}

/// Every file the page links and every module those modules import is
/// served (and so embedded in the release build), with a fitting type.
#[tokio::test]
async fn serves_every_file_the_page_loads() {
    let s = server(Duration::ZERO, 8, 8);
    let (_, _, body) = get(&s.app, "/").await;
    let html = String::from_utf8(body).unwrap();
    let mut queue: Vec<String> = html
        .split(['"', '\''])
        .filter(|t| t.starts_with("/ui/") || t.starts_with("/static/"))
        .map(str::to_string)
        .collect();
    let mut seen = std::collections::BTreeSet::new();
    while let Some(url) = queue.pop() {
        if !seen.insert(url.clone()) {
            continue;
        }
        let (status, headers, body) = get(&s.app, &url).await;
        assert_eq!(status, StatusCode::OK, "{url}");
        let kind = headers[header::CONTENT_TYPE].to_str().unwrap().to_string();
        let text = String::from_utf8(body).unwrap();
        if url.ends_with(".js") {
            assert!(kind.contains("javascript"), "{url}: {kind}");
            for import in text.split("from \"./").skip(1) {
                let file = import.split('"').next().unwrap();
                queue.push(format!("/ui/{file}"));
            }
        } else if url.ends_with(".css") {
            assert!(kind.starts_with("text/css"), "{url}: {kind}");
        } else if url.ends_with(".svg") {
            assert!(kind.starts_with("image/svg+xml"), "{url}: {kind}");
        }
    }
    for module in [
        "main.js",
        "api.js",
        "labelmap.js",
        "live.js",
        "png.js",
        "history.js",
        "classes.js",
    ] {
        assert!(
            seen.contains(&format!("/ui/{module}")),
            "{module} is not reached from the page: {seen:?}"
        );
    }
}

/// In release builds the page is embedded: what is served must be what is
/// in frontend/src and static/ now (a stale embed would fail here).
#[tokio::test]
async fn served_page_files_are_the_source_files() {
    let s = server(Duration::ZERO, 8, 8);
    let repo = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    for (folder, prefix) in [("frontend/src", "/ui/"), ("static", "/static/")] {
        let mut files = 0;
        for entry in std::fs::read_dir(repo.join(folder)).unwrap() {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_str().unwrap().to_string();
            let (status, _, body) = get(&s.app, &format!("{prefix}{name}")).await;
            assert_eq!(status, StatusCode::OK, "{folder}/{name}");
            assert!(
                body == std::fs::read(&path).unwrap(),
                "{folder}/{name} is served stale"
            );
            files += 1;
        }
        assert!(files >= 2, "{folder} has the page's files");
    }
}

#[tokio::test]
async fn unknown_page_files_are_404_json() {
    let s = server(Duration::ZERO, 8, 8);
    for uri in [
        "/ui/nothing.js",
        "/static/../Cargo.toml",
        "/ui/%2e%2e/%2e%2e/Cargo.toml",
    ] {
        let (status, _, body) = get(&s.app, uri).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{uri}");
        assert_eq!(error_of(&body).1, "not_found", "{uri}");
    }
}

#[tokio::test]
async fn lists_and_serves_a_models_example_maps() {
    let s = server(Duration::ZERO, 8, 8);
    let (status, _, body) = get(&s.app, "/api/v1/models/fake/examples").await;
    assert_eq!(status, StatusCode::OK);
    let list: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(list["examples"][0]["name"], "stripes");
    let url = list["examples"][0]["url"].as_str().unwrap().to_string();
    let (status, headers, body) = get(&s.app, &url).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers[header::CONTENT_TYPE], "image/png");
    assert_eq!(body, png_gray(64, 64, |x, _| (x / 22) as u8));

    let (status, _, body) = get(&s.app, "/api/v1/models/fake/examples/..%2Fmodel.json").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(
        error_of(&body).0.contains("stripes.png"),
        "the error lists what there is"
    );
    let (status, _, _) = get(&s.app, "/api/v1/models/nope/examples").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

const LABEL_MAP: &str = "/api/v1/models/fake/label-map";

#[tokio::test]
async fn label_map_endpoint_answers_indices_at_the_native_size() {
    let s = server(Duration::ZERO, 8, 8);
    // 128×32 → native 64×64 by nearest neighbour: x' = 2x, y' = y / 2.
    let value = |x: u32, y: u32| ((x / 50 + y / 20) % 3) as u8;
    let (status, headers, body) = send(
        &s.app,
        post(LABEL_MAP, "image/png", png_gray(128, 32, value)),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{}", String::from_utf8_lossy(&body));
    assert_eq!(headers["x-width"], "64");
    assert_eq!(headers["x-height"], "64");
    assert_eq!(headers["x-source-width"], "128");
    assert_eq!(headers["x-source-height"], "32");
    assert_eq!(headers["x-bytes-per-value"], "1");
    let expected: Vec<u8> = (0..64)
        .flat_map(|y| (0..64).map(move |x| value(2 * x, y / 2)))
        .collect();
    assert_eq!(body, expected);

    let uri = format!("{LABEL_MAP}?size=input");
    let (status, headers, body) =
        send(&s.app, post(&uri, "image/png", png_gray(128, 32, value))).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers["x-width"], "128");
    assert_eq!(body.len(), 128 * 32);
}

#[tokio::test]
async fn label_map_endpoint_reads_colours_and_names_off_palette_pixels() {
    let s = server(Duration::ZERO, 8, 8);
    let colours = |x: u32, y: u32| match (x, y) {
        (5, 7) => [250, 10, 0],
        (x, _) if x < 32 => [0, 255, 0],
        _ => [0, 0, 255],
    };
    let (status, _, body) = send(
        &s.app,
        post(LABEL_MAP, "image/png", png_rgb(64, 64, colours)),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let (msg, kind) = error_of(&body);
    assert_eq!(kind, "invalid_map");
    assert!(
        msg.contains("1 pixels") && msg.contains("x 5, y 7") && msg.contains("nearest=true"),
        "{msg}"
    );

    let uri = format!("{LABEL_MAP}?nearest=true");
    let (status, _, body) = send(&s.app, post(&uri, "image/png", png_rgb(64, 64, colours))).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body[7 * 64 + 5], 0, "#fa0a00 is nearest to c0 (#ff0000)");
    assert_eq!(body[0], 1);
    assert_eq!(body[63], 2);
}

#[tokio::test]
async fn label_map_endpoint_answers_two_bytes_per_value_past_256_classes() {
    let mut wide = card("fake");
    wide.classes = (0..300)
        .map(|i| easel::package::classes::ClassInfo {
            name: format!("c{i}"),
            color: format!("#{:06x}", i * 40_000),
            coco_stuff: None,
        })
        .collect();
    let s = server_with_card(Duration::ZERO, config(8, 8), wide);
    let img = image::ImageBuffer::<image::Luma<u16>, Vec<u16>>::from_fn(64, 64, |x, y| {
        image::Luma([((4 * x + y) % 300) as u16])
    });
    let mut png = std::io::Cursor::new(Vec::new());
    img.write_to(&mut png, image::ImageFormat::Png).unwrap();
    let (status, headers, body) =
        send(&s.app, post(LABEL_MAP, "image/png", png.into_inner())).await;
    assert_eq!(status, StatusCode::OK, "{}", String::from_utf8_lossy(&body));
    assert_eq!(headers["x-bytes-per-value"], "2");
    let at = |x: usize, y: usize| {
        u16::from_be_bytes([body[2 * (y * 64 + x)], body[2 * (y * 64 + x) + 1]])
    };
    assert_eq!(at(63, 40), 292, "a value past one byte survives");
    assert_eq!(at(3, 1), 13);
}

// ---- batch runs through the API --------------------------------------------

fn batch_post(fields: &[(&str, Option<&str>, Vec<u8>)]) -> Request<Body> {
    let boundary = "easel-test-boundary";
    let mut body = Vec::new();
    for (name, file, data) in fields {
        body.extend_from_slice(
            format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"").as_bytes(),
        );
        if let Some(file) = file {
            body.extend_from_slice(format!("; filename=\"{file}\"").as_bytes());
        }
        body.extend_from_slice(b"\r\n\r\n");
        body.extend_from_slice(data);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    Request::post("/api/v1/batches")
        .header(
            header::CONTENT_TYPE,
            format!("multipart/form-data; boundary={boundary}"),
        )
        .body(Body::from(body))
        .unwrap()
}

fn batch_server(delay: Duration) -> (Server, tempfile::TempDir) {
    let results = tempfile::tempdir().unwrap();
    let mut c = config(8, 64);
    c.results_dir = results.path().to_path_buf();
    (server_with(delay, c), results)
}

fn three_maps(name: &str) -> Vec<(&'static str, Option<String>, Vec<u8>)> {
    let mut fields = vec![("name", None, name.as_bytes().to_vec())];
    for (i, stem) in ["a", "b", "c"].iter().enumerate() {
        fields.push((
            "label",
            Some(format!("{stem}.png")),
            png_gray(64, 64, move |x, _| ((x as usize / 22 + i) % 3) as u8),
        ));
    }
    fields
}

fn as_fields<'a>(
    v: &'a [(&'static str, Option<String>, Vec<u8>)],
) -> Vec<(&'static str, Option<&'a str>, Vec<u8>)> {
    v.iter()
        .map(|(n, f, d)| (*n, f.as_deref(), d.clone()))
        .collect()
}

/// Follows the events to the end; returns the last event's data.
async fn follow(app: &Router, id: &str) -> serde_json::Value {
    let (status, headers, body) = get(app, &format!("/api/v1/batches/{id}/events")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers[header::CONTENT_TYPE], "text/event-stream");
    let text = String::from_utf8(body).unwrap();
    let last = text
        .lines()
        .rev()
        .find_map(|l| l.strip_prefix("data: "))
        .expect("events");
    assert!(text.contains("event: progress"), "{text}");
    serde_json::from_str(last).unwrap()
}

#[tokio::test]
async fn a_batch_run_streams_its_progress_to_100_percent_and_serves_its_gallery() {
    let (s, _results) = batch_server(Duration::from_millis(10));
    let (status, _, body) = send(&s.app, batch_post(&as_fields(&three_maps("api_run")))).await;
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
    let srcs: Vec<&str> = html
        .split("src=\"")
        .skip(1)
        .map(|s| s.split('"').next().unwrap())
        .collect();
    assert_eq!(srcs.len(), 6, "label and image for three maps");
    for src in srcs {
        let (code, headers, _) = get(&s.app, &format!("{base}{src}")).await;
        assert_eq!(code, StatusCode::OK, "{src}");
        assert_eq!(headers[header::CONTENT_TYPE], "image/png");
    }

    // Posting the name again with no files resumes it: nothing left to do.
    let (status, _, body) = send(&s.app, batch_post(&[("name", None, b"api_run".to_vec())])).await;
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
            batch_post(&[
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
        assert_eq!(follow(&s.app, &format!("{name}@latest")).await["done"], 2);
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
        let (status, _, body) = send(&s.app, batch_post(&as_fields(&three_maps(name)))).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{name}");
        assert!(error_of(&body).0.contains("not allowed"), "{name}");
    }
    assert!(!results.path().join("../escape").exists());
    let (status, _, body) = send(
        &s.app,
        batch_post(&[
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
        batch_post(&[
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
    let (status, _, _) = send(&s.app, batch_post(&[("name", None, b"empty".to_vec())])).await;
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
    let (s, _results) = batch_server(Duration::from_millis(300));
    let (status, _, _) = send(&s.app, batch_post(&as_fields(&three_maps("slow")))).await;
    assert_eq!(status, StatusCode::ACCEPTED);
    let (status, _, body) = send(&s.app, batch_post(&as_fields(&three_maps("slow")))).await;
    assert_eq!(
        status,
        StatusCode::CONFLICT,
        "{}",
        String::from_utf8_lossy(&body)
    );
    assert!(error_of(&body).0.contains("already running"));
    assert_eq!(follow(&s.app, "slow@latest").await["state"], "complete");
}

// ---- safe defaults -----------------------------------------------------------

#[tokio::test]
async fn an_api_token_guards_the_api_but_not_pages_or_health() {
    let mut c = config(8, 8);
    c.api_token = Some("s3cret-token".into());
    let s = server_with(Duration::ZERO, c);
    let (status, headers, body) = get(&s.app, "/api/v1/models").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(headers[header::WWW_AUTHENTICATE]
        .to_str()
        .unwrap()
        .starts_with("Bearer"));
    let (msg, kind) = error_of(&body);
    assert_eq!(kind, "unauthorized");
    assert!(msg.contains("Authorization: Bearer"), "{msg}");
    let with = |token: &str| {
        Request::get("/api/v1/models")
            .header(header::AUTHORIZATION, format!("Bearer {token}"))
            .body(Body::empty())
            .unwrap()
    };
    let (status, _, body) = send(&s.app, with("s3cret-tokeX")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(error_of(&body).0.contains("wrong"));
    let (status, _, _) = send(&s.app, with("s3cret-token")).await;
    assert_eq!(status, StatusCode::OK);
    let (status, _, _) = send(&s.app, post(SYNTH, "image/png", png_gray(64, 64, |_, _| 0))).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "synthesis too");
    for open in ["/", "/healthz", "/readyz", "/metrics", "/ui/main.js"] {
        let (status, _, _) = get(&s.app, open).await;
        assert_eq!(status, StatusCode::OK, "{open}");
    }
}

#[tokio::test]
async fn cors_is_off_unless_origins_are_configured() {
    let preflight = |origin: &str| {
        Request::options("/api/v1/models")
            .header(header::ORIGIN, origin)
            .header(header::ACCESS_CONTROL_REQUEST_METHOD, "POST")
            .body(Body::empty())
            .unwrap()
    };
    let s = server(Duration::ZERO, 8, 8);
    let request = Request::get("/api/v1/models")
        .header(header::ORIGIN, "https://elsewhere.example")
        .body(Body::empty())
        .unwrap();
    let (_, headers, _) = send(&s.app, request).await;
    assert!(
        headers.get(header::ACCESS_CONTROL_ALLOW_ORIGIN).is_none(),
        "no CORS by default"
    );
    let (_, headers, _) = send(&s.app, preflight("https://elsewhere.example")).await;
    assert!(headers.get(header::ACCESS_CONTROL_ALLOW_ORIGIN).is_none());

    let mut c = config(8, 8);
    c.cors_origins = vec!["https://paint.example".into()];
    let s = server_with(Duration::ZERO, c);
    let (_, headers, _) = send(&s.app, preflight("https://paint.example")).await;
    assert_eq!(
        headers[header::ACCESS_CONTROL_ALLOW_ORIGIN],
        "https://paint.example"
    );
    let (_, headers, _) = send(&s.app, preflight("https://elsewhere.example")).await;
    assert!(
        headers.get(header::ACCESS_CONTROL_ALLOW_ORIGIN).is_none(),
        "only the configured origin"
    );
}

#[tokio::test]
async fn batches_read_server_folders_only_under_the_allow_listed_root() {
    let (s, _results) = batch_server(Duration::ZERO);
    let folder = |name: &str, folder: &str| {
        batch_post(&[
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

// ---- the bad-input corpus ------------------------------------------------------

fn png_with(
    width: u32,
    height: u32,
    colour: png::ColorType,
    depth: png::BitDepth,
    data: &[u8],
    palette: Option<&[u8]>,
) -> Vec<u8> {
    let mut out = Vec::new();
    {
        let mut encoder = png::Encoder::new(&mut out, width, height);
        encoder.set_color(colour);
        encoder.set_depth(depth);
        if let Some(p) = palette {
            encoder.set_palette(p.to_vec());
        }
        let mut writer = encoder.write_header().unwrap();
        writer.write_image_data(data).unwrap();
    }
    out
}

fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = 0xffff_ffffu32;
    for &b in bytes {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                0xedb8_8320 ^ (crc >> 1)
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

/// A PNG whose header claims `width`×`height` (with a valid CRC) over a tiny body.
fn bomb(width: u32, height: u32) -> Vec<u8> {
    let mut png = png_gray(1, 1, |_, _| 0);
    png[16..20].copy_from_slice(&width.to_be_bytes());
    png[20..24].copy_from_slice(&height.to_be_bytes());
    let crc = crc32(&png[12..29]);
    png[29..33].copy_from_slice(&crc.to_be_bytes());
    png
}

fn form(fields: &[(&str, Option<&str>, Vec<u8>)], uri: &str) -> Request<Body> {
    let mut request = batch_post(fields);
    *request.uri_mut() = uri.parse().unwrap();
    request
}

/// Every case gets its documented status and a message naming the problem,
/// and the server stays healthy throughout.
#[tokio::test]
async fn the_bad_input_corpus_gets_its_documented_answers() {
    let (s, _results) = batch_server(Duration::ZERO);
    let good = png_gray(64, 64, |x, _| (x / 22) as u8);
    let gray16 = |v: u16| {
        png_with(
            64,
            64,
            png::ColorType::Grayscale,
            png::BitDepth::Sixteen,
            &v.to_be_bytes().repeat(64 * 64),
            None,
        )
    };
    let palette = [
        255u8, 0, 0, 0, 255, 0, 0, 0, 255, 9, 9, 9, 1, 1, 1, 2, 2, 2, 3, 3, 3, 4, 4, 4,
    ];
    let paletted = |i: u8| {
        png_with(
            64,
            64,
            png::ColorType::Indexed,
            png::BitDepth::Eight,
            &vec![i; 64 * 64],
            Some(&palette),
        )
    };
    let with_query = |q: &str, body: Vec<u8>| post(&format!("{SYNTH}?{q}"), "image/png", body);
    let mut corpus: Vec<(&str, Request<Body>, StatusCode, &str)> = vec![
        (
            "truncated PNG header",
            post(SYNTH, "image/png", good[..30].to_vec()),
            StatusCode::BAD_REQUEST,
            "not a readable PNG",
        ),
        (
            "truncated PNG data",
            post(SYNTH, "image/png", good[..good.len() - 20].to_vec()),
            StatusCode::BAD_REQUEST,
            "not a readable PNG",
        ),
        (
            "PNG signature only",
            post(SYNTH, "image/png", good[..8].to_vec()),
            StatusCode::BAD_REQUEST,
            "not a readable PNG",
        ),
        (
            "empty body",
            post(SYNTH, "image/png", Vec::new()),
            StatusCode::BAD_REQUEST,
            "PNG",
        ),
        (
            "random bytes",
            post(
                SYNTH,
                "image/png",
                (0..5000u32).map(|i| (i * 7919 % 251) as u8).collect(),
            ),
            StatusCode::BAD_REQUEST,
            "not a readable PNG",
        ),
        (
            "a JPEG sent as PNG",
            post(SYNTH, "image/png", {
                let mut c = std::io::Cursor::new(Vec::new());
                image::RgbImage::new(8, 8)
                    .write_to(&mut c, image::ImageFormat::Jpeg)
                    .unwrap();
                c.into_inner()
            }),
            StatusCode::BAD_REQUEST,
            "not a readable PNG",
        ),
        (
            "1×1 map (resized through the native size)",
            post(SYNTH, "image/png", png_gray(1, 1, |_, _| 1)),
            StatusCode::OK,
            "",
        ),
        (
            "100000×1 map",
            post(
                SYNTH,
                "image/png",
                png_gray(100_000, 1, |x, _| (x % 3) as u8),
            ),
            StatusCode::OK,
            "",
        ),
        (
            "decompression bomb 100000×100000",
            post(SYNTH, "image/png", bomb(100_000, 100_000)),
            StatusCode::PAYLOAD_TOO_LARGE,
            "over the limit",
        ),
        (
            "bomb just over the pixel limit",
            post(SYNTH, "image/png", bomb(1025, 1024)),
            StatusCode::PAYLOAD_TOO_LARGE,
            "--max-pixels",
        ),
        (
            "zero-width PNG",
            post(SYNTH, "image/png", bomb(0, 64)),
            StatusCode::BAD_REQUEST,
            "PNG",
        ),
        (
            "16-bit indices in range",
            post(SYNTH, "image/png", gray16(2)),
            StatusCode::OK,
            "",
        ),
        (
            "16-bit index 300",
            post(SYNTH, "image/png", gray16(300)),
            StatusCode::UNPROCESSABLE_ENTITY,
            "300",
        ),
        (
            "16-bit index 65535",
            post(SYNTH, "image/png", gray16(65535)),
            StatusCode::UNPROCESSABLE_ENTITY,
            "65535",
        ),
        (
            "paletted, indices in range",
            post(SYNTH, "image/png", paletted(2)),
            StatusCode::OK,
            "",
        ),
        (
            "paletted, index 7",
            post(SYNTH, "image/png", paletted(7)),
            StatusCode::UNPROCESSABLE_ENTITY,
            "7",
        ),
        (
            "1-bit grayscale",
            post(
                SYNTH,
                "image/png",
                png_with(
                    64,
                    64,
                    png::ColorType::Grayscale,
                    png::BitDepth::One,
                    &[0b1010_1010; 8 * 64],
                    None,
                ),
            ),
            StatusCode::OK,
            "",
        ),
        (
            "8-bit index 255 without a dontcare class",
            post(SYNTH, "image/png", png_gray(64, 64, |_, _| 255)),
            StatusCode::UNPROCESSABLE_ENTITY,
            "255",
        ),
        (
            "gray with alpha (alpha ignored)",
            post(
                SYNTH,
                "image/png",
                png_with(
                    64,
                    64,
                    png::ColorType::GrayscaleAlpha,
                    png::BitDepth::Eight,
                    &[1, 255].repeat(64 * 64),
                    None,
                ),
            ),
            StatusCode::OK,
            "",
        ),
        (
            "RGB in the palette's colours",
            post(
                SYNTH,
                "image/png",
                png_rgb(
                    64,
                    64,
                    |x, _| if x < 32 { [255, 0, 0] } else { [0, 0, 255] },
                ),
            ),
            StatusCode::OK,
            "",
        ),
        (
            "RGB off the palette",
            post(SYNTH, "image/png", png_rgb(64, 64, |_, _| [1, 2, 3])),
            StatusCode::UNPROCESSABLE_ENTITY,
            "not in model fake's palette",
        ),
        (
            "RGB off the palette, nearest",
            with_query("nearest=true", png_rgb(64, 64, |_, _| [250, 2, 3])),
            StatusCode::OK,
            "",
        ),
        (
            "RGB as index encoding",
            with_query("encoding=index", png_rgb(64, 64, |_, _| [255, 0, 0])),
            StatusCode::UNPROCESSABLE_ENTITY,
            "colour image",
        ),
        (
            "red encoding out of range",
            with_query("encoding=red", png_rgb(64, 64, |_, _| [9, 0, 0])),
            StatusCode::UNPROCESSABLE_ENTITY,
            "9",
        ),
        (
            "red encoding of a grayscale map",
            with_query("encoding=red", good.clone()),
            StatusCode::UNPROCESSABLE_ENTITY,
            "channel",
        ),
        (
            "unknown encoding",
            with_query("encoding=bogus", good.clone()),
            StatusCode::BAD_REQUEST,
            "encoding `bogus`",
        ),
        (
            "unknown format",
            with_query("format=gif", good.clone()),
            StatusCode::BAD_REQUEST,
            "format `gif`",
        ),
        (
            "unknown size mode",
            with_query("size=huge", good.clone()),
            StatusCode::BAD_REQUEST,
            "size `huge`",
        ),
        (
            "unknown edges mode",
            with_query("edges=some", good.clone()),
            StatusCode::BAD_REQUEST,
            "edges `some`",
        ),
        (
            "bad boolean query",
            with_query("nearest=maybe", good.clone()),
            StatusCode::BAD_REQUEST,
            "nearest",
        ),
        (
            "50 MB body",
            post(SYNTH, "image/png", vec![0u8; 50 << 20]),
            StatusCode::PAYLOAD_TOO_LARGE,
            "--max-body-bytes",
        ),
        (
            "text/plain",
            post(SYNTH, "text/plain", good.clone()),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "image/png",
        ),
        (
            "image/jpeg content type",
            post(SYNTH, "image/jpeg", good.clone()),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "image/jpeg",
        ),
        (
            "no content type",
            Request::post(SYNTH).body(Body::from(good.clone())).unwrap(),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "Content-Type",
        ),
        (
            "multipart without a boundary",
            post(SYNTH, "multipart/form-data", good.clone()),
            StatusCode::BAD_REQUEST,
            "boundary",
        ),
        (
            "multipart garbage",
            post(
                SYNTH,
                "multipart/form-data; boundary=xyz",
                b"--xyz\r\ngarbage".to_vec(),
            ),
            StatusCode::BAD_REQUEST,
            "",
        ),
        (
            "multipart unknown field",
            form(&[("colour", None, b"red".to_vec())], SYNTH),
            StatusCode::BAD_REQUEST,
            "unknown multipart field `colour`",
        ),
        (
            "multipart without a label",
            form(&[("seed", None, b"3".to_vec())], SYNTH),
            StatusCode::BAD_REQUEST,
            "no label map",
        ),
        (
            "multipart seed not a number",
            form(
                &[
                    ("label", Some("l.png"), good.clone()),
                    ("seed", None, b"abc".to_vec()),
                ],
                SYNTH,
            ),
            StatusCode::BAD_REQUEST,
            "seed `abc`",
        ),
        (
            "instance map of another size",
            form(
                &[
                    ("label", Some("l.png"), good.clone()),
                    ("instance", Some("i.png"), png_gray(32, 32, |_, _| 1)),
                ],
                SYNTH,
            ),
            StatusCode::UNPROCESSABLE_ENTITY,
            "same size",
        ),
        (
            "truncated instance map",
            form(
                &[
                    ("label", Some("l.png"), good.clone()),
                    ("instance", Some("i.png"), good[..40].to_vec()),
                ],
                SYNTH,
            ),
            StatusCode::BAD_REQUEST,
            "instance map",
        ),
        (
            "style image that is not an image",
            form(
                &[
                    ("label", Some("l.png"), good.clone()),
                    ("style", Some("s.png"), b"nope".to_vec()),
                ],
                SYNTH,
            ),
            StatusCode::BAD_REQUEST,
            "style image",
        ),
        (
            "unknown model",
            post("/api/v1/models/nope/synthesize", "image/png", good.clone()),
            StatusCode::NOT_FOUND,
            "no model named `nope`",
        ),
        (
            "traversal as a model name",
            post(
                "/api/v1/models/..%2F..%2Fetc/synthesize",
                "image/png",
                good.clone(),
            ),
            StatusCode::NOT_FOUND,
            "no model named",
        ),
        (
            "unicode model name",
            post(
                "/api/v1/models/%E6%97%A5%E6%9C%AC/synthesize",
                "image/png",
                good.clone(),
            ),
            StatusCode::NOT_FOUND,
            "no model named `日本`",
        ),
        (
            "GET on synthesize",
            Request::get(SYNTH).body(Body::empty()).unwrap(),
            StatusCode::METHOD_NOT_ALLOWED,
            "",
        ),
        (
            "label-map endpoint, truncated",
            post(LABEL_MAP, "image/png", good[..50].to_vec()),
            StatusCode::BAD_REQUEST,
            "not a readable PNG",
        ),
        (
            "example traversal",
            Request::get("/api/v1/models/fake/examples/..%2F..%2Fmodel.json")
                .body(Body::empty())
                .unwrap(),
            StatusCode::NOT_FOUND,
            "no example",
        ),
        (
            "batch run named with a traversal",
            batch_post(&[
                ("name", None, b"../../x".to_vec()),
                ("label", Some("a.png"), good.clone()),
            ]),
            StatusCode::BAD_REQUEST,
            "not allowed",
        ),
        (
            "batch run named in unicode",
            batch_post(&[
                ("name", None, "naïve".as_bytes().to_vec()),
                ("label", Some("a.png"), good.clone()),
            ]),
            StatusCode::BAD_REQUEST,
            "not allowed",
        ),
        (
            "batch run name with a NUL",
            batch_post(&[
                ("name", None, b"a\0b".to_vec()),
                ("label", Some("a.png"), good.clone()),
            ]),
            StatusCode::BAD_REQUEST,
            "not allowed",
        ),
        (
            "batch file named with a traversal",
            batch_post(&[
                ("name", None, b"ok".to_vec()),
                ("label", Some("../.."), good.clone()),
            ]),
            StatusCode::BAD_REQUEST,
            "file name",
        ),
        (
            "batch zip that is not a zip",
            batch_post(&[
                ("name", None, b"ok".to_vec()),
                ("zip", Some("z.zip"), b"PK\x03\x04broken".to_vec()),
            ]),
            StatusCode::BAD_REQUEST,
            "zip",
        ),
        (
            "batch without a name",
            batch_post(&[("label", Some("a.png"), good.clone())]),
            StatusCode::BAD_REQUEST,
            "no `name`",
        ),
        (
            "batch id without an epoch",
            Request::get("/api/v1/batches/justname")
                .body(Body::empty())
                .unwrap(),
            StatusCode::NOT_FOUND,
            "<name>@<epoch>",
        ),
    ];
    assert!(corpus.len() >= 40, "{} cases", corpus.len());
    let mut failures = Vec::new();
    for (name, request, status, message) in corpus.drain(..) {
        let (got, _, body) = send(&s.app, request).await;
        let text = String::from_utf8_lossy(&body).to_string();
        let ok = got == status
            && (status == StatusCode::OK
                || status == StatusCode::METHOD_NOT_ALLOWED
                || serde_json::from_slice::<serde_json::Value>(&body).is_ok_and(|v| {
                    v["error"].as_str().is_some_and(|e| e.contains(message))
                        && v["error_type"].is_string()
                }));
        if !ok {
            failures.push(format!(
                "{name}: expected {status} with `{message}`, got {got}: {}",
                text.chars().take(300).collect::<String>()
            ));
        }
        let (health, _, _) = get(&s.app, "/healthz").await;
        assert_eq!(health, StatusCode::OK, "unhealthy after {name}");
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    let (status, _, _) = send(&s.app, post(SYNTH, "image/png", good)).await;
    assert_eq!(status, StatusCode::OK, "still serving");
}

/// One request, two ways in: the API and a batch run answer a map and its
/// instance map that must be resized for the model with the same image.
#[tokio::test]
async fn batch_runs_and_the_api_answer_the_same_request_the_same_way() {
    let tmp = tempfile::tempdir().unwrap();
    let session = common::session("coco182_tiny", tmp.path());
    let state = state_with(vec![Box::new(session)], config(4, 8)).unwrap();
    let worker = state.models["coco182_tiny"].clone();
    let card = worker.card().clone();
    let app = app(state);
    // 80×48 is not a multiple of 32: both ways make it at the native 64×64,
    // the instance map resized with the label map.
    let inputs = common::spade_fixture("coco182_tiny/inputs");
    let stretch = |name: &str| {
        let img = image::open(inputs.join(name)).unwrap();
        let mut out = std::io::Cursor::new(Vec::new());
        img.resize_exact(80, 48, image::imageops::FilterType::Nearest)
            .write_to(&mut out, image::ImageFormat::Png)
            .unwrap();
        out.into_inner()
    };
    let (label, inst) = (
        stretch("label_000000000139.png"),
        stretch("inst_000000000139.png"),
    );
    let (ct, body) = multipart(&[
        ("label", "image/png", label.clone()),
        ("instance", "image/png", inst.clone()),
        ("size", "text/plain", b"fit".to_vec()),
    ]);
    let uri = "/api/v1/models/coco182_tiny/synthesize";
    let (status, _, from_api) = send(&app, post(uri, &ct, body)).await;
    assert_eq!(
        status,
        StatusCode::OK,
        "{}",
        String::from_utf8_lossy(&from_api)
    );

    let dirs = tmp.path().join("set");
    for (dir, bytes) in [("label", &label), ("inst", &inst)] {
        std::fs::create_dir_all(dirs.join(dir)).unwrap();
        std::fs::write(dirs.join(dir).join("scene.png"), bytes).unwrap();
    }
    let results = tmp.path().join("results");
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
        };
        let mut run = easel::runs::Run::open(&spec, &card).unwrap();
        run.execute(&worker, 2, &mut |_| {}).unwrap();
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
