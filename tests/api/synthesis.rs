//! Synthesis requests and their options: PNG bodies and multipart forms,
//! index, colour and red-channel maps, sizes, styles, seeds and instance maps,
//! the statuses and messages of what is refused, on the fake model and on
//! real imported ones.

use std::time::Duration;

use axum::body::Body;
use axum::http::{header, Request, StatusCode};

use crate::support::app::{app_serving, error_of, fresh, post, post_form, send, server, SYNTH};
use crate::support::png::{png_gray, png_rgb};
use crate::support::{import, load, read, session, shared_fixtures, spade_fixture};

#[tokio::test]
async fn synthesizes_an_index_png_with_timing_headers() {
    let s = server(Duration::ZERO, 8, 8);
    let (status, headers, body) = send(
        &s.app,
        post(SYNTH, "image/png", png_gray(64, 32, |x, _| (x / 22) as u8)),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{}", String::from_utf8_lossy(&body));
    assert_eq!(headers[header::CONTENT_TYPE], "image/png");
    for h in ["x-queue-time", "x-inference-time", "x-total-time"] {
        assert!(
            headers[h].to_str().unwrap().parse::<f64>().unwrap() >= 0.0,
            "{h}"
        );
    }
    let img = image::load_from_memory(&body).unwrap().to_rgb8();
    assert_eq!((img.width(), img.height()), (64, 32));
    assert_eq!(img.get_pixel(0, 0)[0], 0, "class 0 is painted red -1");
    assert_eq!(img.get_pixel(63, 0)[0], 255, "class 2 is painted red 1");
}

#[tokio::test]
async fn rejects_label_values_above_the_class_count_with_422() {
    let s = server(Duration::ZERO, 8, 8);
    let (status, _, body) = send(
        &s.app,
        post(
            SYNTH,
            "image/png",
            png_gray(64, 64, |x, y| if x + y == 0 { 7 } else { 1 }),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let (msg, kind) = error_of(&body);
    assert_eq!(kind, "invalid_map");
    assert!(
        msg.contains("7 (1 pixel)") && msg.contains("3 classes"),
        "{msg}"
    );
}

#[tokio::test]
async fn wrong_content_type_is_415_and_missing_is_415() {
    let s = server(Duration::ZERO, 8, 8);
    let (status, _, body) = send(&s.app, post(SYNTH, "text/plain", b"hello".to_vec())).await;
    assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert!(error_of(&body).0.contains("image/png"));
    let request = Request::post(SYNTH).body(Body::from("x")).unwrap();
    let (status, _, _) = send(&s.app, request).await;
    assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
}

#[tokio::test]
async fn truncated_png_is_400() {
    let s = server(Duration::ZERO, 8, 8);
    let mut png = png_gray(64, 64, |_, _| 0);
    png.truncate(png.len() / 2);
    let (status, _, body) = send(&s.app, post(SYNTH, "image/png", png)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(error_of(&body).1, "malformed");
}

#[tokio::test]
async fn oversized_body_is_413_with_the_flag_to_change() {
    let s = server(Duration::ZERO, 8, 8);
    let (status, _, body) = send(&s.app, post(SYNTH, "image/png", vec![0u8; 2 << 20])).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    let (msg, kind) = error_of(&body);
    assert_eq!(kind, "too_large");
    assert!(msg.contains("--max-body-bytes"), "{msg}");
}

#[tokio::test]
async fn decompression_bomb_is_refused_before_decoding() {
    let s = server(Duration::ZERO, 8, 8);
    // 2048×2048 of zeros compresses to a few kB but is 4 M pixels, over the 1 M limit.
    let (status, _, body) = send(
        &s.app,
        post(SYNTH, "image/png", png_gray(2048, 2048, |_, _| 0)),
    )
    .await;
    assert_eq!(
        status,
        StatusCode::PAYLOAD_TOO_LARGE,
        "{}",
        String::from_utf8_lossy(&body)
    );
    assert!(error_of(&body).0.contains("over the limit"));
}

#[tokio::test]
async fn unknown_model_is_404_listing_the_loaded_ones() {
    let s = server(Duration::ZERO, 8, 8);
    let (status, _, body) = send(
        &s.app,
        post(
            "/api/v1/models/nope/synthesize",
            "image/png",
            png_gray(64, 64, |_, _| 0),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(error_of(&body).0.contains("loaded: fake"));
}

#[tokio::test]
async fn colour_maps_match_the_palette_exactly_unless_nearest() {
    let s = server(Duration::ZERO, 8, 8);
    let off = png_rgb(64, 64, |x, y| {
        if (x, y) == (5, 3) {
            [250, 0, 0]
        } else {
            [0, 0, 255]
        }
    });
    let (status, _, body) = send(&s.app, post(SYNTH, "image/png", off.clone())).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let (msg, _) = error_of(&body);
    assert!(
        msg.contains("1 pixels") && msg.contains("x 5, y 3") && msg.contains("nearest=true"),
        "{msg}"
    );
    let (status, _, body) = send(
        &s.app,
        post(&format!("{SYNTH}?nearest=true"), "image/png", off),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let img = image::load_from_memory(&body).unwrap().to_rgb8();
    assert_eq!(img.get_pixel(5, 3)[0], 0, "off-palette red maps to class 0");
    assert_eq!(img.get_pixel(0, 0)[0], 255, "blue is class 2");
}

#[tokio::test]
async fn red_channel_encoding_reads_the_class_from_red() {
    let s = server(Duration::ZERO, 8, 8);
    let png = png_rgb(64, 64, |x, _| [if x < 32 { 1 } else { 2 }, 77, 99]);
    let (status, _, body) = send(
        &s.app,
        post(&format!("{SYNTH}?encoding=red"), "image/png", png),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{}", String::from_utf8_lossy(&body));
    let img = image::load_from_memory(&body).unwrap().to_rgb8();
    assert_eq!(img.get_pixel(0, 0)[0], 128);
    assert_eq!(img.get_pixel(63, 0)[0], 255);
}

#[tokio::test]
async fn multipart_takes_label_and_format() {
    let s = server(Duration::ZERO, 8, 8);
    let form = post_form(
        SYNTH,
        &[
            ("label", Some("label.png"), png_gray(64, 64, |_, _| 1)),
            ("format", None, b"jpeg".to_vec()),
        ],
    );
    let (status, headers, body) = send(&s.app, form).await;
    assert_eq!(status, StatusCode::OK, "{}", String::from_utf8_lossy(&body));
    assert_eq!(headers[header::CONTENT_TYPE], "image/jpeg");
    assert_eq!(
        image::guess_format(&body).unwrap(),
        image::ImageFormat::Jpeg
    );
    let form = post_form(
        SYNTH,
        &[("lable", Some("label.png"), png_gray(64, 64, |_, _| 1))],
    );
    let (status, _, body) = send(&s.app, form).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(error_of(&body)
        .0
        .contains("unknown multipart field `lable`"));
}

#[tokio::test]
async fn maps_of_other_sizes_are_resized_and_the_image_resized_back() {
    let s = server(Duration::ZERO, 8, 8);
    let (status, _, body) =
        send(&s.app, post(SYNTH, "image/png", png_gray(50, 40, |_, _| 2))).await;
    assert_eq!(status, StatusCode::OK);
    let img = image::load_from_memory(&body).unwrap();
    assert_eq!((img.width(), img.height()), (50, 40));
    let (status, _, body) = send(
        &s.app,
        post(
            &format!("{SYNTH}?size=native"),
            "image/png",
            png_gray(50, 40, |_, _| 2),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let img = image::load_from_memory(&body).unwrap();
    assert_eq!((img.width(), img.height()), (64, 64));
}

#[tokio::test]
async fn serves_a_real_imported_model() {
    let tmp = tempfile::tempdir().unwrap();
    let app = app_serving(session("city35_tiny", tmp.path()));
    let label = read(&spade_fixture("city35_tiny/inputs/label_0.png"));
    let (status, headers, body) = send(
        &app,
        post("/api/v1/models/city35_tiny/synthesize", "image/png", label),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{}", String::from_utf8_lossy(&body));
    assert_eq!(headers["x-batch-size"], "1");
    let img = image::load_from_memory(&body).unwrap();
    assert_eq!((img.width(), img.height()), (256, 128));
}

/// A CLADE-ICPE model needs its positional encoding, which the pipeline
/// computes from the map: the API gives the reference's image.
#[tokio::test]
async fn serves_a_clade_icpe_model_as_the_reference_makes_it() {
    let tmp = tempfile::tempdir().unwrap();
    let fixture = shared_fixtures().join("clade_icpe_tiny");
    let package = tmp.path().join("clade_icpe_tiny");
    import(&fixture.join("checkpoint"), &package).unwrap();
    let app = app_serving(load(&package));
    let label = read(&fixture.join("inputs/label_0.png"));
    let uri = "/api/v1/models/clade_icpe_tiny/synthesize";
    let (status, _, body) = send(&app, post(uri, "image/png", label)).await;
    assert_eq!(status, StatusCode::OK, "{}", String::from_utf8_lossy(&body));
    let ours = image::load_from_memory(&body).unwrap().to_rgb8();
    let expected = easel::package::npy::read(&fixture.join("expected_output.npy")).unwrap();
    let plane = 64 * 64;
    let worst = ours
        .pixels()
        .enumerate()
        .flat_map(|(i, p)| (0..3).map(move |c| (i, c, p[c])))
        .map(|(i, c, v)| {
            let reference = ((expected.data[c * plane + i] + 1.0) * 127.5).round();
            (v as f32 - reference).abs()
        })
        .fold(0f32, f32::max);
    assert!(worst <= 1.0, "off by {worst} levels of 255");
}

#[tokio::test]
async fn style_images_and_seeds_drive_a_vae_model() {
    let tmp = tempfile::tempdir().unwrap();
    let app = app_serving(session("vae_tiny", tmp.path()));
    let uri = "/api/v1/models/vae_tiny/synthesize";
    let label = read(&spade_fixture("vae_tiny/inputs/label_0.png"));
    let style = read(&spade_fixture("vae_tiny/inputs/style.png"));
    let form = post_form(
        uri,
        &[
            ("label", Some("label.png"), label.clone()),
            ("style", Some("style.png"), style),
        ],
    );
    let (status, _, styled) = send(&app, form).await;
    assert_eq!(
        status,
        StatusCode::OK,
        "{}",
        String::from_utf8_lossy(&styled)
    );
    let form = post_form(
        uri,
        &[
            ("label", Some("label.png"), label.clone()),
            ("seed", None, b"5".to_vec()),
        ],
    );
    let (status, _, seeded) = send(&app, form).await;
    assert_eq!(status, StatusCode::OK);
    // Afresh, or the cache would answer it: the same request as the form.
    let (_, _, again) = send(
        &app,
        fresh(post(&format!("{uri}?seed=5"), "image/png", label.clone())),
    )
    .await;
    assert_eq!(seeded, again, "a seed gives the same image");
    assert_ne!(styled, seeded, "the style image changes the image");
    let small = png_gray(128, 64, |_, _| 0);
    let (status, _, body) = send(
        &app,
        post(&format!("{uri}?size=native"), "image/png", small),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{}", String::from_utf8_lossy(&body));
}

#[tokio::test]
async fn instance_maps_change_the_image_of_an_instance_model() {
    let tmp = tempfile::tempdir().unwrap();
    let app = app_serving(session("coco182_tiny", tmp.path()));
    let uri = "/api/v1/models/coco182_tiny/synthesize";
    let inputs = spade_fixture("coco182_tiny/inputs");
    let label = read(&inputs.join("label_000000000139.png"));
    let inst = read(&inputs.join("inst_000000000139.png"));
    let form = post_form(
        uri,
        &[
            ("label", Some("label.png"), label.clone()),
            ("instance", Some("instance.png"), inst),
        ],
    );
    let (status, _, with_instances) = send(&app, form).await;
    assert_eq!(
        status,
        StatusCode::OK,
        "{}",
        String::from_utf8_lossy(&with_instances)
    );
    let (status, _, class_edges) = send(&app, post(uri, "image/png", label.clone())).await;
    assert_eq!(status, StatusCode::OK);
    let (_, _, no_edges) = send(&app, post(&format!("{uri}?edges=none"), "image/png", label)).await;
    assert_ne!(with_instances, no_edges);
    assert_ne!(class_edges, no_edges);
}

/// An OASIS model takes z per pixel: the API takes the image's z and a
/// region with its own z, and gives the reference's local re-roll as raw
/// floats (`format=npy`).
#[tokio::test]
async fn reproduces_an_oasis_local_reroll_from_its_mask_and_two_noise_vectors() {
    let tmp = tempfile::tempdir().unwrap();
    let fixture = shared_fixtures().join("oasis_tiny");
    let package = tmp.path().join("oasis_tiny");
    import(&fixture.join("checkpoint"), &package).unwrap();
    let app = app_serving(load(&package));
    let uri = "/api/v1/models/oasis_tiny/synthesize?format=npy";
    let input = |name: &str| read(&fixture.join("inputs").join(name));
    let form = post_form(
        uri,
        &[
            ("label", Some("label.png"), input("label_0.png")),
            ("z", Some("z.npy"), input("z_0.npy")),
            ("region_mask", Some("mask.png"), input("reroll_mask.png")),
            ("region_z", Some("z.npy"), input("reroll_z_region.npy")),
        ],
    );
    let (status, headers, body) = send(&app, form).await;
    assert_eq!(status, StatusCode::OK, "{}", String::from_utf8_lossy(&body));
    assert_eq!(headers[header::CONTENT_TYPE], "application/x-npy");
    let ours = easel::package::npy::parse(&body).unwrap();
    let expected = easel::package::npy::read(&fixture.join("expected_output_reroll.npy")).unwrap();
    assert_eq!(ours.shape, expected.shape);
    let worst = ours
        .data
        .iter()
        .zip(&expected.data)
        .map(|(a, b)| (a - b).abs())
        .fold(0f32, f32::max);
    assert!(worst < 1e-4, "max abs error {worst}");

    // The z as a JSON array and a seeded region work too; a region value
    // without its mask, or a mask without its value, is a 400 that says so.
    let z_json = serde_json::to_vec(&vec![0.25f32; 64]).unwrap();
    let form = post_form(
        uri,
        &[
            ("label", Some("label.png"), input("label_0.png")),
            ("z", None, z_json),
            ("region_mask", Some("mask.png"), input("reroll_mask.png")),
            ("region_seed", None, b"12".to_vec()),
        ],
    );
    let (status, _, body) = send(&app, form).await;
    assert_eq!(status, StatusCode::OK, "{}", String::from_utf8_lossy(&body));
    for fields in [
        vec![("region_seed", None, b"3".to_vec())],
        vec![("region_mask", Some("mask.png"), input("reroll_mask.png"))],
    ] {
        let mut all = vec![("label", Some("label.png"), input("label_0.png"))];
        all.extend(fields);
        let (status, _, body) = send(&app, post_form(uri, &all)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        let (msg, _) = error_of(&body);
        assert!(msg.contains("region_mask"), "{msg}");
    }
}

#[tokio::test]
async fn a_region_for_a_model_without_per_pixel_noise_is_422() {
    let tmp = tempfile::tempdir().unwrap();
    let app = app_serving(session("vae_tiny", tmp.path()));
    let label = read(&spade_fixture("vae_tiny/inputs/label_0.png"));
    let form = post_form(
        "/api/v1/models/vae_tiny/synthesize",
        &[
            ("label", Some("label.png"), label.clone()),
            ("region_mask", Some("mask.png"), label),
            ("region_seed", None, b"1".to_vec()),
        ],
    );
    let (status, _, body) = send(&app, form).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let (msg, _) = error_of(&body);
    assert!(msg.contains("per-pixel noise"), "{msg}");
}

/// An option means the same in the query and in a form: `nearest` in
/// either (and in either spelling of true) reads an off-palette map alike.
#[tokio::test]
async fn nearest_in_a_form_is_nearest_in_the_query() {
    let s = server(Duration::ZERO, 8, 8);
    let off = png_rgb(
        64,
        64,
        |x, _| if x == 5 { [250, 0, 0] } else { [0, 0, 255] },
    );
    let (status, _, by_query) = send(
        &s.app,
        fresh(post(
            &format!("{SYNTH}?nearest=true"),
            "image/png",
            off.clone(),
        )),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    for yes in ["true", "1", "on"] {
        let form = post_form(
            SYNTH,
            &[
                ("label", Some("map.png"), off.clone()),
                ("nearest", None, yes.as_bytes().to_vec()),
            ],
        );
        let (status, _, by_form) = send(&s.app, fresh(form)).await;
        assert_eq!(status, StatusCode::OK, "nearest={yes}");
        assert_eq!(by_form, by_query, "nearest={yes} in a form");
        let (status, _, _) = send(
            &s.app,
            fresh(post(
                &format!("{SYNTH}?nearest={yes}"),
                "image/png",
                off.clone(),
            )),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "nearest={yes} in the query");
    }
    let form = post_form(
        SYNTH,
        &[
            ("label", Some("map.png"), off.clone()),
            ("nearest", None, b"false".to_vec()),
        ],
    );
    let (status, _, _) = send(&s.app, form).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "false is false");
    for (name, request) in [
        (
            "query",
            post(&format!("{SYNTH}?nearest=maybe"), "image/png", off.clone()),
        ),
        (
            "form",
            post_form(
                SYNTH,
                &[
                    ("label", Some("m.png"), off),
                    ("nearest", None, b"maybe".to_vec()),
                ],
            ),
        ),
    ] {
        let (status, _, body) = send(&s.app, request).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{name}");
        assert!(error_of(&body).0.contains("nearest `maybe`"), "{name}");
    }
}
