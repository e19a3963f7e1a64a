//! The bad-input corpus: malformed, oversized, mislabelled and hostile
//! requests to every endpoint that takes input each get their documented
//! status and a message naming the problem, and the server stays healthy.

use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, StatusCode};

use crate::support::app::{
    batch_server, get, post, post_batch, post_form, send, LABEL_MAP, SEGMENT, SYNTH,
};
use crate::support::png::{bomb, png_gray, png_rgb, png_with};

/// Every case gets its documented status and a message naming the problem,
/// and the server stays healthy throughout.
#[tokio::test]
async fn the_bad_input_corpus_gets_its_documented_answers() {
    let (s, _results) = batch_server(Duration::ZERO);
    let good = png_gray(64, 64, |x, _| (x / 22) as u8);
    let gray16 = |v: u16| {
        png_with(
            64,
            64,
            png::ColorType::Grayscale,
            png::BitDepth::Sixteen,
            &v.to_be_bytes().repeat(64 * 64),
            None,
        )
    };
    let palette = [
        255u8, 0, 0, 0, 255, 0, 0, 0, 255, 9, 9, 9, 1, 1, 1, 2, 2, 2, 3, 3, 3, 4, 4, 4,
    ];
    let paletted = |i: u8| {
        png_with(
            64,
            64,
            png::ColorType::Indexed,
            png::BitDepth::Eight,
            &vec![i; 64 * 64],
            Some(&palette),
        )
    };
    let with_query = |q: &str, body: Vec<u8>| post(&format!("{SYNTH}?{q}"), "image/png", body);
    let photo = png_rgb(64, 48, |x, y| [(x * 4) as u8, (y * 5) as u8, 90]);
    let mut corpus: Vec<(&str, Request<Body>, StatusCode, &str)> = vec![
        (
            "truncated PNG header",
            post(SYNTH, "image/png", good[..30].to_vec()),
            StatusCode::BAD_REQUEST,
            "not a readable PNG",
        ),
        (
            "truncated PNG data",
            post(SYNTH, "image/png", good[..good.len() - 20].to_vec()),
            StatusCode::BAD_REQUEST,
            "not a readable PNG",
        ),
        (
            "PNG signature only",
            post(SYNTH, "image/png", good[..8].to_vec()),
            StatusCode::BAD_REQUEST,
            "not a readable PNG",
        ),
        (
            "empty body",
            post(SYNTH, "image/png", Vec::new()),
            StatusCode::BAD_REQUEST,
            "PNG",
        ),
        (
            "random bytes",
            post(
                SYNTH,
                "image/png",
                (0..5000u32).map(|i| (i * 7919 % 251) as u8).collect(),
            ),
            StatusCode::BAD_REQUEST,
            "not a readable PNG",
        ),
        (
            "a JPEG sent as PNG",
            post(SYNTH, "image/png", {
                let mut c = std::io::Cursor::new(Vec::new());
                image::RgbImage::new(8, 8)
                    .write_to(&mut c, image::ImageFormat::Jpeg)
                    .unwrap();
                c.into_inner()
            }),
            StatusCode::BAD_REQUEST,
            "not a readable PNG",
        ),
        (
            "1×1 map (resized through the native size)",
            post(SYNTH, "image/png", png_gray(1, 1, |_, _| 1)),
            StatusCode::OK,
            "",
        ),
        (
            "100000×1 map",
            post(
                SYNTH,
                "image/png",
                png_gray(100_000, 1, |x, _| (x % 3) as u8),
            ),
            StatusCode::OK,
            "",
        ),
        (
            "decompression bomb 100000×100000",
            post(SYNTH, "image/png", bomb(100_000, 100_000)),
            StatusCode::PAYLOAD_TOO_LARGE,
            "over the limit",
        ),
        (
            "bomb just over the pixel limit",
            post(SYNTH, "image/png", bomb(1025, 1024)),
            StatusCode::PAYLOAD_TOO_LARGE,
            "--max-pixels",
        ),
        (
            "zero-width PNG",
            post(SYNTH, "image/png", bomb(0, 64)),
            StatusCode::BAD_REQUEST,
            "PNG",
        ),
        (
            "16-bit indices in range",
            post(SYNTH, "image/png", gray16(2)),
            StatusCode::OK,
            "",
        ),
        (
            "16-bit index 300",
            post(SYNTH, "image/png", gray16(300)),
            StatusCode::UNPROCESSABLE_ENTITY,
            "300",
        ),
        (
            "16-bit index 65535",
            post(SYNTH, "image/png", gray16(65535)),
            StatusCode::UNPROCESSABLE_ENTITY,
            "65535",
        ),
        (
            "paletted, indices in range",
            post(SYNTH, "image/png", paletted(2)),
            StatusCode::OK,
            "",
        ),
        (
            "paletted, index 7",
            post(SYNTH, "image/png", paletted(7)),
            StatusCode::UNPROCESSABLE_ENTITY,
            "7",
        ),
        (
            "1-bit grayscale",
            post(
                SYNTH,
                "image/png",
                png_with(
                    64,
                    64,
                    png::ColorType::Grayscale,
                    png::BitDepth::One,
                    &[0b1010_1010; 8 * 64],
                    None,
                ),
            ),
            StatusCode::OK,
            "",
        ),
        (
            "8-bit index 255 without a dontcare class",
            post(SYNTH, "image/png", png_gray(64, 64, |_, _| 255)),
            StatusCode::UNPROCESSABLE_ENTITY,
            "255",
        ),
        (
            "gray with alpha (alpha ignored)",
            post(
                SYNTH,
                "image/png",
                png_with(
                    64,
                    64,
                    png::ColorType::GrayscaleAlpha,
                    png::BitDepth::Eight,
                    &[1, 255].repeat(64 * 64),
                    None,
                ),
            ),
            StatusCode::OK,
            "",
        ),
        (
            "RGB in the palette's colours",
            post(
                SYNTH,
                "image/png",
                png_rgb(
                    64,
                    64,
                    |x, _| if x < 32 { [255, 0, 0] } else { [0, 0, 255] },
                ),
            ),
            StatusCode::OK,
            "",
        ),
        (
            "RGB off the palette",
            post(SYNTH, "image/png", png_rgb(64, 64, |_, _| [1, 2, 3])),
            StatusCode::UNPROCESSABLE_ENTITY,
            "not in model fake's palette",
        ),
        (
            "RGB off the palette, nearest",
            with_query("nearest=true", png_rgb(64, 64, |_, _| [250, 2, 3])),
            StatusCode::OK,
            "",
        ),
        (
            "RGB as index encoding",
            with_query("encoding=index", png_rgb(64, 64, |_, _| [255, 0, 0])),
            StatusCode::UNPROCESSABLE_ENTITY,
            "colour image",
        ),
        (
            "red encoding out of range",
            with_query("encoding=red", png_rgb(64, 64, |_, _| [9, 0, 0])),
            StatusCode::UNPROCESSABLE_ENTITY,
            "9",
        ),
        (
            "red encoding of a grayscale map",
            with_query("encoding=red", good.clone()),
            StatusCode::UNPROCESSABLE_ENTITY,
            "channel",
        ),
        (
            "unknown encoding",
            with_query("encoding=bogus", good.clone()),
            StatusCode::BAD_REQUEST,
            "encoding `bogus`",
        ),
        (
            "unknown format",
            with_query("format=gif", good.clone()),
            StatusCode::BAD_REQUEST,
            "format `gif`",
        ),
        (
            "unknown size mode",
            with_query("size=huge", good.clone()),
            StatusCode::BAD_REQUEST,
            "size `huge`",
        ),
        (
            "unknown edges mode",
            with_query("edges=some", good.clone()),
            StatusCode::BAD_REQUEST,
            "edges `some`",
        ),
        (
            "bad boolean query",
            with_query("nearest=maybe", good.clone()),
            StatusCode::BAD_REQUEST,
            "nearest",
        ),
        (
            "50 MB body",
            post(SYNTH, "image/png", vec![0u8; 50 << 20]),
            StatusCode::PAYLOAD_TOO_LARGE,
            "--max-body-bytes",
        ),
        (
            "text/plain",
            post(SYNTH, "text/plain", good.clone()),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "image/png",
        ),
        (
            "image/jpeg content type",
            post(SYNTH, "image/jpeg", good.clone()),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "image/jpeg",
        ),
        (
            "no content type",
            Request::post(SYNTH).body(Body::from(good.clone())).unwrap(),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "Content-Type",
        ),
        (
            "multipart without a boundary",
            post(SYNTH, "multipart/form-data", good.clone()),
            StatusCode::BAD_REQUEST,
            "boundary",
        ),
        (
            "multipart garbage",
            post(
                SYNTH,
                "multipart/form-data; boundary=xyz",
                b"--xyz\r\ngarbage".to_vec(),
            ),
            StatusCode::BAD_REQUEST,
            "",
        ),
        (
            "multipart unknown field",
            post_form(SYNTH, &[("colour", None, b"red".to_vec())]),
            StatusCode::BAD_REQUEST,
            "unknown multipart field `colour`",
        ),
        (
            "multipart without a label",
            post_form(SYNTH, &[("seed", None, b"3".to_vec())]),
            StatusCode::BAD_REQUEST,
            "no label map",
        ),
        (
            "multipart seed not a number",
            post_form(
                SYNTH,
                &[
                    ("label", Some("l.png"), good.clone()),
                    ("seed", None, b"abc".to_vec()),
                ],
            ),
            StatusCode::BAD_REQUEST,
            "seed `abc`",
        ),
        (
            "instance map of another size",
            post_form(
                SYNTH,
                &[
                    ("label", Some("l.png"), good.clone()),
                    ("instance", Some("i.png"), png_gray(32, 32, |_, _| 1)),
                ],
            ),
            StatusCode::UNPROCESSABLE_ENTITY,
            "same size",
        ),
        (
            "truncated instance map",
            post_form(
                SYNTH,
                &[
                    ("label", Some("l.png"), good.clone()),
                    ("instance", Some("i.png"), good[..40].to_vec()),
                ],
            ),
            StatusCode::BAD_REQUEST,
            "instance map",
        ),
        (
            "style image that is not an image",
            post_form(
                SYNTH,
                &[
                    ("label", Some("l.png"), good.clone()),
                    ("style", Some("s.png"), b"nope".to_vec()),
                ],
            ),
            StatusCode::BAD_REQUEST,
            "style image",
        ),
        (
            "unknown model",
            post("/api/v1/models/nope/synthesize", "image/png", good.clone()),
            StatusCode::NOT_FOUND,
            "no model named `nope`",
        ),
        (
            "traversal as a model name",
            post(
                "/api/v1/models/..%2F..%2Fetc/synthesize",
                "image/png",
                good.clone(),
            ),
            StatusCode::NOT_FOUND,
            "no model named",
        ),
        (
            "unicode model name",
            post(
                "/api/v1/models/%E6%97%A5%E6%9C%AC/synthesize",
                "image/png",
                good.clone(),
            ),
            StatusCode::NOT_FOUND,
            "no model named `日本`",
        ),
        (
            "GET on synthesize",
            Request::get(SYNTH).body(Body::empty()).unwrap(),
            StatusCode::METHOD_NOT_ALLOWED,
            "",
        ),
        (
            "label-map endpoint, truncated",
            post(LABEL_MAP, "image/png", good[..50].to_vec()),
            StatusCode::BAD_REQUEST,
            "not a readable PNG",
        ),
        (
            "example traversal",
            Request::get("/api/v1/models/fake/examples/..%2F..%2Fmodel.json")
                .body(Body::empty())
                .unwrap(),
            StatusCode::NOT_FOUND,
            "no example",
        ),
        (
            "batch run named with a traversal",
            post_batch(&[
                ("name", None, b"../../x".to_vec()),
                ("label", Some("a.png"), good.clone()),
            ]),
            StatusCode::BAD_REQUEST,
            "not allowed",
        ),
        (
            "batch run named in unicode",
            post_batch(&[
                ("name", None, "naïve".as_bytes().to_vec()),
                ("label", Some("a.png"), good.clone()),
            ]),
            StatusCode::BAD_REQUEST,
            "not allowed",
        ),
        (
            "batch run name with a NUL",
            post_batch(&[
                ("name", None, b"a\0b".to_vec()),
                ("label", Some("a.png"), good.clone()),
            ]),
            StatusCode::BAD_REQUEST,
            "not allowed",
        ),
        (
            "batch file named with a traversal",
            post_batch(&[
                ("name", None, b"ok".to_vec()),
                ("label", Some("../.."), good.clone()),
            ]),
            StatusCode::BAD_REQUEST,
            "file name",
        ),
        (
            "batch zip that is not a zip",
            post_batch(&[
                ("name", None, b"ok".to_vec()),
                ("zip", Some("z.zip"), b"PK\x03\x04broken".to_vec()),
            ]),
            StatusCode::BAD_REQUEST,
            "zip",
        ),
        (
            "batch without a name",
            post_batch(&[("label", Some("a.png"), good.clone())]),
            StatusCode::BAD_REQUEST,
            "no `name`",
        ),
        (
            "batch id without an epoch",
            Request::get("/api/v1/batches/justname")
                .body(Body::empty())
                .unwrap(),
            StatusCode::NOT_FOUND,
            "<name>@<epoch>",
        ),
        (
            "segment: a text file as the photo",
            post(SEGMENT, "image/png", b"sky,grass\n".to_vec()),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "not an image",
        ),
        (
            "segment: a GIF photo",
            post(
                SEGMENT,
                "image/png",
                b"GIF89a\x01\x00\x01\x00\x00\x00\x00".to_vec(),
            ),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "GIF",
        ),
        (
            "segment: an empty body",
            post(SEGMENT, "image/jpeg", Vec::new()),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "empty",
        ),
        (
            "segment: a photo sent as text",
            post(SEGMENT, "text/plain", photo.clone()),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "not a photo",
        ),
        (
            "segment: a truncated photo",
            post(SEGMENT, "image/png", photo[..photo.len() / 2].to_vec()),
            StatusCode::UNPROCESSABLE_ENTITY,
            "cannot be read",
        ),
        (
            "segment: a 1×1 photo",
            post(SEGMENT, "image/png", png_rgb(1, 1, |_, _| [90, 150, 230])),
            StatusCode::UNPROCESSABLE_ENTITY,
            "at least 16 pixels",
        ),
        (
            "segment: a JPEG whose data is corrupt",
            post(SEGMENT, "image/jpeg", corrupt_jpeg()),
            StatusCode::UNPROCESSABLE_ENTITY,
            "cannot be read as JPEG",
        ),
        (
            "segment: a photo over the body limit",
            post(SEGMENT, "image/jpeg", vec![0xFF; (1 << 20) + 1]),
            StatusCode::PAYLOAD_TOO_LARGE,
            "--max-body-bytes",
        ),
        (
            "segment: a photo just over the pixel limit",
            post(SEGMENT, "image/png", bomb(1025, 1024)),
            StatusCode::PAYLOAD_TOO_LARGE,
            "--max-pixels",
        ),
        (
            "segment: a map over the pixel limit",
            post(
                &format!("{SEGMENT}?width=2000&height=2000"),
                "image/png",
                photo.clone(),
            ),
            StatusCode::PAYLOAD_TOO_LARGE,
            "smaller map",
        ),
        (
            "segment: a map 0 wide",
            post(&format!("{SEGMENT}?width=0"), "image/png", photo.clone()),
            StatusCode::BAD_REQUEST,
            "at least 1",
        ),
        (
            "segment: a width that is not a number",
            post(&format!("{SEGMENT}?width=wide"), "image/png", photo.clone()),
            StatusCode::BAD_REQUEST,
            "openapi.json",
        ),
        (
            "segment: a form without a photo",
            post_form(SEGMENT, &[("width", None, b"8".to_vec())]),
            StatusCode::BAD_REQUEST,
            "no photo",
        ),
        (
            "segment: a form with a stray field",
            post_form(SEGMENT, &[("label", Some("a.png"), photo.clone())]),
            StatusCode::BAD_REQUEST,
            "unknown multipart field",
        ),
    ];
    assert!(corpus.len() >= 40, "{} cases", corpus.len());
    let mut failures = Vec::new();
    for (name, request, status, message) in corpus.drain(..) {
        let (got, _, body) = send(&s.app, request).await;
        let text = String::from_utf8_lossy(&body).to_string();
        let ok = got == status
            && (status == StatusCode::OK
                || status == StatusCode::METHOD_NOT_ALLOWED
                || serde_json::from_slice::<serde_json::Value>(&body).is_ok_and(|v| {
                    v["error"].as_str().is_some_and(|e| e.contains(message))
                        && v["error_type"].is_string()
                }));
        if !ok {
            failures.push(format!(
                "{name}: expected {status} with `{message}`, got {got}: {}",
                text.chars().take(300).collect::<String>()
            ));
        }
        let (health, _, _) = get(&s.app, "/healthz").await;
        assert_eq!(health, StatusCode::OK, "unhealthy after {name}");
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    let (status, _, _) = send(&s.app, post(SYNTH, "image/png", good)).await;
    assert_eq!(status, StatusCode::OK, "still serving");
}

/// A JPEG whose header is sound and whose entropy-coded data is not: its
/// markers stay, the bytes between them are scrambled.
fn corrupt_jpeg() -> Vec<u8> {
    let photo = image::RgbImage::from_fn(64, 48, |x, y| image::Rgb([x as u8 * 4, y as u8 * 5, 90]));
    let mut bytes = std::io::Cursor::new(Vec::new());
    photo
        .write_to(&mut bytes, image::ImageFormat::Jpeg)
        .unwrap();
    let mut bytes = bytes.into_inner();
    let scan = bytes.windows(2).position(|w| w == [0xFF, 0xDA]).unwrap() + 12;
    let end = bytes.len() - 2;
    for b in &mut bytes[scan..end] {
        *b = if *b == 0xFF { 0x00 } else { 0xFF };
    }
    bytes
}
