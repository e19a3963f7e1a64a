//! The synthesis routes: thin. The `Form` extractor reads the request (a
//! PNG body or multipart fields, options in the query or the form, read by
//! serde alike) into the pipeline's `SynthesisRequest`; the answer cache
//! (`http::cache`) answers it when an identical request was answered or is
//! being answered; else the model's `Synthesizer` makes the image, and it is
//! encoded.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::api::ErrorBody;
use super::cache::{self, Outcome, Weigh};
use super::error::ApiError;
use super::form::{flag, Form, FormSpec};
use super::models::{synthesizer, worker};
use super::AppState;
use crate::inference::pipeline::{
    self, EdgesMode, Limits, NoiseRegion, NoiseSpec, RegionZ, SizeMode, StyleConflict, StyleParts,
    StyleSpec, SynthesisRequest, ZVector,
};
use crate::inference::synthesizer::{Recipe, Synthesizer};
use crate::package::maps::LabelEncoding;

/// Options of a synthesis request, as query parameters or multipart fields.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SynthesisOptions {
    /// png (default), jpeg, webp, or npy: the generator's raw output,
    /// (1, 3, H, W) float32 in [-1, 1] at the size it was made at.
    #[param(value_type = Option<String>)]
    pub format: Option<ImageFormat>,
    /// auto (default), index, colors or red.
    pub encoding: Option<String>,
    /// With `encoding=colors`: map off-palette colours to the nearest class.
    #[serde(default, deserialize_with = "flag")]
    pub nearest: Option<bool>,
    /// Seed for z (models with a style vector); default 0. With a style
    /// image or a style preset, z is drawn around that style with this seed.
    pub seed: Option<u64>,
    /// A style preset the model ships (its card's `styles`, e.g. noon).
    pub style_preset: Option<String>,
    /// input (default): the image has the map's size; native: the model's;
    /// fit: the size it was made at (the map's when the model takes it,
    /// else the native size).
    #[param(value_type = Option<String>)]
    pub size: Option<SizeMode>,
    /// classes (default): without an instance map, instance edges are the
    /// edges between classes; none: no edges.
    #[param(value_type = Option<String>)]
    pub edges: Option<EdgesMode>,
}

/// What the synthesis and label-map routes take.
pub struct SynthesisFields;

impl FormSpec for SynthesisFields {
    type Options = SynthesisOptions;
    const BODY: &str = "label";
    const BODY_TYPES: &[&str] = &["image/png"];
    const FILES: &[&str] = &[
        "label",
        "instance",
        "style",
        "z",
        "region_mask",
        "region_seed",
        "region_z",
    ];
    const HOW: &str =
        "send the label map as image/png, or multipart/form-data with a `label` field";
    const TOO_LARGE: &str = "send a smaller file or raise --max-body-bytes";
}

/// The encodings of the image in a response.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ImageFormat {
    Png,
    #[serde(alias = "jpg")]
    Jpeg,
    Webp,
    Npy,
}

impl ImageFormat {
    fn content_type(self) -> &'static str {
        match self {
            Self::Png => "image/png",
            Self::Jpeg => "image/jpeg",
            Self::Webp => "image/webp",
            Self::Npy => "application/x-npy",
        }
    }
    fn image_format(self) -> Option<image::ImageFormat> {
        match self {
            Self::Png => Some(image::ImageFormat::Png),
            Self::Jpeg => Some(image::ImageFormat::Jpeg),
            Self::Webp => Some(image::ImageFormat::WebP),
            Self::Npy => None,
        }
    }
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

/// The pipeline's request from a synthesis form; `default_size` is the
/// route's size mode.
fn synthesis_request(
    form: Form<SynthesisFields>,
    default_size: SizeMode,
) -> Result<SynthesisRequest, ApiError> {
    let options = &form.options;
    let label = form.file("label").ok_or_else(|| {
        ApiError::Malformed(
            "no label map: send it as the body (image/png) or as the multipart field `label`"
                .into(),
        )
    })?;
    let z = form
        .file("z")
        .map(|data| {
            StyleSpec::parse_z(&data)
                .map_err(|e| ApiError::Malformed(format!("the z field cannot be read: {e}")))
        })
        .transpose()?;
    let style = StyleSpec::from_parts(StyleParts {
        image: form.file("style"),
        seed: options.seed,
        z,
        preset: options.style_preset.clone(),
    })
    .map_err(|e| {
        ApiError::Malformed(
            match e {
                StyleConflict::PresetAndOther => {
                    "style_preset names the style: send it without a style image or z"
                }
                StyleConflict::ZAndOther => {
                    "z gives the style vector itself: send it without style or seed"
                }
            }
            .into(),
        )
    })?;
    Ok(SynthesisRequest {
        label,
        encoding: encoding(options)?,
        instance: form.file("instance"),
        style,
        noise: NoiseSpec {
            regions: regions(&form)?,
        },
        size: options.size.unwrap_or(default_size),
        edges: options.edges.unwrap_or_default(),
        ..SynthesisRequest::default()
    })
}

/// Regions with their own z: each `region_mask` part, then its
/// `region_seed` or `region_z`.
fn regions(form: &Form<SynthesisFields>) -> Result<Vec<NoiseRegion>, ApiError> {
    let mut regions: Vec<(Bytes, Option<RegionZ>)> = Vec::new();
    for part in &form.parts {
        let z = match part.name.as_str() {
            "region_mask" => {
                regions.push((part.data.clone(), None));
                continue;
            }
            "region_seed" => {
                let text = String::from_utf8_lossy(&part.data).trim().to_string();
                RegionZ::Seed(text.parse().map_err(|_| {
                    ApiError::Malformed(format!("region_seed `{text}` is not a whole number"))
                })?)
            }
            "region_z" => RegionZ::Vector(ZVector::parse(&part.data).map_err(|e| {
                ApiError::Malformed(format!("a region_z field cannot be read: {e}"))
            })?),
            _ => continue,
        };
        match regions.last_mut() {
            Some((_, slot @ None)) => *slot = Some(z),
            _ => {
                return Err(ApiError::Malformed(format!(
                    "{} must follow the region_mask it belongs to (one region_seed or region_z per region_mask)",
                    part.name
                )))
            }
        }
    }
    regions
        .into_iter()
        .enumerate()
        .map(|(i, (mask, z))| {
            let z = z.ok_or_else(|| {
                ApiError::Malformed(format!(
                    "region_mask {} has no region_seed or region_z after it",
                    i + 1
                ))
            })?;
            Ok(NoiseRegion { mask, z })
        })
        .collect()
}

fn millis(d: Duration) -> HeaderValue {
    HeaderValue::from_str(&format!("{:.1}", d.as_secs_f64() * 1000.0))
        .unwrap_or(HeaderValue::from_static("0"))
}

/// Runs blocking work (decoding, encoding images) off the async executor.
pub(crate) async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(f).await?
}

/// Make an image from a label map.
///
/// The map is the body (`image/png`) or the multipart field `label`, with
/// optional `instance`, `style`, `style_preset`, `seed`, `format`,
/// `encoding`, `nearest`, `size` and `edges` fields (the same options work
/// as query parameters).
/// `z` gives the style vector itself (a .npy of float32, shape (z_dim) or
/// (1, z_dim), or a JSON array). Models whose card says `z_per_pixel`
/// (OASIS) re-roll regions: each `region_mask` (a PNG of the map's size,
/// nonzero inside) followed by its `region_seed` (z drawn as a seed draws
/// it) or `region_z`; later regions paint over earlier ones, and a pixel's z
/// depends only on the region that covers it.
/// An instance map is resized with its label map when the model needs
/// another size (nearest neighbour, as the reference's loader does).
#[utoipa::path(
    post,
    path = "/api/v1/models/{name}/synthesize",
    params(("name" = String, Path, description = "model name"), SynthesisOptions),
    request_body(description = "the label map (PNG), or multipart/form-data with a `label` field", content(
        (Vec<u8> = "image/png"),
        (Vec<u8> = "multipart/form-data"),
    )),
    responses(
        (status = 200, description = "the image; x-queue-time, x-inference-time, x-total-time (ms) and x-batch-size headers; x-cache: hit, merged, miss or bypass; x-easel-model, x-easel-package, x-easel-style and x-easel-compute: what made it",
            content((Vec<u8> = "image/png"), (Vec<u8> = "image/jpeg"), (Vec<u8> = "image/webp"), (Vec<u8> = "application/x-npy"))),
        (status = 400, description = "malformed request", body = ErrorBody),
        (status = 404, description = "no such model", body = ErrorBody),
        (status = 413, description = "body or decoded image too large", body = ErrorBody),
        (status = 415, description = "unsupported content type", body = ErrorBody),
        (status = 422, description = "a map or style this model cannot take", body = ErrorBody),
        (status = 503, description = "the model's queue is full; retry after Retry-After seconds", body = ErrorBody),
        (status = 504, description = "no image within the request timeout", body = ErrorBody),
        (status = 500, description = "internal error (details in the server log)", body = ErrorBody),
    )
)]
pub async fn synthesize(
    State(state): State<Arc<AppState>>,
    Path(name): Path<String>,
    headers: HeaderMap,
    form: Form<SynthesisFields>,
) -> Result<Response, ApiError> {
    let started = Instant::now();
    let synthesizer = synthesizer(&state, &name)?;
    let format = form.options.format.unwrap_or(ImageFormat::Png);
    let request = synthesis_request(form, SizeMode::Input)?;
    let (answer, outcome) = if state.cache.is_on() && !asks_afresh(&headers) {
        // Everything that decides the answer; the request holds the rest.
        let worker = synthesizer.worker();
        let parts = (
            &name,
            worker.package_digest(),
            worker.execution().compute,
            worker.execution().provider,
            format.content_type(),
            &request,
        );
        let key = cache::key(&parts);
        let making = make_answer(state.clone(), synthesizer, format, request);
        state.cache.get_or_make(key, making).await
    } else {
        let answer = make_answer(state.clone(), synthesizer, format, request).await;
        (answer, Outcome::Bypass)
    };
    Ok(answer?.respond(outcome, started.elapsed()))
}

/// Whether the client asked for an answer made afresh (`Cache-Control:
/// no-cache` or `no-store`), as `easel load` does to measure the model.
fn asks_afresh(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::CACHE_CONTROL)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .any(|directive| {
            let directive = directive.trim();
            directive.eq_ignore_ascii_case("no-cache") || directive.eq_ignore_ascii_case("no-store")
        })
}

/// The answer to `request` from the model, encoded. It owns what it needs,
/// so that the answer cache can share it between identical requests.
async fn make_answer(
    state: Arc<AppState>,
    synthesizer: Synthesizer,
    format: ImageFormat,
    request: SynthesisRequest,
) -> Result<Answer, ApiError> {
    let made = synthesizer.synthesize(request).await?;
    state.metrics.queued(&made.recipe.model, made.timings.queue);
    let (output, image) = (made.output, made.image);
    let mut body = blocking(move || {
        let Some(encoding) = format.image_format() else {
            return Ok(crate::package::npy::encode(&output.shape, &output.data));
        };
        let mut out = std::io::Cursor::new(Vec::new());
        image
            .write_to(&mut out, encoding)
            .map_err(|e| ApiError::internal("encoding the image", e))?;
        Ok(out.into_inner())
    })
    .await?;
    // Kept in the cache: no spare capacity beyond what it counts.
    body.shrink_to_fit();
    Ok(Answer {
        content_type: format.content_type(),
        body: Bytes::from(body),
        recipe: made.recipe,
        queue_time: made.timings.queue,
        inference_time: made.timings.inference,
        batch_size: made.timings.batch_size,
    })
}

/// A synthesis answer as the cache keeps it: all but what differs between
/// the responses that share it (`x-cache`, `x-total-time`).
#[derive(Debug, Clone)]
pub struct Answer {
    content_type: &'static str,
    body: Bytes,
    recipe: Recipe,
    queue_time: Duration,
    inference_time: Duration,
    batch_size: usize,
}

impl Weigh for Answer {
    fn weight(&self) -> usize {
        std::mem::size_of::<Self>() + self.body.len() + recipe_weight(&self.recipe)
    }
}

impl Answer {
    /// The response for one request. An answer from the cache (`hit`)
    /// waited for no queue and ran in no batch: its times are 0 and it has
    /// no `x-batch-size`; requests merged into one share its times.
    fn respond(self, outcome: Outcome, total: Duration) -> Response {
        let ran = outcome != Outcome::Hit;
        let (queue, inference) = if ran {
            (self.queue_time, self.inference_time)
        } else {
            (Duration::ZERO, Duration::ZERO)
        };
        let mut headers = HeaderMap::new();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static(self.content_type),
        );
        headers.insert("x-queue-time", millis(queue));
        headers.insert("x-inference-time", millis(inference));
        headers.insert("x-total-time", millis(total));
        if ran {
            headers.insert("x-batch-size", HeaderValue::from(self.batch_size));
        }
        headers.insert("x-cache", HeaderValue::from_static(outcome.as_str()));
        write_recipe(&self.recipe, &mut headers);
        (headers, self.body).into_response()
    }
}

fn recipe_weight(recipe: &Recipe) -> usize {
    recipe.model.len() + recipe.package.len() + recipe.style.len()
}

/// The `x-easel-*` headers: what made the image, so that it can be made again.
fn write_recipe(recipe: &Recipe, headers: &mut HeaderMap) {
    let compute = recipe.compute.to_string();
    for (name, value) in [
        ("x-easel-model", recipe.model.as_str()),
        ("x-easel-package", recipe.package.as_str()),
        ("x-easel-style", recipe.style.as_str()),
        ("x-easel-compute", compute.as_str()),
    ] {
        // Names and digests are plain ASCII; a model name that is not is
        // left out rather than failing the answer.
        if let Ok(value) = HeaderValue::from_str(value) {
            headers.insert(name, value);
        }
    }
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
    form: Form<SynthesisFields>,
) -> Result<Response, ApiError> {
    let worker = worker(&state, &name)?;
    let request = synthesis_request(form, SizeMode::Native)?;
    let limits = Limits {
        max_pixels: state.config.max_pixels,
    };
    let card = worker.card().clone();
    let (depth, bytes, size, source) = blocking(move || {
        let label = pipeline::decode_label(&card, &request, limits)?;
        let source = (label.width(), label.height());
        let label = match request.size {
            // As sent: the page keeps whatever size it is given.
            SizeMode::Input => label,
            mode => pipeline::sized(&card, label, None, mode)?.0,
        };
        let (depth, bytes) = label.index_bytes(card.label_classes());
        Ok((depth, bytes, (label.width(), label.height()), source))
    })
    .await?;
    let mut headers = HeaderMap::new();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/octet-stream"),
    );
    headers.insert("x-width", HeaderValue::from(size.0));
    headers.insert("x-height", HeaderValue::from(size.1));
    headers.insert(
        "x-bytes-per-value",
        HeaderValue::from(depth.bytes_per_value()),
    );
    headers.insert("x-source-width", HeaderValue::from(source.0));
    headers.insert("x-source-height", HeaderValue::from(source.1));
    Ok((headers, bytes).into_response())
}
