//! Photos into maps through the API: the fake model's segmenter names each
//! pixel's class by its red level (below 86: class 0, below 172: class 1,
//! else class 2), so what the route does to the photo (cover and crop,
//! sizes, the PNG it answers, the legend) can be read off the map.

use std::time::Duration;

use axum::http::{header, StatusCode};

use easel::package::maps::{decode_png, RawPng, DEFAULT_MAX_PIXELS};

use crate::support::app::{
    error_of, get, post, post_form, send, server, server_without_segmenter, SEGMENT,
};
use crate::support::encode_png;

/// A photo whose left half is red 0 (class 0) and right half red 255 (class 2).
fn halves(width: u32, height: u32) -> image::RgbImage {
    image::RgbImage::from_fn(width, height, |x, _| {
        image::Rgb([if x < width / 2 { 0 } else { 255 }, 90, 40])
    })
}

fn jpeg(image: &image::RgbImage) -> Vec<u8> {
    let mut out = std::io::Cursor::new(Vec::new());
    image.write_to(&mut out, image::ImageFormat::Jpeg).unwrap();
    out.into_inner()
}

fn map_of(body: &[u8]) -> RawPng {
    decode_png(body, "map", DEFAULT_MAX_PIXELS).expect("the answer is a PNG")
}

#[tokio::test]
async fn a_photo_becomes_an_index_png_at_the_canvas_size() {
    let s = server(Duration::ZERO, 4, 8);
    let photo = encode_png(halves(80, 40));
    let uri = format!("{SEGMENT}?width=32&height=32");
    let (status, headers, body) = send(&s.app, post(&uri, "image/png", photo)).await;
    assert_eq!(status, StatusCode::OK, "{}", String::from_utf8_lossy(&body));
    assert_eq!(headers[header::CONTENT_TYPE], "image/png");
    assert_eq!(headers["x-width"], "32");
    assert_eq!(headers["x-height"], "32");
    assert_eq!(headers["x-source-width"], "80");
    assert_eq!(headers["x-source-height"], "40");
    let map = map_of(&body);
    assert_eq!((map.width, map.height, map.channels), (32, 32, 1));
    assert_eq!(map.bit_depth, 8, "three classes fit a byte");
    // The middle 40×40 of the photo, scaled to 32×32: class 0 left, 2 right.
    let row: Vec<u32> = map.samples[..32].to_vec();
    assert_eq!((row[0], row[31]), (0, 2), "{row:?}");
    assert!(row[..14].iter().all(|&c| c == 0), "{row:?}");
    assert!(row[18..].iter().all(|&c| c == 2), "{row:?}");
}

#[tokio::test]
async fn a_jpeg_in_a_form_takes_its_size_from_the_form() {
    let s = server(Duration::ZERO, 4, 8);
    let form = post_form(
        SEGMENT,
        &[
            ("photo", Some("lake.jpg"), jpeg(&halves(64, 64))),
            ("width", None, b"16".to_vec()),
            ("height", None, b"8".to_vec()),
        ],
    );
    let (status, headers, body) = send(&s.app, form).await;
    assert_eq!(status, StatusCode::OK, "{}", String::from_utf8_lossy(&body));
    assert_eq!(headers["x-width"], "16");
    assert_eq!(headers["x-height"], "8");
    let map = map_of(&body);
    assert_eq!((map.width, map.height), (16, 8));
    assert_eq!((map.samples[0], map.samples[15]), (0, 2));
}

#[tokio::test]
async fn without_a_size_the_map_has_the_models_native_size() {
    let s = server(Duration::ZERO, 4, 8);
    let photo = encode_png(halves(300, 200));
    let (status, headers, _) = send(
        &s.app,
        post(SEGMENT, "image/webp", {
            let mut out = std::io::Cursor::new(Vec::new());
            image::load_from_memory(&photo)
                .unwrap()
                .write_to(&mut out, image::ImageFormat::WebP)
                .unwrap();
            out.into_inner()
        }),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers["x-width"], "64");
    assert_eq!(headers["x-height"], "64");
}

#[tokio::test]
async fn the_legend_names_each_class_with_its_colour_and_pixels() {
    let s = server(Duration::ZERO, 4, 8);
    let photo = encode_png(halves(40, 40));
    let uri = format!("{SEGMENT}?width=40&height=40&legend=true");
    let (status, headers, body) = send(&s.app, post(&uri, "image/png", photo)).await;
    assert_eq!(status, StatusCode::OK, "{}", String::from_utf8_lossy(&body));
    assert!(headers[header::CONTENT_TYPE]
        .to_str()
        .unwrap()
        .starts_with("application/json"));
    let legend: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(legend["model"], "fake");
    assert_eq!(
        (legend["width"].as_u64(), legend["height"].as_u64()),
        (Some(40), Some(40))
    );
    let card = crate::support::fake_card();
    let classes = legend["classes"].as_array().unwrap();
    let indices: Vec<u64> = classes
        .iter()
        .map(|c| c["index"].as_u64().unwrap())
        .collect();
    assert_eq!(indices, [0, 2], "only the classes the map holds");
    for class in classes {
        let info = &card.classes[class["index"].as_u64().unwrap() as usize];
        assert_eq!(class["name"], info.name.as_str());
        assert_eq!(class["color"], info.color.as_str());
        assert_eq!(class["pixels"], 800, "half of 40×40 each");
    }
}

#[tokio::test]
async fn a_model_without_a_segmenter_says_so() {
    let s = server_without_segmenter();
    let photo = encode_png(halves(8, 8));
    let (status, _, body) = send(&s.app, post(SEGMENT, "image/png", photo)).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (message, kind) = error_of(&body);
    assert_eq!(kind, "not_found");
    assert!(
        message.contains("has no segmenter") && message.contains("no loaded model has one"),
        "{message}"
    );
    let (_, _, body) = get(&s.app, "/api/v1/models").await;
    let list: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(list["models"][0]["has_segmenter"], false);
}

#[tokio::test]
async fn the_model_list_says_which_models_turn_photos_into_maps() {
    let s = server(Duration::ZERO, 4, 8);
    let (_, _, body) = get(&s.app, "/api/v1/models").await;
    let list: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(list["models"][0]["has_segmenter"], true);
}

/// `legend` means the same in the query and in a form.
#[tokio::test]
async fn legend_in_a_form_is_legend_in_the_query() {
    let s = server(Duration::ZERO, 4, 8);
    let photo = encode_png(halves(40, 40));
    let uri = format!("{SEGMENT}?width=40&height=40&legend=true");
    let (status, _, by_query) = send(&s.app, post(&uri, "image/png", photo.clone())).await;
    assert_eq!(status, StatusCode::OK);
    let form = |legend: &str| {
        post_form(
            SEGMENT,
            &[
                ("photo", Some("p.png"), photo.clone()),
                ("width", None, b"40".to_vec()),
                ("height", None, b"40".to_vec()),
                ("legend", None, legend.as_bytes().to_vec()),
            ],
        )
    };
    let (status, headers, by_form) = send(&s.app, form("true")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(headers[header::CONTENT_TYPE]
        .to_str()
        .unwrap()
        .starts_with("application/json"));
    assert_eq!(by_form, by_query);
    let (status, headers, _) = send(&s.app, form("false")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        headers[header::CONTENT_TYPE],
        "image/png",
        "no legend: the map"
    );
    let (status, _, body) = send(&s.app, form("sometimes")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(error_of(&body).0.contains("legend `sometimes`"));
}
