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

#[tokio::test]
async fn protected_results_ask_for_the_token_and_a_browser_enters_it_once_into_a_cookie() {
    let results = tempfile::tempdir().unwrap();
    let gallery = results.path().join("run/test_latest");
    std::fs::create_dir_all(&gallery).unwrap();
    std::fs::write(gallery.join("index.html"), "<p>the gallery</p>").unwrap();
    let mut c = config(8, 8);
    c.api_token = Some("s3cret token;=".into());
    c.results_dir = results.path().to_path_buf();
    let open = server_with(Duration::ZERO, c.clone());
    let (status, _, body) = get(&open.app, "/results/run/test_latest/index.html").await;
    assert_eq!(
        status,
        StatusCode::OK,
        "without --protect-results galleries stay open"
    );
    assert_eq!(body, b"<p>the gallery</p>");

    c.protect_results = true;
    let s = server_with(Duration::ZERO, c);
    for path in [
        "/results/",
        "/results/run/test_latest/index.html",
        "/results/compare?a=run/test_latest&b=run/test_latest",
    ] {
        let (status, headers, body) = get(&s.app, path).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{path}");
        assert!(headers[header::CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("text/html"));
        let page = String::from_utf8(body).unwrap();
        assert!(
            page.contains("action=\"/results-login\"") && page.contains("type=\"password\""),
            "{page}"
        );
        assert!(!page.contains("the gallery"));
    }
    // An API client sends the token as to /api/v1.
    let bearer = Request::get("/results/run/test_latest/index.html")
        .header(header::AUTHORIZATION, "Bearer s3cret token;=")
        .body(Body::empty())
        .unwrap();
    assert_eq!(send(&s.app, bearer).await.0, StatusCode::OK);
    // A browser posts the form: a wrong token gets the form again, the right
    // one a cookie and the page it asked for.
    let login = |token: &str, next: &str| {
        let body = format!(
            "token={}&next={}",
            token
                .replace(' ', "+")
                .replace(';', "%3B")
                .replace('=', "%3D"),
            next.replace('/', "%2F")
        );
        Request::post("/results-login")
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(body))
            .unwrap()
    };
    let (status, _, body) = send(
        &s.app,
        login("guess", "/results/run/test_latest/index.html"),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(
        String::from_utf8(body)
            .unwrap()
            .contains("That is not the server&#39;s token."),
        "the message, escaped as HTML"
    );
    let (status, headers, _) = send(
        &s.app,
        login("s3cret token;=", "/results/run/test_latest/index.html"),
    )
    .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(
        headers[header::LOCATION],
        "/results/run/test_latest/index.html"
    );
    let cookie = headers[header::SET_COOKIE].to_str().unwrap().to_string();
    assert!(
        cookie.contains("HttpOnly")
            && cookie.contains("SameSite=Strict")
            && cookie.contains("Path=/results"),
        "{cookie}"
    );
    let (status, headers, _) = send(
        &s.app,
        login("s3cret token;=", "https://elsewhere.example/"),
    )
    .await;
    assert_eq!(
        (status, headers[header::LOCATION].to_str().unwrap()),
        (StatusCode::SEE_OTHER, "/results/"),
        "never sent elsewhere"
    );
    let pair = cookie.split(';').next().unwrap().to_string();
    assert!(
        !pair.contains("s3cret")
            && !pair.contains(
                &"s3cret"
                    .bytes()
                    .map(|b| format!("{b:02x}"))
                    .collect::<String>()
            ),
        "the cookie is not the token: {pair}"
    );
    let with_cookie = |value: &str| {
        Request::get("/results/run/test_latest/index.html")
            .header(header::COOKIE, format!("theme=dark; {value}"))
            .body(Body::empty())
            .unwrap()
    };
    let (status, _, body) = send(&s.app, with_cookie(&pair)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, b"<p>the gallery</p>");
    let forged = format!("{}0", pair);
    assert_eq!(
        send(&s.app, with_cookie(&forged)).await.0,
        StatusCode::UNAUTHORIZED
    );
}
