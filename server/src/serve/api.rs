//! HTTP handlers: thin. They turn a request into a validated `Job`, queue it
//! and turn the result into an image response.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::rejection::QueryRejection;
use axum::extract::{FromRequest, Multipart, Path, Query, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;

use super::error::ApiError;
use super::worker::{Job, ModelWorker};
use super::AppState;
use crate::maps::{InstanceMap, LabelEncoding, LabelMap};
use crate::package::ModelCard;
use crate::runtime::Output;
use crate::synthesis::{self, Style};

/// Options of a synthesis request, as query parameters or multipart fields.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SynthesisOptions {
    /// png (default), jpeg or webp.
    pub format: Option<String>,
    /// auto (default), index, colors or red.
    pub encoding: Option<String>,
    /// With `encoding=colors`: map off-palette colours to the nearest class.
    pub nearest: Option<bool>,
    /// Seed for z (models with a style vector); default 0.
    pub seed: Option<u64>,
    /// input (default): the image has the map's size; native: the model's.
    pub size: Option<String>,
    /// classes (default): without an instance map, instance edges are the
    /// edges between classes; none: no edges.
    pub edges: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum ImageFormat {
    Png,
    Jpeg,
    Webp,
}

impl ImageFormat {
    fn parse(s: Option<&str>) -> Result<Self, ApiError> {
        match s.unwrap_or("png") {
            "png" => Ok(Self::Png),
            "jpeg" | "jpg" => Ok(Self::Jpeg),
            "webp" => Ok(Self::Webp),
            other => Err(ApiError::Malformed(format!(
                "format `{other}` is not one of png, jpeg, webp"
            ))),
        }
    }
    fn content_type(self) -> &'static str {
        match self {
            Self::Png => "image/png",
            Self::Jpeg => "image/jpeg",
            Self::Webp => "image/webp",
        }
    }
}

/// Query options, or a JSON 400 that says which one is wrong.
pub(crate) fn options<T>(query: Result<Query<T>, QueryRejection>) -> Result<T, ApiError> {
    query.map(|Query(q)| q).map_err(|e| {
        ApiError::Malformed(format!(
            "{}; the options are described in /api/v1/openapi.json",
            e.body_text()
        ))
    })
}

fn encoding(options: &SynthesisOptions) -> Result<LabelEncoding, ApiError> {
    let nearest = options.nearest.unwrap_or(false);
    match options.encoding.as_deref().unwrap_or("auto") {
        "auto" if nearest => Ok(LabelEncoding::Colors { nearest }),
        "auto" => Ok(LabelEncoding::Auto),
        "index" => Ok(LabelEncoding::Index),
        "colors" | "colours" => Ok(LabelEncoding::Colors { nearest }),
        "red" => Ok(LabelEncoding::Red),
        other => Err(ApiError::Malformed(format!(
            "encoding `{other}` is not one of auto, index, colors, red"
        ))),
    }
}

/// The parts of a synthesis request, however it arrived.
#[derive(Default)]
struct Parts {
    label: Option<Bytes>,
    instance: Option<Bytes>,
    style: Option<Bytes>,
    options: SynthesisOptions,
}

async fn read_parts(request: Request, query: SynthesisOptions) -> Result<Parts, ApiError> {
    let content_type = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let mime = content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    match mime.as_str() {
        "image/png" => {
            let body = Bytes::from_request(request, &()).await.map_err(|e| body_error(e.status(), e.body_text()))?;
            Ok(Parts { label: Some(body), options: query, ..Parts::default() })
        }
        "multipart/form-data" => {
            let mut multipart = Multipart::from_request(request, &()).await.map_err(|e| ApiError::Malformed(e.body_text()))?;
            let mut parts = Parts { options: query, ..Parts::default() };
            while let Some(field) = multipart.next_field().await.map_err(|e| body_error(e.status(), e.body_text()))? {
                let name = field.name().unwrap_or("").to_string();
                let data = field.bytes().await.map_err(|e| body_error(e.status(), e.body_text()))?;
                let text = || String::from_utf8_lossy(&data).trim().to_string();
                let opts = &mut parts.options;
                match name.as_str() {
                    "label" => parts.label = Some(data),
                    "instance" => parts.instance = Some(data),
                    "style" => parts.style = Some(data),
                    "seed" => opts.seed = Some(text().parse().map_err(|_| ApiError::Malformed(format!("seed `{}` is not a whole number", text())))?),
                    "format" => opts.format = Some(text()),
                    "encoding" => opts.encoding = Some(text()),
                    "nearest" => opts.nearest = Some(text() == "true"),
                    "size" => opts.size = Some(text()),
                    "edges" => opts.edges = Some(text()),
                    other => return Err(ApiError::Malformed(format!("unknown multipart field `{other}`; expected label, instance, style, seed, format, encoding, nearest, size, edges"))),
                }
            }
            Ok(parts)
        }
        "" => Err(ApiError::UnsupportedType("no Content-Type: send the label map as image/png, or multipart/form-data with a `label` field".into())),
        other => Err(ApiError::UnsupportedType(format!("Content-Type {other} is not supported: send the label map as image/png, or multipart/form-data with a `label` field"))),
    }
}

fn body_error(status: StatusCode, text: String) -> ApiError {
    if status == StatusCode::PAYLOAD_TOO_LARGE {
        ApiError::TooLarge(format!(
            "{text}; send a smaller map or raise --max-body-bytes"
        ))
    } else {
        ApiError::Malformed(text)
    }
}

/// A validated job and what the response needs to finish it.
struct Prepared {
    job: Job,
    format: ImageFormat,
    /// Resize the image back to this (width, height).
    output_size: Option<(usize, usize)>,
}

fn prepare(card: &ModelCard, parts: Parts, max_pixels: u64) -> Result<Prepared, ApiError> {
    let options = &parts.options;
    let format = ImageFormat::parse(options.format.as_deref())?;
    let bytes = parts.label.as_ref().ok_or_else(|| {
        ApiError::Malformed(
            "no label map: send it as the body (image/png) or as the multipart field `label`"
                .into(),
        )
    })?;
    let label = LabelMap::decode(bytes, card, encoding(options)?, max_pixels)?;
    let instance = parts
        .instance
        .as_ref()
        .map(|b| InstanceMap::from_png(b, max_pixels))
        .transpose()?;
    let (input_w, input_h) = (label.width(), label.height());
    let native = (card.native.width, card.native.height);
    let (label, instance, output_size) = match options.size.as_deref().unwrap_or("input") {
        "native" if (input_w, input_h) != native => (label.resized(native.0, native.1), None, None),
        "native" => (label, instance, None),
        "input" if card.size_problem(input_h, input_w).is_none() => (label, instance, None),
        "input" => (
            label.resized(native.0, native.1),
            None,
            Some((input_w, input_h)),
        ),
        other => {
            return Err(ApiError::Malformed(format!(
                "size `{other}` is not one of input, native"
            )))
        }
    };
    if let Some(inst) = &instance {
        // Checked even for models that use no instances: a mismatched pair
        // is a mistake worth reporting.
        inst.edges(&label)?;
    }
    if parts.instance.is_some() && instance.is_none() {
        return Err(ApiError::InvalidMap(format!(
            "the map is {input_w}×{input_h} and has to be resized for this model ({}×{}), which would break the instance map; send both at a size the model accepts",
            native.0, native.1
        )));
    }
    let edges = match (
        card.uses_instances,
        &instance,
        options.edges.as_deref().unwrap_or("classes"),
    ) {
        (false, _, _) => None,
        (true, Some(inst), _) => Some(inst.edges(&label)?),
        (true, None, "classes") => Some(label.class_edges()),
        (true, None, "none") => Some(vec![0; label.width() * label.height()]),
        (_, _, other) => {
            return Err(ApiError::Malformed(format!(
                "edges `{other}` is not one of classes, none"
            )))
        }
    };
    let style = match &parts.style {
        Some(bytes) => {
            let img = image::load_from_memory(bytes)
                .map_err(|e| ApiError::Malformed(format!("the style image cannot be read: {e}")))?;
            Style::from_image(&img.to_rgb8(), options.seed)
        }
        None => Style::Seed(options.seed.unwrap_or(0)),
    };
    let job = Job {
        label,
        edges,
        style,
    };
    synthesis::check_request(card, &job.label, card.z_dim.is_some().then_some(&job.style))?;
    Ok(Prepared {
        job,
        format,
        output_size,
    })
}

fn encode(
    image: &Output,
    format: ImageFormat,
    size: Option<(usize, usize)>,
) -> Result<Vec<u8>, ApiError> {
    let (h, w) = (image.shape[2], image.shape[3]);
    let rgb = image::RgbImage::from_raw(w as u32, h as u32, synthesis::chw_to_rgb(image, 0))
        .ok_or_else(|| ApiError::Internal("image buffer of the wrong size".into()))?;
    let rgb = match size {
        Some((w, h)) => image::imageops::resize(
            &rgb,
            w as u32,
            h as u32,
            image::imageops::FilterType::Triangle,
        ),
        None => rgb,
    };
    let mut out = std::io::Cursor::new(Vec::new());
    let fmt = match format {
        ImageFormat::Png => image::ImageFormat::Png,
        ImageFormat::Jpeg => image::ImageFormat::Jpeg,
        ImageFormat::Webp => image::ImageFormat::WebP,
    };
    rgb.write_to(&mut out, fmt)
        .map_err(|e| ApiError::Internal(format!("encoding the image: {e}")))?;
    Ok(out.into_inner())
}

pub(crate) fn worker(state: &AppState, name: &str) -> Result<ModelWorker, ApiError> {
    state.models.get(name).cloned().ok_or_else(|| {
        let names: Vec<&str> = state.models.keys().map(String::as_str).collect();
        ApiError::NotFound(format!(
            "no model named `{name}`; loaded: {}",
            names.join(", ")
        ))
    })
}

fn millis(d: Duration) -> HeaderValue {
    HeaderValue::from_str(&format!("{:.1}", d.as_secs_f64() * 1000.0))
        .unwrap_or(HeaderValue::from_static("0"))
}

/// The JSON body of every error.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    /// What is wrong and how to fix it.
    pub error: String,
    /// malformed, unauthorized, forbidden, not_found, conflict, too_large, unsupported_type, invalid_map, overloaded, timeout or internal.
    pub error_type: String,
}

/// Make an image from a label map.
///
/// The map is the body (`image/png`) or the multipart field `label`, with
/// optional `instance`, `style`, `seed`, `format`, `encoding`, `nearest`,
/// `size` and `edges` fields (the same options work as query parameters).
#[utoipa::path(
    post,
    path = "/api/v1/models/{name}/synthesize",
    params(("name" = String, Path, description = "model name"), SynthesisOptions),
    request_body(description = "the label map (PNG), or multipart/form-data with a `label` field", content(
        (Vec<u8> = "image/png"),
        (Vec<u8> = "multipart/form-data"),
    )),
    responses(
        (status = 200, description = "the image; x-queue-time, x-inference-time, x-total-time (ms) and x-batch-size headers",
            content((Vec<u8> = "image/png"), (Vec<u8> = "image/jpeg"), (Vec<u8> = "image/webp"))),
        (status = 400, description = "malformed request", body = ErrorBody),
        (status = 404, description = "no such model", body = ErrorBody),
        (status = 413, description = "body or decoded image too large", body = ErrorBody),
        (status = 415, description = "unsupported content type", body = ErrorBody),
        (status = 422, description = "a map this model cannot take", body = ErrorBody),
        (status = 503, description = "the model's queue is full; retry after Retry-After seconds", body = ErrorBody),
        (status = 504, description = "no image within the request timeout", body = ErrorBody),
        (status = 500, description = "internal error (details in the server log)", body = ErrorBody),
    )
)]
pub async fn synthesize(
    State(state): State<Arc<AppState>>,
    Path(name): Path<String>,
    query: Result<Query<SynthesisOptions>, QueryRejection>,
    request: Request,
) -> Result<Response, ApiError> {
    let started = Instant::now();
    let worker = worker(&state, &name)?;
    let parts = read_parts(request, options(query)?).await?;
    let max_pixels = state.config.max_pixels;
    let card = worker.card().clone();
    let prepared = tokio::task::spawn_blocking(move || prepare(&card, parts, max_pixels))
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))??;
    let receiver = worker.submit(prepared.job)?;
    let done = tokio::time::timeout(state.config.request_timeout, receiver)
        .await
        .map_err(|_| {
            ApiError::Timeout(format!(
                "no image within {:?}; the server is busy, retry or raise --request-timeout",
                state.config.request_timeout
            ))
        })?
        .map_err(|_| ApiError::Internal("the model worker stopped".into()))??;
    state.metrics.queued(&name, done.queue_time);
    let (format, size) = (prepared.format, prepared.output_size);
    let bytes =
        tokio::task::spawn_blocking(move || encode(&done.image, format, size).map(|b| (b, done)))
            .await
            .map_err(|e| ApiError::Internal(e.to_string()))??;
    let (bytes, done) = bytes;
    let mut headers = HeaderMap::new();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(format.content_type()),
    );
    headers.insert("x-queue-time", millis(done.queue_time));
    headers.insert("x-inference-time", millis(done.inference_time));
    headers.insert("x-total-time", millis(started.elapsed()));
    headers.insert("x-batch-size", HeaderValue::from(done.batch_size));
    Ok((headers, bytes).into_response())
}

/// Read a label map with the rules of synthesis.
///
/// Takes what `synthesize` takes (an index, paletted or colour PNG, with
/// `encoding` and `nearest`) and answers the class indices it decodes to:
/// one byte per pixel, or two (big-endian) when the model has more than 256
/// label values, row by row, resized (nearest) to the model's native size
/// unless `size=input`. The painting page opens files through this, so a
/// file means the same thing there as in the API.
#[utoipa::path(
    post,
    path = "/api/v1/models/{name}/label-map",
    params(("name" = String, Path, description = "model name"), SynthesisOptions),
    request_body(description = "the label map (PNG), or multipart/form-data with a `label` field", content(
        (Vec<u8> = "image/png"),
        (Vec<u8> = "multipart/form-data"),
    )),
    responses(
        (status = 200, description = "the class indices; x-width, x-height, x-bytes-per-value (1 or 2), x-source-width and x-source-height headers",
            content((Vec<u8> = "application/octet-stream"))),
        (status = 400, description = "malformed request", body = ErrorBody),
        (status = 404, description = "no such model", body = ErrorBody),
        (status = 413, description = "body or decoded image too large", body = ErrorBody),
        (status = 415, description = "unsupported content type", body = ErrorBody),
        (status = 422, description = "a map this model cannot take", body = ErrorBody),
    )
)]
pub async fn read_label_map(
    State(state): State<Arc<AppState>>,
    Path(name): Path<String>,
    query: Result<Query<SynthesisOptions>, QueryRejection>,
    request: Request,
) -> Result<Response, ApiError> {
    let worker = worker(&state, &name)?;
    let parts = read_parts(request, options(query)?).await?;
    let max_pixels = state.config.max_pixels;
    let card = worker.card().clone();
    let (label, source) = tokio::task::spawn_blocking(move || -> Result<_, ApiError> {
        let bytes = parts.label.as_ref().ok_or_else(|| {
            ApiError::Malformed(
                "no label map: send it as the body (image/png) or as the multipart field `label`"
                    .into(),
            )
        })?;
        let label = LabelMap::decode(bytes, &card, encoding(&parts.options)?, max_pixels)?;
        let source = (label.width(), label.height());
        let native = (card.native.width, card.native.height);
        let label = match parts.options.size.as_deref().unwrap_or("native") {
            "native" if source != native => label.resized(native.0, native.1),
            "native" | "input" => label,
            other => {
                return Err(ApiError::Malformed(format!(
                    "size `{other}` is not one of native, input"
                )))
            }
        };
        let wide = card.label_classes() > 256;
        let bytes: Vec<u8> = if wide {
            label
                .labels()
                .iter()
                .flat_map(|&v| (v as u16).to_be_bytes())
                .collect()
        } else {
            label.labels().iter().map(|&v| v as u8).collect()
        };
        Ok((
            (
                bytes,
                label.width(),
                label.height(),
                if wide { 2u16 } else { 1 },
            ),
            source,
        ))
    })
    .await
    .map_err(|e| ApiError::Internal(e.to_string()))??;
    let (bytes, width, height, per_value) = label;
    let mut headers = HeaderMap::new();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/octet-stream"),
    );
    headers.insert("x-width", HeaderValue::from(width));
    headers.insert("x-height", HeaderValue::from(height));
    headers.insert("x-bytes-per-value", HeaderValue::from(per_value));
    headers.insert("x-source-width", HeaderValue::from(source.0));
    headers.insert("x-source-height", HeaderValue::from(source.1));
    Ok((headers, bytes).into_response())
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

/// A loaded model, in brief; its card has the rest.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct ModelSummary {
    pub name: String,
    pub classes: usize,
    pub native: crate::package::Size,
    pub uses_instances: bool,
    pub z_dim: Option<usize>,
    pub has_encoder: bool,
}

#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct ModelList {
    pub models: Vec<ModelSummary>,
    /// The model the painting page opens with.
    pub default: String,
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
                classes: c.classes.len(),
                native: c.native.clone(),
                uses_instances: c.uses_instances,
                z_dim: c.z_dim,
                has_encoder: c.has_encoder,
            }
        })
        .collect();
    Json(ModelList {
        models,
        default: state.default_model.clone(),
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
        description = "Serve SPADE (GauGAN) semantic image synthesis models: label maps in, images out."
    ),
    paths(
        list_models,
        get_model,
        synthesize,
        read_label_map,
        list_examples,
        get_example,
        healthz,
        readyz,
        metrics,
        openapi
    ),
    components(schemas(
        ModelCard,
        ErrorBody,
        ModelList,
        ModelSummary,
        ExampleList,
        ExampleLink
    ))
)]
pub struct ApiDoc;

/// This document.
#[utoipa::path(get, path = "/api/v1/openapi.json", responses((status = 200, description = "the OpenAPI document")))]
pub async fn openapi() -> Json<utoipa::openapi::OpenApi> {
    Json(<ApiDoc as utoipa::OpenApi>::openapi())
}
