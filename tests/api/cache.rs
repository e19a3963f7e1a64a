//! The answer cache as clients meet it: an identical request is answered
//! without the model (`x-cache: hit`), identical requests at once share one
//! inference (`merged`), whatever changes the image is a miss, the cache
//! keeps within `--cache-mb`, and every image says what made it
//! (`x-easel-*`).

use std::time::Duration;

use axum::body::Body;
use axum::http::{header, HeaderMap, HeaderValue, Request, StatusCode};

use easel::package::StylePreset;

use crate::support::app::{
    card, config, fresh, get, post, post_form, send, server, server_with, server_with_card, Server,
    SYNTH,
};
use crate::support::png::png_gray;

/// Three vertical stripes, classes 0, 1 and 2.
fn stripes() -> Vec<u8> {
    png_gray(64, 64, |x, _| (x / 22) as u8)
}

/// Images the fake model has made.
fn made(s: &Server) -> usize {
    s.batches.lock().unwrap().iter().sum()
}

/// The fake model with z (4 values) and two style presets, noon first.
fn styled(z_per_pixel: bool) -> Server {
    let mut c = card("fake");
    c.z_dim = Some(4);
    c.z_per_pixel = z_per_pixel;
    c.styles = ["noon", "dusk"]
        .iter()
        .map(|name| StylePreset {
            name: name.to_string(),
            description: None,
            z: vec![0.0; 4],
            spread: None,
            thumbnail: None,
        })
        .collect();
    server_with_card(Duration::ZERO, config(8, 8), c)
}

/// The stripes as a multipart form, with `fields`.
fn form(fields: &[(&str, &str)]) -> Request<Body> {
    let mut all = vec![("label", Some("label.png"), stripes())];
    all.extend(
        fields
            .iter()
            .map(|(name, value)| (*name, None, value.as_bytes().to_vec())),
    );
    post_form(SYNTH, &all)
}

/// The headers of a successful answer.
async fn headers_of(s: &Server, request: Request<Body>) -> HeaderMap {
    let (status, headers, body) = send(&s.app, request).await;
    assert_eq!(status, StatusCode::OK, "{}", String::from_utf8_lossy(&body));
    headers
}

fn cache_of(headers: &HeaderMap) -> String {
    headers["x-cache"].to_str().unwrap().to_string()
}

#[tokio::test]
async fn an_identical_request_is_answered_from_the_cache_without_the_model() {
    let s = server(Duration::ZERO, 8, 8);
    let (status, first, image) = send(&s.app, post(SYNTH, "image/png", stripes())).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(first["x-cache"], "miss");
    assert_eq!(first["x-batch-size"], "1");
    let (status, second, again) = send(&s.app, post(SYNTH, "image/png", stripes())).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(second["x-cache"], "hit");
    assert_eq!(again, image);
    assert_eq!(made(&s), 1, "the model ran once");
    assert_eq!(second[header::CONTENT_TYPE], "image/png");
    assert_eq!(second["x-queue-time"], "0.0");
    assert_eq!(second["x-inference-time"], "0.0");
    assert!(
        second.get("x-batch-size").is_none(),
        "a hit ran in no batch"
    );
    for h in [
        "x-easel-model",
        "x-easel-package",
        "x-easel-style",
        "x-easel-compute",
    ] {
        assert_eq!(first[h], second[h], "{h}");
    }
}

#[tokio::test]
async fn another_map_seed_preset_or_format_is_a_miss() {
    let s = styled(false);
    let mut seen = Vec::new();
    for request in [
        form(&[("seed", "1")]),
        form(&[("seed", "1")]),
        form(&[("seed", "2")]),
        form(&[("style_preset", "noon")]),
        form(&[("style_preset", "noon")]),
        form(&[("style_preset", "dusk")]),
        form(&[("style_preset", "noon"), ("seed", "1")]),
        form(&[("seed", "1"), ("format", "jpeg")]),
        post(SYNTH, "image/png", png_gray(64, 64, |x, _| (x / 32) as u8)),
    ] {
        seen.push(cache_of(&headers_of(&s, request).await));
    }
    assert_eq!(
        seen,
        ["miss", "hit", "miss", "miss", "hit", "miss", "miss", "miss", "miss"]
    );
    assert_eq!(made(&s), 7, "one image per miss");
}

#[tokio::test]
async fn with_no_cache_memory_nothing_is_kept() {
    let mut c = config(8, 8);
    c.cache_bytes = 0;
    let s = server_with(Duration::ZERO, c);
    for _ in 0..2 {
        let headers = headers_of(&s, post(SYNTH, "image/png", stripes())).await;
        assert_eq!(headers["x-cache"], "bypass");
    }
    assert_eq!(made(&s), 2);
}

#[tokio::test]
async fn a_request_for_a_fresh_answer_reaches_the_model() {
    let s = server(Duration::ZERO, 8, 8);
    headers_of(&s, post(SYNTH, "image/png", stripes())).await;
    let headers = headers_of(&s, fresh(post(SYNTH, "image/png", stripes()))).await;
    assert_eq!(headers["x-cache"], "bypass");
    assert_eq!(made(&s), 2);
    let headers = headers_of(&s, post(SYNTH, "image/png", stripes())).await;
    assert_eq!(headers["x-cache"], "hit", "the first answer is still kept");
}

#[tokio::test]
async fn identical_requests_at_once_reach_the_model_once() {
    let s = server(Duration::from_millis(200), 8, 32);
    let tasks: Vec<_> = (0..6)
        .map(|_| {
            let app = s.app.clone();
            tokio::spawn(async move { send(&app, post(SYNTH, "image/png", stripes())).await })
        })
        .collect();
    let mut answers = Vec::new();
    for task in tasks {
        let (status, headers, body) = task.await.unwrap();
        assert_eq!(status, StatusCode::OK);
        answers.push((cache_of(&headers), body));
    }
    assert_eq!(made(&s), 1, "one inference for all six");
    let caches: Vec<&String> = answers.iter().map(|(cache, _)| cache).collect();
    let misses = caches.iter().filter(|c| c.as_str() == "miss").count();
    assert_eq!(misses, 1, "{caches:?}");
    assert!(
        caches
            .iter()
            .all(|c| ["miss", "merged", "hit"].contains(&c.as_str())),
        "{caches:?}"
    );
    assert!(answers.iter().all(|(_, body)| *body == answers[0].1));
}

#[tokio::test]
async fn the_cache_keeps_within_its_bound_by_dropping_the_oldest_answers() {
    let bound = 3_000;
    let mut c = config(8, 8);
    c.cache_bytes = bound;
    let s = server_with(Duration::ZERO, c);
    // Eight maps whose stripes sit at eight places.
    let map = |i: u32| {
        let png = png_gray(64, 64, move |x, _| ((x + i) / 22 % 3) as u8);
        post(SYNTH, "image/png", png)
    };
    for i in 0..8 {
        assert_eq!(cache_of(&headers_of(&s, map(i)).await), "miss");
    }
    assert_eq!(
        cache_of(&headers_of(&s, map(7)).await),
        "hit",
        "the newest is kept"
    );
    assert_eq!(
        cache_of(&headers_of(&s, map(0)).await),
        "miss",
        "the oldest went"
    );
    let (_, _, body) = get(&s.app, "/metrics").await;
    let text = String::from_utf8(body).unwrap();
    let value = |name: &str| -> f64 {
        text.lines()
            .find_map(|l| l.strip_prefix(name)?.strip_prefix(' '))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or_else(|| panic!("{name} in {text}"))
    };
    let bytes = value("easel_cache_bytes");
    assert!(bytes > 0.0 && bytes <= bound as f64, "{bytes}");
    assert!(value("easel_cache_evictions_total") >= 1.0, "{text}");
}

#[tokio::test]
async fn metrics_count_hits_and_misses() {
    let s = server(Duration::ZERO, 8, 8);
    for _ in 0..3 {
        headers_of(&s, post(SYNTH, "image/png", stripes())).await;
    }
    let (_, _, body) = get(&s.app, "/metrics").await;
    let text = String::from_utf8(body).unwrap();
    for line in [
        "easel_cache_hits_total 2",
        "easel_cache_misses_total 1",
        "easel_cache_merged_total 0",
    ] {
        assert!(text.contains(line), "{line} in {text}");
    }
}

#[tokio::test]
async fn every_image_says_what_made_it() {
    let s = styled(false);
    let headers = headers_of(&s, form(&[])).await;
    assert_eq!(headers["x-easel-model"], "fake");
    assert_eq!(
        headers["x-easel-style"], "preset:noon",
        "the default look is the first preset"
    );
    assert_eq!(headers["x-easel-compute"], "bf16", "what the model runs in");
    let package = headers["x-easel-package"].to_str().unwrap();
    assert!(
        package.len() == 12 && package.chars().all(|c| c.is_ascii_hexdigit()),
        "{package}"
    );
    for (fields, style) in [
        (&[("seed", "7")][..], "seed:7"),
        (&[("style_preset", "dusk")][..], "preset:dusk"),
        (
            &[("style_preset", "dusk"), ("seed", "3")][..],
            "preset:dusk+seed:3",
        ),
    ] {
        let headers = headers_of(&s, form(fields)).await;
        assert_eq!(headers["x-easel-style"], style, "{fields:?}");
    }
    let headers = headers_of(&s, form(&[("z", "[0.5, 1, 2, 3]")])).await;
    let z = headers["x-easel-style"].to_str().unwrap();
    assert!(z.starts_with("z:") && z.len() == 2 + 12, "{z}");

    let plain = server(Duration::ZERO, 8, 8);
    let headers = headers_of(&plain, post(SYNTH, "image/png", stripes())).await;
    assert_eq!(headers["x-easel-style"], "none", "a model without z");
}

#[tokio::test]
async fn re_rolled_regions_are_counted_in_the_style() {
    let s = styled(true);
    let mask = png_gray(64, 64, |x, _| u8::from(x < 10));
    let request = post_form(
        SYNTH,
        &[
            ("label", Some("label.png"), stripes()),
            ("seed", None, b"4".to_vec()),
            ("region_mask", Some("region.png"), mask),
            ("region_seed", None, b"9".to_vec()),
        ],
    );
    let headers = headers_of(&s, request).await;
    assert_eq!(headers["x-easel-style"], "seed:4;regions:1");
}

#[tokio::test]
async fn other_sites_may_read_the_cache_and_recipe_headers() {
    let mut c = config(8, 8);
    c.cors_origins = vec!["https://paint.example".into()];
    let s = server_with(Duration::ZERO, c);
    let mut request = post(SYNTH, "image/png", stripes());
    request.headers_mut().insert(
        header::ORIGIN,
        HeaderValue::from_static("https://paint.example"),
    );
    let headers = headers_of(&s, request).await;
    let exposed = headers[header::ACCESS_CONTROL_EXPOSE_HEADERS]
        .to_str()
        .unwrap();
    for h in [
        "x-cache",
        "x-easel-model",
        "x-easel-package",
        "x-easel-style",
        "x-easel-compute",
    ] {
        assert!(exposed.contains(h), "{h} in {exposed}");
    }
}
