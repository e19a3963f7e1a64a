//! The segment route: a photo in, a map of the model's classes out (an
//! index PNG at the canvas size asked for, or its legend in JSON). Thin: a
//! `PhotoForm` extractor reads the request, the photo is read and fitted off
//! the executor (`inference::segment`), and the model's segmenter thread
//! runs it.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;

use super::api::ErrorBody;
use super::error::ApiError;
use super::form::{flag, Form, FormSpec};
use super::models::worker;
use super::synthesis::blocking;
use super::AppState;
use crate::inference::deadline::answer_within;
use crate::inference::segment::{prepare_photo, Canvas, Reading, SegmentError};
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
    #[serde(default, deserialize_with = "flag")]
    pub legend: Option<bool>,
    /// true: read the image with the model's judge (the segmenter that
    /// scores `easel test --evaluate` runs: its own, else its photo
    /// segmenter) instead of the one for photos; the page's check overlay
    /// reads generated images so.
    #[serde(default, deserialize_with = "flag")]
    pub judge: Option<bool>,
}

/// What the segment route takes: a photo.
pub struct PhotoFields;

impl FormSpec for PhotoFields {
    type Options = SegmentOptions;
    const BODY: &str = "photo";
    const BODY_TYPES: &[&str] = &["image/png", "image/jpeg", "image/jpg", "image/webp"];
    const FILES: &[&str] = &["photo"];
    const REFUSED: &str = "is not a photo";
    const HOW: &str = "send the photo as image/png, image/jpeg or image/webp, or multipart/form-data with a `photo` field";
    const TOO_LARGE: &str = "send a smaller file or raise --max-body-bytes";
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
            let (name, color) = card.value_class(index);
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
    form: Form<PhotoFields>,
) -> Result<Response, ApiError> {
    let worker = worker(&state, &name)?;
    let segmenter = worker
        .segmenter()
        .cloned()
        .ok_or_else(|| no_segmenter(&state, &name))?;
    let photo = form.file("photo").ok_or_else(|| {
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
    let reading = if options.judge.unwrap_or(false) {
        Reading::Judge
    } else {
        Reading::Photo
    };
    let reply = segmenter.submit(fitted.image, reading)?;
    let limit = Some(state.config.request_timeout);
    let map = answer_within(reply, limit, "map", &name)
        .await
        .map_err(SegmentError::from)??;
    if options.legend.unwrap_or(false) {
        return Ok(Json(legend(&card, &map, source)).into_response());
    }
    let (width, height) = (map.width(), map.height());
    let values = card.label_classes();
    let png = blocking(move || {
        map.index_png(values)
            .map_err(|e| ApiError::internal("encoding the map", e))
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
