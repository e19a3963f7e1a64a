//! The HTTP server: loads every model package under a folder, starts one
//! worker thread per model, and serves the REST API, health and metrics.

pub mod api;
pub mod batches;
pub mod error;
pub mod metrics;
pub mod pages;
pub mod worker;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{DefaultBodyLimit, MatchedPath, Request, State};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;

use crate::package::ModelPackage;
use crate::runtime::{self, ModelSession, SessionOptions};
use metrics::Metrics;
use worker::{BatchObserver, Generator, ModelWorker, WorkerConfig};

/// Limits and queue settings, validated at start-up.
#[derive(Debug, Clone)]
pub struct ServeConfig {
    pub models_dir: PathBuf,
    pub default_model: Option<String>,
    pub bind: SocketAddr,
    pub worker: WorkerConfig,
    pub max_body_bytes: usize,
    /// Largest batch upload.
    pub max_batch_bytes: usize,
    /// Where batch runs and galleries are.
    pub results_dir: PathBuf,
    pub max_pixels: u64,
    pub request_timeout: Duration,
    pub session: SessionOptions,
    pub ort_lib: Option<PathBuf>,
    /// Origins allowed to call the API from other sites (CORS); none: off.
    pub cors_origins: Vec<String>,
    /// When set, /api/v1 asks for `Authorization: Bearer <token>`.
    pub api_token: Option<String>,
    /// Batches may read server folders under this root only; None: never.
    pub batch_root: Option<PathBuf>,
}

pub struct AppState {
    pub models: BTreeMap<String, ModelWorker>,
    pub default_model: String,
    pub metrics: Arc<Metrics>,
    pub config: ServeConfig,
    pub batches: batches::Batches,
}

/// The error kind of a failed response, for the metrics middleware.
#[derive(Clone, Copy)]
pub struct FailureKind(pub &'static str);

/// Same length and same bytes, in time that does not depend on where they differ.
fn same_secret(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

async fn require_token(
    State(state): State<Arc<AppState>>,
    request: Request,
    next: Next,
) -> Response {
    let Some(token) = state.config.api_token.as_deref() else {
        return next.run(request).await;
    };
    let given = request
        .headers()
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    match given {
        Some(g) if same_secret(g.trim().as_bytes(), token.as_bytes()) => next.run(request).await,
        Some(_) => axum::response::IntoResponse::into_response(error::ApiError::Unauthorized(
            "the API token is wrong; send the server's --api-token as `Authorization: Bearer <token>`".into(),
        )),
        None => axum::response::IntoResponse::into_response(error::ApiError::Unauthorized(
            "this server needs an API token: send `Authorization: Bearer <token>` (the server's --api-token)".into(),
        )),
    }
}

async fn record(State(state): State<Arc<AppState>>, request: Request, next: Next) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_string(), |p| p.as_str().to_string());
    let response = next.run(request).await;
    state.metrics.request(&route, response.status().as_u16());
    if let Some(kind) = response.extensions().get::<FailureKind>() {
        state.metrics.failure(kind.0);
    }
    response
}

pub fn app(state: Arc<AppState>) -> Router {
    let api = Router::new()
        .route("/models", get(api::list_models))
        .route("/models/{name}", get(api::get_model))
        .route("/models/{name}/synthesize", post(api::synthesize))
        .route("/models/{name}/label-map", post(api::read_label_map))
        .route("/models/{name}/examples", get(api::list_examples))
        .route("/models/{name}/examples/{file}", get(api::get_example))
        .route("/openapi.json", get(api::openapi))
        .route(
            "/batches",
            post(batches::start).layer(DefaultBodyLimit::max(state.config.max_batch_bytes)),
        )
        .route("/batches/{id}", get(batches::status))
        .route("/batches/{id}/events", get(batches::events))
        .layer(middleware::from_fn_with_state(state.clone(), require_token));
    let api = match cors(&state.config.cors_origins) {
        Some(layer) => api.layer(layer),
        None => api,
    };
    Router::new()
        .route("/", get(pages::index))
        .route("/ui/{*path}", get(pages::frontend))
        .route("/static/{*path}", get(pages::static_file))
        .route("/favicon.ico", get(pages::favicon))
        .route("/results", get(batches::results_index))
        .route("/results/", get(batches::results_index))
        .route("/results/compare", get(batches::compare))
        .route("/results/{*path}", get(batches::results_file))
        .nest("/api/v1", api)
        .route("/healthz", get(api::healthz))
        .route("/readyz", get(api::readyz))
        .route("/metrics", get(api::metrics))
        .layer(DefaultBodyLimit::max(state.config.max_body_bytes))
        .layer(middleware::from_fn_with_state(state.clone(), record))
        .with_state(state)
}

/// CORS for the API, only for the configured origins (off by default: the
/// painting page is same-origin and needs none).
fn cors(origins: &[String]) -> Option<tower_http::cors::CorsLayer> {
    use axum::http::{header, HeaderName, HeaderValue, Method};
    let origins: Vec<HeaderValue> = origins
        .iter()
        .filter_map(|o| HeaderValue::from_str(o).ok())
        .collect();
    if origins.is_empty() {
        return None;
    }
    let exposed = [
        "x-queue-time",
        "x-inference-time",
        "x-total-time",
        "x-batch-size",
        "x-width",
        "x-height",
        "x-bytes-per-value",
        "x-source-width",
        "x-source-height",
    ];
    Some(
        tower_http::cors::CorsLayer::new()
            .allow_origin(origins)
            .allow_methods([Method::GET, Method::POST])
            .allow_headers([header::CONTENT_TYPE, header::AUTHORIZATION])
            .expose_headers(exposed.map(HeaderName::from_static)),
    )
}

/// The OpenAPI document, pretty-printed as committed in docs/openapi.json.
pub fn openapi_json() -> String {
    let doc = <api::ApiDoc as utoipa::OpenApi>::openapi();
    doc.to_pretty_json()
        .unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"))
}

/// Starts workers for `generators`; the default is the configured one, else
/// the first by name.
pub fn state_with(
    generators: Vec<Box<dyn Generator>>,
    config: ServeConfig,
) -> anyhow::Result<Arc<AppState>> {
    let metrics = Arc::new(Metrics::default());
    let observer_metrics = metrics.clone();
    let observer: BatchObserver =
        Arc::new(move |model, size, time| observer_metrics.batch(model, size, time));
    let mut models = BTreeMap::new();
    for generator in generators {
        let (worker, _thread) = ModelWorker::spawn(generator, config.worker, observer.clone())?;
        metrics.watch_queue(&worker.card().name, worker.stats.clone());
        models.insert(worker.card().name.clone(), worker);
    }
    let default_model = match &config.default_model {
        Some(name) if models.contains_key(name) => name.clone(),
        Some(name) => anyhow::bail!(
            "--default {name}: no such model was loaded (loaded: {})",
            models.keys().cloned().collect::<Vec<_>>().join(", ")
        ),
        None => models
            .keys()
            .next()
            .cloned()
            .ok_or_else(|| anyhow::anyhow!("no model loaded"))?,
    };
    Ok(Arc::new(AppState {
        models,
        default_model,
        metrics,
        config,
        batches: batches::Batches::default(),
    }))
}

/// Every package folder under `dir` (or `dir` itself if it is one), loaded
/// into ONNX Runtime; failures are reported and skipped.
pub fn load_sessions(dir: &Path, options: SessionOptions) -> (Vec<ModelSession>, Vec<String>) {
    let mut folders: Vec<PathBuf> = if dir.join(crate::package::CARD_FILE).is_file() {
        vec![dir.to_path_buf()]
    } else {
        std::fs::read_dir(dir)
            .into_iter()
            .flatten()
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.join(crate::package::CARD_FILE).is_file())
            .collect()
    };
    folders.sort();
    let mut sessions = Vec::new();
    let mut problems = Vec::new();
    for folder in folders {
        match ModelPackage::open(&folder)
            .map_err(|e| e.to_string())
            .and_then(|p| ModelSession::load(p, options.clone()).map_err(|e| e.to_string()))
        {
            Ok(s) => sessions.push(s),
            Err(e) => problems.push(format!("{}: {e}", folder.display())),
        }
    }
    (sessions, problems)
}

/// `easel serve`: load, warm up, listen, and on Ctrl-C or SIGTERM stop
/// taking requests and finish those in flight.
pub async fn run(config: ServeConfig) -> anyhow::Result<()> {
    runtime::init(config.ort_lib.as_deref())?;
    runtime::check_device(&config.session)?;
    let dir = config.models_dir.clone();
    let session_options = config.session.clone();
    let (sessions, problems) =
        tokio::task::spawn_blocking(move || load_sessions(&dir, session_options)).await?;
    for p in &problems {
        tracing::warn!("skipped a model: {p}");
        eprintln!("warning: skipped a model: {p}");
    }
    if sessions.is_empty() {
        anyhow::bail!(
            "no model could be loaded from {}{}",
            config.models_dir.display(),
            if problems.is_empty() {
                " (it holds no folder with a model.json; pass --models DIR)".to_string()
            } else {
                format!(": {}", problems.join("; "))
            }
        );
    }
    let warm_sizes = if config.worker.pad_batches {
        crate::device::padded_sizes(config.worker.max_batch)
    } else {
        vec![1]
    };
    let mut warmed = Vec::new();
    for mut s in sessions {
        warm_up(&mut s, &warm_sizes)
            .map_err(|e| anyhow::anyhow!("warming up {}: {e}", s.package.card.name))?;
        warmed.push(s);
    }
    let generators: Vec<Box<dyn Generator>> = warmed
        .into_iter()
        .map(|s| Box::new(s) as Box<dyn Generator>)
        .collect();
    let bind = config.bind;
    let state = state_with(generators, config)?;
    let names: Vec<String> = state.models.keys().cloned().collect();
    let listener = tokio::net::TcpListener::bind(bind).await.map_err(|e| {
        anyhow::anyhow!("cannot listen on {bind}: {e}; pick another address with --bind")
    })?;
    let local = listener.local_addr()?;
    println!(
        "easel serving {} (default {}) at http://{local}",
        names.join(", "),
        state.default_model
    );
    axum::serve(listener, app(state))
        .with_graceful_shutdown(shutdown_signal())
        .await?;
    Ok(())
}

/// Runs each batch size the worker will use once at the native size, so
/// that no request pays for first-run set-up (on a GPU: cuDNN's search).
fn warm_up(session: &mut ModelSession, sizes: &[usize]) -> Result<(), String> {
    let card = session.package.card.clone();
    let (w, h) = (card.native.width, card.native.height);
    let label =
        crate::maps::LabelMap::new(w, h, vec![0; w * h], &card).map_err(|e| e.to_string())?;
    let edges = card.uses_instances.then(|| vec![0u8; w * h]);
    let job = worker::Job {
        label,
        edges,
        style: crate::synthesis::Style::Seed(0),
    };
    for &size in sizes {
        let started = std::time::Instant::now();
        Generator::generate(session, &vec![job.clone(); size])?;
        tracing::info!(model = %card.name, size, ms = started.elapsed().as_millis() as u64, "warmed up");
    }
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = terminate => {},
    }
    tracing::info!("shutting down: finishing requests in flight");
}
