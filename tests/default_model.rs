//! The default model shipped in models/landscapes: it loads, says what it is,
//! and paints classes in their natural colours. (Its speed is measured by
//! `easel bench`, in docs/benchmarks.md, not asserted here.)

mod support;

use easel::inference::pipeline::StyleSpec;
use easel::inference::runtime::{self, ModelSession, SessionOptions};
use easel::package::maps::{LabelMap, DEFAULT_MAX_PIXELS};
use easel::package::ModelPackage;
use support::repo;

fn open() -> ModelSession {
    runtime::init(None).unwrap();
    let package = ModelPackage::open(&repo().join("models/landscapes"))
        .expect("the default model is committed in models/landscapes");
    ModelSession::load(package, SessionOptions::default()).unwrap()
}

/// Mean RGB of the output where the map has `class`.
fn mean_color(rgb: &[u8], label: &LabelMap, class: u32) -> [f32; 3] {
    let mut sum = [0f32; 3];
    let mut n = 0f32;
    for (i, &c) in label.labels().iter().enumerate() {
        if c == class {
            for k in 0..3 {
                sum[k] += rgb[3 * i + k] as f32;
            }
            n += 1.0;
        }
    }
    sum.map(|s| s / n.max(1.0))
}

#[test]
fn default_model_card_says_what_it_is() {
    let s = open();
    let card = &s.package.card;
    assert_eq!(card.name, "landscapes");
    assert_eq!(card.classes.len(), 12);
    assert_eq!((card.native.width, card.native.height), (256, 256));
    assert!(
        card.training.is_some() && card.evaluation.is_some(),
        "the card has training and evaluation figures"
    );
    let size: u64 = ["generator.onnx", "encoder.onnx", "model.json"]
        .iter()
        .map(|f| {
            std::fs::metadata(repo().join("models/landscapes").join(f))
                .unwrap()
                .len()
        })
        .sum();
    assert!(size < 20 << 20, "package is {size} bytes");
}

/// The painted mountain lake (an example of the package) under `style`:
/// its label map and the RGB image the model makes of it.
fn paint_lake(s: &mut ModelSession, style: StyleSpec) -> (LabelMap, Vec<u8>) {
    let bytes = support::read(&repo().join("models/landscapes/examples/mountain-lake.png"));
    let label = LabelMap::from_png(&bytes, &s.package.card, DEFAULT_MAX_PIXELS).unwrap();
    let out = support::synthesize(s, bytes, None, style).unwrap();
    let finish = easel::inference::pipeline::Finish {
        source: (label.width(), label.height()),
        resize_to: None,
    };
    let rgb = easel::inference::pipeline::render(&out, &finish)
        .unwrap()
        .into_raw();
    (label, rgb)
}

#[test]
fn painted_lake_has_blue_sky_blue_water_and_green_grass() {
    let (label, rgb) = paint_lake(&mut open(), StyleSpec::Default);
    let [sr, _, sb] = mean_color(&rgb, &label, 0);
    assert!(sb > sr, "sky is blue: {:?}", mean_color(&rgb, &label, 0));
    let [wr, _, wb] = mean_color(&rgb, &label, 9);
    assert!(wb > wr, "water is blue: {:?}", mean_color(&rgb, &label, 9));
    let [gr, gg, gb] = mean_color(&rgb, &label, 6);
    assert!(gg > gr && gg > gb, "grass is green: {:?}", [gr, gg, gb]);
}

#[test]
fn each_preset_paints_its_own_light() {
    let mut s = open();
    let card = s.package.card.clone();
    let names: Vec<&str> = card.styles.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names, ["noon", "golden-hour", "overcast", "dawn"]);
    for preset in &card.styles {
        let thumbnail = preset
            .thumbnail
            .as_ref()
            .expect("every preset has a picture");
        assert!(repo()
            .join("models/landscapes/styles")
            .join(thumbnail)
            .is_file());
    }
    let mut sky = |name: &str| {
        let style = StyleSpec::Preset {
            name: name.into(),
            sample: None,
        };
        let (label, rgb) = paint_lake(&mut s, style);
        mean_color(&rgb, &label, 0)
    };
    let spread = |[r, g, b]: [f32; 3]| r.max(g).max(b) - r.min(g).min(b);
    let (noon, golden, overcast, dawn) = (
        sky("noon"),
        sky("golden-hour"),
        sky("overcast"),
        sky("dawn"),
    );
    assert!(noon[2] > noon[0] + 40.0, "noon's sky is blue: {noon:?}");
    assert!(
        golden[0] > noon[0] + 20.0,
        "golden hour warms the sky: {golden:?} against {noon:?}"
    );
    assert!(
        spread(overcast) < spread(noon) / 2.0,
        "overcast is grey: {overcast:?} against {noon:?}"
    );
    assert!(
        dawn[0] > noon[0] + 20.0 && dawn[2] > dawn[1],
        "dawn is violet: {dawn:?}"
    );
}

/// Held-out synthetic scenes (seed 1, as training/evaluate_default_v2.sh
/// holds them out) the segmenter is measured on here.
const HELD_OUT_SCENES: usize = 40;

/// The default model's photo reading (the real-photo segmenter with its
/// trained head, refined by the package's own segmenter) names the classes
/// of held-out synthetic photos with a pixel accuracy of at least 0.85,
/// through the API as the painting page posts them: JPEG photos at the
/// canvas size.
#[tokio::test]
async fn the_default_segmenter_recovers_held_out_scenes_through_the_api() {
    use axum::http::StatusCode;
    use easel::landscapes::synth;
    use easel::package::maps::decode_png;

    let app = support::app::app_serving(open());
    let uri = "/api/v1/models/landscapes/segment?width=256&height=256";
    let (mut right, mut total) = (0usize, 0usize);
    for index in 0..HELD_OUT_SCENES {
        let scene = synth::render(1, index, 256);
        let photo = synth::image_jpeg(&scene).unwrap();
        let request = support::app::post(uri, "image/jpeg", photo);
        let (status, _, body) = support::app::send(&app, request).await;
        assert_eq!(status, StatusCode::OK, "{}", String::from_utf8_lossy(&body));
        let map = decode_png(&body, "map", DEFAULT_MAX_PIXELS).unwrap();
        right += map
            .samples
            .iter()
            .zip(&scene.label)
            .filter(|&(&ours, &truth)| ours == u32::from(truth))
            .count();
        total += scene.label.len();
    }
    let accuracy = right as f64 / total as f64;
    eprintln!("pixel accuracy {accuracy:.3} on {HELD_OUT_SCENES} held-out scenes");
    assert!(
        accuracy >= 0.85,
        "pixel accuracy {accuracy:.3} on {HELD_OUT_SCENES} held-out scenes"
    );
}
