//! Generator variants the shared fixtures do not cover (5×5 SPADE kernels,
//! batch and sync-batch norm, `more` upsampling, an affine batch-norm encoder),
//! made by server/tests/fixtures/variants/make_fixtures.py with a PyTorch model
//! checked against the reference fixtures.

mod common;

use std::path::{Path, PathBuf};

use common::{import, max_abs_diff, read};
use easel::inference::runtime::{GeneratorInput, ModelSession};
use easel::package::maps::{InstanceMap, LabelMap, DEFAULT_MAX_PIXELS};
use easel::package::npy;

const TOLERANCE: f32 = 1e-4;

fn variant(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/variants")
        .join(name)
}

fn open(name: &str, tmp: &Path) -> ModelSession {
    let out = tmp.join(name);
    import(&variant(name).join("checkpoint"), &out).unwrap();
    common::load(&out)
}

fn names(dir: &Path, key: &str) -> Vec<String> {
    let json: serde_json::Value = serde_json::from_slice(&read(&dir.join("order.json"))).unwrap();
    json[key].as_array().map_or_else(Vec::new, |a| {
        a.iter().map(|v| v.as_str().unwrap().to_string()).collect()
    })
}

/// Runs every map of the variant in one batch and compares with the reference.
fn check_variant(name: &str) -> ModelSession {
    let tmp = tempfile::tempdir().unwrap();
    let mut s = open(name, tmp.path());
    let card = s.package.card.clone();
    let dir = variant(name);
    let labels: Vec<LabelMap> = names(&dir, "inputs_in_order")
        .iter()
        .map(|n| LabelMap::from_png(&read(&dir.join(n)), &card, DEFAULT_MAX_PIXELS).unwrap())
        .collect();
    let instances = names(&dir, "instances_in_order");
    let edges: Vec<i64> = instances
        .iter()
        .zip(&labels)
        .flat_map(|(n, l)| {
            InstanceMap::from_png(&read(&dir.join(n)), DEFAULT_MAX_PIXELS)
                .unwrap()
                .edges(l)
                .unwrap()
        })
        .map(i64::from)
        .collect();
    assert_eq!(card.uses_instances, !instances.is_empty());
    let flat: Vec<i64> = labels
        .iter()
        .flat_map(|l| l.labels().iter().map(|&v| v as i64))
        .collect();
    let z = card
        .z_dim
        .map(|_| npy::read(&dir.join("z.npy")).unwrap().data);
    let input = GeneratorInput {
        batch: labels.len(),
        height: labels[0].height(),
        width: labels[0].width(),
        labels: &flat,
        edges: card.uses_instances.then_some(edges.as_slice()),
        position: None,
        z: z.as_deref(),
        noise: None,
    };
    let out = s.generate(&input).unwrap();
    let expected = npy::read(&dir.join("expected_output.npy")).unwrap();
    assert_eq!(out.shape, expected.shape);
    let err = max_abs_diff(&out.data, &expected.data);
    assert!(err < TOLERANCE, "{name}: max abs error {err}");
    s
}

#[test]
fn spectral_batch_norm_with_5x5_spade_kernels_matches() {
    let s = check_variant("spectral_batch_k5");
    assert_eq!(s.package.card.architecture.norm_g, "spectralspadebatch5x5");
    assert_eq!(s.package.card.architecture.spade_hidden, 8);
}

#[test]
fn sync_batch_norm_without_spectral_norm_and_more_upsampling_matches() {
    let s = check_variant("syncbatch_nospectral_more");
    assert_eq!(s.package.card.architecture.norm_g, "spadesyncbatch3x3");
    assert_eq!(s.package.card.dontcare.as_ref().map(|d| d.index), Some(5));
}

#[test]
fn instance_norm_with_5x5_kernels_most_upsampling_and_legacy_format_matches() {
    let s = check_variant("instance_k5_most_legacy");
    assert_eq!(
        (s.package.card.native.width, s.package.card.native.height),
        (128, 256)
    );
}

#[test]
fn vae_with_batch_norm_encoder_matches() {
    let mut s = check_variant("vae_batch_encoder");
    assert_eq!(
        s.package.card.architecture.norm_e.as_deref(),
        Some("spectralbatch")
    );
    let dir = variant("vae_batch_encoder");
    let img = image::open(dir.join("style.png")).unwrap().to_rgb8();
    let (w, h) = (img.width() as usize, img.height() as usize);
    assert_ne!(
        (w, h),
        (256, 256),
        "the style image exercises the encoder's resize"
    );
    let pixels = easel::inference::pipeline::rgb_to_chw(img.as_raw(), h, w);
    let (mu, logvar) = s.encode([1, 3, h, w], &pixels).unwrap().unwrap();
    for (ours, file) in [(mu, "expected_mu.npy"), (logvar, "expected_logvar.npy")] {
        let expected = npy::read(&dir.join(file)).unwrap();
        let err = max_abs_diff(&ours.data, &expected.data);
        assert!(err < TOLERANCE, "{file}: max abs error {err}");
    }
}
