//! CLADE generators (`--norm_mode clade`) import and reproduce the reference's
//! outputs: per-class γ and β tables (n·γ + β, no "1 +"), and for instance
//! models the edge feature appended to every normalisation layer; ICPE
//! models (`--add_dist`) also take the intra-class positional encoding, which
//! easel computes from the label map as the reference does.

mod common;

use common::{max_abs_diff, read, shared_fixtures, synthesize};
use easel::inference::pipeline::StyleSpec;
use easel::inference::runtime::{self, ModelSession, SessionOptions};
use easel::package::maps::{LabelMap, DEFAULT_MAX_PIXELS};
use easel::package::npy;
use easel::package::ModelPackage;

const TOLERANCE: f32 = 1e-4;

fn clade(folder: &str, tmp: &std::path::Path) -> ModelSession {
    let dir = shared_fixtures().join(folder);
    let out = tmp.join("package");
    let report = common::import(&dir.join("checkpoint"), &out).expect("the CLADE fixture imports");
    assert_eq!(
        report.card.architecture.spade_hidden, 0,
        "CLADE has no SPADE convolutions"
    );
    common::load(&out)
}

/// The fixture's three maps through the one pipeline, against its outputs.
fn reproduces(folder: &str, instances: bool) {
    let tmp = tempfile::tempdir().unwrap();
    let mut session = clade(folder, tmp.path());
    let dir = shared_fixtures().join(folder);
    let expected = npy::read(&dir.join("expected_output.npy")).unwrap();
    let plane = 3 * 64 * 64;
    for i in 0..3 {
        let label = read(&dir.join(format!("inputs/label_{i}.png")));
        let instance = instances.then(|| read(&dir.join(format!("inputs/inst_{i}.png"))));
        let out = synthesize(&mut session, label, instance, StyleSpec::Default).unwrap();
        let err = max_abs_diff(&out.data, &expected.data[i * plane..(i + 1) * plane]);
        assert!(err < TOLERANCE, "{folder} image {i}: max abs error {err}");
    }
}

#[test]
fn clade_generator_matches_the_reference() {
    reproduces("clade_tiny", false);
}

#[test]
fn clade_generator_with_instance_edges_matches_the_reference() {
    reproduces("clade_tiny/with_instance", true);
}

#[test]
fn the_edge_feature_changes_a_clade_instance_models_image() {
    let tmp = tempfile::tempdir().unwrap();
    let mut session = clade("clade_tiny/with_instance", tmp.path());
    let dir = shared_fixtures().join("clade_tiny/with_instance/inputs");
    let label = read(&dir.join("label_0.png"));
    let with = synthesize(
        &mut session,
        label.clone(),
        Some(read(&dir.join("inst_0.png"))),
        StyleSpec::Default,
    )
    .unwrap();
    let classes_only = synthesize(&mut session, label, None, StyleSpec::Default).unwrap();
    assert!(max_abs_diff(&with.data, &classes_only.data) > 1e-3);
}

#[test]
fn the_positional_encoding_is_the_references_distance_map() {
    let dir = shared_fixtures().join("clade_icpe_tiny/inputs");
    let tmp = tempfile::tempdir().unwrap();
    let card = clade("clade_icpe_tiny", tmp.path()).package.card.clone();
    assert!(card.uses_positional_encoding);
    for i in 0..3 {
        let png = read(&dir.join(format!("label_{i}.png")));
        let label = LabelMap::from_png(&png, &card, DEFAULT_MAX_PIXELS).unwrap();
        let expected = npy::read(&dir.join(format!("dist_{i}.npy"))).unwrap();
        assert_eq!(expected.shape, vec![2, 64, 64]);
        let ours = label.positional_encoding();
        let err = max_abs_diff(&ours, &expected.data);
        assert!(err < 1e-6, "dist_{i}: max abs error {err}");
    }
}

#[test]
fn clade_icpe_generator_matches_the_reference() {
    reproduces("clade_icpe_tiny", false);
}

#[test]
fn norm_mode_and_weights_must_agree() {
    let tmp = tempfile::tempdir().unwrap();
    let copy = tmp.path().join("checkpoint");
    std::fs::create_dir_all(&copy).unwrap();
    let src = shared_fixtures().join("clade_tiny/checkpoint");
    std::fs::copy(src.join("latest_net_G.pth"), copy.join("latest_net_G.pth")).unwrap();
    let opt = std::fs::read_to_string(src.join("opt.txt")).unwrap();
    std::fs::write(
        copy.join("opt.txt"),
        opt.replace("norm_mode: clade", "norm_mode: spade"),
    )
    .unwrap();
    let e = common::import(&copy, &tmp.path().join("p"))
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("norm_mode") && e.contains("class_specified_affine"),
        "{e}"
    );
}

#[test]
fn fp16_clade_packages_stay_within_the_half_precision_bound() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = shared_fixtures().join("clade_tiny/with_instance");
    let mut req = common::request(&dir.join("checkpoint"), &tmp.path().join("fp16"));
    req.export.half_weights = true;
    assert_eq!(
        easel::import::spade::import(&req).unwrap().card.precision,
        "fp16"
    );
    runtime::init(None).unwrap();
    let mut session = ModelSession::load(
        ModelPackage::open(&tmp.path().join("fp16")).unwrap(),
        SessionOptions::default(),
    )
    .unwrap();
    let expected = npy::read(&dir.join("expected_output.npy")).unwrap();
    let out = synthesize(
        &mut session,
        read(&dir.join("inputs/label_0.png")),
        Some(read(&dir.join("inputs/inst_0.png"))),
        StyleSpec::Default,
    )
    .unwrap();
    let err = max_abs_diff(&out.data, &expected.data[..out.data.len()]);
    assert!(err < 2e-2 && err > 0.0, "fp16 weights: max abs error {err}");
}

#[test]
fn random_clade_generators_hold_exactly_what_the_exporter_reads() {
    use easel::import::spade::arch::{GeneratorSpec, Layout, Modulation, Upsampling};
    use easel::import::spade::{export, synthetic, weights::Weights};
    let spec = GeneratorSpec {
        layout: Layout::Spade,
        noise_dim: 0,
        label_nc: 5,
        dontcare: true,
        instance: true,
        ngf: 2,
        modulation: Modulation::Clade,
        positional_encoding: true,
        spade_hidden: 0,
        norm: "spectralspadesyncbatch3x3".parse().unwrap(),
        upsampling: Upsampling::Normal,
        z_dim: None,
        latent: (2, 2),
    };
    let weights = Weights::new(synthetic::random_generator(&spec, 7), "random");
    // Every tensor the synthetic generator writes is one the exporter reads.
    export::generator(&spec, &weights, export::ExportOptions::default()).unwrap();
    assert!(weights.unused().is_empty(), "{:?}", weights.unused());
}
