//! The API's shared parts: the error body, health, readiness and metrics
//! routes, and the OpenAPI document generated from every handler.

use std::sync::Arc;

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;

use super::{models, segment, synthesis, AppState};
use crate::package::ModelCard;

/// The JSON body of every error.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    /// What is wrong and how to fix it.
    pub error: String,
    /// malformed, unauthorized, forbidden, not_found, conflict, too_large, unsupported_type, invalid_map, overloaded, timeout or internal.
    pub error_type: String,
}

/// Liveness: the process answers.
#[utoipa::path(get, path = "/healthz", responses((status = 200, description = "ok")))]
pub async fn healthz() -> &'static str {
    "ok"
}

/// Readiness: models are loaded and warmed up.
#[utoipa::path(get, path = "/readyz", responses((status = 200, description = "ready"), (status = 503, description = "no model loaded")))]
pub async fn readyz(State(state): State<Arc<AppState>>) -> Response {
    if state.models.is_empty() {
        (StatusCode::SERVICE_UNAVAILABLE, "no model loaded").into_response()
    } else {
        "ready".into_response()
    }
}

/// Prometheus metrics, prefixed `easel_`.
#[utoipa::path(get, path = "/metrics", responses((status = 200, description = "text exposition format", content_type = "text/plain")))]
pub async fn metrics(State(state): State<Arc<AppState>>) -> Response {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        state.metrics.render(),
    )
        .into_response()
}

#[derive(utoipa::OpenApi)]
#[openapi(
    info(
        title = "easel",
        description = "Serve SPADE (GauGAN) semantic image synthesis models: label maps in, images out (and, for models with a segmenter, photos in, label maps out)."
    ),
    paths(
        models::list_models,
        models::get_model,
        synthesis::synthesize,
        synthesis::read_label_map,
        segment::segment,
        models::list_examples,
        models::get_example,
        models::get_style_thumbnail,
        healthz,
        readyz,
        metrics,
        openapi
    ),
    components(schemas(
        ModelCard,
        crate::package::ModelFamily,
        crate::package::StylePreset,
        ErrorBody,
        models::ModelList,
        models::ModelSummary,
        models::ExampleList,
        models::ExampleLink,
        segment::Legend,
        segment::LegendEntry
    ))
)]
pub struct ApiDoc;

/// This document.
#[utoipa::path(get, path = "/api/v1/openapi.json", responses((status = 200, description = "the OpenAPI document")))]
pub async fn openapi() -> Json<utoipa::openapi::OpenApi> {
    Json(<ApiDoc as utoipa::OpenApi>::openapi())
}
