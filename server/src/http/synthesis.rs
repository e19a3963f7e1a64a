//! The synthesis routes: thin. A `SynthesisForm` extractor reads the request
//! (a PNG body or multipart fields, options in the query or the form) into the
//! pipeline's `SynthesisRequest`; the answer cache (`http::cache`) answers it
//! when an identical request was answered or is being answered; else the
//! pipeline validates it, the model's queue runs it, and the image is encoded.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::rejection::QueryRejection;
use axum::extract::{FromRequest, Multipart, Path, Query, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::api::ErrorBody;
use super::cache::{self, Outcome, Weigh};
use super::error::ApiError;
use super::models::worker;
use super::AppState;
use crate::inference::pipeline::{
    self, Compute, EdgesMode, Limits, NoiseRegion, NoiseSpec, RegionZ, SizeMode, StyleSpec,
    SynthesisRequest, ZVector,
};
use crate::inference::queue::ModelWorker;
use crate::package::maps::LabelEncoding;
use crate::package::short_digest;

/// Options of a synthesis request, as query parameters or multipart fields.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SynthesisOptions {
    /// png (default), jpeg, webp, or npy: the generator's raw output,
    /// (1, 3, H, W) float32 in [-1, 1] at the size it was made at.
    pub format: Option<String>,
    /// auto (default), index, colors or red.
    pub encoding: Option<String>,
    /// With `encoding=colors`: map off-palette colours to the nearest class.
    pub nearest: Option<bool>,
    /// Seed for z (models with a style vector); default 0. With a style
    /// image or a style preset, z is drawn around that style with this seed.
    pub seed: Option<u64>,
    /// A style preset the model ships (its card's `styles`, e.g. noon).
    pub style_preset: Option<String>,
    /// input (default): the image has the map's size; native: the model's;
    /// fit: the size it was made at (the map's when the model takes it,
    /// else the native size).
    pub size: Option<String>,
    /// classes (default): without an instance map, instance edges are the
    /// edges between classes; none: no edges.
    pub edges: Option<String>,
}

/// The encodings of the image in a response.
#[derive(Debug, Clone, Copy, PartialEq, clap::ValueEnum)]
enum ImageFormat {
    Png,
    #[value(alias = "jpg")]
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

/// One of a closed set of names (the same names the CLI takes), or a 400
/// that lists them.
fn choice<T: clap::ValueEnum>(what: &str, value: Option<&str>) -> Result<Option<T>, ApiError> {
    let Some(value) = value else {
        return Ok(None);
    };
    T::from_str(value, true).map(Some).map_err(|_| {
        let names: Vec<String> = T::value_variants()
            .iter()
            .filter_map(|v| v.to_possible_value())
            .map(|p| p.get_name().to_string())
            .collect();
        ApiError::Malformed(format!(
            "{what} `{value}` is not one of {}",
            names.join(", ")
        ))
    })
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

/// A synthesis request as it arrived: the files and the options.
#[derive(Default)]
pub struct SynthesisForm {
    label: Option<Bytes>,
    instance: Option<Bytes>,
    style: Option<Bytes>,
    /// An explicit z or z map (`z` field).
    z: Option<StyleSpec>,
    /// Regions with their own z: each `region_mask` field, then its
    /// `region_seed` or `region_z`.
    regions: Vec<(Bytes, Option<RegionZ>)>,
    options: SynthesisOptions,
}

impl<S: Send + Sync> FromRequest<S> for SynthesisForm {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, ApiError> {
        let query = options(Query::<SynthesisOptions>::try_from_uri(request.uri()))?;
        match media_type(&request).as_str() {
            "image/png" => {
                let body = Bytes::from_request(request, state)
                    .await
                    .map_err(|e| body_error(e.status(), e.body_text()))?;
                Ok(Self {
                    label: Some(body),
                    options: query,
                    ..Self::default()
                })
            }
            "multipart/form-data" => {
                let multipart = Multipart::from_request(request, state)
                    .await
                    .map_err(|e| ApiError::Malformed(e.body_text()))?;
                read_multipart(multipart, query).await
            }
            "" => Err(ApiError::UnsupportedType(
                "no Content-Type: send the label map as image/png, or multipart/form-data with a `label` field".into(),
            )),
            other => Err(ApiError::UnsupportedType(format!(
                "Content-Type {other} is not supported: send the label map as image/png, or multipart/form-data with a `label` field"
            ))),
        }
    }
}

/// The request's media type, lower case and without parameters; empty
/// when it has no Content-Type.
pub(crate) fn media_type(request: &Request) -> String {
    let content_type = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase()
}

async fn read_multipart(
    mut multipart: Multipart,
    options: SynthesisOptions,
) -> Result<SynthesisForm, ApiError> {
    let mut form = SynthesisForm {
        options,
        ..SynthesisForm::default()
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
        let opts = &mut form.options;
        match name.as_str() {
            "label" => form.label = Some(data),
            "instance" => form.instance = Some(data),
            "style" => form.style = Some(data),
            "z" => {
                form.z = Some(StyleSpec::parse_z(&data).map_err(|e| {
                    ApiError::Malformed(format!("the z field cannot be read: {e}"))
                })?)
            }
            "region_mask" => form.regions.push((data, None)),
            "region_seed" | "region_z" => {
                let z = if name == "region_seed" {
                    RegionZ::Seed(text().parse().map_err(|_| {
                        ApiError::Malformed(format!(
                            "region_seed `{}` is not a whole number",
                            text()
                        ))
                    })?)
                } else {
                    RegionZ::Vector(ZVector::parse(&data).map_err(|e| {
                        ApiError::Malformed(format!("a region_z field cannot be read: {e}"))
                    })?)
                };
                match form.regions.last_mut() {
                    Some((_, slot @ None)) => *slot = Some(z),
                    _ => {
                        return Err(ApiError::Malformed(format!(
                            "{name} must follow the region_mask it belongs to (one region_seed or region_z per region_mask)"
                        )))
                    }
                }
            }
            "seed" => {
                opts.seed = Some(text().parse().map_err(|_| {
                    ApiError::Malformed(format!("seed `{}` is not a whole number", text()))
                })?)
            }
            "style_preset" => opts.style_preset = Some(text()),
            "format" => opts.format = Some(text()),
            "encoding" => opts.encoding = Some(text()),
            "nearest" => opts.nearest = Some(text() == "true"),
            "size" => opts.size = Some(text()),
            "edges" => opts.edges = Some(text()),
            other => {
                return Err(ApiError::Malformed(format!(
                    "unknown multipart field `{other}`; expected label, instance, style, style_preset, seed, z, region_mask, region_seed, region_z, format, encoding, nearest, size, edges"
                )))
            }
        }
    }
    Ok(form)
}

pub(crate) fn body_error(status: StatusCode, text: String) -> ApiError {
    if status == StatusCode::PAYLOAD_TOO_LARGE {
        ApiError::TooLarge(format!(
            "{text}; send a smaller file or raise --max-body-bytes"
        ))
    } else {
        ApiError::Malformed(text)
    }
}

impl SynthesisForm {
    /// The pipeline's request; `default_size` is the route's size mode.
    fn into_request(self, default_size: SizeMode) -> Result<SynthesisRequest, ApiError> {
        let options = &self.options;
        let label = self.label.clone().ok_or_else(|| {
            ApiError::Malformed(
                "no label map: send it as the body (image/png) or as the multipart field `label`"
                    .into(),
            )
        })?;
        let preset = options.style_preset.clone();
        let style = match (self.style, options.seed, self.z, preset) {
            (Some(_), _, _, Some(_)) | (_, _, Some(_), Some(_)) => {
                return Err(ApiError::Malformed(
                    "style_preset names the style: send it without a style image or z".into(),
                ))
            }
            (Some(_), _, Some(_), None) | (None, Some(_), Some(_), None) => {
                return Err(ApiError::Malformed(
                    "z gives the style vector itself: send it without style or seed".into(),
                ))
            }
            (None, sample, None, Some(name)) => StyleSpec::Preset { name, sample },
            (None, None, Some(z), None) => z,
            (Some(image), sample, None, None) => StyleSpec::Image { image, sample },
            (None, Some(seed), None, None) => StyleSpec::Seed(seed),
            (None, None, None, None) => StyleSpec::Default,
        };
        let regions = self
            .regions
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
            .collect::<Result<_, ApiError>>()?;
        Ok(SynthesisRequest {
            label,
            encoding: encoding(options)?,
            instance: self.instance,
            style,
            noise: NoiseSpec { regions },
            size: choice("size", options.size.as_deref())?.unwrap_or(default_size),
            edges: choice::<EdgesMode>("edges", options.edges.as_deref())?.unwrap_or_default(),
            ..SynthesisRequest::default()
        })
    }
}

fn millis(d: Duration) -> HeaderValue {
    HeaderValue::from_str(&format!("{:.1}", d.as_secs_f64() * 1000.0))
        .unwrap_or(HeaderValue::from_static("0"))
}

/// Runs blocking work (decoding, encoding images) off the async executor.
pub(crate) async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))?
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
    form: SynthesisForm,
) -> Result<Response, ApiError> {
    let started = Instant::now();
    let worker = worker(&state, &name)?;
    let format = choice::<ImageFormat>("format", form.options.format.as_deref())?
        .unwrap_or(ImageFormat::Png);
    let request = form.into_request(SizeMode::Input)?;
    let (answer, outcome) = if state.cache.is_on() && !asks_afresh(&headers) {
        // Everything that decides the answer; the request holds the rest.
        let parts = (
            &name,
            worker.package_digest(),
            worker.execution().compute,
            format.content_type(),
            &request,
        );
        let key = cache::key(&parts);
        let making = make_answer(state.clone(), worker, format, request);
        state.cache.get_or_make(key, making).await
    } else {
        let answer = make_answer(state.clone(), worker, format, request).await;
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

/// The answer to `request` from the model: prepared, queued, rendered and
/// encoded. It owns what it needs, so that the answer cache can share it
/// between identical requests.
async fn make_answer(
    state: Arc<AppState>,
    worker: ModelWorker,
    format: ImageFormat,
    request: SynthesisRequest,
) -> Result<Answer, ApiError> {
    let limits = Limits {
        max_pixels: state.config.max_pixels,
    };
    let card = worker.card().clone();
    let style = pipeline::style_recipe(&card, &request.style, request.noise.regions.len());
    let available = worker.execution().compute;
    let prepared =
        blocking(move || Ok(pipeline::prepare(&card, &request, limits, available)?)).await?;
    let receiver = worker.submit(prepared.work)?;
    let done = tokio::time::timeout(state.config.request_timeout, receiver)
        .await
        .map_err(|_| {
            ApiError::Timeout(format!(
                "no image within {:?}; the server is busy, retry or raise --request-timeout",
                state.config.request_timeout
            ))
        })?
        .map_err(|_| ApiError::Internal("the model worker stopped".into()))??;
    let model = worker.card().name.clone();
    state.metrics.queued(&model, done.queue_time);
    let finish = prepared.finish;
    let image = done.image;
    let mut body = blocking(move || {
        let Some(encoding) = format.image_format() else {
            return Ok(crate::package::npy::encode(&image.shape, &image.data));
        };
        let rgb = pipeline::render(&image, &finish)?;
        let mut out = std::io::Cursor::new(Vec::new());
        rgb.write_to(&mut out, encoding)
            .map_err(|e| ApiError::Internal(format!("encoding the image: {e}")))?;
        Ok(out.into_inner())
    })
    .await?;
    // Kept in the cache: no spare capacity beyond what it counts.
    body.shrink_to_fit();
    Ok(Answer {
        content_type: format.content_type(),
        body: Bytes::from(body),
        recipe: Recipe {
            model,
            package: short_digest(worker.package_digest()).to_string(),
            style,
            compute: prepared.compute,
        },
        queue_time: done.queue_time,
        inference_time: done.inference_time,
        batch_size: done.batch_size,
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
        std::mem::size_of::<Self>() + self.body.len() + self.recipe.weight()
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
        self.recipe.write(&mut headers);
        (headers, self.body).into_response()
    }
}

/// What made an image, so that it can be made again: the `x-easel-*`
/// headers.
#[derive(Debug, Clone)]
struct Recipe {
    model: String,
    /// The package digest's first hex digits.
    package: String,
    /// `pipeline::style_recipe`.
    style: String,
    compute: Compute,
}

impl Recipe {
    fn weight(&self) -> usize {
        self.model.len() + self.package.len() + self.style.len()
    }

    fn write(&self, headers: &mut HeaderMap) {
        let compute = self.compute.to_string();
        for (name, value) in [
            ("x-easel-model", self.model.as_str()),
            ("x-easel-package", self.package.as_str()),
            ("x-easel-style", self.style.as_str()),
            ("x-easel-compute", compute.as_str()),
        ] {
            // Names and digests are plain ASCII; a model name that is not
            // is left out rather than failing the answer.
            if let Ok(value) = HeaderValue::from_str(value) {
                headers.insert(name, value);
            }
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
    form: SynthesisForm,
) -> Result<Response, ApiError> {
    let worker = worker(&state, &name)?;
    let request = form.into_request(SizeMode::Native)?;
    let limits = Limits {
        max_pixels: state.config.max_pixels,
    };
    let card = worker.card().clone();
    let per_value = if card.label_classes() > 256 { 2u16 } else { 1 };
    let (bytes, size, source) = blocking(move || {
        let label = pipeline::decode_label(&card, &request, limits)?;
        let source = (label.width(), label.height());
        let label = match request.size {
            // As sent: the page keeps whatever size it is given.
            SizeMode::Input => label,
            mode => pipeline::sized(&card, label, None, mode)?.0,
        };
        let bytes: Vec<u8> = if per_value == 2 {
            label
                .labels()
                .iter()
                .flat_map(|&v| (v as u16).to_be_bytes())
                .collect()
        } else {
            label.labels().iter().map(|&v| v as u8).collect()
        };
        Ok((bytes, (label.width(), label.height()), source))
    })
    .await?;
    let mut headers = HeaderMap::new();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/octet-stream"),
    );
    headers.insert("x-width", HeaderValue::from(size.0));
    headers.insert("x-height", HeaderValue::from(size.1));
    headers.insert("x-bytes-per-value", HeaderValue::from(per_value));
    headers.insert("x-source-width", HeaderValue::from(source.0));
    headers.insert("x-source-height", HeaderValue::from(source.1));
    Ok((headers, bytes).into_response())
}
