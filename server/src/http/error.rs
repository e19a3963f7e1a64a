//! The API's one error type and its one status table. Every error is JSON
//! `{"error": …, "error_type": …}`. An error carries its cause (the
//! pipeline's, the segmenter's, a run's, or a failure of the server's own);
//! internal details reach the log once, through `log_failures` with the
//! request's span, and never the client.

use std::sync::Arc;

use axum::extract::Request;
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Json;

use crate::inference::deadline::Late;
use crate::inference::pipeline::SynthesisError;
use crate::inference::queue::QueueError;
use crate::inference::segment::SegmentError;
use crate::package::map_png::PngError;
use crate::package::maps::MapError;
use crate::runs::RunError;

/// A failure's cause, shared: an answer being made for several identical
/// requests fails them all.
pub type Cause = Arc<dyn std::error::Error + Send + Sync>;

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
    /// 422: readable, but not something this model can do (a run scored
    /// by a model without a segmenter).
    #[error("{0}")]
    InvalidMap(String),
    /// A synthesis request refused, or failed while it ran.
    #[error(transparent)]
    Synthesis(Arc<SynthesisError>),
    /// A photo refused, or failed while it was read.
    #[error(transparent)]
    Segment(Arc<SegmentError>),
    /// A batch run refused, or failed.
    #[error(transparent)]
    Run(Arc<RunError>),
    /// 500: a failure of the server's own while doing `what`.
    #[error("{what}")]
    Internal {
        what: String,
        #[source]
        cause: Option<Cause>,
    },
}

/// The status table: each kind of error, its status and `error_type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Malformed,
    Unauthorized,
    Forbidden,
    NotFound,
    TooLarge,
    Conflict,
    UnsupportedType,
    /// 422: readable, but not a map (or style, or photo) this model can take.
    InvalidMap,
    /// 503 with Retry-After.
    Overloaded,
    Timeout,
    Internal,
}

impl Kind {
    fn status(self) -> StatusCode {
        match self {
            Kind::Malformed => StatusCode::BAD_REQUEST,
            Kind::Unauthorized => StatusCode::UNAUTHORIZED,
            Kind::Forbidden => StatusCode::FORBIDDEN,
            Kind::NotFound => StatusCode::NOT_FOUND,
            Kind::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Kind::Conflict => StatusCode::CONFLICT,
            Kind::UnsupportedType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Kind::InvalidMap => StatusCode::UNPROCESSABLE_ENTITY,
            Kind::Overloaded => StatusCode::SERVICE_UNAVAILABLE,
            Kind::Timeout => StatusCode::GATEWAY_TIMEOUT,
            Kind::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Kind::Malformed => "malformed",
            Kind::Unauthorized => "unauthorized",
            Kind::Forbidden => "forbidden",
            Kind::NotFound => "not_found",
            Kind::TooLarge => "too_large",
            Kind::Conflict => "conflict",
            Kind::UnsupportedType => "unsupported_type",
            Kind::InvalidMap => "invalid_map",
            Kind::Overloaded => "overloaded",
            Kind::Timeout => "timeout",
            Kind::Internal => "internal",
        }
    }
}

fn map_kind(e: &MapError) -> Kind {
    match e {
        MapError::Png(PngError::Unreadable { .. }) => Kind::Malformed,
        MapError::Png(PngError::TooLarge { .. }) => Kind::TooLarge,
        _ => Kind::InvalidMap,
    }
}

fn queue_kind(e: &QueueError) -> Kind {
    match e {
        QueueError::Full { .. } | QueueError::Busy { .. } | QueueError::Closed(_) => {
            Kind::Overloaded
        }
        QueueError::Failed(cause) => synthesis_kind(cause),
    }
}

fn late_kind(e: &Late) -> Kind {
    match e {
        Late::TimedOut { .. } => Kind::Timeout,
        Late::Stopped(_) => Kind::Internal,
    }
}

fn synthesis_kind(e: &SynthesisError) -> Kind {
    match e {
        SynthesisError::Map(m) => map_kind(m),
        SynthesisError::StyleImage(_) => Kind::Malformed,
        SynthesisError::Queue(q) => queue_kind(q),
        SynthesisError::Late(l) => late_kind(l),
        e if e.is_the_requests() => Kind::InvalidMap,
        _ => Kind::Internal,
    }
}

fn segment_kind(e: &SegmentError) -> Kind {
    match e {
        SegmentError::NotAPhoto(_) => Kind::UnsupportedType,
        SegmentError::Unreadable { .. } | SegmentError::PhotoTooSmall { .. } => Kind::InvalidMap,
        SegmentError::PhotoTooLarge { .. } | SegmentError::CanvasTooLarge { .. } => Kind::TooLarge,
        SegmentError::EmptyCanvas { .. } => Kind::Malformed,
        SegmentError::Full { .. } | SegmentError::Closed(_) => Kind::Overloaded,
        SegmentError::Late(l) => late_kind(l),
        SegmentError::Runtime(_) | SegmentError::BadOutput(_) => Kind::Internal,
    }
}

fn run_kind(e: &RunError) -> Kind {
    match e {
        RunError::BadName { .. } => Kind::Malformed,
        RunError::Pairing(_) => Kind::InvalidMap,
        RunError::OtherModel { .. } => Kind::Conflict,
        _ => Kind::Internal,
    }
}

impl ApiError {
    /// A failure of the server's own while doing `what`.
    pub fn internal(
        what: impl Into<String>,
        cause: impl std::error::Error + Send + Sync + 'static,
    ) -> Self {
        ApiError::Internal {
            what: what.into(),
            cause: Some(Arc::new(cause)),
        }
    }

    /// A failure of the server's own that has no cause to show (a lock a
    /// panicking thread left poisoned).
    pub fn broken(what: impl Into<String>) -> Self {
        ApiError::Internal {
            what: what.into(),
            cause: None,
        }
    }

    fn kind_of(&self) -> Kind {
        match self {
            ApiError::Malformed(_) => Kind::Malformed,
            ApiError::Unauthorized(_) => Kind::Unauthorized,
            ApiError::Forbidden(_) => Kind::Forbidden,
            ApiError::NotFound(_) => Kind::NotFound,
            ApiError::TooLarge(_) => Kind::TooLarge,
            ApiError::Conflict(_) => Kind::Conflict,
            ApiError::UnsupportedType(_) => Kind::UnsupportedType,
            ApiError::InvalidMap(_) => Kind::InvalidMap,
            ApiError::Synthesis(e) => synthesis_kind(e),
            ApiError::Segment(e) => segment_kind(e),
            ApiError::Run(e) => run_kind(e),
            ApiError::Internal { .. } => Kind::Internal,
        }
    }

    pub fn status(&self) -> StatusCode {
        self.kind_of().status()
    }

    /// The `error_type` field, also the metrics label.
    pub fn kind(&self) -> &'static str {
        self.kind_of().name()
    }

    /// What the client reads: the cause's message with what to do about it;
    /// for internal errors a generic line (the log has the details).
    pub fn message(&self) -> String {
        let kind = self.kind_of();
        if kind == Kind::Internal {
            return "internal error; the server log has the details".into();
        }
        let hint = match self {
            ApiError::Synthesis(e) => match e.as_ref() {
                SynthesisError::Map(MapError::Png(PngError::TooLarge { .. })) => {
                    "; send a smaller image, or start the server with a larger --max-pixels"
                }
                _ => "",
            },
            ApiError::Segment(e) => match e.as_ref() {
                SegmentError::PhotoTooLarge { .. } => {
                    "; send a smaller photo, or start the server with a larger --max-pixels"
                }
                SegmentError::CanvasTooLarge { .. } => {
                    "; ask for a smaller map, or start the server with a larger --max-pixels"
                }
                _ => "",
            },
            _ => "",
        };
        format!("{self}{hint}")
    }
}

impl From<MapError> for ApiError {
    fn from(e: MapError) -> Self {
        ApiError::Synthesis(Arc::new(SynthesisError::Map(e)))
    }
}

impl From<SynthesisError> for ApiError {
    fn from(e: SynthesisError) -> Self {
        ApiError::Synthesis(Arc::new(e))
    }
}

impl From<QueueError> for ApiError {
    fn from(e: QueueError) -> Self {
        SynthesisError::Queue(e).into()
    }
}

impl From<SegmentError> for ApiError {
    fn from(e: SegmentError) -> Self {
        ApiError::Segment(Arc::new(e))
    }
}

impl From<RunError> for ApiError {
    fn from(e: RunError) -> Self {
        ApiError::Run(Arc::new(e))
    }
}

/// A blocking task that panicked.
impl From<tokio::task::JoinError> for ApiError {
    fn from(e: tokio::task::JoinError) -> Self {
        ApiError::internal("a blocking task", e)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        let body = serde_json::json!({ "error": self.message(), "error_type": self.kind() });
        let mut response = (status, Json(body)).into_response();
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
        response.extensions_mut().insert(self);
        response
    }
}

/// Logs each failed response's error once, in the request's span (which
/// names its id): internal errors with their whole chain of causes at
/// error, the client's mistakes at debug.
pub async fn log_failures(request: Request, next: Next) -> Response {
    let response = next.run(request).await;
    if let Some(e) = response.extensions().get::<ApiError>() {
        if e.kind_of() == Kind::Internal {
            tracing::error!(error = %chain(e), "internal error");
        } else {
            tracing::debug!(error = %e, error_type = e.kind(), "request refused");
        }
    }
    response
}

/// An error and its sources, outermost first.
fn chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let next = s.to_string();
        if !text.contains(&next) {
            text.push_str(": ");
            text.push_str(&next);
        }
        source = s.source();
    }
    text
}
