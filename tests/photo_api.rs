//! Real photographs through the API (issue 26), on real packages: the
//! default model's real-photo segmenter on a seascape at every canvas
//! shape, turned upright by its EXIF orientation, at 12 megapixels and
//! refused past the body limit, in CMYK, grey, 16 bits and with alpha; a
//! COCO-Stuff model imported from the reference code with the shared
//! segmenter attached.

mod support;

use axum::http::StatusCode;
use axum::Router;
use easel::http::{app, state_with};
use easel::import::photo_segmenter::{attach, PhotoSegmenterImport, DEEPLAB_PROVENANCE};
use easel::inference::runtime::{self, ModelSession, SessionOptions};
use easel::package::maps::{decode_png, DEFAULT_MAX_PIXELS};
use easel::package::ModelPackage;
use image::imageops::{self, FilterType};
use image::{ImageFormat, RgbImage};
use support::app::{config, post, send};
use support::{import_fixture, repo, shared_fixtures};

/// The server's own defaults (`easel serve`): 16 MiB bodies, 64 Mpx.
const SERVE_MAX_BODY: usize = 16 << 20;

fn serve(package: &std::path::Path) -> Router {
    runtime::init(None).unwrap();
    let session = ModelSession::load(
        ModelPackage::open(package).unwrap(),
        SessionOptions::default(),
    )
    .unwrap();
    let mut config = config(4, 8);
    config.max_body_bytes = SERVE_MAX_BODY;
    config.max_pixels = DEFAULT_MAX_PIXELS;
    app(state_with(vec![Box::new(session)], config).unwrap())
}

fn default_model() -> Router {
    serve(&repo().join("models/landscapes"))
}

/// COCO-Stuff train 000000138805: riders on a beach, the sea under a hazy
/// sky with the horizon near the middle.
fn seascape() -> RgbImage {
    image::open(shared_fixtures().join("coco_stuff/train_img/000000138805.jpg"))
        .unwrap()
        .to_rgb8()
}

fn jpeg(photo: &RgbImage) -> Vec<u8> {
    let mut out = std::io::Cursor::new(Vec::new());
    photo.write_to(&mut out, ImageFormat::Jpeg).unwrap();
    out.into_inner()
}

/// `jpeg` with an EXIF block saying `orientation` (1–8) after its SOI.
fn with_orientation(jpeg: &[u8], orientation: u8) -> Vec<u8> {
    let mut exif = vec![0xFF, 0xE1, 0, 34];
    exif.extend_from_slice(b"Exif\0\0II\x2A\0\x08\0\0\0");
    exif.extend_from_slice(&[1, 0, 0x12, 0x01, 3, 0, 1, 0, 0, 0, orientation, 0, 0, 0]);
    exif.extend_from_slice(&[0, 0, 0, 0]);
    [&jpeg[..2], &exif, &jpeg[2..]].concat()
}

/// The map of `photo` on a `width`×`height` canvas, as class names by row.
async fn read(app: &Router, photo: Vec<u8>, width: usize, height: usize) -> Vec<Vec<String>> {
    let uri = format!("/api/v1/models/landscapes/segment?width={width}&height={height}");
    let (status, _, body) = send(app, post(&uri, "image/jpeg", photo)).await;
    assert_eq!(status, StatusCode::OK, "{}", String::from_utf8_lossy(&body));
    let map = decode_png(&body, "map", DEFAULT_MAX_PIXELS).unwrap();
    assert_eq!(
        (map.width, map.height),
        (width, height),
        "a map of exactly the canvas"
    );
    let card = ModelPackage::open(&repo().join("models/landscapes"))
        .unwrap()
        .card;
    map.samples
        .chunks(width)
        .map(|row| {
            row.iter()
                .map(|&v| card.classes[v as usize].name.clone())
                .collect()
        })
        .collect()
}

/// The share of the rows in `from..to` (fractions of the height) whose
/// pixels are one of `names`.
fn share(rows: &[Vec<String>], from: f64, to: f64, names: &[&str]) -> f64 {
    let h = rows.len() as f64;
    let picked = &rows[(from * h) as usize..(to * h) as usize];
    let all: usize = picked.iter().map(Vec::len).sum();
    let hits: usize = picked
        .iter()
        .flatten()
        .filter(|n| names.contains(&n.as_str()))
        .count();
    hits as f64 / all as f64
}

fn sky_over_sea(rows: &[Vec<String>], what: &str) {
    let sky = share(rows, 0.0, 0.3, &["sky", "clouds"]);
    let sea = share(rows, 0.75, 1.0, &["water"]);
    assert!(
        sky > 0.9 && sea > 0.9,
        "{what}: sky {sky:.2} above, sea {sea:.2} below"
    );
}

#[tokio::test]
async fn panoramas_and_portraits_get_a_map_of_exactly_their_canvas() {
    let app = default_model();
    // The canvas is letterboxed into the segmenter's 513×513 and the map
    // cropped back: a 2:1 panorama, a 3:2 frame and a portrait canvas.
    for (w, h) in [(1024, 512), (384, 256), (384, 512)] {
        let rows = read(&app, jpeg(&seascape()), w, h).await;
        sky_over_sea(&rows, &format!("{w}×{h} canvas"));
    }
    // A portrait photo (its middle third) on a portrait canvas.
    let photo = seascape();
    let portrait = imageops::crop_imm(&photo, 200, 0, 280, photo.height()).to_image();
    let rows = read(&app, jpeg(&portrait), 300, 450).await;
    sky_over_sea(&rows, "a 280×425 portrait photo");
}

#[tokio::test]
async fn exif_orientations_3_6_and_8_are_turned_upright_before_the_segmenter_reads_them() {
    let app = default_model();
    let upright = seascape();
    // Stored as a camera held otherwise stores it; the tag says how to turn it back.
    let cases = [
        (3, imageops::rotate180(&upright)),
        (6, imageops::rotate270(&upright)),
        (8, imageops::rotate90(&upright)),
    ];
    for (orientation, stored) in cases {
        let tagged = with_orientation(&jpeg(&stored), orientation);
        let rows = read(&app, tagged, 384, 256).await;
        sky_over_sea(&rows, &format!("orientation {orientation}"));
        // Without its tag the same pixels are not upright: the test can fail.
        let untagged = read(&app, jpeg(&stored), 384, 256).await;
        assert!(
            share(&untagged, 0.0, 0.3, &["sky", "clouds"]) < 0.9
                || share(&untagged, 0.75, 1.0, &["water"]) < 0.9,
            "orientation {orientation}: the stored pixels alone read upright too"
        );
    }
}

#[tokio::test]
async fn a_12_megapixel_phone_photo_is_read_and_a_30_mb_one_refused_with_the_default_limits() {
    let app = default_model();
    let big = imageops::resize(&seascape(), 4000, 3000, FilterType::Triangle);
    let bytes = jpeg(&big);
    assert!(bytes.len() < SERVE_MAX_BODY, "{} bytes", bytes.len());
    let rows = read(&app, bytes, 512, 384).await;
    sky_over_sea(&rows, "a 4000×3000 photo");

    let uri = "/api/v1/models/landscapes/segment";
    let (status, _, body) = send(&app, post(uri, "image/jpeg", vec![0xD8; 30 << 20])).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    let text = String::from_utf8_lossy(&body);
    assert!(text.contains("--max-body-bytes"), "{text}");
}

/// A photo of Evening Glow (tests/fixtures/photos), as `read` answers it on a
/// 16:9 canvas: the sky above, the lake in the middle.
fn sky_over_lake(rows: &[Vec<String>], what: &str) {
    let sky = share(rows, 0.0, 0.2, &["sky", "clouds"]);
    let lake = share(rows, 0.45, 0.6, &["water"]);
    assert!(
        sky > 0.85 && lake > 0.75,
        "{what}: sky {sky:.2}, lake {lake:.2}"
    );
}

fn png(image: image::DynamicImage) -> Vec<u8> {
    let mut out = std::io::Cursor::new(Vec::new());
    image.write_to(&mut out, ImageFormat::Png).unwrap();
    out.into_inner()
}

#[tokio::test]
async fn cmyk_jpegs_and_grey_16_bit_and_alpha_pngs_give_a_map() {
    let app = default_model();
    let photos = repo().join("tests/fixtures/photos");
    let cmyk = std::fs::read(photos.join("evening_glow_cmyk.jpg")).unwrap();
    // Its frame header (SOF0 or SOF2) says four components: C, M, Y, K.
    let sof = cmyk
        .windows(2)
        .position(|w| w == [0xFF, 0xC0] || w == [0xFF, 0xC2])
        .unwrap();
    assert_eq!(cmyk[sof + 9], 4, "the fixture is a CMYK JPEG");
    sky_over_lake(&read(&app, cmyk, 384, 216).await, "a CMYK JPEG");
    let rgb = image::open(photos.join("evening_glow.jpg")).unwrap();
    let wide = image::DynamicImage::ImageRgb16(rgb.to_rgb16());
    sky_over_lake(&read(&app, png(wide), 384, 216).await, "a 16-bit PNG");
    let mut rgba = rgb.to_rgba8();
    rgba.pixels_mut().for_each(|p| p[3] = 128);
    sky_over_lake(
        &read(&app, png(image::DynamicImage::ImageRgba8(rgba)), 384, 216).await,
        "a PNG with alpha",
    );
    // Grey: no colour to tell sky from lake by, but a map of the canvas.
    let grey = image::DynamicImage::ImageLuma16(rgb.to_luma16());
    let rows = read(&app, png(grey), 384, 216).await;
    assert_eq!((rows.len(), rows[0].len()), (216, 384));
    let grey8 = image::DynamicImage::ImageLuma8(rgb.to_luma8());
    let mut bytes = std::io::Cursor::new(Vec::new());
    grey8.write_to(&mut bytes, ImageFormat::Jpeg).unwrap();
    let rows = read(&app, bytes.into_inner(), 384, 216).await;
    assert_eq!((rows.len(), rows[0].len()), (216, 384));
}

#[tokio::test]
async fn a_coco_stuff_model_from_the_reference_code_gets_maps_through_the_api() {
    let tmp = tempfile::tempdir().unwrap();
    let package = import_fixture("coco182_tiny", &tmp.path().join("coco"));
    attach(&PhotoSegmenterImport {
        package: package.clone(),
        network: shared_fixtures()
            .join("segmenters/ade20k_deeplabv3_mnv2/deeplabv3_mobilenetv2_ade20k.tflite"),
        labels: "ade20k".into(),
        mapping: None,
        range: [-1.0, 1.0],
        refine: vec![],
        provenance: DEEPLAB_PROVENANCE.into(),
        head: None,
        scores: false,
        normalize: None,
        ports: Default::default(),
    })
    .unwrap();
    let app = serve(&package);
    let name = ModelPackage::open(&package).unwrap().card.name;
    let uri = format!("/api/v1/models/{name}/segment?width=320&height=212&legend=true");
    let (status, _, body) = send(&app, post(&uri, "image/jpeg", jpeg(&seascape()))).await;
    assert_eq!(status, StatusCode::OK, "{}", String::from_utf8_lossy(&body));
    let legend: serde_json::Value = serde_json::from_slice(&body).unwrap();
    let pixels = |class: &str| {
        legend["classes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["name"] == class)
            .map_or(0, |c| c["pixels"].as_u64().unwrap())
    };
    let all = 320 * 212;
    assert!(
        pixels("sea") > all / 4 && pixels("sky-other") > all / 4,
        "{legend}"
    );
}
