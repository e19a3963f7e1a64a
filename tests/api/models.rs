//! What the API says about its models: the list and cards, health, metrics,
//! the OpenAPI document, example maps, and the label-map endpoint the
//! painting page reads maps through.

use std::time::Duration;

use axum::body::Body;
use axum::http::{header, Request, StatusCode};

use easel::package::ModelCard;

use crate::support::app::{
    card, config, error_of, get, post, send, server, server_with_card, LABEL_MAP, SYNTH,
};
use crate::support::encode_png;
use crate::support::png::{png_gray, png_rgb};
use crate::support::repo;

#[tokio::test]
async fn models_health_and_metrics_are_served() {
    let s = server(Duration::ZERO, 8, 8);
    let (status, _, body) = send(
        &s.app,
        Request::get("/api/v1/models").body(Body::empty()).unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(v["default"], "fake");
    let execution = &v["models"][0]["execution"];
    assert_eq!(
        (
            &execution["compute"],
            &execution["provider"],
            &execution["device"]
        ),
        (&"bf16".into(), &"openvino".into(), &"cpu".into()),
        "the generator's own account: {execution}"
    );
    assert_eq!(
        v["max_pixels"],
        1 << 20,
        "the page sizes its canvas within it"
    );
    let (status, _, body) = send(
        &s.app,
        Request::get("/api/v1/models/fake")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let card: ModelCard = serde_json::from_slice(&body).unwrap();
    assert_eq!(card.classes[2].color, "#0000ff");
    for path in ["/healthz", "/readyz"] {
        assert_eq!(
            send(&s.app, Request::get(path).body(Body::empty()).unwrap())
                .await
                .0,
            StatusCode::OK
        );
    }
    send(&s.app, post(SYNTH, "image/png", png_gray(64, 64, |_, _| 0))).await;
    send(&s.app, post(SYNTH, "image/png", png_gray(64, 64, |_, _| 9))).await;
    let (_, _, body) = send(
        &s.app,
        Request::get("/metrics").body(Body::empty()).unwrap(),
    )
    .await;
    let text = String::from_utf8(body).unwrap();
    assert!(
        text.contains(
            "easel_requests_total{route=\"/api/v1/models/{name}/synthesize\",status=\"200\"} 1"
        ),
        "{text}"
    );
    assert!(
        text.contains("easel_failures_total{error_type=\"invalid_map\"} 1"),
        "{text}"
    );
    assert!(
        text.contains("easel_batch_size_count{model=\"fake\"} 1"),
        "{text}"
    );
    assert!(
        text.contains("easel_queue_size{model=\"fake\"} 0"),
        "{text}"
    );
}

#[test]
fn committed_openapi_document_is_current() {
    let path = repo().join("docs/openapi.json");
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    let current = easel::http::openapi_json();
    assert!(
        committed.trim() == current.trim(),
        "docs/openapi.json is out of date: run `easel openapi > docs/openapi.json`"
    );
    for path in [
        "/api/v1/models/{name}/synthesize",
        "/api/v1/models",
        "/metrics",
    ] {
        assert!(current.contains(path), "{path} is documented");
    }
}

#[tokio::test]
async fn the_openapi_document_is_served() {
    let s = server(Duration::ZERO, 8, 8);
    let (status, _, body) = send(
        &s.app,
        Request::get("/api/v1/openapi.json")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert!(v["paths"]["/api/v1/models/{name}/synthesize"]["post"].is_object());
}

#[tokio::test]
async fn lists_and_serves_a_models_example_maps() {
    let s = server(Duration::ZERO, 8, 8);
    let (status, _, body) = get(&s.app, "/api/v1/models/fake/examples").await;
    assert_eq!(status, StatusCode::OK);
    let list: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(list["examples"][0]["name"], "stripes");
    let url = list["examples"][0]["url"].as_str().unwrap().to_string();
    let (status, headers, body) = get(&s.app, &url).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers[header::CONTENT_TYPE], "image/png");
    assert_eq!(body, png_gray(64, 64, |x, _| (x / 22) as u8));

    let (status, _, body) = get(&s.app, "/api/v1/models/fake/examples/..%2Fmodel.json").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(
        error_of(&body).0.contains("stripes.png"),
        "the error lists what there is"
    );
    let (status, _, _) = get(&s.app, "/api/v1/models/nope/examples").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn label_map_endpoint_answers_indices_at_the_native_size() {
    let s = server(Duration::ZERO, 8, 8);
    // 128×32 → native 64×64 by nearest neighbour: x' = 2x, y' = y / 2.
    let value = |x: u32, y: u32| ((x / 50 + y / 20) % 3) as u8;
    let (status, headers, body) = send(
        &s.app,
        post(LABEL_MAP, "image/png", png_gray(128, 32, value)),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{}", String::from_utf8_lossy(&body));
    assert_eq!(headers["x-width"], "64");
    assert_eq!(headers["x-height"], "64");
    assert_eq!(headers["x-source-width"], "128");
    assert_eq!(headers["x-source-height"], "32");
    assert_eq!(headers["x-bytes-per-value"], "1");
    let expected: Vec<u8> = (0..64)
        .flat_map(|y| (0..64).map(move |x| value(2 * x, y / 2)))
        .collect();
    assert_eq!(body, expected);

    let uri = format!("{LABEL_MAP}?size=input");
    let (status, headers, body) =
        send(&s.app, post(&uri, "image/png", png_gray(128, 32, value))).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers["x-width"], "128");
    assert_eq!(body.len(), 128 * 32);
}

#[tokio::test]
async fn label_map_endpoint_reads_colours_and_names_off_palette_pixels() {
    let s = server(Duration::ZERO, 8, 8);
    let colours = |x: u32, y: u32| match (x, y) {
        (5, 7) => [250, 10, 0],
        (x, _) if x < 32 => [0, 255, 0],
        _ => [0, 0, 255],
    };
    let (status, _, body) = send(
        &s.app,
        post(LABEL_MAP, "image/png", png_rgb(64, 64, colours)),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let (msg, kind) = error_of(&body);
    assert_eq!(kind, "invalid_map");
    assert!(
        msg.contains("1 pixels") && msg.contains("x 5, y 7") && msg.contains("nearest=true"),
        "{msg}"
    );

    let uri = format!("{LABEL_MAP}?nearest=true");
    let (status, _, body) = send(&s.app, post(&uri, "image/png", png_rgb(64, 64, colours))).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body[7 * 64 + 5], 0, "#fa0a00 is nearest to c0 (#ff0000)");
    assert_eq!(body[0], 1);
    assert_eq!(body[63], 2);
}

#[tokio::test]
async fn label_map_endpoint_answers_two_bytes_per_value_past_256_classes() {
    let mut wide = card("fake");
    wide.classes = (0..300)
        .map(|i| easel::package::classes::ClassInfo {
            name: format!("c{i}"),
            color: format!("#{:06x}", i * 40_000),
            coco_stuff: None,
        })
        .collect();
    let s = server_with_card(Duration::ZERO, config(8, 8), wide);
    let png = encode_png(image::ImageBuffer::<image::Luma<u16>, Vec<u16>>::from_fn(
        64,
        64,
        |x, y| image::Luma([((4 * x + y) % 300) as u16]),
    ));
    let (status, headers, body) = send(&s.app, post(LABEL_MAP, "image/png", png)).await;
    assert_eq!(status, StatusCode::OK, "{}", String::from_utf8_lossy(&body));
    assert_eq!(headers["x-bytes-per-value"], "2");
    let at = |x: usize, y: usize| {
        u16::from_be_bytes([body[2 * (y * 64 + x)], body[2 * (y * 64 + x) + 1]])
    };
    assert_eq!(at(63, 40), 292, "a value past one byte survives");
    assert_eq!(at(3, 1), 13);
}
