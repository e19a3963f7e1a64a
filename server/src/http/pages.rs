//! The painting page and its assets: `frontend/src` at `/` and `/ui/`, the
//! shared `static/` folder at `/static/`. Release builds embed both, so the
//! binary serves them without the source tree; debug builds read them from
//! disk, so edits show on reload.

use axum::extract::Path;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use rust_embed::Embed;

use super::error::ApiError;

#[derive(Embed)]
#[folder = "../frontend/src"]
struct Frontend;

#[derive(Embed)]
#[folder = "../static"]
struct Static;

/// Headers every page and asset carries: no framing, no sniffing, no
/// referrer, and scripts, styles and images from this server only (images
/// also from `blob:` URLs, which is how results are shown).
pub fn security_headers(headers: &mut HeaderMap) {
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'self'; img-src 'self' blob: data:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'",
        ),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
}

fn asset<E: Embed>(path: &str, request: &HeaderMap) -> Result<Response, ApiError> {
    let file = E::get(path).ok_or_else(|| ApiError::NotFound(format!("no file `{path}` here")))?;
    let etag = format!("\"{}\"", hex(&file.metadata.sha256_hash()[..12]));
    let mut headers = HeaderMap::new();
    security_headers(&mut headers);
    // Revalidate every time: the files are small and change with the binary.
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    if let Ok(v) = HeaderValue::from_str(&etag) {
        headers.insert(header::ETAG, v);
    }
    if request
        .get(header::IF_NONE_MATCH)
        .is_some_and(|v| v.as_bytes() == etag.as_bytes())
    {
        return Ok((StatusCode::NOT_MODIFIED, headers).into_response());
    }
    if let Ok(v) = HeaderValue::from_str(file.metadata.mimetype()) {
        headers.insert(header::CONTENT_TYPE, v);
    }
    Ok((headers, file.data.into_owned()).into_response())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

pub async fn index(request: HeaderMap) -> Result<Response, ApiError> {
    asset::<Frontend>("index.html", &request)
}

pub async fn frontend(Path(path): Path<String>, request: HeaderMap) -> Result<Response, ApiError> {
    asset::<Frontend>(&path, &request)
}

pub async fn static_file(
    Path(path): Path<String>,
    request: HeaderMap,
) -> Result<Response, ApiError> {
    asset::<Static>(&path, &request)
}

/// Browsers ask for /favicon.ico on pages that name no icon (the galleries).
pub async fn favicon(request: HeaderMap) -> Result<Response, ApiError> {
    asset::<Static>("favicon.svg", &request)
}
