//! The segment route: a photo in, a map of the model's classes out (an
//! index PNG at the canvas size asked for, or its legend in JSON). Thin: a
//! `PhotoForm` extractor reads the request, the photo is read and fitted off
//! the executor (`inference::segment`), and the model's segmenter thread
//! runs it.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{FromRequest, Multipart, Path, Query, Request, State};
use axum::http::{header, HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;

use super::api::ErrorBody;
use super::error::ApiError;
use super::models::worker;
use super::synthesis::{blocking, body_error, media_type, options};
use super::AppState;
use crate::inference::segment::{prepare_photo, Canvas};
use crate::package::maps::LabelMap;
use crate::package::ModelCard;

/// Options of a segment request, as query parameters or multipart fields.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SegmentOptions {
    /// The map's width; default the model's native width.
    pub width: Option<usize>,
    /// The map's height; default the model's native height.
    pub height: Option<usize>,
    /// true: answer the map's legend in JSON (the classes it holds, with
    /// their colours and pixel counts) instead of the map.
    pub legend: Option<bool>,
}

/// The media types a photo may be sent as.
const PHOTO_TYPES: [&str; 4] = ["image/png", "image/jpeg", "image/jpg", "image/webp"];

/// A segment request as it arrived: the photo and the options.
pub struct PhotoForm {
    photo: Option<Bytes>,
    options: SegmentOptions,
}

impl<S: Send + Sync> FromRequest<S> for PhotoForm {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, ApiError> {
        let query = options(Query::<SegmentOptions>::try_from_uri(request.uri()))?;
        let wrong = |what: String| {
            ApiError::UnsupportedType(format!(
                "{what}: send the photo as image/png, image/jpeg or image/webp, or multipart/form-data with a `photo` field"
            ))
        };
        match media_type(&request).as_str() {
            t if PHOTO_TYPES.contains(&t) => {
                let body = Bytes::from_request(request, state)
                    .await
                    .map_err(|e| body_error(e.status(), e.body_text()))?;
                Ok(Self {
                    photo: Some(body),
                    options: query,
                })
            }
            "multipart/form-data" => {
                let multipart = Multipart::from_request(request, state)
                    .await
                    .map_err(|e| ApiError::Malformed(e.body_text()))?;
                read_multipart(multipart, query).await
            }
            "" => Err(wrong("no Content-Type".into())),
            other => Err(wrong(format!("Content-Type {other} is not a photo"))),
        }
    }
}

async fn read_multipart(
    mut multipart: Multipart,
    options: SegmentOptions,
) -> Result<PhotoForm, ApiError> {
    let mut form = PhotoForm {
        photo: None,
        options,
    };
    while let Some(field) = multipart
        .next_field()
        .await
        .map_err(|e| body_error(e.status(), e.body_text()))?
    {
        let name = field.name().unwrap_or("").to_string();
        let data = field
            .bytes()
            .await
            .map_err(|e| body_error(e.status(), e.body_text()))?;
        let text = || String::from_utf8_lossy(&data).trim().to_string();
        let number = |what: &str| {
            let text = text();
            text.parse::<usize>()
                .map_err(|_| ApiError::Malformed(format!("{what} `{text}` is not a whole number")))
        };
        match name.as_str() {
            "photo" => form.photo = Some(data),
            "width" => form.options.width = Some(number("width")?),
            "height" => form.options.height = Some(number("height")?),
            "legend" => form.options.legend = Some(text() == "true"),
            other => {
                return Err(ApiError::Malformed(format!(
                    "unknown multipart field `{other}`; expected photo, width, height, legend"
                )))
            }
        }
    }
    Ok(form)
}

/// The classes a photo's map holds.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct Legend {
    pub model: String,
    /// The map's size.
    pub width: usize,
    pub height: usize,
    /// The photo's size, as sent (upright).
    pub source_width: u32,
    pub source_height: u32,
    /// The classes present, by index.
    pub classes: Vec<LegendEntry>,
}

/// One class of a map's legend.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct LegendEntry {
    /// Its label value in the map.
    pub index: usize,
    pub name: String,
    /// `#rrggbb`
    pub color: String,
    /// How many pixels of the map it covers.
    pub pixels: usize,
}

fn legend(card: &ModelCard, map: &LabelMap, source: (u32, u32)) -> Legend {
    let classes = map
        .histogram(card.label_classes())
        .into_iter()
        .enumerate()
        .filter(|&(_, pixels)| pixels > 0)
        .map(|(index, pixels)| {
            let (name, color) = match (card.classes.get(index), &card.dontcare) {
                (Some(c), _) => (c.name.clone(), c.color.clone()),
                (None, Some(d)) => (d.name.clone(), d.color.clone()),
                (None, None) => (format!("class {index}"), "#000000".into()),
            };
            LegendEntry {
                index,
                name,
                color,
                pixels,
            }
        })
        .collect();
    Legend {
        model: card.name.clone(),
        width: map.width(),
        height: map.height(),
        source_width: source.0,
        source_height: source.1,
        classes,
    }
}

/// The 404 of a model without a segmenter, naming those that have one.
fn no_segmenter(state: &AppState, name: &str) -> ApiError {
    let with: Vec<&str> = state
        .models
        .iter()
        .filter(|(_, w)| w.segmenter().is_some())
        .map(|(n, _)| n.as_str())
        .collect();
    ApiError::NotFound(format!(
        "model `{name}` has no segmenter, so it cannot turn a photo into a map (its package carries no \
         segmenter.onnx; `easel import-segmenter` attaches one); {}",
        if with.is_empty() {
            "no loaded model has one".to_string()
        } else {
            format!("models with one: {}", with.join(", "))
        }
    ))
}

/// Turn a photo into a label map.
///
/// The photo (PNG, JPEG or WebP) is the body, or the multipart field
/// `photo`; `width` and `height` (default: the model's native size) are the
/// map's size, and `legend` asks for its legend instead. The photo is turned
/// upright (EXIF), scaled to cover width×height and centre-cropped to it,
/// and the model's segmenter names the class of every pixel. The answer is
/// an index PNG like those `label-map` reads: 8-bit, 16-bit when the model
/// has more than 256 label values.
#[utoipa::path(
    post,
    path = "/api/v1/models/{name}/segment",
    params(("name" = String, Path, description = "model name"), SegmentOptions),
    request_body(description = "the photo (PNG, JPEG or WebP), or multipart/form-data with a `photo` field", content(
        (Vec<u8> = "image/jpeg"),
        (Vec<u8> = "image/png"),
        (Vec<u8> = "image/webp"),
        (Vec<u8> = "multipart/form-data"),
    )),
    responses(
        (status = 200, description = "the map as a grayscale PNG of class indices, with x-width, x-height, x-source-width and x-source-height (the photo's size) headers; with legend=true, its legend",
            content((Vec<u8> = "image/png"), (Legend = "application/json"))),
        (status = 400, description = "malformed request", body = ErrorBody),
        (status = 404, description = "no such model, or the model has no segmenter", body = ErrorBody),
        (status = 413, description = "body, photo or map too large", body = ErrorBody),
        (status = 415, description = "not a PNG, JPEG or WebP photo", body = ErrorBody),
        (status = 422, description = "a photo that cannot be decoded", body = ErrorBody),
        (status = 503, description = "the segmenter's queue is full; retry after Retry-After seconds", body = ErrorBody),
        (status = 504, description = "no map within the request timeout", body = ErrorBody),
        (status = 500, description = "internal error (details in the server log)", body = ErrorBody),
    )
)]
pub async fn segment(
    State(state): State<Arc<AppState>>,
    Path(name): Path<String>,
    form: PhotoForm,
) -> Result<Response, ApiError> {
    let worker = worker(&state, &name)?;
    let segmenter = worker
        .segmenter()
        .cloned()
        .ok_or_else(|| no_segmenter(&state, &name))?;
    let photo = form.photo.ok_or_else(|| {
        ApiError::Malformed(
            "no photo: send it as the body (image/png, image/jpeg or image/webp) or as the multipart field `photo`"
                .into(),
        )
    })?;
    let card = worker.card().clone();
    let options = form.options;
    let max_pixels = state.config.max_pixels;
    let canvas = Canvas::new(
        options.width.unwrap_or(card.native.width),
        options.height.unwrap_or(card.native.height),
        max_pixels,
    )?;
    let fitted = blocking(move || Ok(prepare_photo(&photo, canvas, max_pixels)?)).await?;
    let source = fitted.source;
    let reply = segmenter.submit(fitted.image)?;
    let map = tokio::time::timeout(state.config.request_timeout, reply)
        .await
        .map_err(|_| {
            ApiError::Timeout(format!(
                "no map within {:?}; the server is busy, retry or raise --request-timeout-ms",
                state.config.request_timeout
            ))
        })?
        .map_err(|_| ApiError::Internal("the segmenter stopped".into()))??;
    if options.legend.unwrap_or(false) {
        return Ok(Json(legend(&card, &map, source)).into_response());
    }
    let (width, height) = (map.width(), map.height());
    let values = card.label_classes();
    let png = blocking(move || {
        map.index_png(values)
            .map_err(|e| ApiError::Internal(format!("encoding the map: {e}")))
    })
    .await?;
    let mut headers = HeaderMap::new();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("image/png"));
    headers.insert("x-width", HeaderValue::from(width));
    headers.insert("x-height", HeaderValue::from(height));
    headers.insert("x-source-width", HeaderValue::from(source.0));
    headers.insert("x-source-height", HeaderValue::from(source.1));
    Ok((headers, png).into_response())
}
