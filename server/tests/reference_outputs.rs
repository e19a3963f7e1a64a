//! The imported fixtures reproduce the reference implementation's outputs:
//! generator images, instance edges, and the style encoder's mu and logvar.

mod common;

use common::{maps, max_abs_diff, read, session, spade_fixture, style_image, synthesize};
use easel::inference::pipeline::{StyleInput, StyleSpec};
use easel::inference::runtime::GeneratorInput;
use easel::package::maps::{InstanceMap, LabelMap, DEFAULT_MAX_PIXELS};
use easel::package::npy;

const TOLERANCE: f32 = 1e-4;

fn coco_order() -> Vec<String> {
    let text = String::from_utf8(read(&spade_fixture("coco182_tiny/order.json"))).unwrap();
    let json: serde_json::Value = serde_json::from_str(&text).unwrap();
    json["inputs_in_order"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().trim_end_matches(".png").to_string())
        .collect()
}

#[test]
fn coco_fixture_matches_reference_in_one_batch() {
    let tmp = tempfile::tempdir().unwrap();
    let mut s = session("coco182_tiny", tmp.path());
    let card = s.package.card.clone();
    let (mut labels, mut edges) = (Vec::new(), Vec::new());
    let order = coco_order();
    for stem in &order {
        let inputs = spade_fixture("coco182_tiny/inputs");
        let (label, inst) = maps(
            &inputs.join(format!("label_{stem}.png")),
            &inputs.join(format!("inst_{stem}.png")),
            &card,
        );
        labels.extend(label.labels().iter().map(|&v| v as i64));
        edges.extend(inst.edges(&label).unwrap().into_iter().map(i64::from));
    }
    let input = GeneratorInput {
        batch: order.len(),
        height: 64,
        width: 64,
        labels: &labels,
        edges: Some(&edges),
        position: None,
        z: None,
        noise: None,
    };
    let out = s.generate(&input).unwrap();
    let expected = npy::read(&spade_fixture("coco182_tiny/expected_output.npy")).unwrap();
    assert_eq!(out.shape, expected.shape);
    let err = max_abs_diff(&out.data, &expected.data);
    assert!(err < TOLERANCE, "max abs error {err}");
}

#[test]
fn coco_fixture_dontcare_pixels_become_the_dontcare_class() {
    let tmp = tempfile::tempdir().unwrap();
    let s = session("coco182_tiny", tmp.path());
    let card = &s.package.card;
    assert_eq!(card.dontcare.as_ref().map(|d| d.index), Some(182));
    let bytes = read(&spade_fixture("coco182_tiny/inputs/label_000000000139.png"));
    let raw = easel::package::maps::decode_png(&bytes, "label map", DEFAULT_MAX_PIXELS).unwrap();
    let label = LabelMap::from_png(&bytes, card, DEFAULT_MAX_PIXELS).unwrap();
    let unlabeled = raw.samples.iter().filter(|&&v| v == 255).count();
    assert!(unlabeled > 0, "the fixture has unlabelled pixels");
    assert_eq!(
        label.labels().iter().filter(|&&v| v == 182).count(),
        unlabeled
    );
}

#[test]
fn instance_edges_match_the_reference_exactly() {
    let inputs = spade_fixture("coco182_tiny/inputs");
    let tmp = tempfile::tempdir().unwrap();
    let s = session("coco182_tiny", tmp.path());
    for stem in coco_order() {
        let label = LabelMap::from_png(
            &read(&inputs.join(format!("label_{stem}.png"))),
            &s.package.card,
            DEFAULT_MAX_PIXELS,
        )
        .unwrap();
        let inst = InstanceMap::from_png(
            &read(&inputs.join(format!("inst_{stem}.png"))),
            DEFAULT_MAX_PIXELS,
        )
        .unwrap();
        let expected = easel::package::maps::decode_png(
            &read(&spade_fixture(&format!(
                "coco182_tiny/expected_edges_{stem}.png"
            ))),
            "edges",
            DEFAULT_MAX_PIXELS,
        )
        .unwrap();
        let ours: Vec<u32> = inst
            .edges(&label)
            .unwrap()
            .into_iter()
            .map(|e| e as u32 * 255)
            .collect();
        assert_eq!(ours, expected.samples, "edges of {stem}");
    }
}

#[test]
fn cityscapes_fixture_with_16_bit_instances_and_legacy_checkpoint_matches() {
    let tmp = tempfile::tempdir().unwrap();
    let mut s = session("city35_tiny", tmp.path());
    let card = s.package.card.clone();
    assert_eq!((card.native.width, card.native.height), (256, 128));
    let expected = npy::read(&spade_fixture("city35_tiny/expected_output.npy")).unwrap();
    let plane = 3 * 128 * 256;
    for i in 0..2 {
        let inputs = spade_fixture("city35_tiny/inputs");
        let out = synthesize(
            &mut s,
            read(&inputs.join(format!("label_{i}.png"))),
            Some(read(&inputs.join(format!("inst_{i}.png")))),
            StyleSpec::Default,
        )
        .unwrap();
        let err = max_abs_diff(&out.data, &expected.data[i * plane..(i + 1) * plane]);
        assert!(err < TOLERANCE, "image {i}: max abs error {err}");
    }
}

fn vae_labels(card: &easel::package::ModelCard) -> Vec<LabelMap> {
    (0..3)
        .map(|i| {
            let path = spade_fixture(&format!("vae_tiny/inputs/label_{i}.png"));
            LabelMap::from_png(&read(&path), card, DEFAULT_MAX_PIXELS).unwrap()
        })
        .collect()
}

#[test]
fn vae_generator_matches_reference_for_given_z() {
    let tmp = tempfile::tempdir().unwrap();
    let mut s = session("vae_tiny", tmp.path());
    let card = s.package.card.clone();
    let z = npy::read(&spade_fixture("vae_tiny/z.npy")).unwrap();
    let labels: Vec<i64> = vae_labels(&card)
        .iter()
        .flat_map(|l| l.labels().iter().map(|&v| v as i64))
        .collect();
    let input = GeneratorInput {
        batch: 3,
        height: 128,
        width: 256,
        labels: &labels,
        edges: None,
        position: None,
        z: Some(&z.data),
        noise: None,
    };
    let out = s.generate(&input).unwrap();
    let expected = npy::read(&spade_fixture("vae_tiny/expected_output.npy")).unwrap();
    let err = max_abs_diff(&out.data, &expected.data);
    assert!(err < TOLERANCE, "max abs error {err}");
}

fn style_path() -> std::path::PathBuf {
    spade_fixture("vae_tiny/inputs/style.png")
}

#[test]
fn vae_encoder_matches_reference_mu_and_logvar() {
    let tmp = tempfile::tempdir().unwrap();
    let mut s = session("vae_tiny", tmp.path());
    let img = image::open(style_path()).unwrap().to_rgb8();
    let StyleInput::Encode {
        pixels,
        height,
        width,
        ..
    } = StyleInput::from_image(&img, None)
    else {
        unreachable!()
    };
    let (mu, logvar) = s
        .encode([1, 3, height, width], &pixels)
        .unwrap()
        .expect("the package has an encoder");
    for (ours, file) in [(mu, "expected_mu.npy"), (logvar, "expected_logvar.npy")] {
        let expected = npy::read(&spade_fixture(&format!("vae_tiny/{file}"))).unwrap();
        assert_eq!(ours.shape, expected.shape);
        let err = max_abs_diff(&ours.data, &expected.data);
        assert!(err < TOLERANCE, "{file}: max abs error {err}");
    }
}

#[test]
fn vae_style_image_drives_the_generator_like_the_reference() {
    let tmp = tempfile::tempdir().unwrap();
    let mut s = session("vae_tiny", tmp.path());
    let label = read(&spade_fixture("vae_tiny/inputs/label_0.png"));
    let out = synthesize(&mut s, label, None, style_image(&style_path())).unwrap();
    let expected = npy::read(&spade_fixture("vae_tiny/expected_output_style_mu.npy")).unwrap();
    let err = max_abs_diff(&out.data, &expected.data);
    assert!(err < TOLERANCE, "max abs error {err}");
}

#[test]
fn different_seeds_give_different_vae_images() {
    let tmp = tempfile::tempdir().unwrap();
    let mut s = session("vae_tiny", tmp.path());
    let label = read(&spade_fixture("vae_tiny/inputs/label_0.png"));
    let a = synthesize(&mut s, label.clone(), None, StyleSpec::Seed(1)).unwrap();
    let b = synthesize(&mut s, label.clone(), None, StyleSpec::Seed(2)).unwrap();
    let again = synthesize(&mut s, label, None, StyleSpec::Seed(1)).unwrap();
    assert_eq!(a.data, again.data, "a seed gives the same image every time");
    assert!(
        max_abs_diff(&a.data, &b.data) > 1e-3,
        "seeds change the image"
    );
}
