//! The HTTP server: loads every model package under a folder, starts one
//! worker thread per model, and serves the REST API, health and metrics.

pub mod api;
pub mod batches;
pub mod cache;
pub mod error;
pub mod form;
pub mod metrics;
pub mod models;
pub mod pages;
mod results;
mod results_access;
pub mod segment;
mod serve;
pub mod synthesis;

pub use serve::run;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{DefaultBodyLimit, MatchedPath, Request, State};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use tower::ServiceBuilder;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::{DefaultOnFailure, DefaultOnResponse, TraceLayer};
use tracing::Level;

use self::cache::AnswerCache;
use self::metrics::Metrics;
use crate::inference::queue::{BatchObserver, Generator, ModelWorker, WorkerConfig};
use crate::inference::runtime::SessionOptions;

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
    /// /results asks for the token too (a header, or the cookie its login
    /// form sets).
    pub protect_results: bool,
    /// Batches may read server folders under this root only; None: never.
    pub batch_root: Option<PathBuf>,
    /// The answer cache's bound, in bytes; 0: no cache, and identical
    /// requests are not merged.
    pub cache_bytes: usize,
}

pub struct AppState {
    pub models: BTreeMap<String, ModelWorker>,
    pub default_model: String,
    pub metrics: Arc<Metrics>,
    pub config: ServeConfig,
    pub batches: batches::Batches,
    /// Synthesis answers, and those being made (`http::cache`).
    pub cache: AnswerCache<synthesis::Answer>,
}

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
    if let Some(e) = response.extensions().get::<error::ApiError>() {
        state.metrics.failure(e.kind());
    }
    response
}

/// The galleries, behind the token with --protect-results (its login form
/// stays open).
fn results_routes(state: &Arc<AppState>) -> Router<Arc<AppState>> {
    let results = Router::new()
        .route("/results", get(results::results_index))
        .route("/results/", get(results::results_index))
        .route("/results/compare", get(results::compare))
        .route("/results/{*path}", get(results::results_file));
    if !state.config.protect_results {
        return results;
    }
    results
        .layer(middleware::from_fn_with_state(
            state.clone(),
            results_access::require,
        ))
        .route("/results-login", post(results_access::login))
}

pub fn app(state: Arc<AppState>) -> Router {
    let api = Router::new()
        .route("/models", get(models::list_models))
        .route("/models/{name}", get(models::get_model))
        .route("/models/{name}/synthesize", post(synthesis::synthesize))
        .route("/models/{name}/label-map", post(synthesis::read_label_map))
        .route("/models/{name}/segment", post(segment::segment))
        .route("/models/{name}/examples", get(models::list_examples))
        .route("/models/{name}/examples/{file}", get(models::get_example))
        .route(
            "/models/{name}/styles/{file}",
            get(models::get_style_thumbnail),
        )
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
    let router = Router::new()
        .route("/", get(pages::index))
        .route("/ui/{*path}", get(pages::frontend))
        .route("/static/{*path}", get(pages::static_file))
        .route("/favicon.ico", get(pages::favicon))
        .merge(results_routes(&state))
        .nest("/api/v1", api)
        .route("/healthz", get(api::healthz))
        .route("/readyz", get(api::readyz))
        .route("/metrics", get(api::metrics))
        .layer(DefaultBodyLimit::max(state.config.max_body_bytes))
        .layer(middleware::from_fn(error::log_failures))
        .layer(middleware::from_fn_with_state(state.clone(), record));
    with_request_tracing(router).with_state(state)
}

/// A span per request that carries its id (the client's `x-request-id`, else
/// a new UUID), so every log line of a request names it; the response
/// carries the id back. Statuses and latencies are logged at info: a shed
/// request (503) is expected under load, not an error.
fn with_request_tracing<S>(router: Router<S>) -> Router<S>
where
    S: Clone + Send + Sync + 'static,
{
    router.layer(
        ServiceBuilder::new()
            .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
            .layer(
                TraceLayer::new_for_http()
                    .make_span_with(request_span)
                    .on_response(DefaultOnResponse::new().level(Level::INFO))
                    .on_failure(DefaultOnFailure::new().level(Level::INFO)),
            )
            .layer(PropagateRequestIdLayer::x_request_id()),
    )
}

/// At error level so that it is on whenever any line of the request is
/// logged (the default filter is `warn`).
fn request_span(request: &Request) -> tracing::Span {
    let id = request
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    tracing::error_span!(
        "request",
        request_id = %id,
        method = %request.method(),
        path = request.uri().path(),
    )
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
        "x-request-id",
        "x-cache",
        "x-easel-model",
        "x-easel-package",
        "x-easel-style",
        "x-easel-compute",
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
    let cache: AnswerCache<synthesis::Answer> = AnswerCache::new(config.cache_bytes);
    metrics.watch_cache(cache.stats.clone());
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
        cache,
    }))
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use axum::body::Body;
    use tower::ServiceExt;

    use super::*;

    fn traced_app() -> Router {
        with_request_tracing(Router::new().route(
            "/",
            get(|| async {
                tracing::warn!("inside the handler");
                "ok"
            }),
        ))
    }

    async fn request_id_of(request: axum::http::Request<Body>) -> String {
        let response = traced_app().oneshot(request).await.unwrap();
        let id = response
            .headers()
            .get("x-request-id")
            .expect("x-request-id");
        id.to_str().unwrap().to_string()
    }

    #[tokio::test]
    async fn a_response_carries_a_new_request_id() {
        let a = request_id_of(Request::get("/").body(Body::empty()).unwrap()).await;
        let b = request_id_of(Request::get("/").body(Body::empty()).unwrap()).await;
        assert_eq!(a.len(), 36, "a UUID: {a}");
        assert_ne!(a, b);
    }

    #[tokio::test]
    async fn an_incoming_request_id_is_kept() {
        let request = Request::get("/")
            .header("x-request-id", "from-the-proxy-42")
            .body(Body::empty())
            .unwrap();
        assert_eq!(request_id_of(request).await, "from-the-proxy-42");
    }

    /// Log lines written to memory.
    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Captured {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(bytes);
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[tokio::test]
    async fn log_lines_of_a_request_name_its_id_under_the_default_filter() {
        let captured = Captured::default();
        let writer = captured.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(Level::WARN)
            .with_ansi(false)
            .with_writer(move || writer.clone())
            .finish();
        let _guard = tracing::subscriber::set_default(subscriber);
        let request = Request::get("/")
            .header("x-request-id", "r-7")
            .body(Body::empty())
            .unwrap();
        request_id_of(request).await;
        let log = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
        let line = log
            .lines()
            .find(|l| l.contains("inside the handler"))
            .unwrap_or_else(|| panic!("no handler line in {log:?}"));
        assert!(line.contains("request_id=r-7"), "{line}");
    }

    /// A model whose every batch fails with an internal detail.
    struct Broken(crate::package::ModelCard);

    impl Generator for Broken {
        fn card(&self) -> &crate::package::ModelCard {
            &self.0
        }
        fn generate(
            &mut self,
            _: &[crate::inference::pipeline::Work],
        ) -> Result<
            Vec<crate::inference::runtime::Output>,
            crate::inference::pipeline::SynthesisError,
        > {
            Err(crate::inference::pipeline::SynthesisError::BadOutput(
                "onnxruntime: secret internal detail".into(),
            ))
        }
    }

    #[tokio::test]
    async fn an_internal_error_is_logged_once_with_its_cause_and_the_request_id() {
        let captured = Captured::default();
        let writer = captured.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(Level::INFO)
            .with_ansi(false)
            .with_writer(move || writer.clone())
            .finish();
        let _guard = tracing::subscriber::set_default(subscriber);
        let card =
            serde_json::from_str(include_str!("../../tests/fixtures/fake_card.json")).unwrap();
        let config = ServeConfig {
            models_dir: "models".into(),
            default_model: None,
            bind: "127.0.0.1:0".parse().unwrap(),
            worker: WorkerConfig {
                max_batch: 1,
                max_queue: 4,
                pad_batches: false,
                shed_after: None,
            },
            max_body_bytes: 1 << 20,
            max_batch_bytes: 1 << 20,
            results_dir: std::env::temp_dir(),
            max_pixels: 1 << 20,
            request_timeout: Duration::from_secs(10),
            session: SessionOptions::default(),
            ort_lib: None,
            cors_origins: Vec::new(),
            api_token: None,
            protect_results: false,
            batch_root: None,
            cache_bytes: 0,
        };
        let app = app(state_with(vec![Box::new(Broken(card))], config).unwrap());
        let mut png = std::io::Cursor::new(Vec::new());
        image::GrayImage::new(64, 64)
            .write_to(&mut png, image::ImageFormat::Png)
            .unwrap();
        let request = Request::post("/api/v1/models/fake/synthesize")
            .header("content-type", "image/png")
            .header("x-request-id", "painter-42")
            .body(Body::from(png.into_inner()))
            .unwrap();
        let response = app.oneshot(request).await.unwrap();
        assert_eq!(response.status(), 500);
        assert_eq!(response.headers()["x-request-id"], "painter-42");
        let log = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
        let errors: Vec<&str> = log.lines().filter(|l| l.contains("ERROR")).collect();
        assert_eq!(errors.len(), 1, "logged once: {log}");
        assert!(
            errors[0].contains("request_id=painter-42")
                && errors[0].contains("secret internal detail"),
            "the request's id and the cause: {log}"
        );
    }
}
