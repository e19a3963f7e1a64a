//! The painting page: served with security headers and caching, every file
//! it loads is there with a fitting type and is the source file (no stale
//! embed), and unknown files are JSON 404s.

use std::time::Duration;

use axum::body::Body;
use axum::http::{header, Request, StatusCode};

use crate::support::app::{error_of, get, send, server};
use crate::support::repo;

#[tokio::test]
async fn serves_the_painting_page_with_security_headers() {
    let s = server(Duration::ZERO, 8, 8);
    let (status, headers, body) = get(&s.app, "/").await;
    assert_eq!(status, StatusCode::OK);
    assert!(headers[header::CONTENT_TYPE]
        .to_str()
        .unwrap()
        .starts_with("text/html"));
    let html = String::from_utf8(body).unwrap();
    assert!(
        html.contains(r#"<script type="module" src="/ui/main.js">"#),
        "{html}"
    );
    let csp = headers[header::CONTENT_SECURITY_POLICY].to_str().unwrap();
    assert!(
        csp.contains("default-src 'self'") && csp.contains("frame-ancestors 'none'"),
        "{csp}"
    );
    assert_eq!(headers[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
    assert_eq!(headers[header::X_FRAME_OPTIONS], "DENY");

    let (status, headers, _) = get(&s.app, "/favicon.ico").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers[header::CONTENT_TYPE], "image/svg+xml");

    let (_, headers, _) = get(&s.app, "/").await;
    let etag = headers[header::ETAG].clone();
    let request = Request::get("/")
        .header(header::IF_NONE_MATCH, etag)
        .body(Body::empty())
        .unwrap();
    let (status, _, body) = send(&s.app, request).await;
    assert_eq!(status, StatusCode::NOT_MODIFIED);
    assert!(body.is_empty());
}

/// Every file the page links and every module those modules import is
/// served (and so embedded in the release build), with a fitting type.
#[tokio::test]
async fn serves_every_file_the_page_loads() {
    let s = server(Duration::ZERO, 8, 8);
    let (_, _, body) = get(&s.app, "/").await;
    let html = String::from_utf8(body).unwrap();
    let mut queue: Vec<String> = html
        .split(['"', '\''])
        .filter(|t| t.starts_with("/ui/") || t.starts_with("/static/"))
        .map(str::to_string)
        .collect();
    let mut seen = std::collections::BTreeSet::new();
    while let Some(url) = queue.pop() {
        if !seen.insert(url.clone()) {
            continue;
        }
        let (status, headers, body) = get(&s.app, &url).await;
        assert_eq!(status, StatusCode::OK, "{url}");
        let kind = headers[header::CONTENT_TYPE].to_str().unwrap().to_string();
        let text = String::from_utf8(body).unwrap();
        if url.ends_with(".js") {
            assert!(kind.contains("javascript"), "{url}: {kind}");
            for import in text.split("from \"./").skip(1) {
                let file = import.split('"').next().unwrap();
                queue.push(format!("/ui/{file}"));
            }
        } else if url.ends_with(".css") {
            assert!(kind.starts_with("text/css"), "{url}: {kind}");
        } else if url.ends_with(".svg") {
            assert!(kind.starts_with("image/svg+xml"), "{url}: {kind}");
        }
    }
    for module in [
        "main.js",
        "api.js",
        "labelmap.js",
        "live.js",
        "png.js",
        "history.js",
        "classes.js",
        "photo.js",
    ] {
        assert!(
            seen.contains(&format!("/ui/{module}")),
            "{module} is not reached from the page: {seen:?}"
        );
    }
}

/// In release builds the page is embedded: what is served must be what is
/// in frontend/src and static/ now (a stale embed would fail here).
#[tokio::test]
async fn served_page_files_are_the_source_files() {
    let s = server(Duration::ZERO, 8, 8);
    let repo = repo();
    for (folder, prefix) in [("frontend/src", "/ui/"), ("static", "/static/")] {
        let mut files = 0;
        for entry in std::fs::read_dir(repo.join(folder)).unwrap() {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_str().unwrap().to_string();
            let (status, _, body) = get(&s.app, &format!("{prefix}{name}")).await;
            assert_eq!(status, StatusCode::OK, "{folder}/{name}");
            assert!(
                body == std::fs::read(&path).unwrap(),
                "{folder}/{name} is served stale"
            );
            files += 1;
        }
        assert!(files >= 2, "{folder} has the page's files");
    }
}

#[tokio::test]
async fn unknown_page_files_are_404_json() {
    let s = server(Duration::ZERO, 8, 8);
    for uri in [
        "/ui/nothing.js",
        "/static/../Cargo.toml",
        "/ui/%2e%2e/%2e%2e/Cargo.toml",
    ] {
        let (status, _, body) = get(&s.app, uri).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{uri}");
        assert_eq!(error_of(&body).1, "not_found", "{uri}");
    }
}
