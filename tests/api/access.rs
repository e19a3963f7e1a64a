//! Who may call the API: an optional bearer token guards it (not the page,
//! health or metrics), and CORS is off unless origins are configured.

use std::time::Duration;

use axum::body::Body;
use axum::http::{header, Request, StatusCode};

use crate::support::app::{config, error_of, get, post, send, server, server_with, SYNTH};
use crate::support::png::png_gray;

#[tokio::test]
async fn an_api_token_guards_the_api_but_not_pages_or_health() {
    let mut c = config(8, 8);
    c.api_token = Some("s3cret-token".into());
    let s = server_with(Duration::ZERO, c);
    let (status, headers, body) = get(&s.app, "/api/v1/models").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(headers[header::WWW_AUTHENTICATE]
        .to_str()
        .unwrap()
        .starts_with("Bearer"));
    let (msg, kind) = error_of(&body);
    assert_eq!(kind, "unauthorized");
    assert!(msg.contains("Authorization: Bearer"), "{msg}");
    let with = |token: &str| {
        Request::get("/api/v1/models")
            .header(header::AUTHORIZATION, format!("Bearer {token}"))
            .body(Body::empty())
            .unwrap()
    };
    let (status, _, body) = send(&s.app, with("s3cret-tokeX")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(error_of(&body).0.contains("wrong"));
    let (status, _, _) = send(&s.app, with("s3cret-token")).await;
    assert_eq!(status, StatusCode::OK);
    let (status, _, _) = send(&s.app, post(SYNTH, "image/png", png_gray(64, 64, |_, _| 0))).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "synthesis too");
    for open in ["/", "/healthz", "/readyz", "/metrics", "/ui/main.js"] {
        let (status, _, _) = get(&s.app, open).await;
        assert_eq!(status, StatusCode::OK, "{open}");
    }
}

#[tokio::test]
async fn cors_is_off_unless_origins_are_configured() {
    let preflight = |origin: &str| {
        Request::options("/api/v1/models")
            .header(header::ORIGIN, origin)
            .header(header::ACCESS_CONTROL_REQUEST_METHOD, "POST")
            .body(Body::empty())
            .unwrap()
    };
    let s = server(Duration::ZERO, 8, 8);
    let request = Request::get("/api/v1/models")
        .header(header::ORIGIN, "https://elsewhere.example")
        .body(Body::empty())
        .unwrap();
    let (_, headers, _) = send(&s.app, request).await;
    assert!(
        headers.get(header::ACCESS_CONTROL_ALLOW_ORIGIN).is_none(),
        "no CORS by default"
    );
    let (_, headers, _) = send(&s.app, preflight("https://elsewhere.example")).await;
    assert!(headers.get(header::ACCESS_CONTROL_ALLOW_ORIGIN).is_none());

    let mut c = config(8, 8);
    c.cors_origins = vec!["https://paint.example".into()];
    let s = server_with(Duration::ZERO, c);
    let (_, headers, _) = send(&s.app, preflight("https://paint.example")).await;
    assert_eq!(
        headers[header::ACCESS_CONTROL_ALLOW_ORIGIN],
        "https://paint.example"
    );
    let (_, headers, _) = send(&s.app, preflight("https://elsewhere.example")).await;
    assert!(
        headers.get(header::ACCESS_CONTROL_ALLOW_ORIGIN).is_none(),
        "only the configured origin"
    );
}
