//! The API's one error type and its one status table. Every error is JSON
//! `{"error": …, "error_type": …}`; internal details go to the log only.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;

use crate::inference::pipeline::SynthesisError;
use crate::inference::queue::QueueError;
use crate::inference::segment::SegmentError;
use crate::package::maps::MapError;

/// Clone: an answer being made for several identical requests fails them all.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ApiError {
    /// 400: the request cannot be read.
    #[error("{0}")]
    Malformed(String),
    /// 401 with WWW-Authenticate: the API token is missing or wrong.
    #[error("{0}")]
    Unauthorized(String),
    /// 403: configured off (reading server folders without --batch-root).
    #[error("{0}")]
    Forbidden(String),
    /// 404
    #[error("{0}")]
    NotFound(String),
    /// 413
    #[error("{0}")]
    TooLarge(String),
    /// 409: the thing is busy or made otherwise (a batch run already going).
    #[error("{0}")]
    Conflict(String),
    /// 415
    #[error("{0}")]
    UnsupportedType(String),
    /// 422: readable, but not a map this model can take (or a photo that
    /// cannot be decoded).
    #[error("{0}")]
    InvalidMap(String),
    /// 503 with Retry-After.
    #[error("{0}")]
    Overloaded(String),
    /// 504
    #[error("{0}")]
    Timeout(String),
    /// 500: the message is logged; the client sees a generic one.
    #[error("{0}")]
    Internal(String),
}

impl ApiError {
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::Malformed(_) => StatusCode::BAD_REQUEST,
            ApiError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::UnsupportedType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::InvalidMap(_) => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::Overloaded(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Timeout(_) => StatusCode::GATEWAY_TIMEOUT,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The `error_type` field, also the metrics label.
    pub fn kind(&self) -> &'static str {
        match self {
            ApiError::Malformed(_) => "malformed",
            ApiError::Unauthorized(_) => "unauthorized",
            ApiError::Forbidden(_) => "forbidden",
            ApiError::NotFound(_) => "not_found",
            ApiError::TooLarge(_) => "too_large",
            ApiError::Conflict(_) => "conflict",
            ApiError::UnsupportedType(_) => "unsupported_type",
            ApiError::InvalidMap(_) => "invalid_map",
            ApiError::Overloaded(_) => "overloaded",
            ApiError::Timeout(_) => "timeout",
            ApiError::Internal(_) => "internal",
        }
    }
}

impl From<crate::runs::RunError> for ApiError {
    fn from(e: crate::runs::RunError) -> Self {
        use crate::runs::RunError;
        match e {
            RunError::BadName { .. } => ApiError::Malformed(e.to_string()),
            RunError::Pairing(_) => ApiError::InvalidMap(e.to_string()),
            RunError::OtherModel { .. } => ApiError::Conflict(e.to_string()),
            RunError::Io { .. }
            | RunError::BadManifest { .. }
            | RunError::Inference(_)
            | RunError::Scoring { .. } => ApiError::Internal(e.to_string()),
        }
    }
}

impl From<&MapError> for ApiError {
    fn from(e: &MapError) -> Self {
        match e {
            MapError::Png { .. } => ApiError::Malformed(e.to_string()),
            MapError::TooLarge { .. } => ApiError::TooLarge(format!(
                "{e}; send a smaller image, or start the server with a larger --max-pixels"
            )),
            _ => ApiError::InvalidMap(e.to_string()),
        }
    }
}

impl From<MapError> for ApiError {
    fn from(e: MapError) -> Self {
        (&e).into()
    }
}

impl From<&SynthesisError> for ApiError {
    fn from(e: &SynthesisError) -> Self {
        match e {
            SynthesisError::Map(m) => m.into(),
            SynthesisError::StyleImage(_) => ApiError::Malformed(e.to_string()),
            SynthesisError::Runtime(_) | SynthesisError::BadOutput(_) => {
                ApiError::Internal(e.to_string())
            }
            SynthesisError::NoEncoder(_)
            | SynthesisError::NoStyle(_)
            | SynthesisError::NoPreset { .. }
            | SynthesisError::StyleLength { .. }
            | SynthesisError::RegionLength { .. }
            | SynthesisError::ZMap(_)
            | SynthesisError::NoPixelNoise(_)
            | SynthesisError::Compute { .. } => ApiError::InvalidMap(e.to_string()),
        }
    }
}

impl From<SynthesisError> for ApiError {
    fn from(e: SynthesisError) -> Self {
        (&e).into()
    }
}

impl From<SegmentError> for ApiError {
    fn from(e: SegmentError) -> Self {
        match e {
            SegmentError::NotAPhoto(_) => ApiError::UnsupportedType(e.to_string()),
            SegmentError::Unreadable { .. } => ApiError::InvalidMap(e.to_string()),
            SegmentError::PhotoTooLarge { .. } => ApiError::TooLarge(format!(
                "{e}; send a smaller photo, or start the server with a larger --max-pixels"
            )),
            SegmentError::CanvasTooLarge { .. } => ApiError::TooLarge(format!(
                "{e}; ask for a smaller map, or start the server with a larger --max-pixels"
            )),
            SegmentError::EmptyCanvas { .. } => ApiError::Malformed(e.to_string()),
            SegmentError::Full { .. } | SegmentError::Closed(_) => {
                ApiError::Overloaded(e.to_string())
            }
            SegmentError::Runtime(_) | SegmentError::BadOutput(_) => {
                ApiError::Internal(e.to_string())
            }
        }
    }
}

impl From<QueueError> for ApiError {
    fn from(e: QueueError) -> Self {
        match e {
            QueueError::Full { .. } | QueueError::Busy { .. } | QueueError::Closed(_) => {
                ApiError::Overloaded(e.to_string())
            }
            QueueError::Failed(cause) => cause.as_ref().into(),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        let message = match &self {
            ApiError::Internal(detail) => {
                tracing::error!(error = %detail, "internal error");
                "internal error; the server log has the details".to_string()
            }
            other => other.to_string(),
        };
        let body = serde_json::json!({ "error": message, "error_type": self.kind() });
        let mut response = (status, Json(body)).into_response();
        response
            .extensions_mut()
            .insert(super::FailureKind(self.kind()));
        if status == StatusCode::SERVICE_UNAVAILABLE {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        }
        if status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"easel\""),
            );
        }
        response
    }
}
