//! The HTTP API without a socket: the full router over a fake generator that
//! paints each class as a red level in microseconds (or over real models),
//! driven with `tower::ServiceExt::oneshot`.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Body;
use axum::http::{header, HeaderMap, Request, StatusCode};
use axum::Router;
use http_body_util::BodyExt;
use tower::ServiceExt;

use easel::http::{app, state_with, ServeConfig};
use easel::inference::compute::{Execution, Provider};
use easel::inference::pipeline::{SynthesisError, Work};
use easel::inference::queue::{Generator, WorkerConfig};
use easel::inference::request::Compute;
use easel::inference::runtime::{Output, SessionOptions};
use easel::inference::segment::{Reading, SegmentError, Segmenter};
use easel::package::maps::LabelMap;
use easel::package::{Example, ModelCard};

use super::png::png_gray;

pub const SYNTH: &str = "/api/v1/models/fake/synthesize";
pub const LABEL_MAP: &str = "/api/v1/models/fake/label-map";
pub const SEGMENT: &str = "/api/v1/models/fake/segment";

/// The fake model's card under another name.
pub fn card(name: &str) -> ModelCard {
    let mut card = super::fake_card();
    card.name = name.into();
    card
}

/// Paints each pixel's class as its red channel: -1, 0, 1 for classes 0, 1, 2.
struct Fake {
    card: ModelCard,
    /// Simulated inference time, a batch.
    delay: Duration,
    batches: Arc<Mutex<Vec<usize>>>,
    /// Whether it has a segmenter (`FakeSegmenter`).
    segmenter: bool,
    /// The model's end of a test's `Gate`, when it has one.
    gate: Option<Held>,
}

/// Where a gated fake says it holds a batch, and waits to run it.
struct Held {
    started: tokio::sync::mpsc::UnboundedSender<usize>,
    /// Never sent to: the test opens the gate by dropping its end.
    open: std::sync::mpsc::Receiver<()>,
}

/// Holds the fake model's batches until the test lets them run, so that a
/// test knows what is queued while one runs without racing the model.
pub struct Gate {
    started: tokio::sync::mpsc::UnboundedReceiver<usize>,
    open: Option<std::sync::mpsc::Sender<()>>,
}

impl Gate {
    /// Waits until the model holds a batch; its size.
    pub async fn running(&mut self) -> usize {
        self.started.recv().await.expect("the model stopped")
    }

    /// Lets the batch held and every later one run.
    pub fn open(&mut self) {
        self.open = None;
    }
}

impl Generator for Fake {
    fn card(&self) -> &ModelCard {
        &self.card
    }
    /// Says bf16, as a model on OpenVINO would: the worker, /api/v1/models
    /// and the answers' headers must carry what the generator says.
    fn execution(&self) -> Execution {
        Execution {
            compute: Compute::Bf16,
            provider: Provider::OpenVino,
            reason: "the fake says so".into(),
            ..Execution::default()
        }
    }
    fn examples(&self) -> Vec<Example> {
        vec![Example {
            name: "stripes".into(),
            png: png_gray(64, 64, |x, _| (x / 22) as u8),
        }]
    }
    fn generate(&mut self, jobs: &[Work]) -> Result<Vec<Output>, SynthesisError> {
        if let Some(gate) = &self.gate {
            let _ = gate.started.send(jobs.len());
            let _ = gate.open.recv();
        }
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
    fn take_segmenter(&mut self) -> Option<Box<dyn Segmenter>> {
        let card = self.card.clone();
        self.segmenter
            .then(|| Box::new(FakeSegmenter { card }) as Box<dyn Segmenter>)
    }
}

/// Names each pixel's class by its red level: below 86 the first class,
/// below 172 the second, else the third (the fake card has three).
struct FakeSegmenter {
    card: ModelCard,
}

impl Segmenter for FakeSegmenter {
    fn segment(&mut self, photo: &image::RgbImage, _: Reading) -> Result<LabelMap, SegmentError> {
        let values = photo.pixels().map(|p| u32::from(p[0]) / 86).collect();
        let (w, h) = (photo.width() as usize, photo.height() as usize);
        LabelMap::new(w, h, values, &self.card).map_err(|e| SegmentError::BadOutput(e.to_string()))
    }

    fn judge(&self) -> String {
        "red levels".into()
    }
}

/// The router over the fake model, and the size of every batch it ran.
pub struct Server {
    pub app: Router,
    pub batches: Arc<Mutex<Vec<usize>>>,
}

pub fn config(max_batch: usize, max_queue: usize) -> ServeConfig {
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
        protect_results: false,
        batch_root: None,
        cache_bytes: 64 << 20,
    }
}

/// The fake model taking `delay` a batch, with the given batch and queue sizes.
pub fn server(delay: Duration, max_batch: usize, max_queue: usize) -> Server {
    server_with(delay, config(max_batch, max_queue))
}

pub fn server_with(delay: Duration, config: ServeConfig) -> Server {
    server_with_card(delay, config, card("fake"))
}

pub fn server_with_card(delay: Duration, config: ServeConfig, card: ModelCard) -> Server {
    fake_server(delay, config, card, true)
}

/// The fake model without a segmenter.
pub fn server_without_segmenter() -> Server {
    server_without_segmenter_with(config(4, 8))
}

/// The fake model without a segmenter, under `config`.
pub fn server_without_segmenter_with(config: ServeConfig) -> Server {
    fake_server(Duration::ZERO, config, card("fake"), false)
}

/// The fake model (no delay) under `config`, holding each batch until the
/// test opens its gate.
pub fn gated_server(config: ServeConfig) -> (Server, Gate) {
    let (started, started_rx) = tokio::sync::mpsc::unbounded_channel();
    let (open, open_rx) = std::sync::mpsc::channel();
    let held = Held {
        started,
        open: open_rx,
    };
    let server = serve(config, card("fake"), |fake| fake.gate = Some(held));
    let gate = Gate {
        started: started_rx,
        open: Some(open),
    };
    (server, gate)
}

fn fake_server(delay: Duration, config: ServeConfig, card: ModelCard, segmenter: bool) -> Server {
    serve(config, card, |fake| {
        fake.delay = delay;
        fake.segmenter = segmenter;
    })
}

/// The router over a fake model with `card`, as `setup` leaves it.
fn serve(config: ServeConfig, card: ModelCard, setup: impl FnOnce(&mut Fake)) -> Server {
    let batches = Arc::new(Mutex::new(Vec::new()));
    let mut fake = Fake {
        card,
        delay: Duration::ZERO,
        batches: batches.clone(),
        segmenter: true,
        gate: None,
    };
    setup(&mut fake);
    let state = state_with(vec![Box::new(fake)], config).unwrap();
    Server {
        app: app(state),
        batches,
    }
}

/// The fake model with its batch runs written to a fresh results folder.
pub fn batch_server(delay: Duration) -> (Server, tempfile::TempDir) {
    let (config, results) = batch_config();
    (server_with(delay, config), results)
}

/// As `batch_server`, gated as `gated_server`.
pub fn gated_batch_server() -> (Server, Gate, tempfile::TempDir) {
    let (config, results) = batch_config();
    let (server, gate) = gated_server(config);
    (server, gate, results)
}

/// The configuration of batch servers, writing runs to a fresh folder.
fn batch_config() -> (ServeConfig, tempfile::TempDir) {
    let results = tempfile::tempdir().unwrap();
    let mut c = config(8, 64);
    c.results_dir = results.path().to_path_buf();
    (c, results)
}

/// The router over one real model (an imported package).
pub fn app_serving(model: impl Generator) -> Router {
    app(state_with(vec![Box::new(model)], config(4, 8)).unwrap())
}

pub fn post(uri: &str, content_type: &str, body: Vec<u8>) -> Request<Body> {
    Request::post(uri)
        .header(header::CONTENT_TYPE, content_type)
        .body(Body::from(body))
        .unwrap()
}

/// A multipart form posted to `uri`: each field's name, file name (for a
/// file) and bytes.
pub fn post_form(uri: &str, fields: &[(&str, Option<&str>, Vec<u8>)]) -> Request<Body> {
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
    post(
        uri,
        &format!("multipart/form-data; boundary={boundary}"),
        body,
    )
}

/// A batch run started through the API.
pub fn post_batch(fields: &[(&str, Option<&str>, Vec<u8>)]) -> Request<Body> {
    post_form("/api/v1/batches", fields)
}

/// `request` asking for an answer made afresh, not one from the answer cache.
pub fn fresh(mut request: Request<Body>) -> Request<Body> {
    request.headers_mut().insert(
        header::CACHE_CONTROL,
        axum::http::HeaderValue::from_static("no-cache"),
    );
    request
}

pub async fn send(app: &Router, request: Request<Body>) -> (StatusCode, HeaderMap, Vec<u8>) {
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

pub async fn get(app: &Router, uri: &str) -> (StatusCode, HeaderMap, Vec<u8>) {
    send(app, Request::get(uri).body(Body::empty()).unwrap()).await
}

/// The message and type of a JSON error body.
pub fn error_of(body: &[u8]) -> (String, String) {
    let v: serde_json::Value = serde_json::from_slice(body).expect("errors are JSON");
    (
        v["error"].as_str().unwrap().to_string(),
        v["error_type"].as_str().unwrap().to_string(),
    )
}

/// Follows a batch run's events to the end; returns the last event's data.
pub async fn follow(app: &Router, id: &str) -> serde_json::Value {
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
