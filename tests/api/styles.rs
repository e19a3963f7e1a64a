//! Style presets: a package's named looks (the card's `styles`), chosen by
//! name with or without a variation seed, their pictures, and the 4xx
//! answers to a preset that does not exist or a request that names two
//! styles.

use axum::body::Body;
use axum::http::{header, Request, StatusCode};

use crate::support::app::{app_serving, error_of, fresh, post_form, send};
use crate::support::{import_fixture, load, read, spade_fixture};

/// The VAE fixture with two presets, one with a picture.
fn package_with_presets(tmp: &std::path::Path) -> std::path::PathBuf {
    let pkg = import_fixture("vae_tiny", &tmp.join("vae"));
    let card_path = pkg.join("model.json");
    let mut card: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&card_path).unwrap()).unwrap();
    let z_dim = card["z_dim"].as_u64().unwrap() as usize;
    card["styles"] = serde_json::json!([
        {"name": "noon", "description": "high sun", "z": vec![0.8; z_dim], "thumbnail": "noon.png"},
        {"name": "dawn", "z": vec![-0.8; z_dim], "spread": vec![0.0; z_dim]},
    ]);
    std::fs::write(&card_path, serde_json::to_vec_pretty(&card).unwrap()).unwrap();
    std::fs::create_dir_all(pkg.join("styles")).unwrap();
    let picture = image::RgbImage::from_pixel(8, 8, image::Rgb([250, 200, 40]));
    picture.save(pkg.join("styles/noon.png")).unwrap();
    pkg
}

const URI: &str = "/api/v1/models/vae/synthesize";

fn form(extra: &[(&str, Option<&str>, Vec<u8>)]) -> Request<Body> {
    let label = read(&spade_fixture("vae_tiny/inputs/label_0.png"));
    let mut fields = vec![("label", Some("label.png"), label)];
    fields.extend(extra.iter().cloned());
    post_form(URI, &fields)
}

#[tokio::test]
async fn a_preset_by_name_gives_its_look_and_a_seed_a_variation_around_it() {
    let tmp = tempfile::tempdir().unwrap();
    let app = app_serving(load(&package_with_presets(tmp.path())));
    let preset = |name: &str| ("style_preset", None, name.as_bytes().to_vec());
    let (status, _, noon) = send(&app, form(&[preset("noon")])).await;
    assert_eq!(status, StatusCode::OK, "{}", String::from_utf8_lossy(&noon));
    // Afresh, or the cache would answer the same request.
    let (_, _, again) = send(&app, fresh(form(&[preset("noon")]))).await;
    let (_, _, dawn) = send(&app, form(&[preset("dawn")])).await;
    let seed = ("seed", None, b"7".to_vec());
    let (_, _, varied) = send(&app, form(&[preset("noon"), seed.clone()])).await;
    let (_, _, dawn_seeded) = send(&app, form(&[preset("dawn"), seed])).await;
    assert_eq!(noon, again, "a preset is one look");
    assert_ne!(noon, dawn, "two presets, two looks");
    assert_ne!(noon, varied, "a seed varies around the look");
    assert_eq!(
        dawn, dawn_seeded,
        "a preset with zero spread has no variations"
    );
    let query = format!("{URI}?style_preset=noon");
    let label = read(&spade_fixture("vae_tiny/inputs/label_0.png"));
    let (_, _, by_query) = send(
        &app,
        fresh(crate::support::app::post(&query, "image/png", label)),
    )
    .await;
    assert_eq!(by_query, noon, "the query parameter works as the field");
}

#[tokio::test]
async fn an_unknown_preset_is_422_naming_the_presets_and_two_styles_are_400() {
    let tmp = tempfile::tempdir().unwrap();
    let app = app_serving(load(&package_with_presets(tmp.path())));
    let (status, _, body) = send(&app, form(&[("style_preset", None, b"dusk".to_vec())])).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let (msg, _) = error_of(&body);
    assert!(
        msg.contains("`dusk`") && msg.contains("noon, dawn"),
        "{msg}"
    );

    let style = read(&spade_fixture("vae_tiny/inputs/style.png"));
    let (status, _, body) = send(
        &app,
        form(&[
            ("style_preset", None, b"noon".to_vec()),
            ("style", Some("style.png"), style),
        ]),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(error_of(&body).0.contains("style_preset"));
}

#[tokio::test]
async fn the_card_lists_the_presets_and_their_pictures_are_served() {
    let tmp = tempfile::tempdir().unwrap();
    let app = app_serving(load(&package_with_presets(tmp.path())));
    let get = |uri: &str| Request::get(uri).body(Body::empty()).unwrap();
    let (status, _, body) = send(&app, get("/api/v1/models/vae")).await;
    assert_eq!(status, StatusCode::OK);
    let card: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(card["styles"][0]["name"], "noon");
    assert_eq!(card["styles"][0]["thumbnail"], "noon.png");
    let (status, headers, body) = send(&app, get("/api/v1/models/vae/styles/noon.png")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers[header::CONTENT_TYPE], "image/png");
    let picture = image::load_from_memory(&body).unwrap().to_rgb8();
    assert_eq!(picture.get_pixel(0, 0).0, [250, 200, 40]);
    let (status, _, body) = send(&app, get("/api/v1/models/vae/styles/dusk.png")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(error_of(&body).0.contains("noon.png"));
}
