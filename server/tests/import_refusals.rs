//! Every way an import or a generation can be refused, each with a message
//! that says what is wrong and how to fix it.

mod common;

use std::path::Path;

use common::{copy_checkpoint, import, read, request, session, spade_fixture};
use easel::import::spade::arch::Upsampling;
use easel::import::spade::{self, ImportError};
use easel::inference::pipeline::StyleSpec;
use easel::package::maps::{LabelMap, MapError, DEFAULT_MAX_PIXELS};

fn set_opt(dir: &Path, key: &str, value: &str) {
    let path = dir.join("opt.txt");
    let text = std::fs::read_to_string(&path).unwrap();
    let mut found = false;
    let lines: Vec<String> = text
        .lines()
        .map(|line| match line.split_once(':') {
            Some((k, _)) if k.trim() == key => {
                found = true;
                format!("{k}: {value}")
            }
            _ => line.to_string(),
        })
        .collect();
    assert!(found, "opt.txt has {key}");
    std::fs::write(path, lines.join("\n")).unwrap();
}

fn import_error(dir: &Path) -> String {
    let out = dir.parent().unwrap().join("out");
    let err = import(dir, &out).expect_err("import refuses");
    assert!(!out.exists(), "a refused import writes no package");
    err.to_string()
}

#[test]
fn rejects_a_folder_without_a_generator_checkpoint() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = copy_checkpoint("coco182_tiny", &tmp.path().join("ck"));
    std::fs::rename(dir.join("latest_net_G.pth"), dir.join("20_net_G.pth")).unwrap();
    let msg = import_error(&dir);
    assert!(
        msg.contains("latest_net_G.pth")
            && msg.contains("epochs there: 20")
            && msg.contains("--epoch"),
        "{msg}"
    );
    std::fs::remove_file(dir.join("20_net_G.pth")).unwrap();
    let msg = import_error(&dir);
    assert!(msg.contains("holds no <epoch>_net_G.pth"), "{msg}");
}

#[test]
fn imports_a_numbered_epoch() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = copy_checkpoint("coco182_tiny", &tmp.path().join("ck"));
    std::fs::rename(dir.join("latest_net_G.pth"), dir.join("20_net_G.pth")).unwrap();
    let mut req = request(&dir, &tmp.path().join("out"));
    req.epoch = "20".into();
    let report = spade::import(&req).unwrap();
    assert_eq!(report.card.source.epoch, "20");
    assert_eq!(report.card.source.generator.file, "20_net_G.pth");
}

#[test]
fn rejects_a_truncated_checkpoint() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = copy_checkpoint("city35_tiny", &tmp.path().join("ck"));
    let bytes = read(&dir.join("latest_net_G.pth"));
    std::fs::write(dir.join("latest_net_G.pth"), &bytes[..bytes.len() / 2]).unwrap();
    let msg = import_error(&dir);
    assert!(
        msg.contains("latest_net_G.pth")
            && (msg.contains("incomplete") || msg.contains("truncated")),
        "{msg}"
    );
}

#[test]
fn rejects_a_file_that_is_not_a_checkpoint() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = copy_checkpoint("coco182_tiny", &tmp.path().join("ck"));
    std::fs::write(
        dir.join("latest_net_G.pth"),
        "<!DOCTYPE html><html><body>Not Found</body></html>",
    )
    .unwrap();
    let msg = import_error(&dir);
    assert!(
        msg.contains("latest_net_G.pth") && msg.to_lowercase().contains("html"),
        "{msg}"
    );
}

#[test]
fn rejects_opt_txt_whose_channels_contradict_the_weights() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = copy_checkpoint("coco182_tiny", &tmp.path().join("ck"));
    set_opt(&dir, "no_instance", "True");
    let msg = import_error(&dir);
    assert!(
        msg.contains("184 semantic channels")
            && msg.contains("183")
            && msg.contains("--no-instance false"),
        "{msg}"
    );
}

#[test]
fn rejects_opt_txt_whose_norm_contradicts_the_weights() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = copy_checkpoint("city35_tiny", &tmp.path().join("ck"));
    set_opt(&dir, "norm_G", "spectralspadeinstance3x3");
    let msg = import_error(&dir);
    assert!(
        msg.contains("norm_G") && msg.contains("no spectral norm"),
        "{msg}"
    );
    set_opt(&dir, "norm_G", "spadeinstance5x5");
    let msg = import_error(&dir);
    assert!(msg.contains("3x3 SPADE kernels"), "{msg}");
}

#[test]
fn rejects_opt_txt_whose_upsampling_contradicts_the_weights() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = copy_checkpoint("city35_tiny", &tmp.path().join("ck"));
    set_opt(&dir, "num_upsampling_layers", "more");
    let msg = import_error(&dir);
    assert!(
        msg.contains("num_upsampling_layers") && msg.contains("up_4"),
        "{msg}"
    );
}

#[test]
fn rejects_an_unknown_norm_variant() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = copy_checkpoint("coco182_tiny", &tmp.path().join("ck"));
    set_opt(&dir, "norm_G", "spectralspadegroup3x3");
    let msg = import_error(&dir);
    assert!(
        msg.contains("spectralspadegroup3x3") && msg.contains("spectralspadesyncbatch3x3"),
        "{msg}"
    );
}

#[test]
fn without_opt_txt_refuses_to_guess_normal_or_more_upsampling() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = copy_checkpoint("coco182_tiny", &tmp.path().join("ck"));
    std::fs::remove_file(dir.join("opt.txt")).unwrap();
    let msg = import_error(&dir);
    assert!(msg.contains("--num-upsampling-layers"), "{msg}");
}

#[test]
fn without_opt_txt_imports_from_weights_and_flags() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = copy_checkpoint("coco182_tiny", &tmp.path().join("ck"));
    std::fs::remove_file(dir.join("opt.txt")).unwrap();
    let mut req = request(&dir, &tmp.path().join("out"));
    req.flags.num_upsampling_layers = Some(Upsampling::Normal);
    req.flags.crop_size = Some(64);
    req.classes = Some("coco-stuff".into());
    // 184 channels over 182 COCO-Stuff classes: dontcare and instance edges.
    let report = spade::import(&req).unwrap();
    assert_eq!(report.card.classes.len(), 182);
    assert!(report.card.dontcare.is_some() && report.card.uses_instances);
    assert_eq!(report.card.classes[156].name, "sky-other");
    assert!(report.notes.iter().any(|n| n.contains("no opt.txt")));
}

#[test]
fn without_opt_txt_refuses_an_ambiguous_channel_split() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = copy_checkpoint("coco182_tiny", &tmp.path().join("ck"));
    std::fs::remove_file(dir.join("opt.txt")).unwrap();
    let mut req = request(&dir, &tmp.path().join("out"));
    req.flags.num_upsampling_layers = Some(Upsampling::Normal);
    req.flags.label_nc = Some(183);
    let msg = spade::import(&req).unwrap_err().to_string();
    assert!(
        msg.contains("either a dontcare") && msg.contains("--contain-dontcare-label"),
        "{msg}"
    );
}

#[test]
fn rejects_a_class_table_of_the_wrong_size() {
    let tmp = tempfile::tempdir().unwrap();
    let mut req = request(
        &spade_fixture("city35_tiny/checkpoint"),
        &tmp.path().join("out"),
    );
    req.classes = Some("coco-stuff".into());
    let err = spade::import(&req).unwrap_err();
    assert!(matches!(err, ImportError::ClassCount { .. }), "{err}");
    assert!(
        err.to_string().contains("182 classes") && err.to_string().contains("35"),
        "{err}"
    );
}

#[test]
fn card_records_the_source_and_capabilities() {
    let tmp = tempfile::tempdir().unwrap();
    let mut req = request(
        &spade_fixture("city35_tiny/checkpoint"),
        &tmp.path().join("city"),
    );
    req.classes = Some("cityscapes".into());
    let card = spade::import(&req).unwrap().card;
    assert_eq!(card.classes[23].name, "sky");
    assert_eq!(card.architecture.norm_g, "spadeinstance3x3");
    assert_eq!(card.architecture.num_upsampling_layers, Upsampling::Most);
    assert_eq!(card.sizes.multiple_of, 128);
    assert!(!card.sizes.fixed && card.z_dim.is_none() && !card.has_encoder);
    let sha = easel::import::spade::sha256_file(&spade_fixture(
        "city35_tiny/checkpoint/latest_net_G.pth",
    ))
    .unwrap();
    assert_eq!(card.source.generator.sha256, sha);
    let on_disk: easel::package::ModelCard =
        serde_json::from_slice(&read(&tmp.path().join("city/model.json"))).unwrap();
    assert_eq!(on_disk, card);
}

#[test]
fn rejects_label_values_above_the_class_count() {
    let tmp = tempfile::tempdir().unwrap();
    let s = session("vae_tiny", tmp.path());
    let card = &s.package.card;
    let mut values = vec![0u32; 256 * 128];
    values[..7].fill(9);
    values[7] = 200;
    let err = LabelMap::new(256, 128, values, card)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("9 (7 pixels)")
            && err.contains("200 (1 pixel)")
            && err.contains("8 classes (0–7)"),
        "{err}"
    );
}

#[test]
fn rejects_255_for_models_without_dontcare() {
    let tmp = tempfile::tempdir().unwrap();
    let s = session("city35_tiny", tmp.path());
    let err = LabelMap::new(2, 1, vec![255, 0], &s.package.card)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("255 (1 pixel)") && err.contains("no dontcare class"),
        "{err}"
    );
}

#[test]
fn a_vae_model_makes_maps_of_another_size_at_its_own_and_says_why() {
    let tmp = tempfile::tempdir().unwrap();
    let mut s = session("vae_tiny", tmp.path());
    let card = s.package.card.clone();
    let msg = card
        .size_problem(128, 128)
        .expect("the VAE model has one size");
    assert!(msg.contains("128×128") && msg.contains("256×128"), "{msg}");
    let label = LabelMap::new(128, 128, vec![0; 128 * 128], &card).unwrap();
    let out = common::synthesize(&mut s, common::png_of(&label), None, StyleSpec::Seed(0)).unwrap();
    assert_eq!(out.shape, vec![1, 3, 128, 256], "made at the native size");
}

#[test]
fn rejects_sizes_that_are_not_multiples_of_the_upsampling_factor() {
    let tmp = tempfile::tempdir().unwrap();
    let s = session("coco182_tiny", tmp.path());
    let msg = s
        .package
        .card
        .size_problem(100, 64)
        .expect("100 is not a multiple of 32");
    assert!(
        msg.contains("multiples of 32") && msg.contains("64×128"),
        "{msg}"
    );
    assert_eq!(s.package.card.size_problem(96, 128), None);
}

#[test]
fn generates_at_sizes_other_than_the_native_one() {
    let tmp = tempfile::tempdir().unwrap();
    let mut s = session("coco182_tiny", tmp.path());
    let card = s.package.card.clone();
    let values: Vec<u32> = (0..96 * 128)
        .map(|i| ((i % 128) / 32 * 40) as u32)
        .collect();
    let label = LabelMap::new(128, 96, values, &card).unwrap();
    let out = common::synthesize(&mut s, common::png_of(&label), None, StyleSpec::Default).unwrap();
    assert_eq!(out.shape, vec![1, 3, 96, 128]);
    assert!(out.data.iter().all(|v| v.is_finite() && v.abs() <= 1.0));
}

#[test]
fn label_map_png_must_hold_indices() {
    let tmp = tempfile::tempdir().unwrap();
    let s = session("vae_tiny", tmp.path());
    let style = read(&spade_fixture("vae_tiny/inputs/style.png"));
    let err = LabelMap::from_png(&style, &s.package.card, DEFAULT_MAX_PIXELS).unwrap_err();
    assert_eq!(err, MapError::NotIndexed { channels: 3 });
    let err = LabelMap::from_png(b"GIF89a", &s.package.card, DEFAULT_MAX_PIXELS).unwrap_err();
    assert!(err.to_string().contains("not a readable PNG"), "{err}");
}

#[test]
fn card_carries_training_and_evaluation_notes_from_the_checkpoint_folder() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = copy_checkpoint("city35_tiny", &tmp.path().join("ck"));
    std::fs::write(
        dir.join("training.json"),
        r#"{"dataset": "synthetic", "epochs": 7}"#,
    )
    .unwrap();
    std::fs::write(
        dir.join("evaluation.json"),
        r#"{"generated": {"miou": 0.4}}"#,
    )
    .unwrap();
    let card = import(&dir, &tmp.path().join("pkg")).unwrap().card;
    assert_eq!(card.training.unwrap()["epochs"], 7);
    assert_eq!(card.evaluation.unwrap()["generated"]["miou"], 0.4);
    std::fs::write(dir.join("evaluation.json"), "{not json").unwrap();
    let msg = import_error(&dir);
    assert!(msg.contains("evaluation.json is not valid JSON"), "{msg}");
}
