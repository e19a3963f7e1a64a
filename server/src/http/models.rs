//! The model routes: what is loaded, each model's card, example maps and
//! style pictures.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::Json;

use super::api::ErrorBody;
use super::error::ApiError;
use super::AppState;
use crate::inference::pipeline::Limits;
use crate::inference::queue::ModelWorker;
use crate::inference::synthesizer::{Patience, Synthesizer};
use crate::package::ModelCard;

/// The worker of model `name`, or a 404 that lists the loaded ones.
pub(crate) fn worker(state: &AppState, name: &str) -> Result<ModelWorker, ApiError> {
    state.models.get(name).cloned().ok_or_else(|| {
        let names: Vec<&str> = state.models.keys().map(String::as_str).collect();
        ApiError::NotFound(format!(
            "no model named `{name}`; loaded: {}",
            names.join(", ")
        ))
    })
}

/// What makes the images of model `name` for a request: within the
/// server's pixel limit and request timeout.
pub(crate) fn synthesizer(state: &AppState, name: &str) -> Result<Synthesizer, ApiError> {
    let limits = Limits {
        max_pixels: state.config.max_pixels,
    };
    let patience = Patience::Within(state.config.request_timeout);
    Ok(Synthesizer::new(worker(state, name)?, limits, patience))
}

/// An example map of a model.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct ExampleLink {
    pub name: String,
    /// Where the PNG is.
    pub url: String,
}

#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct ExampleList {
    pub examples: Vec<ExampleLink>,
}

/// A model's example label maps (the package's `examples/*.png`).
#[utoipa::path(get, path = "/api/v1/models/{name}/examples", params(("name" = String, Path, description = "model name")),
    responses((status = 200, body = ExampleList), (status = 404, body = ErrorBody)))]
pub async fn list_examples(
    State(state): State<Arc<AppState>>,
    Path(name): Path<String>,
) -> Result<Json<ExampleList>, ApiError> {
    let worker = worker(&state, &name)?;
    let examples = worker
        .examples()
        .iter()
        .map(|e| ExampleLink {
            name: e.name.clone(),
            url: format!("/api/v1/models/{name}/examples/{}.png", e.name),
        })
        .collect();
    Ok(Json(ExampleList { examples }))
}

/// One example label map, as a PNG.
#[utoipa::path(get, path = "/api/v1/models/{name}/examples/{file}",
    params(("name" = String, Path, description = "model name"), ("file" = String, Path, description = "`<example>.png`")),
    responses((status = 200, description = "the map", content_type = "image/png"), (status = 404, body = ErrorBody)))]
pub async fn get_example(
    State(state): State<Arc<AppState>>,
    Path((name, file)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let worker = worker(&state, &name)?;
    let example = file
        .strip_suffix(".png")
        .and_then(|stem| worker.examples().iter().find(|e| e.name == stem))
        .ok_or_else(|| {
            let names: Vec<String> = worker
                .examples()
                .iter()
                .map(|e| format!("{}.png", e.name))
                .collect();
            ApiError::NotFound(format!(
                "model `{name}` has no example `{file}`; it has: {}",
                if names.is_empty() {
                    "none".to_string()
                } else {
                    names.join(", ")
                }
            ))
        })?;
    Ok(([(header::CONTENT_TYPE, "image/png")], example.png.clone()).into_response())
}

/// A picture of one of a model's style presets (the card's `styles[].thumbnail`).
#[utoipa::path(get, path = "/api/v1/models/{name}/styles/{file}",
    params(("name" = String, Path, description = "model name"), ("file" = String, Path, description = "the preset's `thumbnail`")),
    responses((status = 200, description = "the picture", content_type = "image/jpeg"), (status = 404, body = ErrorBody)))]
pub async fn get_style_thumbnail(
    State(state): State<Arc<AppState>>,
    Path((name, file)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let worker = worker(&state, &name)?;
    let thumbnail = worker
        .thumbnails()
        .iter()
        .find(|t| t.file == file)
        .ok_or_else(|| {
            let files: Vec<&str> = worker
                .thumbnails()
                .iter()
                .map(|t| t.file.as_str())
                .collect();
            ApiError::NotFound(format!(
                "model `{name}` has no style picture `{file}`; it has: {}",
                if files.is_empty() {
                    "none".to_string()
                } else {
                    files.join(", ")
                }
            ))
        })?;
    Ok((
        [(header::CONTENT_TYPE, thumbnail.content_type)],
        thumbnail.bytes.clone(),
    )
        .into_response())
}

/// A loaded model, in brief; its card has the rest.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct ModelSummary {
    pub name: String,
    /// spade, clade or oasis.
    pub family: crate::package::ModelFamily,
    pub classes: usize,
    pub native: crate::package::Size,
    pub uses_instances: bool,
    pub z_dim: Option<usize>,
    pub has_encoder: bool,
    /// Whether it turns photos into maps (`/api/v1/models/{name}/segment`).
    pub has_segmenter: bool,
    /// Where and in what arithmetic it runs (`--compute`).
    pub execution: crate::inference::compute::Execution,
    /// The canvas sizes the painting page offers, within `max_pixels`.
    pub canvas_sizes: Vec<crate::package::CanvasSize>,
}

#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct ModelList {
    pub models: Vec<ModelSummary>,
    /// The model the painting page opens with.
    pub default: String,
    /// The most pixels a label map may have (`--max-pixels`): the page's
    /// largest canvas.
    pub max_pixels: u64,
}

/// The loaded models.
#[utoipa::path(get, path = "/api/v1/models", responses((status = 200, body = ModelList)))]
pub async fn list_models(State(state): State<Arc<AppState>>) -> Json<ModelList> {
    let models = state
        .models
        .values()
        .map(|w| {
            let c = w.card();
            ModelSummary {
                name: c.name.clone(),
                family: c.family,
                classes: c.classes.len(),
                native: c.native.clone(),
                uses_instances: c.uses_instances,
                z_dim: c.z_dim,
                has_encoder: c.has_encoder,
                has_segmenter: w.segmenter().is_some(),
                execution: w.execution().clone(),
                canvas_sizes: c.canvas_sizes(state.config.max_pixels),
            }
        })
        .collect();
    Json(ModelList {
        models,
        default: state.default_model.clone(),
        max_pixels: state.config.max_pixels,
    })
}

/// A model's card: classes with names and colours, sizes, capabilities, source.
#[utoipa::path(get, path = "/api/v1/models/{name}", params(("name" = String, Path, description = "model name")),
    responses((status = 200, body = ModelCard), (status = 404, body = ErrorBody)))]
pub async fn get_model(
    State(state): State<Arc<AppState>>,
    Path(name): Path<String>,
) -> Result<Json<ModelCard>, ApiError> {
    Ok(Json(worker(&state, &name)?.card().clone()))
}
