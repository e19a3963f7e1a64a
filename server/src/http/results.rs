//! The result galleries under `/results`: the list of runs, two runs side
//! by side, and the files of each run (images and pages), served from the
//! results folder that `easel test` and batch runs write.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Path, Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use serde::Deserialize;
use tower::ServiceExt;

use super::error::ApiError;
use super::form::QueryOptions;
use super::AppState;
use crate::runs::pages;

/// The list of runs (HTML).
pub async fn results_index(State(state): State<Arc<AppState>>) -> Result<Response, ApiError> {
    let results = state.config.results_dir.clone();
    let html = tokio::task::spawn_blocking(move || pages::render_listing(&results))
        .await?
        .map_err(|e| ApiError::internal("rendering the list of runs", e))?;
    Ok(page(Html(html).into_response()))
}

#[derive(Deserialize)]
pub struct CompareQuery {
    a: String,
    b: String,
    page: Option<usize>,
}

/// Two runs side by side (HTML).
pub async fn compare(
    State(state): State<Arc<AppState>>,
    QueryOptions(q): QueryOptions<CompareQuery>,
) -> Result<Response, ApiError> {
    let results = state.config.results_dir.clone();
    let html = tokio::task::spawn_blocking(move || {
        pages::render_compare(&results, &q.a, &q.b, q.page.unwrap_or(1))
    })
    .await?
    .map_err(|e| match e {
        crate::runs::RunError::Io { .. } => ApiError::NotFound(e.to_string()),
        e => e.into(),
    })?;
    Ok(page(Html(html).into_response()))
}

/// Files under the results folder (images and gallery pages).
pub async fn results_file(
    State(state): State<Arc<AppState>>,
    Path(path): Path<String>,
    request: Request,
) -> Result<Response, ApiError> {
    if path == "compare" {
        return Err(ApiError::Malformed(
            "compare needs ?a=<run>/test_<epoch>&b=<run>/test_<epoch>".into(),
        ));
    }
    let uri = format!("/{path}");
    let (mut parts, _) = request.into_parts();
    parts.uri = uri
        .parse()
        .map_err(|_| ApiError::NotFound(format!("no result `{path}`")))?;
    let response = tower_http::services::ServeDir::new(&state.config.results_dir)
        .oneshot(Request::from_parts(parts, Body::empty()))
        .await
        .unwrap_or_else(|never| match never {});
    if response.status() == StatusCode::NOT_FOUND {
        return Err(ApiError::NotFound(format!(
            "no result `{path}` in {}",
            state.config.results_dir.display()
        )));
    }
    Ok(page(response.map(Body::new)))
}

/// Security headers for result pages: like the painting page's, but the
/// galleries carry their own styles (they also open from disk).
fn page(mut response: Response) -> Response {
    let headers = response.headers_mut();
    super::pages::security_headers(headers);
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'",
        ),
    );
    response
}
